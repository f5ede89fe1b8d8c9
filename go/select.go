// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

import (
	"context"
	"math/rand"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Case is one case of a Select: a receive from a channel, or a send of an
// element to it.  A case with a nil channel is never ready (Go's nil
// channel).
type Case struct {
	Chan *Chan
	send bool
	elem []byte
}

// RecvCase is a case that receives from c.
func RecvCase(c *Chan) Case { return Case{Chan: c} }

// SendCase is a case that sends elem (exactly c.ElemSize() bytes) to c.
func SendCase(c *Chan, elem []byte) Case { return Case{Chan: c, send: true, elem: elem} }

const selectMax = 4096

// Select waits until one of the cases can proceed, does it, and returns
// its index, as Go's select statement: among cases ready at once one is
// chosen at random.  For a receive case, elem is the element and ok false
// once that channel is closed and drained; a send case returns a nil
// elem.  A send case whose channel is closed fails the Select with index
// set and ErrClosed.  ctx.Err() when ctx is done first.  The cases'
// channels are all kernel channels or all standalone ones (EINVAL
// otherwise).  An unbuffered send case fires only once a receiver took
// its element.
func Select(ctx context.Context, cases ...Case) (index int, elem []byte, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return -1, nil, false, err
	}
	return doSelect(ctx, cases, deadlineOf(ctx))
}

// TrySelect is Select without waiting: index -1 and ErrWouldBlock when no
// case is ready (Go's select with a default case).
func TrySelect(cases ...Case) (index int, elem []byte, ok bool, err error) {
	return doSelect(nil, cases, deadlineNonblock)
}

type selState struct {
	cases      []Case
	out        [][]byte // receive cases' buffers
	ok         []bool
	order      []int
	self       []uint32 // standalone: the select counts as a receiver of this case's channel
	registers  []bool   // the case that counts the select in for its channel
	until      int64    // non-blocking hand-offs' shared bound
	kernel     bool
	standalone bool
	kernelOnly bool
	handoff    bool
}

func doSelect(ctx context.Context, cases []Case, deadline int64) (int, []byte, bool, error) {
	defer runtime.KeepAlive(cases)
	s, err := newSelState(cases)
	if err != nil {
		return -1, nil, false, err
	}
	if deadline == deadlineNonblock && s.standalone && s.handoff {
		s.until = monoNow() + handoffNs
	}
	i, e := s.round(false)
	if i < 0 && e == syscall.EAGAIN && deadline != deadlineNonblock && !s.kernelOnly {
		// As gosync_select_spin_rounds: spinIters rounds up to 8 cases,
		// fewer beyond (about as many tries), at least one; the clock
		// and ctx every round beyond 8 cases, every 64 rounds else.
		rounds := spinIters
		if n := len(cases); rounds > 0 && n > 8 {
			if rounds = rounds * 8 / n; rounds == 0 {
				rounds = 1
			}
		}
		for k := 1; k <= rounds && i < 0 && e == syscall.EAGAIN; k++ {
			if len(cases) > 8 || k%64 == 0 {
				if deadline != deadlineForever && monoNow() >= deadline ||
					ctx != nil && ctx.Err() != nil {
					break
				}
				runtime.Gosched()
			}
			i, e = s.round(false)
		}
	}
	if i < 0 && e == syscall.EAGAIN {
		switch {
		case deadline == deadlineNonblock && !(s.kernel && s.kernelOnly):
			s.armAll()
			i, e = s.round(false)
		case !s.kernel:
			i, e = s.waitStandalone(ctx, deadline)
		default:
			i, e = s.waitKernel(ctx, deadline)
		}
	}
	if i < 0 {
		return -1, nil, false, errOf(ctx, e)
	}
	if e == syscall.EPIPE {
		return i, nil, false, ErrClosed
	}
	if e != 0 {
		return i, nil, false, errOf(ctx, e)
	}
	if cases[i].send {
		return i, nil, true, nil
	}
	if !s.ok[i] {
		return i, nil, false, nil
	}
	return i, s.out[i], true, nil
}

func newSelState(cases []Case) (*selState, error) {
	if len(cases) > selectMax {
		return nil, syscall.EINVAL
	}
	n := len(cases)
	s := &selState{cases: cases, out: make([][]byte, n), ok: make([]bool, n),
		order: make([]int, n)}
	for i, c := range cases {
		s.order[i] = i
		ch := c.Chan
		if ch == nil {
			continue
		}
		if c.send && len(c.elem) != ch.elemSize {
			return nil, syscall.EINVAL
		}
		if c.send && ch.noSend || !c.send && ch.noRecv {
			return nil, syscall.EBADF
		}
		if !c.send {
			s.out[i] = make([]byte, ch.elemSize)
		}
		if ch.cap == 0 && c.send {
			s.kernelOnly, s.handoff = true, true
		}
		if ch.mem == nil {
			s.kernelOnly = true
		}
		if ch.standalone {
			s.standalone = true
		} else {
			s.kernel = true
		}
	}
	if s.kernel && s.standalone {
		return nil, syscall.EINVAL
	}
	return s, nil
}

