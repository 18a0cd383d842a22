"C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe" server-comms --instance=Tentacle --thumbprint=0123456789ABCDEF0123456789ABCDEF01234567 --style=TentacleActive --host=node1.example.com
"C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe" server-comms --instance=Tentacle --thumbprint=0123456789ABCDEF0123456789ABCDEF01234567 --style=TentacleActive --host=node2.example.com
"C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe" server-comms --instance=Tentacle --thumbprint=0123456789ABCDEF0123456789ABCDEF01234567 --style=TentacleActive --host=node3.example.com
"C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe" service --restart --instance=Tentacle
