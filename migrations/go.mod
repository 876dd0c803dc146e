module gatewave.dev/migrations

go 1.26.0
