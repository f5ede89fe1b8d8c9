// SPDX-License-Identifier: GPL-2.0 OR MIT

//go:build race

package gosync

import (
	"runtime"
	"unsafe"
)

// The race detector tracks synchronisation only on Go's own memory: the
// atomics on a shared mapping order nothing for it.  The package mirrors
// the protocol's happens-before edges on words of its own: a release
// before the protocol publishes (a send, a close, an unlock, a Done), an
// acquire after it observes (a receive, a receive that sees the close, a
// lock, a Wait's return); and for Go's unbuffered rule (a receive happens
// before the send completes) a second word, released by every receive
// and acquired by a sync send that completed.  One pair of words serves
// every object: two handles of one object in one process (FromFD of the
// same fd, SendEnd, a name opened twice) must see each other's edges, and
// an anonymous kernel channel has no key to tell it by.  The cost is
// precision (an edge between unrelated objects may hide a race), never a
// report on a correct program.
const raceEnabled = true

var raceWords [2]uint64

func raceRelease(*uint64) { runtime.RaceReleaseMerge(unsafe.Pointer(&raceWords[0])) }
func raceAcquire(*uint64) { runtime.RaceAcquire(unsafe.Pointer(&raceWords[0])) }

// raceReceived and raceDelivered: the unbuffered rule's edge.
func raceReceived()  { runtime.RaceReleaseMerge(unsafe.Pointer(&raceWords[1])) }
func raceDelivered() { runtime.RaceAcquire(unsafe.Pointer(&raceWords[1])) }
