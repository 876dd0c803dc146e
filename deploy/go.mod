module gatewave.dev/deploy

go 1.26.0

require gatewave.dev/shared v0.0.0

replace gatewave.dev/shared => ../shared
