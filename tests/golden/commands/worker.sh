/opt/octopus/tentacle/Tentacle register-worker --instance=Tentacle --server=https://octopus.example.com --apiKey="$OCTOPUS_API_KEY" --comms-style=TentacleActive --server-comms-address=https://node1.example.com:10943 --name=worker-01 '--workerpool=Linux Workers'
/opt/octopus/tentacle/Tentacle poll-server --instance=Tentacle --reuse-server-thumbprint --server-comms-address=https://node2.example.com:10943
/opt/octopus/tentacle/Tentacle poll-server --instance=Tentacle --reuse-server-thumbprint --server-comms-address=https://node3.example.com:10943
/opt/octopus/tentacle/Tentacle service --restart --instance=Tentacle
