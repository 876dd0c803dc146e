// Package shared is the root of the module that holds what more than one
// Gatewave component speaks: API error shapes, wire types, the
// WebSocket-as-net.Conn link and test environment helpers.
package shared
