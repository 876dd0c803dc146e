package langserver_test

import (
	"os"
	"testing"

	"gatewave.dev/sessiond/hdl/langserver"
)

// TestMain lets the test binary be the server process itself, for the
// benchmark that measures a real server's resident memory.
func TestMain(m *testing.M) {
	langserver.MaybeRun()
	os.Exit(m.Run())
}
