// SPDX-License-Identifier: GPL-2.0 OR MIT

//go:build race

package gosync

import (
	"runtime"
	"unsafe"
)

// The race detector tracks synchronisation only on Go's own memory: the
// atomics on a shared mapping order nothing for it.  Each object mirrors
// its happens-before edges on a word of its own Go struct: a release where
// the protocol publishes (a send, an unlock, a Done), an acquire where it
// observes (a receive, a lock, a Wait's return).
const raceEnabled = true

func raceRelease(p *uint64) { runtime.RaceReleaseMerge(unsafe.Pointer(p)) }
func raceAcquire(p *uint64) { runtime.RaceAcquire(unsafe.Pointer(p)) }
