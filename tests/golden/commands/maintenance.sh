/opt/octopus/tentacle/Tentacle configure --instance=Tentacle --trust=89ABCDEF89ABCDEF89ABCDEF89ABCDEF89ABCDEF
/opt/octopus/tentacle/Tentacle update-trust --instance=Tentacle --oldThumbprint=0123456789ABCDEF0123456789ABCDEF01234567 --newThumbprint=89ABCDEF89ABCDEF89ABCDEF89ABCDEF89ABCDEF
/opt/octopus/tentacle/Tentacle clear-trusted-servers --instance=Tentacle --keep=https://node1.example.com:10943,https://node2.example.com:10943
/opt/octopus/tentacle/Tentacle set-polling-connection-count --instance=Tentacle --pollingConnectionCount=2
/opt/octopus/tentacle/Tentacle service --restart --instance=Tentacle
