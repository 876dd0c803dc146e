// Command attack runs inside a session container, as its user, and throws
// requests at the node's Nix cache socket; it prints one line per case:
// the case's name, the HTTP status (or "closed"), and whether the
// response held the word given as the second argument (the node's token,
// which must never be seen).
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	sock, secret, canary := os.Args[1], os.Args[2], os.Args[3]
	h32, h52 := strings.Repeat("a", 32), strings.Repeat("a", 52)
	cases := []struct{ name, req string }{
		{"info", "GET /nix-cache/nix-cache-info HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"head", "HEAD /nix-cache/nix-cache-info HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"missing-narinfo", "GET /nix-cache/" + h32 + ".narinfo HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"other-route", "GET /api/v1/nodes HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"public-key", "GET /nix-cache/public-key HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"traversal", "GET /nix-cache/nar/../../api/v1/nodes HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"traversal-escaped", "GET /nix-cache/nar/%2e%2e/%2e%2e/api/v1/nodes HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"encoded-name", "GET /nix-cache/nar/" + h52[:51] + "%61.nar HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"query", "GET /nix-cache/nix-cache-info?access_token=x HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"put", "PUT /nix-cache/" + h32 + ".narinfo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd"},
		{"post", "POST /nix-cache/nar/" + h52 + ".nar HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"},
		{"delete", "DELETE /nix-cache/" + h32 + ".narinfo HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"get-with-body", "GET /nix-cache/nix-cache-info HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"},
		{"chunked-body", "GET /nix-cache/nix-cache-info HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
		{"absolute-form", "GET http://" + canary + "/nix-cache/nix-cache-info HTTP/1.1\r\nHost: " + canary + "\r\n\r\n"},
		{"huge-header", "GET /nix-cache/nix-cache-info HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 200<<10) + "\r\n\r\n"},
		{"connect", "CONNECT " + canary + " HTTP/1.1\r\nHost: " + canary + "\r\n\r\n"},
	}
	for _, c := range cases {
		status, leaked := try(sock, c.req, secret)
		fmt.Printf("%s %s %v\n", c.name, status, leaked)
	}
	// The directory is the node's, read-only here.
	if err := os.WriteFile("/run/gatewave-nix/planted", []byte("x"), 0o644); err == nil {
		fmt.Println("write-dir ok false")
	} else {
		fmt.Println("write-dir refused false")
	}
	if err := os.Remove(sock); err == nil {
		fmt.Println("remove-socket ok false")
	} else {
		fmt.Println("remove-socket refused false")
	}
}

func try(sock, req, secret string) (string, bool) {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return "dial-failed", false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	// One request a connection: the server closes after answering.
	first, rest, _ := strings.Cut(req, "\r\n")
	go io.WriteString(c, first+"\r\nConnection: close\r\n"+rest)
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "closed", false
	}
	body, _ := io.ReadAll(io.LimitReader(r, 1<<20))
	f := strings.Fields(line)
	status := "garbled"
	if len(f) >= 2 {
		status = f[1]
	}
	return status, strings.Contains(line+string(body), secret)
}
