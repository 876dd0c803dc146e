// Package fleetproto defines what the cloud and a node gateway say to each
// other over their one WebSocket, and decodes it strictly.
//
// # Layers
//
// The gateway dials OUT to the cloud's /api/v1/nodes/connect with its node
// token (Authorization: Bearer). The WebSocket carries only binary
// messages; wsconn turns it into a net.Conn and hashicorp/yamux runs over
// that (the gateway is the yamux client, the cloud the server), configured
// by MuxConfig: stream windows grow to StreamWindow (4 MiB), and yamux's ping is the ONE
// keepalive of the link. WebSocket pings are not sent.
//
// # Frames
//
// Everything this package writes on a stream is a frame: a 4-byte
// big-endian length, then that many bytes of JSON. A frame longer than
// MaxFrame, malformed JSON, unknown fields or an unknown message type is an
// error, and the side that reads it closes the whole connection (with
// WebSocket close code 1008); other nodes' connections are unaffected.
//
// # Streams
//
// Every yamux stream starts with a StreamHeader frame written by the side
// that opened it, and the other side answers with a StreamReply frame. After
// an OK reply the stream carries whatever its Kind defines.
//
//   - KindControl: opened by the gateway, exactly once, right after the
//     WebSocket is up. It carries Messages in both directions:
//     gateway → cloud: register (first, exactly once), heartbeat, ack, status,
//     stats (live CPU and memory, stats.go);
//     cloud → gateway: registered (the reply to register, with the heartbeat
//     interval the gateway must use), heartbeat_ack, command, error.
//   - KindTunnel and other kinds: opened by the cloud, one stream per
//     tunnelled connection (the sessions feature). The gateway looks the
//     kind up in its table of handlers and refuses unknown kinds with
//     StreamReply{OK: false}.
//
// # Refusals
//
// Before the upgrade the cloud answers 401 to a missing, wrong or revoked
// token. After it, the cloud may close with code 1013 (try again later)
// and a reason "retry-after=SECONDS"; the gateway then waits at least that
// long (plus its jittered backoff) before dialling again. Code 4003 means
// the node was revoked: the gateway stops.
package fleetproto
