package pipe

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// When the server side ends (sessiond closed the connection, or its
// container died), the client is closed at once, not after Linger.
func TestJoinServerClosesTheClientWhenTheServerGoes(t *testing.T) {
	clientFar, clientNear := net.Pipe()
	serverNear, serverFar := net.Pipe()
	done := make(chan struct{})
	go func() { JoinServer(clientNear, serverNear); close(done) }()
	go io.Copy(io.Discard, serverFar)
	serverFar.Close()
	clientFar.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := clientFar.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("the client was not closed when the server went: %v", err)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("JoinServer did not return")
	}
}

// A client's half-close still lets the server answer.
func TestJoinServerLetsTheServerAnswerAfterTheClientIsDone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.ReadAll(c) // until the client's half-close
		c.Write([]byte("answer"))
		c.Close()
	}()
	server, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	go func() {
		c, err := cl.Accept()
		if err == nil {
			JoinServer(c, server)
		}
	}()
	client, err := net.Dial("tcp", cl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	client.Write([]byte("question"))
	client.(*net.TCPConn).CloseWrite()
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(client)
	if string(got) != "answer" {
		t.Fatalf("got %q, want the answer", got)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
