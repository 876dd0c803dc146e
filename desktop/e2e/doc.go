// Package e2e holds the desktop app's end-to-end tests and benchmarks: they
// build the real binary, run it under Xvfb against a sample workspace and
// inspect it from outside (screenshots, /proc, HTTP) and through its
// -test-report probe.
package e2e
