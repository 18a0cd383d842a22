# sql01: target on windows, instance Tentacle
$ErrorActionPreference = 'Stop'
# register with the server, polling node1
& 'C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe' register-with '--instance=Tentacle' '--server=https://octopus.example.com' "--apiKey=$env:OCTOPUS_API_KEY" '--comms-style=TentacleActive' '--server-comms-address=https://node1.octopus.example.com' '--server-comms-port=10943' '--space=Default' '--name=sql01' '--policy=Default Machine Policy' '--environment=Production' '--role=database'
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
# also poll node2
& 'C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe' poll-server '--instance=Tentacle' '--server=https://octopus.example.com' "--apiKey=$env:OCTOPUS_API_KEY" '--server-comms-address=https://node2.octopus.example.com' '--server-comms-port=10943'
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
# also poll node3
& 'C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe' poll-server '--instance=Tentacle' '--server=https://octopus.example.com' "--apiKey=$env:OCTOPUS_API_KEY" '--server-comms-address=https://node3.octopus.example.com' '--server-comms-port=10943'
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
# restart so Tentacle starts polling every address
& 'C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe' service '--restart' '--instance=Tentacle'
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
