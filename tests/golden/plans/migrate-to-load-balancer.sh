# worker-linux-01: worker on linux, instance Tentacle
set -eu
# also poll the load balancer
/opt/octopus/tentacle/Tentacle poll-server --instance=Tentacle --server=https://octopus.example.com --apiKey="$OCTOPUS_API_KEY" --server-comms-address=https://polling.octopus.example.com --server-comms-port=10943
# stop polling https://node1.octopus.example.com:10943, https://node2.octopus.example.com:10943, https://node3.octopus.example.com:10943
/opt/octopus/tentacle/Tentacle clear-trusted-servers --instance=Tentacle --keep=https://polling.octopus.example.com:10943
# restart so Tentacle picks up the new list
/opt/octopus/tentacle/Tentacle service --restart --instance=Tentacle
