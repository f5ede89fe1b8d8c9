// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

import (
	"sync/atomic"
	"syscall"
	"unsafe"
)

// The ring, line for line as common/gosync_ring.h: the same words, the
// same transitions, so Go and C (and the kernel) share one channel.  Every
// shared word is touched only with sync/atomic, whose operations are
// sequentially consistent: each atomic.Load is at least the C side's
// acquire load, each atomic.Store at least its release store, each
// CompareAndSwap its fully ordered CAS.  The barrier pairs of
// docs/memory-model.md are named where they stand (A..G).
//
// The geometry (nslots, slotSize, elemSize, offsets) is this side's own
// trusted copy, checked against the layout rule; nothing read from the
// mapping is ever used as a size or an index.

type ring struct {
	mem      []byte
	tail     *uint64
	head     *uint64
	slots    uint64 // offset of slot 0
	nslots   uint64
	slotSize uint64
	elemSize uint64
	owner    uint32
}

func slotWord(pos uint64, owner uint32, state uint64) uint64 {
	return pos<<slotPosShift | uint64(owner)<<slotStateBits | state
}

func wordState(w uint64) uint64 { return w & (1<<slotStateBits - 1) }
func wordAt(w, pos uint64) bool { return w>>slotPosShift == pos&posMask }

func (r *ring) wordOff(pos uint64) uint64 {
	return r.slots + (pos%r.nslots)*r.slotSize
}

func (r *ring) word(pos uint64) *uint64 { return word64(r.mem, r.wordOff(pos)) }

func (r *ring) elem(pos uint64) []byte {
	off := r.wordOff(pos) + 8
	return r.mem[off : off+r.elemSize]
}

// Test hooks: a step of an operation, for the kill-at-every-step tests
// (nil outside them).
var ringStep func(step string)

func step(s string) {
	if ringStep != nil {
		ringStep(s)
	}
}

// trySend puts one element at the tail: 0, EAGAIN (full), EPIPE (closed)
// or EBUSY (every round lost a race).
func (r *ring) trySend(elem []byte, state uint64) (uint64, syscall.Errno) {
	for tries := 0; tries < ringTries; tries++ {
		t := atomic.LoadUint64(r.tail)
		p := t >> 1
		word := r.word(p)
		if t&tailClosed != 0 {
			return 0, syscall.EPIPE
		}
		w := atomic.LoadUint64(word) // B, matches D
		if !wordAt(w, p) {
			if wordAt(w, p-r.nslots) {
				return 0, syscall.EAGAIN
			}
			atomic.CompareAndSwapUint64(r.tail, t, t+2)
			continue
		}
		if wordState(w) != slotFree {
			atomic.CompareAndSwapUint64(r.tail, t, t+2)
			continue
		}
		if !atomic.CompareAndSwapUint64(word, w, slotWord(p, r.owner, slotWriting)) {
			continue
		}
		step("send_claimed")
		if !atomic.CompareAndSwapUint64(r.tail, t, t+2) &&
			atomic.LoadUint64(r.tail) == t|tailClosed {
			atomic.StoreUint64(word, slotWord(p, 0, slotFree))
			return 0, syscall.EPIPE
		}
		step("send_tail")
		if r.elemSize != 0 {
			copy(r.elem(p), elem)
		}
		step("send_copied")
		atomic.StoreUint64(word, slotWord(p, 0, state)) // A, matches C
		return p, 0
	}
	return 0, syscall.EBUSY
}

func (r *ring) nothingAt(h, w uint64) syscall.Errno {
	t := atomic.LoadUint64(r.tail)
	writing := wordAt(w, h) && wordState(w) == slotWriting
	switch {
	case t>>1 == h:
		if t&tailClosed != 0 {
			return 0
		}
		if writing {
			return syscall.EINPROGRESS
		}
		return syscall.EAGAIN
	case t>>1 < h:
		return syscall.EIO
	case writing:
		return syscall.EINPROGRESS
	}
	return syscall.ESTALE
}

