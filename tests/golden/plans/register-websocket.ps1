# iis01: target on windows, instance Tentacle
$ErrorActionPreference = 'Stop'
# register with the server, polling the WebSocket endpoint
& 'D:\Apps\Octopus Deploy\Tentacle\Tentacle.exe' register-with '--instance=Tentacle' '--server=https://octopus.example.com' "--apiKey=$env:OCTOPUS_API_KEY" '--comms-style=TentacleActive' '--server-web-socket=wss://octopus.example.com/OctopusComms' '--space=Default' '--name=iis01' '--environment=Production' '--role=iis-web'
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
# restart so Tentacle starts polling every address
& 'D:\Apps\Octopus Deploy\Tentacle\Tentacle.exe' service '--restart' '--instance=Tentacle'
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
