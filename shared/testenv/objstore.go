package testenv

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvObjectStoreURL names the variable holding the object store's URL
// (http://ACCESS:SECRET@127.0.0.1:PORT/BUCKET); `make test` and `make bench`
// set it from scripts/objstore.sh.
const EnvObjectStoreURL = "GATEWAVE_TEST_S3_URL"

var objstore struct {
	once sync.Once
	url  string
	err  error
	log  string
}

// ObjectStoreURL returns the URL of a running S3-compatible object store:
// EnvObjectStoreURL, or else what scripts/objstore.sh prints (it starts
// versitygw, building it once, which takes a few minutes on a fresh
// machine). When neither works it calls Missing.
func ObjectStoreURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvObjectStoreURL); u != "" {
		return u
	}
	objstore.once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "objstore.sh")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, "bash", script)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		objstore.err = cmd.Run()
		objstore.url = strings.TrimSpace(stdout.String())
		objstore.log = strings.TrimSpace(stderr.String())
	})
	if objstore.err != nil || objstore.url == "" {
		why := objstore.log
		if objstore.err != nil {
			why = objstore.err.Error() + ": " + why
		}
		Missing(t, "object store", "set "+EnvObjectStoreURL+" or fix scripts/objstore.sh: "+why)
	}
	return objstore.url
}
