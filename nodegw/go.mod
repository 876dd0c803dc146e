module gatewave.dev/nodegw

go 1.26.0

require gatewave.dev/shared v0.0.0

require (
	github.com/andybalholm/brotli v1.1.0 // indirect
	github.com/docker/docker v28.5.2+incompatible // indirect
	github.com/fasthttp/websocket v1.5.8 // indirect
	github.com/hashicorp/yamux v0.1.2 // indirect
	github.com/klauspost/compress v1.17.9 // indirect
	github.com/savsgio/gotils v0.0.0-20240303185622-093b76447511 // indirect
	github.com/shirou/gopsutil/v3 v3.24.5 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasthttp v1.52.0 // indirect
	golang.org/x/net v0.33.0 // indirect
)

replace gatewave.dev/shared => ../shared
