REM app02: target on windows, instance Tentacle
REM register with the server, polling node1
"C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe" register-with --instance=Tentacle --server=https://octopus.example.com "--apiKey=%OCTOPUS_API_KEY%" --comms-style=TentacleActive --server-comms-address=https://octopus-lb.example.com --server-comms-port=10943 --space=Default --name=app02 "--policy=Default Machine Policy" --environment=Production --environment=Staging --role=app-server "--tenant=Acme Corp" --tenanted-deployment-participation=TenantedOrUntenanted || exit /b 1
REM also poll node2
"C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe" poll-server --instance=Tentacle --server=https://octopus.example.com "--apiKey=%OCTOPUS_API_KEY%" --server-comms-address=https://octopus-lb.example.com --server-comms-port=10944 || exit /b 1
REM also poll node3
"C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe" poll-server --instance=Tentacle --server=https://octopus.example.com "--apiKey=%OCTOPUS_API_KEY%" --server-comms-address=https://octopus-lb.example.com --server-comms-port=10945 || exit /b 1
REM restart so Tentacle starts polling every address
"C:\Program Files\Octopus Deploy\Tentacle\Tentacle.exe" service --restart --instance=Tentacle || exit /b 1
