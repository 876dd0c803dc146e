package cli

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The task runner's last reports (attempts its shutdown ends, reported
// lost) leave over a link that is still up: the gateway stops only after.
func TestServeStopsRunnerBeforeLink(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	reports := make(chan string)
	var sent []string
	linkUp := func(gctx context.Context) error {
		for {
			select {
			case r := <-reports:
				sent = append(sent, r)
			case <-gctx.Done():
				return nil
			}
		}
	}
	var delivered bool
	stopFirst := func() {
		select {
		case reports <- "task 1 attempt 1 lost":
			delivered = true
		case <-time.After(5 * time.Second):
		}
	}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, linkUp, stopFirst, 50*time.Millisecond) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return")
	}
	if !delivered || len(sent) != 1 {
		t.Fatalf("the runner's report was not sent over the live link: delivered %v, sent %v", delivered, sent)
	}
}

// A gateway that stops on its own still has the runner shut down, and
// its error comes back.
func TestServeRunError(t *testing.T) {
	boom := errors.New("revoked")
	stopped := false
	err := serve(context.Background(), func(context.Context) error { return boom }, func() { stopped = true }, time.Second)
	if !errors.Is(err, boom) || !stopped {
		t.Fatalf("err %v, runner stopped %v", err, stopped)
	}
}
