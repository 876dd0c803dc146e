// Package loopdisk makes file systems of a fixed size for what a container
// may write: an ext4 file system in a sparse image file, loop-mounted on
// the node. Docker's storage drivers here (overlay2 on ext4) cannot cap a
// volume or a bind mount; a full loop disk ends at its size while the
// node's disk stays free. The pool's workspaces and the batch tasks'
// output directories are such disks.
//
// The file systems need Linux (loop devices, ext4, mount); on other systems
// every call fails with ErrUnsupported and the node uses plain Docker volumes.
package loopdisk

import "errors"

// ErrUnsupported is returned by every call on a system without loop disks.
var ErrUnsupported = errors.New("loop-mounted disks need a Linux node")
