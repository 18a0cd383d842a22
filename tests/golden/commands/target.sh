/opt/octopus/tentacle/Tentacle register-with --instance=Tentacle --server=https://octopus.example.com --apiKey="$OCTOPUS_API_KEY" --comms-style=TentacleActive --server-comms-address=https://node1.example.com:10943 --space=Default '--name=Web 01' '--policy=Default Machine Policy' --environment=Production --role=web-server
/opt/octopus/tentacle/Tentacle poll-server --instance=Tentacle --server=https://octopus.example.com --apiKey="$OCTOPUS_API_KEY" --server-comms-address=https://node2.example.com:10943
/opt/octopus/tentacle/Tentacle poll-server --instance=Tentacle --server=https://octopus.example.com --apiKey="$OCTOPUS_API_KEY" --server-comms-address=https://node3.example.com:10943
/opt/octopus/tentacle/Tentacle service --restart --instance=Tentacle
