module gatewave.dev/frontend

go 1.26.0
