// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

import (
	"context"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

// Mutex, a port of lib/mutex.c with Go's two modes: the same words and
// the same transitions, so Go and C processes share one mutex.
//
// The state word (at syncOffWords) is the futex word: who holds it (the
// mapping's owner id; 0 in standalone mode), LOCKED, STARVING, HANDOFF,
// OWNER_DIED, NOTRECOVERABLE.  The waiters word (4 bytes on) counts the
// blocked.  Not owned by a goroutine or thread: anyone in any process may
// unlock it (Go's rule).
//
// Normal mode: unlock clears LOCKED and wakes one waiter, which competes
// with newcomers.  Starvation mode: a waiter that waited more than 1 ms
// sets STARVING; from then on unlock hands the lock over (LOCKED stays
// set, HANDOFF says "a waiter that slept may take it") and wakes one
// waiter; newcomers queue.  If no waiter was asleep to wake, unlock takes
// the hand-off back and wakes one more (models/mutex.pml,
// MUT_NO_TAKEBACK_WAKE).  The waiter that takes a hand-off ends
// starvation mode when it is the last waiter or waited less than 1 ms.
//
// Owner death (kernel mode): when the holder's mapping goes away the
// kernel sets OWNER_DIED and clears the owner field; the next locker
// takes the mutex over with EOWNERDEAD (writing its owner id) and may
// call Consistent; unlocking without doing so makes it NOTRECOVERABLE.
// Waiters sleep in 100 ms slices to notice (the kernel cannot wake a
// futex).  Standalone mode cannot know: a holder that dies leaves the
// mutex locked; lock with a deadline to bound the wait.
//
// No lost wakeup (MUTEX in docs/memory-model.md): a waiter counts itself
// in waiters (seq_cst RMW) before it loads the state it passes to
// FUTEX_WAIT; unlock changes the state (seq_cst CAS) before it loads
// waiters.

const (
	mutexOwner    = 0x1ffff
	mutexLocked   = 0x20000
	mutexStarving = 0x40000
	mutexHandoff  = 0x80000
	mutexDied     = 0x100000
	mutexDead     = 0x200000 // NOTRECOVERABLE

	// Go's starvationThresholdNs.
	mutexStarvationNs = 1e6
	// Pauses between two looks at a held mutex while spinning (Go: 30).
	mutexSpinPauses = 30
	// GOSYNC_SPIN tries per look at a held mutex while spinning.
	mutexSpinDiv = 10
)

var (
	// ErrOwnerDead (EOWNERDEAD): the lock was taken over from a holder
	// that died (its process's mapping went away, kernel mode); the
	// caller holds it, and the data it guards may be inconsistent.
	// Repair it and call Consistent, or unlock it to make the mutex
	// unusable (ErrNotRecoverable for every later locker).
	ErrOwnerDead error = syscall.EOWNERDEAD
	// ErrNotRecoverable (ENOTRECOVERABLE): a mutex taken over from a
	// dead holder was unlocked without Consistent; it can never be
	// locked again.
	ErrNotRecoverable error = syscall.ENOTRECOVERABLE
)

// A LockError is the panic value of Lock, TryLock and Unlock when the
// operation fails (the sync.Locker methods cannot return an error): Op
// is "lock", "trylock" or "unlock", Err the error (ErrOwnerDead,
// ErrNotRecoverable, syscall.EPERM for an unlock of an unlocked mutex).
type LockError struct {
	Op  string
	Err error
}

// Error returns "gosync: mutex <Op>: <Err>".
func (e *LockError) Error() string {
	return "gosync: mutex " + e.Op + ": " + e.Err.Error()
}

// Unwrap returns Err, for errors.Is.
func (e *LockError) Unwrap() error { return e.Err }

// A Mutex is a mutual exclusion lock, as Go's sync.Mutex, across
// processes: every process that has its fd (and every C or Python
// process using libgosync) shares it.  The uncontended Lock and Unlock
// are one CAS each; a goroutine that must wait spins briefly, then
// blocks its OS thread on a futex.  A Mutex is not owned by a goroutine:
// any goroutine of any process may unlock it.
//
// Lock and Unlock implement sync.Locker and panic with a *LockError on
// failure.  Robust code (a kernel-mode mutex whose holder may die) uses
// LockContext, which returns ErrOwnerDead instead.  A Mutex is safe for
// concurrent use; Free ends it.
type Mutex struct {
	so      *syncObj
	state   *uint32
	waiters *uint32
}

var _ sync.Locker = (*Mutex)(nil)

// NewMutex makes an unlocked mutex.  Without Standalone it is the
// module's (ENODEV when there is none); with it, a sealed memfd that any
// process given the fd can adopt.  Other flags are EINVAL.
func NewMutex(f Flags) (*Mutex, error) {
	so, err := newSyncObj(syncKindMutex, f)
	if err != nil {
		return nil, err
	}
	return newMutex(so), nil
}

// MutexFromFD makes a handle of a mutex whose fd this process got (by
// inheritance, SCM_RIGHTS, or from C or Python): a kernel object or a
// standalone memfd, told apart by the fd itself.  The handle has its own
// duplicate of fd; the caller still owns fd.  An fd of another kind of
// object, or a file that is not a sealed mutex page, is EINVAL.
func MutexFromFD(fd int) (*Mutex, error) {
	so, err := syncFromFD(fd, syncKindMutex)
	if err != nil {
		return nil, err
	}
	return newMutex(so), nil
}

func newMutex(so *syncObj) *Mutex {
	m := &Mutex{so: so, state: so.word32(0), waiters: so.word32(4)}
	runtime.SetFinalizer(m, (*Mutex).Free)
	return m
}

// syncRelax stands for the CPU's pause between two looks (Go has no
// portable PAUSE; a call is a short, harmless delay).
//
//go:noinline
func syncRelax() {}

// take takes the mutex if state @old allows the caller to (gosync_mutex_
// take): in starvation mode only a waiter that has already slept
// (@waiter) may.  0 or EOWNERDEAD: taken; ENOTRECOVERABLE; EBUSY: not
// now; EAGAIN: the CAS lost (look again).
func (m *Mutex) take(old uint32, waiter bool) syscall.Errno {
	me := m.so.owner
	if old&mutexDead != 0 {
		return syscall.ENOTRECOVERABLE
	}
	if old&mutexHandoff != 0 && waiter {
		// Handed over: ours, in starvation mode still.
		if atomic.CompareAndSwapUint32(m.state, old,
			old&^(mutexHandoff|mutexOwner)|me) {
			return 0
		}
		return syscall.EAGAIN
	}
	if old&(mutexLocked|mutexDied|mutexHandoff|mutexOwner) ==
		mutexLocked|mutexDied {
		// The holder died (the kernel cleared the owner field): take
		// it over, inconsistent; our owner id keeps the next out.
		if atomic.CompareAndSwapUint32(m.state, old, old|me) {
			return syscall.EOWNERDEAD
		}
		return syscall.EAGAIN
	}
	if old&mutexLocked != 0 {
		return syscall.EBUSY
	}
	// Unlocked.  In starvation mode only waiters may take it.
	if old&mutexStarving != 0 && !waiter {
		return syscall.EBUSY
	}
	if atomic.CompareAndSwapUint32(m.state, old, old|mutexLocked|me) {
		return 0
	}
	return syscall.EAGAIN
}

// trylock: gosync_mutex_trylock_words.
func (m *Mutex) trylock() syscall.Errno {
	for {
		if e := m.take(atomic.LoadUint32(m.state), false); e != syscall.EAGAIN {
			return e
		}
	}
}

// endStarving: Go's exit from starvation mode, not while a hand-off is
// on its way to a waiter.
func (m *Mutex) endStarving() {
	for {
		old := atomic.LoadUint32(m.state)
		if old&mutexStarving == 0 || old&mutexHandoff != 0 ||
			atomic.CompareAndSwapUint32(m.state, old, old&^mutexStarving) {
			return
		}
	}
}

// lockSlow: gosync_mutex_lock_words, until @deadline (ETIMEDOUT) or
// @done is closed (ECANCELED).  A signal never ends the wait.
func (m *Mutex) lockSlow(done <-chan struct{}, deadline int64) syscall.Errno {
	e := m.trylock()
	if e != syscall.EBUSY {
		return e
	}
	// Spin a little first: look only every mutexSpinPauses pauses, and
	// try only when the look says it could succeed.
	for i := (spinIters + mutexSpinDiv - 1) / mutexSpinDiv; e == syscall.EBUSY &&
		i > 0 && !syncDeadlinePassed(deadline); i-- {
		for k := 0; k < mutexSpinPauses; k++ {
			syncRelax()
		}
		seen := atomic.LoadUint32(m.state)
		if seen&mutexLocked != 0 && seen&mutexDead == 0 &&
			seen&(mutexDied|mutexOwner) != mutexDied {
			continue // still held: look again later
		}
		e = m.trylock()
	}
	if e != syscall.EBUSY {
		return e
	}

	slept := false
	start := monoNow()
	// MUTEX: counted in before loading the state we sleep on.
	atomic.AddUint32(m.waiters, 1)
	for {
		old := atomic.LoadUint32(m.state)
		e = m.take(old, slept)
		if e == syscall.EAGAIN {
			continue
		}
		if e != syscall.EBUSY {
			break
		}
		if monoNow()-start > mutexStarvationNs && old&mutexStarving == 0 {
			// Starving: from now on unlock hands over.
			atomic.CompareAndSwapUint32(m.state, old, old|mutexStarving)
			continue
		}
		if syncDeadlinePassed(deadline) {
			e = syscall.ETIMEDOUT
			break
		}
		if syncCancelled(done) {
			e = syscall.ECANCELED
			break
		}
		until := m.so.slice(deadline, done != nil)
		// Wake once the threshold is passed, to starve if still here.
		if old&mutexStarving == 0 && start+mutexStarvationNs+1000 < until {
			until = start + mutexStarvationNs + 1000
		}
		// EINTR, ETIMEDOUT, a wake: look again in every case.
		futexWaitUntil(m.state, old, until)
		slept = true
	}
	left := atomic.AddUint32(m.waiters, ^uint32(0))
	// Go: starvation mode ends with the last waiter, or when one that
	// hardly waited takes the lock.
	if left == 0 || (e == 0 || e == syscall.EOWNERDEAD) &&
		monoNow()-start < mutexStarvationNs {
		m.endStarving()
	}
	return e
}

// Lock locks m, waiting as long as it takes.  It panics with a
// *LockError on failure: ErrNotRecoverable; or ErrOwnerDead, in which
// case the caller DOES hold the lock when the panic starts (recover,
// repair, then Consistent, or Unlock).  Robust code uses LockContext.
func (m *Mutex) Lock() {
	defer runtime.KeepAlive(m)
	if atomic.CompareAndSwapUint32(m.state, 0, mutexLocked|m.so.owner) {
		raceAcquire(&m.so.hb)
		return
	}
	e := m.lockSlow(nil, deadlineForever)
	if e == 0 || e == syscall.EOWNERDEAD {
		raceAcquire(&m.so.hb)
	}
	if e != 0 {
		panic(&LockError{Op: "lock", Err: e})
	}
}

// LockContext locks m, or gives up when ctx is done.  It returns nil
// (locked); ErrOwnerDead (locked: the previous holder died with it, so
// repair what it guards and call Consistent, or Unlock to make the mutex
// unusable); ErrNotRecoverable (not locked, never again); or ctx.Err()
// (not locked; context.DeadlineExceeded once ctx's deadline passed).  A
// free mutex is locked even when ctx is done already.  Cancellation is
// seen within 50 ms (the wait is a futex sleep, in slices when ctx can
// be cancelled); a deadline is kept exactly.
func (m *Mutex) LockContext(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	defer runtime.KeepAlive(m)
	if atomic.CompareAndSwapUint32(m.state, 0, mutexLocked|m.so.owner) {
		raceAcquire(&m.so.hb)
		return nil
	}
	switch e := m.lockSlow(ctx.Done(), deadlineOf(ctx)); e {
	case 0:
		raceAcquire(&m.so.hb)
		return nil
	case syscall.EOWNERDEAD:
		raceAcquire(&m.so.hb)
		return ErrOwnerDead
	case syscall.ETIMEDOUT:
		return syncCtxErr(ctx)
	case syscall.ECANCELED:
		return ctx.Err()
	default:
		return e
	}
}

// TryLock locks m if it is free now, and reports whether it did.  As
// Lock it panics with a *LockError for ErrOwnerDead (holding the lock)
// and ErrNotRecoverable; TryLockErr returns them instead.
func (m *Mutex) TryLock() bool {
	switch err := m.TryLockErr(); err {
	case nil:
		return true
	case syscall.EBUSY:
		return false
	default:
		panic(&LockError{Op: "trylock", Err: err})
	}
}

// TryLockErr locks m if it is free now (gosync_mutex_trylock): nil;
// syscall.EBUSY when it is held (or, in starvation mode, promised to a
// waiter); ErrOwnerDead (locked, as for LockContext); ErrNotRecoverable.
func (m *Mutex) TryLockErr() error {
	defer runtime.KeepAlive(m)
	switch e := m.trylock(); e {
	case 0:
		raceAcquire(&m.so.hb)
		return nil
	case syscall.EOWNERDEAD:
		raceAcquire(&m.so.hb)
		return ErrOwnerDead
	default:
		return e
	}
}

// Unlock unlocks m; it panics with a *LockError (syscall.EPERM) when m
// is not locked.  Any goroutine of any process may unlock a locked mutex.
// Unlocking a mutex taken over with ErrOwnerDead, without Consistent,
// makes it not recoverable.
func (m *Mutex) Unlock() {
	if err := m.UnlockErr(); err != nil {
		panic(&LockError{Op: "unlock", Err: err})
	}
}

// UnlockErr unlocks m: nil, or syscall.EPERM when m is not locked (or is
// being handed over to a waiter), nothing changed.
func (m *Mutex) UnlockErr() error {
	defer runtime.KeepAlive(m)
	// The common case, one CAS (gosync_mutex_unlock's fast path).
	old := atomic.LoadUint32(m.state)
	if old&^mutexOwner == mutexLocked {
		raceRelease(&m.so.hb)
		if atomic.CompareAndSwapUint32(m.state, old, 0) {
			// MUTEX: after the state change; matches the count-in.
			if atomic.LoadUint32(m.waiters) != 0 {
				futexWakeN(m.state, 1)
			}
			return nil
		}
	}
	if e := m.unlockSlow(); e != 0 {
		return e
	}
	return nil
}

// unlockSlow: gosync_mutex_unlock_words.
func (m *Mutex) unlockSlow() syscall.Errno {
	var new uint32
	var handoff bool
	for {
		old := atomic.LoadUint32(m.state)
		if old&mutexLocked == 0 || old&mutexHandoff != 0 {
			return syscall.EPERM
		}
		if old&mutexDied != 0 {
			// Left inconsistent: nobody may use it again.
			new, handoff = mutexDead, false
		} else {
			handoff = old&mutexStarving != 0 &&
				atomic.LoadUint32(m.waiters) != 0
			// Starvation mode lasts only while someone waits.
			new = 0
			if handoff {
				new = mutexLocked | mutexStarving | mutexHandoff
			}
		}
		raceRelease(&m.so.hb)
		if atomic.CompareAndSwapUint32(m.state, old, new) {
			break
		}
	}
	if new == mutexDead {
		futexWakeN(m.state, math.MaxInt32) // they all fail now
		return 0
	}
	// MUTEX: after the state change; matches the waiter's count-in.
	if atomic.LoadUint32(m.waiters) == 0 {
		return 0
	}
	if futexWakeN(m.state, 1) > 0 || !handoff {
		return 0
	}
	// Nobody was asleep to take the hand-off: take it back (ending
	// starvation mode), and wake one that may have fallen asleep on the
	// hand-off state meanwhile (it may not take a hand-off it has not
	// slept for).
	for {
		old := atomic.LoadUint32(m.state)
		if old&mutexHandoff == 0 {
			return 0
		}
		if atomic.CompareAndSwapUint32(m.state, old, 0) {
			futexWakeN(m.state, 1)
			return 0
		}
	}
}

// Consistent marks the state a mutex taken over with ErrOwnerDead
// protects as repaired: the mutex stays locked by the caller and is
// normal again once unlocked.  Only the handle (mapping) that took it
// over may (in standalone mode every handle is owner 0); otherwise, or
// when m is not in that state, it returns EINVAL.
func (m *Mutex) Consistent() error {
	defer runtime.KeepAlive(m)
	for {
		old := atomic.LoadUint32(m.state)
		if old&(mutexLocked|mutexDied) != mutexLocked|mutexDied ||
			old&mutexHandoff != 0 || old&mutexOwner != m.so.owner {
			return syscall.EINVAL
		}
		if atomic.CompareAndSwapUint32(m.state, old, old&^mutexDied) {
			return nil
		}
	}
}

// Fd is the mutex's fd, owned by the handle: to pass to another process
// (which adopts it with MutexFromFD or gosync_mutex_from_fd).
func (m *Mutex) Fd() int { return m.so.Fd() }

// Free releases this handle: its mapping and its fd.  The mutex lives on
// (locked or not) while other handles, fds or processes hold it.  No
// operation on the handle may run during or after Free; a second Free
// returns the first one's result.
func (m *Mutex) Free() error {
	runtime.SetFinalizer(m, nil)
	return m.so.free()
}
