// Package frontend embeds the built browser IDE (Vite's output in dist/) so
// that sessiond, the cloud and the desktop app serve the very same files.
package frontend

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built IDE rooted at its index.html.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees dist exists
	}
	return sub
}

// Built reports whether dist holds a built IDE rather than only its
// placeholder .gitkeep (that is, whether `make frontend` has run).
func Built() bool {
	_, err := fs.Stat(Dist(), "index.html")
	return err == nil
}
