// Package examples holds the sample projects: the one iCE40 blinky that
// `make run-local` serves, every new user's repo starts from, and the tests
// build with the real toolchain.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed blinky
var files embed.FS

// Blinky returns the iCE40 blinky project (Makefile, blinky.v, icestick.pcf,
// README.md) at the root of the returned FS.
func Blinky() fs.FS {
	sub, err := fs.Sub(files, "blinky")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}
