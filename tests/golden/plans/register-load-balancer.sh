# worker-linux-01: worker on linux, instance Tentacle
set -eu
# register with the server, polling the load balancer
/opt/octopus/tentacle/Tentacle register-worker --instance=Tentacle --server=https://octopus.example.com --apiKey="$OCTOPUS_API_KEY" --comms-style=TentacleActive --server-comms-address=https://polling.octopus.example.com --server-comms-port=10943 --name=worker-linux-01 '--workerpool=Default Worker Pool'
# restart so Tentacle starts polling every address
/opt/octopus/tentacle/Tentacle service --restart --instance=Tentacle
