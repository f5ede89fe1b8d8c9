// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Parking on Go's netpoller (kernel mode, buffered channels; models/
// gopark.pml).  A goroutine that must wait takes a private end of the
// channel -- GOSYNC_CHAN_IOC_DUP, receive-only (it keeps no autoclose
// channel open) and O_NONBLOCK, so os.NewFile registers it with the
// netpoller (edge-triggered epoll) -- and waits in its RawConn's Read or
// Write.  The module's poll reports both directions on any end, wakes
// every end on each wake, and arms the side it finds not ready.
//
// RawRead/RawWrite reset the end's readiness first, then call f, then
// park until an edge.  f tries the fast path, then the non-blocking SEND
// or RECV ioctl, in which the kernel tries, arms (F) and tries again: an
// element published after that try finds the side armed, so its sender's
// wake (E) brings an edge, and an edge after the reset is never lost.
// Each end is private: its readiness and its deadline are one waiter's.
//
// Cases no wake marks (a claim left by a process stopped or dying at its
// last step, a close with a claim in flight, words a peer scribbled) end
// with the park's retry interval: every parkRetry the goroutine looks
// again.

// parkRetry is a var for the tests, which lengthen it so a lost wakeup
// hangs instead of costing 100 ms.
var parkRetry = 100 * time.Millisecond

const parkKeep = 4 // idle ends kept per channel

type parkEnd struct {
	f  *os.File
	rc syscall.RawConn
}

type parkPool struct {
	mu     sync.Mutex
	idle   []*parkEnd
	broken bool // no DUP, or the end cannot be polled: block instead
}

var errNoPark = errors.New("gosync: no pollable end")

func (p *parkPool) get(c *Chan) (*parkEnd, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		pe := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return pe, nil
	}
	broken := p.broken
	p.mu.Unlock()
	if broken {
		return nil, errNoPark
	}
	if _, feat, _ := device(); feat&featNames == 0 {
		p.setBroken()
		return nil, errNoPark
	}
	// A receive-only end keeps no autoclose channel open; a send-only
	// handle can only make a send-only end (what an fd cannot do, its
	// dup cannot), and is one itself: its ends change nothing.
	dir := uint32(dupRecvOnly)
	if c.noRecv {
		dir = dupSendOnly
	}
	req := chanDup{Flags: dir | dupNonblock | dupCloexec}
	fd, e := ioctl(c.fd, chanIocDup, unsafe.Pointer(&req))
	if e != 0 {
		if e == syscall.EMFILE || e == syscall.ENFILE || e == syscall.ENOMEM {
			return nil, errNoPark // for now; try again next time
		}
		p.setBroken()
		return nil, errNoPark
	}
	f := os.NewFile(uintptr(fd), "gosync-park")
	rc, err := f.SyscallConn()
	if err != nil || f.SetDeadline(time.Time{}) != nil {
		// Not registered with the netpoller: no deadlines there.
		f.Close()
		p.setBroken()
		return nil, errNoPark
	}
	return &parkEnd{f: f, rc: rc}, nil
}

func (p *parkPool) setBroken() {
	p.mu.Lock()
	p.broken = true
	p.mu.Unlock()
}

func (p *parkPool) put(pe *parkEnd) {
	p.mu.Lock()
	if len(p.idle) < parkKeep {
		p.idle = append(p.idle, pe)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	pe.f.Close()
}

func (p *parkPool) drain() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, pe := range idle {
		pe.f.Close()
	}
}

// kernelWait sends or receives one element on a kernel channel, parking
// on the netpoller while it cannot.  The count is RECV's (0: closed and
// drained) or 1 for a send.
func (c *Chan) kernelWait(ctx context.Context, send bool, elem []byte,
	deadline int64) (int, syscall.Errno) {
	req := uintptr(chanIocRecv)
	if send {
		req = chanIocSend
	}
	try := func() (int, syscall.Errno, bool) {
		if c.mem != nil {
			if send {
				if _, e := c.fastSend(elem, slotFull); !wouldBlock(e) {
					return 1, e, true
				}
			} else {
				got, e := c.fastRecv(elem)
				if !wouldBlock(e) && e != syscall.EIO {
					if got {
						return 1, 0, true
					}
					return 0, e, true
				}
			}
		}
		// The kernel tries, arms the side (F) and tries again.
		n, e := c.xferN(req, elem, deadlineNonblock)
		if e == syscall.EAGAIN {
			return 0, 0, false
		}
		return n, e, true
	}
	if n, e, done := try(); done {
		return n, e
	}
	if deadline == deadlineNonblock {
		return 0, syscall.EAGAIN
	}
	pe, err := c.parks.get(c)
	if err != nil {
		// No pollable end: wait in the kernel, on this thread.
		if send {
			return 1, c.kernelSliced(ctx, chanIocSend, elem, deadline, 0)
		}
		return c.kernelRecvSliced(ctx, elem, deadline)
	}
	var stop, stopped chan struct{}
	if ctx != nil && ctx.Done() != nil {
		stop, stopped = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stopped)
			select {
			case <-ctx.Done():
				pe.f.SetDeadline(time.Unix(1, 0))
			case <-stop:
			}
		}()
	}
	defer func() {
		if stop != nil {
			close(stop)
			<-stopped
		}
		pe.f.SetDeadline(time.Time{})
		c.parks.put(pe)
	}()
	var n int
	var e syscall.Errno
	f := func(uintptr) bool {
		var done bool
		n, e, done = try()
		return done
	}
	for {
		next := time.Now().Add(parkRetry)
		last := false
		if deadline != deadlineForever {
			if left := time.Duration(deadline - monoNow()); left < parkRetry {
				next, last = time.Now().Add(left), true
			}
		}
		if send {
			pe.f.SetWriteDeadline(next)
		} else {
			pe.f.SetReadDeadline(next)
		}
		if ctx != nil && ctx.Err() != nil {
			return 0, syscall.ECANCELED
		}
		var err error
		if send {
			err = pe.rc.Write(f)
		} else {
			err = pe.rc.Read(f)
		}
		if err == nil {
			return n, e
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, syscall.EIO
		}
		if ctx != nil && ctx.Err() != nil {
			return 0, syscall.ECANCELED
		}
		// The retry interval (or the deadline): one more look.
		if n, e, done := try(); done {
			return n, e
		}
		if last || deadline != deadlineForever && monoNow() >= deadline {
			return 0, syscall.ETIMEDOUT
		}
	}
}
