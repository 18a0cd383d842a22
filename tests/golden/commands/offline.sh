/opt/octopus/tentacle/Tentacle server-comms --instance=Tentacle --thumbprint=0123456789ABCDEF0123456789ABCDEF01234567 --style=TentacleActive --host=node1.example.com
/opt/octopus/tentacle/Tentacle server-comms --instance=Tentacle --thumbprint=0123456789ABCDEF0123456789ABCDEF01234567 --style=TentacleActive --host=node2.example.com
/opt/octopus/tentacle/Tentacle server-comms --instance=Tentacle --thumbprint=0123456789ABCDEF0123456789ABCDEF01234567 --style=TentacleActive --host=node3.example.com
/opt/octopus/tentacle/Tentacle service --restart --instance=Tentacle
