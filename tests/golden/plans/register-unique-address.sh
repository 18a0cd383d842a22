# web01: target on linux, instance Tentacle
set -eu
# register with the server, polling node1
/opt/octopus/tentacle/Tentacle register-with --instance=Tentacle --server=https://octopus.example.com --apiKey="$OCTOPUS_API_KEY" --comms-style=TentacleActive --server-comms-address=https://node1.octopus.example.com --server-comms-port=10943 --space=Default --name=web01 '--policy=Default Machine Policy' --environment=Production --role=web-server
# also poll node2
/opt/octopus/tentacle/Tentacle poll-server --instance=Tentacle --server=https://octopus.example.com --apiKey="$OCTOPUS_API_KEY" --server-comms-address=https://node2.octopus.example.com --server-comms-port=10943
# also poll node3
/opt/octopus/tentacle/Tentacle poll-server --instance=Tentacle --server=https://octopus.example.com --apiKey="$OCTOPUS_API_KEY" --server-comms-address=https://node3.octopus.example.com --server-comms-port=10943
# restart so Tentacle starts polling every address
/opt/octopus/tentacle/Tentacle service --restart --instance=Tentacle

# build-worker-01: worker on linux, instance Tentacle
set -eu
# register with the server, polling node1
/opt/octopus/tentacle/Tentacle register-worker --instance=Tentacle --server=https://octopus.example.com --apiKey="$OCTOPUS_API_KEY" --comms-style=TentacleActive --server-comms-address=https://node1.octopus.example.com --server-comms-port=10943 --space=Default --name=build-worker-01 '--policy=Default Machine Policy' '--workerpool=Linux Workers'
# also poll node2
/opt/octopus/tentacle/Tentacle poll-server --instance=Tentacle --server=https://octopus.example.com --apiKey="$OCTOPUS_API_KEY" --server-comms-address=https://node2.octopus.example.com --server-comms-port=10943
# also poll node3
/opt/octopus/tentacle/Tentacle poll-server --instance=Tentacle --server=https://octopus.example.com --apiKey="$OCTOPUS_API_KEY" --server-comms-address=https://node3.octopus.example.com --server-comms-port=10943
# restart so Tentacle starts polling every address
/opt/octopus/tentacle/Tentacle service --restart --instance=Tentacle
