// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

// Flags choose how an object is made.
type Flags uint32

const (
	// Standalone makes the object in a sealed memfd, without the module:
	// every process that has its fd shares it; waits sleep on futexes.
	Standalone Flags = 1 << iota
	// Autoclose (kernel mode) closes a channel when the last file that
	// can send on it is released: a producer that dies closes it.
	Autoclose
	// NoMap (kernel mode) never maps the ring: every operation is an
	// ioctl.
	NoMap
)

// standaloneFor: the mode a new object takes.  Without Standalone it is
// the module's, and ENODEV when there is no module (as the C library).
func standaloneFor(f Flags) bool {
	return f&Standalone != 0
}
