& 'C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe' register-worker '--instance=Tentacle' '--server=https://octopus.example.com' "--apiKey=$env:OCTOPUS_API_KEY" '--comms-style=TentacleActive' '--server-comms-address=https://node1.example.com:10943' '--name=worker-01' '--workerpool=Linux Workers'
& 'C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe' poll-server '--instance=Tentacle' '--reuse-server-thumbprint' '--server-comms-address=https://node2.example.com:10943'
& 'C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe' poll-server '--instance=Tentacle' '--reuse-server-thumbprint' '--server-comms-address=https://node3.example.com:10943'
& 'C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe' service '--restart' '--instance=Tentacle'
