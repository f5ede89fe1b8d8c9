// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

import (
	"context"
	"math"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// WaitGroup, a port of lib/wg.c: the same word and the same transitions,
// so Go and C processes share one waitgroup.
//
// One 64-bit state word at syncOffWords: the counter in the high half;
// the low half holds the kernel's ARMED bit, a generation and the number
// of waiters, and is the futex word waiters sleep on.  Add and Done are
// one CAS (never taking the counter below zero, so a bad Add changes
// nothing).  The Done that brings the counter to zero, in that same CAS,
// resets waiters and ARMED and, if anyone was waiting, moves the
// generation on; then it wakes the word (and the kernel's pollers if
// ARMED was set).  A waiter is released when the generation it counted
// itself in under has moved on, or the counter is zero.  A waiter that
// gives up (deadline, cancellation) takes its count back with a CAS of
// the whole word, generation included (docs/memory-model.md, WG;
// models/wg.pml).
//
// Not ported: owned counts (gosync_wg_add_owned, GOSYNC_SYNC_IOC_WG_*_
// OWNED).  A Go Done is always a plain Add(-1); owned counts that C
// processes hold on the same waitgroup work unchanged (the kernel changes
// the same word with the same CAS, and Go waiters sleep in 100 ms slices
// in kernel mode to see them paid).

const (
	wgArmed   = 0x80000000
	wgGen     = 0x7ffff000 // 19 bits
	wgWaiters = 0x00000fff // 4095 at most
	wgGenOne  = wgGen & -wgGen
)

// syncLittleEndian: the futex word of a waitgroup is the state's low
// half: byte 0 of it on little-endian machines, byte 4 on big-endian.
var syncLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// A WaitGroup waits for a collection of tasks to finish, as Go's
// sync.WaitGroup, across processes: every process that has its fd (and
// every C or Python process using libgosync) shares one counter.  Add
// changes the counter, Done decrements it, and Wait blocks until it is
// zero.  Unlike sync.WaitGroup, misuse is an error, not a panic: an Add
// that would take the counter below zero returns EINVAL and changes
// nothing.  A WaitGroup may be reused as soon as Wait returns (each
// release moves a generation on).
//
// A goroutine blocked in Wait blocks its OS thread (a futex wait).  At
// most 4095 waiters (over all processes) may wait at once; one more gets
// EOVERFLOW.  A WaitGroup is safe for concurrent use; Free ends it.
type WaitGroup struct {
	so    *syncObj
	state *uint64
	futex *uint32
}

// NewWaitGroup makes a waitgroup with a counter of zero.  Without
// Standalone it is the module's (ENODEV when there is none); with it, a
// sealed memfd that any process given the fd can adopt.  Other flags are
// EINVAL.
func NewWaitGroup(f Flags) (*WaitGroup, error) {
	so, err := newSyncObj(syncKindWG, f)
	if err != nil {
		return nil, err
	}
	return newWaitGroup(so), nil
}

// WaitGroupFromFD makes a handle of a waitgroup whose fd this process
// got (by inheritance, SCM_RIGHTS, or from C or Python): a kernel object
// or a standalone memfd, told apart by the fd itself.  The handle has its
// own duplicate of fd; the caller still owns fd.  An fd of another kind
// of object, or a file that is not a sealed waitgroup page, is EINVAL.
func WaitGroupFromFD(fd int) (*WaitGroup, error) {
	so, err := syncFromFD(fd, syncKindWG)
	if err != nil {
		return nil, err
	}
	return newWaitGroup(so), nil
}

func newWaitGroup(so *syncObj) *WaitGroup {
	w := &WaitGroup{so: so, state: so.word64(0)}
	if syncLittleEndian {
		w.futex = so.word32(0)
	} else {
		w.futex = so.word32(4)
	}
	runtime.SetFinalizer(w, (*WaitGroup).Free)
	return w
}

func wgCounter(s uint64) int32 { return int32(s >> 32) }

// wgNext adds @delta to the state @old (gosync_wg_next): EINVAL below
// zero (nothing changes), EOVERFLOW past MaxInt32.  To zero: everyone
// waiting is released (the generation moves on), the group reset.
func wgNext(old uint64, delta int64) (uint64, syscall.Errno) {
	c := int64(wgCounter(old)) + delta
	switch {
	case c < 0:
		return 0, syscall.EINVAL
	case c > math.MaxInt32:
		return 0, syscall.EOVERFLOW
	case c != 0:
		return uint64(c)<<32 | uint64(uint32(old)), 0
	case old&wgWaiters != 0:
		return (old&wgGen + wgGenOne) & wgGen, 0
	}
	return old & wgGen, 0
}

// wgWakes: does going from @old to @new owe a wake (waiters asleep, or
// pollers armed)?
func wgWakes(old, new uint64) bool {
	return wgCounter(new) == 0 && old&(wgWaiters|wgArmed) != 0
}

// Add adds delta, which may be negative, to the counter.  When the
// counter reaches zero, every goroutine and process blocked in Wait is
// released.  An Add that would take the counter below zero returns
// EINVAL, one past MaxInt32 EOVERFLOW; neither changes anything.
func (w *WaitGroup) Add(delta int) error {
	// Clamped: the counter is an int32, so the outcome is the same.
	d := int64(delta)
	if d > 1<<33 {
		d = 1 << 33
	} else if d < -1<<33 {
		d = -1 << 33
	}
	if d < 0 {
		raceRelease(&w.so.hb)
	}
	// The common case, one CAS (gosync_wg_add's fast path: the general
	// path's first round when it wakes nobody).
	old := atomic.LoadUint64(w.state)
	if new, e := wgNext(old, d); e == 0 && !wgWakes(old, new) &&
		atomic.CompareAndSwapUint64(w.state, old, new) {
		runtime.KeepAlive(w)
		return nil
	}
	return w.addSlow(d)
}

// addSlow: gosync_wg_add_slow.
func (w *WaitGroup) addSlow(d int64) error {
	defer runtime.KeepAlive(w)
	var old, new uint64
	for {
		old = atomic.LoadUint64(w.state)
		var e syscall.Errno
		if new, e = wgNext(old, d); e != 0 {
			return e
		}
		if atomic.CompareAndSwapUint64(w.state, old, new) {
			break
		}
	}
	if !wgWakes(old, new) {
		return nil
	}
	// WG: the word changed in the CAS above; wake those asleep on it.
	if old&wgWaiters != 0 {
		futexWakeN(w.futex, math.MaxInt32)
	}
	if old&wgArmed != 0 {
		ioctl(w.so.fd, syncIocWake, nil)
	}
	return nil
}

// Done decrements the counter by one: Add(-1).  EINVAL (nothing changes)
// when it is already zero.
func (w *WaitGroup) Done() error { return w.Add(-1) }

// TryWait reports whether the counter is zero now (Wait would return at
// once), without waiting.
func (w *WaitGroup) TryWait() bool {
	defer runtime.KeepAlive(w)
	if wgCounter(atomic.LoadUint64(w.state)) == 0 {
		raceAcquire(&w.so.hb)
		return true
	}
	return false
}

// Wait blocks until the counter is zero, or ctx is done: then it returns
// ctx.Err() (context.DeadlineExceeded once ctx's deadline passed), and
// this waiter is no longer counted.  A counter that is zero already
// returns nil even when ctx is done.  EOVERFLOW: 4095 waiters wait
// already.  Cancellation is seen within 50 ms (the wait is a futex
// sleep, in slices when ctx can be cancelled); a deadline is kept
// exactly.
func (w *WaitGroup) Wait(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	defer runtime.KeepAlive(w)
	deadline := deadlineOf(ctx)
	done := ctx.Done()
	// WG: count in with a CAS while the counter is not zero.
	old := atomic.LoadUint64(w.state)
	for {
		if wgCounter(old) == 0 {
			raceAcquire(&w.so.hb)
			return nil
		}
		if syncDeadlinePassed(deadline) {
			return syncCtxErr(ctx)
		}
		if syncCancelled(done) {
			return ctx.Err()
		}
		if old&wgWaiters == wgWaiters {
			return syscall.EOVERFLOW
		}
		if atomic.CompareAndSwapUint64(w.state, old, old+1) {
			break
		}
		old = atomic.LoadUint64(w.state)
	}
	gen := old & wgGen
	v := uint32(old + 1)
	for {
		// Kernel mode: slices, to see a dead owner's counts paid; a
		// cancellable ctx: slices, to see it done.
		r := futexWaitUntil(w.futex, v, w.so.slice(deadline, done != nil))
		s := atomic.LoadUint64(w.state)
		// Released: the generation moved on, or the counter is zero.
		if s&wgGen != gen || wgCounter(s) == 0 {
			raceAcquire(&w.so.hb)
			return nil
		}
		// A signal is a spurious wake here (C returns EINTR).
		if r == syscall.EINTR {
			r = 0
		}
		// A slice ended, not the wait.
		if r == syscall.ETIMEDOUT && !syncDeadlinePassed(deadline) {
			r = 0
		}
		if r == 0 && syncCancelled(done) {
			r = syscall.ECANCELED
		}
		// The word changed for another reason (a waiter, ARMED).
		if r == 0 {
			v = uint32(s)
			continue
		}
		// Timed out or cancelled: leave, unless released meanwhile.
		if !w.leave(gen) {
			raceAcquire(&w.so.hb)
			return nil
		}
		switch r {
		case syscall.ETIMEDOUT:
			return syncCtxErr(ctx)
		case syscall.ECANCELED:
			return ctx.Err()
		}
		return r
	}
}

// leave stops waiting without having been released: it takes our count
// back, with the generation in the CAS, unless the group was released
// meanwhile (gosync_wg_leave).  false: released; true: taken back.
func (w *WaitGroup) leave(gen uint64) bool {
	for {
		old := atomic.LoadUint64(w.state)
		if old&wgGen != gen || wgCounter(old) == 0 || old&wgWaiters == 0 {
			return false
		}
		if atomic.CompareAndSwapUint64(w.state, old, old-1) {
			return true
		}
	}
}

// Fd is the waitgroup's fd, owned by the handle: to pass to another
// process (which adopts it with WaitGroupFromFD or gosync_wg_from_fd),
// or, in kernel mode, to poll (POLLIN while the counter is zero).
func (w *WaitGroup) Fd() int { return w.so.Fd() }

// Free releases this handle: its mapping and its fd.  The waitgroup
// lives on while other handles, fds or processes hold it.  No operation
// on the handle may run during or after Free; a second Free returns the
// first one's result.
func (w *WaitGroup) Free() error {
	runtime.SetFinalizer(w, nil)
	return w.so.free()
}
