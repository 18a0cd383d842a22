"C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe" configure --instance=Tentacle --trust=89ABCDEF89ABCDEF89ABCDEF89ABCDEF89ABCDEF
"C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe" update-trust --instance=Tentacle --oldThumbprint=0123456789ABCDEF0123456789ABCDEF01234567 --newThumbprint=89ABCDEF89ABCDEF89ABCDEF89ABCDEF89ABCDEF
"C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe" clear-trusted-servers --instance=Tentacle --keep=https://node1.example.com:10943,https://node2.example.com:10943
"C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe" set-polling-connection-count --instance=Tentacle --pollingConnectionCount=2
"C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe" service --restart --instance=Tentacle