// round tries every case once, in a random order: the index of the one
// that fired (with EPIPE for a send to a closed channel), or -1 and
// EAGAIN, or -1 and an error.
func (s *selState) round(counted bool) (int, syscall.Errno) {
	rand.Shuffle(len(s.order), func(a, b int) {
		s.order[a], s.order[b] = s.order[b], s.order[a]
	})
	for _, i := range s.order {
		c := &s.cases[i]
		ch := c.Chan
		if ch == nil || ch.mem == nil {
			continue
		}
		if !c.send {
			got, e := ch.fastRecv(s.out[i])
			if wouldBlock(e) || e == syscall.EIO && !ch.standalone {
				continue // the kernel answers EIO itself
			}
			if e != 0 {
				return i, e
			}
			s.ok[i] = got
			if !got {
				zero(s.out[i])
			}
			return i, 0
		}
		if ch.r.closed() {
			return i, syscall.EPIPE
		}
		var e syscall.Errno
		if ch.cap == 0 {
			var self uint32
			if counted && s.self[i] != 0 {
				self = 1
			}
			if !ch.standalone ||
				atomic.LoadUint32(ch.recvW.waiters) <= self {
				continue
			}
			// Counted out while it hands off, as the kernel's select:
			// a select sending to us the same way would wait for us.
			if counted {
				s.countReceiving(-1)
			}
			e = ch.sendSyncStandalone(nil, c.elem, deadlineNonblock, 0, s.until)
			if counted {
				s.countReceiving(1)
			}
		} else {
			_, e = ch.fastSend(c.elem, slotFull)
		}
		if wouldBlock(e) {
			continue
		}
		return i, e
	}
	return -1, syscall.EAGAIN
}

func zero(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

func (s *selState) side(i int) waitWords {
	if s.cases[i].send {
		return s.cases[i].Chan.sendW
	}
	return s.cases[i].Chan.recvW
}

func (s *selState) armAll() {
	for i, c := range s.cases {
		if c.Chan != nil && c.Chan.mem != nil {
			atomic.StoreUint32(s.side(i).armed, 1)
		}
	}
	fence() // F
}

func (s *selState) countReceiving(d int32) {
	for i, r := range s.registers {
		if r {
			s.cases[i].Chan.recvWaitersAdd(d)
		}
	}
}

// waitStandalone: rounds between futex sleeps on every case's side,
// counted as a receiver of each channel it receives from (as
// lib/select.c gosync_select_standalone).
func (s *selState) waitStandalone(ctx context.Context, deadline int64) (int, syscall.Errno) {
	n := len(s.cases)
	s.self = make([]uint32, n)
	s.registers = make([]bool, n)
	first := map[*Chan]int{}
	for i, c := range s.cases {
		if c.Chan == nil || c.send {
			continue
		}
		if _, seen := first[c.Chan]; !seen {
			first[c.Chan] = i
			s.registers[i] = true
		}
	}
	for i, c := range s.cases {
		if c.Chan != nil {
			if _, r := first[c.Chan]; r {
				s.self[i] = 1
			}
		}
	}
	var words []*uint32
	seen := map[*uint32]bool{}
	for i, c := range s.cases {
		if c.Chan == nil {
			continue
		}
		if w := s.side(i).futex; !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	vals := make([]uint32, len(words))
	s.countReceiving(1)
	defer s.countReceiving(-1)
	for {
		if deadline != deadlineForever && monoNow() >= deadline {
			return -1, syscall.ETIMEDOUT
		}
		if ctx != nil && ctx.Err() != nil {
			return -1, syscall.ECANCELED
		}
		for k, w := range words {
			vals[k] = atomic.LoadUint32(w)
		}
		s.armAll()
		if i, e := s.round(true); i >= 0 || e != syscall.EAGAIN {
			return i, e
		}
		futexWaitMany(words, vals, sliceEnd(ctx, deadline))
		if i, e := s.round(true); i >= 0 || e != syscall.EAGAIN {
			return i, e
		}
	}
}

// waitKernel: the module's SELECT, in slices when ctx can be cancelled
// (it holds this goroutine's thread).
func (s *selState) waitKernel(ctx context.Context, deadline int64) (int, syscall.Errno) {
	n := len(s.cases)
	kc := make([]selectCase, n)
	bufs := make([]*kbuf, n)
	for i, c := range s.cases {
		kc[i].Op = selRecv
		kc[i].Fd = -1
		if c.Chan == nil {
			continue // never ready: fd -1 (its op must still be valid)
		}
		kc[i].Fd = int32(c.Chan.fd)
		bufs[i] = getBuf(c.Chan.elemSize)
		kc[i].Elem = bufAddr(bufs[i].b)
		if c.send {
			kc[i].Op = selSend
			copy(bufs[i].b, c.elem)
			raceRelease(&c.Chan.hb)
		} else {
			raceReceived()
		}
	}
	defer func() {
		for _, b := range bufs {
			if b != nil {
				putBuf(b)
			}
		}
	}()
	dfd, _, err := device()
	if err != nil {
		return -1, syscall.ENODEV
	}
	for {
		until := sliceEnd(ctx, deadline)
		a := selectArg{Ncases: uint32(n), DeadlineNs: until}
		if n > 0 {
			a.Cases = uint64(uintptr(unsafe.Pointer(&kc[0])))
		}
		_, e := ioctl(dfd, iocSelect, unsafe.Pointer(&a))
		runtime.KeepAlive(kc)
		runtime.KeepAlive(bufs)
		if e == syscall.ETIMEDOUT && until != deadline {
			if ctx.Err() != nil {
				return -1, syscall.ECANCELED
			}
			continue
		}
		if e != 0 && e != syscall.EPIPE {
			return -1, e
		}
		i := int(a.Index)
		if i < 0 || i >= n {
			return -1, syscall.EIO
		}
		if e == syscall.EPIPE {
			return i, e
		}
		if !s.cases[i].send {
			s.ok[i] = kc[i].Result == 1
			if s.ok[i] {
				copy(s.out[i], bufs[i].b)
			} else {
				zero(s.out[i])
			}
			raceAcquire(&s.cases[i].Chan.hb)
		} else {
			raceDelivered()
		}
		return i, 0
	}
}
