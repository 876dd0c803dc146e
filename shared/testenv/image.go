package testenv

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// SessiondImage is the FROM-scratch image with the sessiond of this tree.
const SessiondImage = "gatewave/sessiond-scratch"

var image struct {
	once sync.Once
	out  []byte
	err  error
}

// BuildSessiondImage (re)builds SessiondImage from the current sources,
// once per test binary, and returns its name. It always runs
// images/build.sh: an image left by an earlier run would test an older
// sessiond, and Go's and Docker's caches make an unchanged rebuild take
// seconds.
func BuildSessiondImage(t testing.TB) string {
	t.Helper()
	Docker(t)
	image.once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "..", "..", "images", "build.sh")
		image.out, image.err = exec.Command("bash", script, "scratch").CombinedOutput()
	})
	if image.err != nil {
		t.Fatalf("build %s: %v\n%s", SessiondImage, image.err, image.out)
	}
	return SessiondImage
}