// tryRecv takes one element from the head into @out: (true, 0) took one;
// (false, 0) closed and drained; EAGAIN empty; EINPROGRESS being written;
// EIO corrupt; EBUSY.  @freed is set when a slot was freed, whatever the
// result: senders may be owed a wake.
func (r *ring) tryRecv(out []byte) (got, freed bool, err syscall.Errno) {
	for tries := 0; tries < ringTries; tries++ {
		h := atomic.LoadUint64(r.head)
		word := r.word(h)
		w := atomic.LoadUint64(word) // C, matches A
		freeNext := slotWord(h+r.nslots, 0, slotFree)
		if wordAt(w, h) {
			switch wordState(w) {
			case slotFull, slotSync:
				if !atomic.CompareAndSwapUint64(word, w,
					slotWord(h, r.owner, slotReading)) {
					continue
				}
				step("recv_claimed")
				atomic.CompareAndSwapUint64(r.head, h, h+1)
				step("recv_head")
				if r.elemSize != 0 {
					copy(out, r.elem(h))
				}
				step("recv_copied")
				atomic.StoreUint64(word, freeNext) // D, matches B
				return true, true, 0
			case slotReading:
				atomic.CompareAndSwapUint64(r.head, h, h+1)
				continue
			case slotSkip:
				if atomic.LoadUint64(r.tail)>>1 > h {
					if atomic.CompareAndSwapUint64(word, w, freeNext) {
						freed = true
						atomic.CompareAndSwapUint64(r.head, h, h+1)
					}
					continue
				}
			case slotFree, slotWriting:
			default:
				return false, freed, syscall.EIO
			}
		} else if !wordAt(w, h-r.nslots) {
			atomic.CompareAndSwapUint64(r.head, h, h+1)
			continue
		}
		if e := r.nothingAt(h, w); e != syscall.ESTALE {
			return false, freed, e
		}
	}
	return false, freed, syscall.EBUSY
}

// withdraw takes back a SYNC element no receiver took: true when it will
// never be received.
func (r *ring) withdraw(pos uint64) bool {
	word := r.word(pos)
	skip := slotWord(pos, 0, slotSkip)
	if !atomic.CompareAndSwapUint64(word, slotWord(pos, 0, slotSync), skip) {
		return false
	}
	step("withdrawn")
	if atomic.LoadUint64(r.head) == pos &&
		atomic.CompareAndSwapUint64(word, skip, slotWord(pos+r.nslots, 0, slotFree)) {
		atomic.CompareAndSwapUint64(r.head, pos, pos+1)
	}
	return true
}

// delivered: the SYNC element at @pos was taken (or withdrawn).
func (r *ring) delivered(pos uint64) bool {
	return atomic.LoadUint64(r.word(pos)) != slotWord(pos, 0, slotSync) // G
}

func (r *ring) close() syscall.Errno {
	for tries := 0; tries < ringTries; tries++ {
		t := atomic.LoadUint64(r.tail)
		if t&tailClosed != 0 {
			return syscall.EPIPE
		}
		if atomic.CompareAndSwapUint64(r.tail, t, t|tailClosed) {
			return 0
		}
	}
	return syscall.EBUSY
}

func (r *ring) closed() bool { return atomic.LoadUint64(r.tail)&tailClosed != 0 }

func (r *ring) len() uint64 {
	h := atomic.LoadUint64(r.head)
	t := atomic.LoadUint64(r.tail) >> 1
	if t <= h {
		return 0
	}
	if t-h < r.nslots {
		return t - h
	}
	return r.nslots
}

// The wait words of one side (struct gosync_wait).
type waitWords struct {
	armed   *uint32
	waiters *uint32
	futex   *uint32
}

func waitAt(mem []byte, off uint64) waitWords {
	return waitWords{word32(mem, off), word32(mem, off+4), word32(mem, off+8)}
}

var _ = unsafe.Pointer(nil)
