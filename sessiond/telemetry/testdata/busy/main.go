// Command busy spins one core for the duration given as its argument; the
// container telemetry test runs it inside a container.
package main

import (
	"os"
	"time"
)

func main() {
	d, err := time.ParseDuration(os.Args[1])
	if err != nil {
		os.Exit(2)
	}
	end := time.Now().Add(d)
	n := 0
	for time.Now().Before(end) {
		n++
	}
	_ = n
}
