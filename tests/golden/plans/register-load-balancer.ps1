# worker-win-01: worker on windows, instance Worker
$ErrorActionPreference = 'Stop'
# register with the server, polling the load balancer
& 'C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe' register-worker '--instance=Worker' '--server=https://octopus.example.com' "--apiKey=$env:OCTOPUS_API_KEY" '--comms-style=TentacleActive' '--server-comms-address=https://polling.octopus.example.com' '--server-comms-port=10943' '--name=worker-win-01' '--workerpool=Default Worker Pool'
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
# restart so Tentacle starts polling every address
& 'C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe' service '--restart' '--instance=Worker'
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
