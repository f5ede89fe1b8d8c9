// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

func mustMutex(t *testing.T, f Flags) *Mutex {
	t.Helper()
	m, err := NewMutex(f)
	if err != nil {
		t.Fatalf("NewMutex(%#x): %v", f, err)
	}
	t.Cleanup(func() { m.Free() })
	return m
}

func mxState(m *Mutex) uint32   { return atomic.LoadUint32(m.state) }
func mxWaiters(m *Mutex) uint32 { return atomic.LoadUint32(m.waiters) }

// lockPanic runs @fn and returns the *LockError it panicked with (nil:
// none).
func lockPanic(t *testing.T, fn func()) (le *LockError) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			var ok bool
			if le, ok = r.(*LockError); !ok {
				t.Fatalf("panic %v (%T), not a *LockError", r, r)
			}
		}
	}()
	fn()
	return nil
}

func TestMutexLocker(t *testing.T) {
	var l sync.Locker = mustMutex(t, Standalone)
	l.Lock()
	l.Unlock()
}

func TestMutexPage(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		m := mustMutex(t, f)
		h := (*syncHeader)(unsafe.Pointer(&m.so.mem[0]))
		wantFlags := uint32(syncHdrStandalone)
		if f&Standalone == 0 {
			wantFlags = 0
		}
		if h.Magic != syncMagic || h.AbiVersion != abiVersion ||
			h.Kind != syncKindMutex || h.Flags != wantFlags {
			t.Fatalf("header %+v", *h)
		}
		if uintptr(unsafe.Pointer(m.state)) !=
			uintptr(unsafe.Pointer(&m.so.mem[syncOffWords])) ||
			uintptr(unsafe.Pointer(m.waiters)) !=
				uintptr(unsafe.Pointer(&m.so.mem[syncOffWords+4])) {
			t.Fatal("words misplaced")
		}
		if f&Standalone == 0 && (m.so.owner == 0 || m.so.owner > mutexOwner) {
			t.Fatalf("kernel owner id %d", m.so.owner)
		}
		m.Lock()
		if s := mxState(m); s != mutexLocked|m.so.owner {
			t.Fatalf("locked state %#x", s)
		}
		m.Unlock()
		if s := mxState(m); s != 0 {
			t.Fatalf("unlocked state %#x", s)
		}
		if _, err := NewMutex(f | NoMap); err != syscall.EINVAL {
			t.Fatalf("NewMutex(NoMap): %v", err)
		}
	})
}

func TestMutexCounter(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		m := mustMutex(t, f)
		const g, n = 8, 2000
		counter := 0 // plain: -race checks the mirror
		var wg sync.WaitGroup
		for i := 0; i < g; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				for k := 0; k < n; k++ {
					switch (i + k) % 3 {
					case 0:
						m.Lock()
					case 1:
						if err := m.LockContext(context.Background()); err != nil {
							t.Error(err)
							return
						}
					case 2:
						for !m.TryLock() {
							time.Sleep(time.Microsecond)
						}
					}
					counter++
					if k%2 == 0 {
						m.Unlock()
					} else if err := m.UnlockErr(); err != nil {
						t.Error(err)
						return
					}
				}
			}(i)
		}
		wg.Wait()
		m.Lock()
		if counter != g*n {
			t.Fatalf("counter %d, want %d (lost updates)", counter, g*n)
		}
		m.Unlock()
		if s, w := mxState(m), mxWaiters(m); s != 0 || w != 0 {
			t.Fatalf("state %#x waiters %d after", s, w)
		}
	})
}

func TestMutexTryLock(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		m := mustMutex(t, f)
		if !m.TryLock() {
			t.Fatal("TryLock of a free mutex")
		}
		if m.TryLock() {
			t.Fatal("TryLock of a held mutex")
		}
		if err := m.TryLockErr(); err != syscall.EBUSY {
			t.Fatalf("TryLockErr held: %v", err)
		}
		m.Unlock()
		if err := m.TryLockErr(); err != nil {
			t.Fatal(err)
		}
		m.Unlock()
		// Starvation mode: a free mutex is a waiter's, not a newcomer's.
		atomic.StoreUint32(m.state, mutexStarving)
		if m.TryLock() {
			t.Fatal("a newcomer took a mutex in starvation mode")
		}
		atomic.StoreUint32(m.state, 0)
	})
}

func TestMutexUnlockUnlocked(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		m := mustMutex(t, f)
		if err := m.UnlockErr(); err != syscall.EPERM {
			t.Fatalf("UnlockErr unlocked: %v", err)
		}
		le := lockPanic(t, m.Unlock)
		if le == nil || le.Op != "unlock" || !errors.Is(le, syscall.EPERM) {
			t.Fatalf("Unlock unlocked: %v", le)
		}
		if le.Error() != "gosync: mutex unlock: "+syscall.EPERM.Error() {
			t.Fatalf("message %q", le.Error())
		}
		// Being handed over: not the caller's to unlock.
		atomic.StoreUint32(m.state, mutexLocked|mutexStarving|mutexHandoff)
		if err := m.UnlockErr(); err != syscall.EPERM {
			t.Fatalf("UnlockErr during a hand-off: %v", err)
		}
		atomic.StoreUint32(m.state, 0)
		// Any handle may unlock.
		m.Lock()
		m2, err := MutexFromFD(m.Fd())
		if err != nil {
			t.Fatal(err)
		}
		defer m2.Free()
		if m2.TryLock() {
			t.Fatal("TryLock through another handle of a held mutex")
		}
		if err := m2.UnlockErr(); err != nil {
			t.Fatalf("unlock through another handle: %v", err)
		}
		if !m.TryLock() {
			t.Fatal("still locked")
		}
		m.Unlock()
	})
}

func TestMutexLockContextTimeout(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		m := mustMutex(t, f)
		m.Lock()
		ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
		defer cancel()
		t0 := time.Now()
		if err := m.LockContext(ctx); err != context.DeadlineExceeded {
			t.Fatalf("LockContext: %v", err)
		}
		if el := time.Since(t0); el < 75*time.Millisecond || el > 2*time.Second {
			t.Fatalf("timed out after %v", el)
		}
		if w := mxWaiters(m); w != 0 {
			t.Fatalf("waiters %d after the timeout", w)
		}
		// The waiter went starving and left: starvation mode ended.
		if s := mxState(m); s != mutexLocked|m.so.owner {
			t.Fatalf("state %#x after the timeout", s)
		}
		// Cancellation, seen within a slice.
		cctx, ccancel := context.WithCancel(context.Background())
		ch := make(chan error, 1)
		go func() { ch <- m.LockContext(cctx) }()
		syncEventually(t, 2*time.Second, "waiting", func() bool {
			return mxWaiters(m) == 1
		})
		time.Sleep(10 * time.Millisecond)
		t0 = time.Now()
		ccancel()
		select {
		case err := <-ch:
			if err != context.Canceled {
				t.Fatalf("cancelled LockContext: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("a cancelled LockContext did not return")
		}
		if el := time.Since(t0); el > time.Second {
			t.Fatalf("cancellation seen after %v", el)
		}
		if w := mxWaiters(m); w != 0 {
			t.Fatalf("waiters %d after the cancel", w)
		}
		m.Unlock()
		if err := m.LockContext(ctx); err != nil {
			t.Fatalf("LockContext of a free mutex, ctx done: %v", err)
		}
		m.Unlock()
		if s := mxState(m); s != 0 {
			t.Fatalf("state %#x", s)
		}
	})
}

// Waiters blocked behind holders that keep the mutex busy get it:
// starvation mode hands it over.
func TestMutexStarvation(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		m := mustMutex(t, f)
		var stop, sawStarving atomic.Bool
		var hogs sync.WaitGroup
		for i := 0; i < 4; i++ {
			hogs.Add(1)
			go func() {
				defer hogs.Done()
				for !stop.Load() {
					m.Lock()
					if mxState(m)&mutexStarving != 0 {
						sawStarving.Store(true)
					}
					t0 := time.Now()
					for time.Since(t0) < 50*time.Microsecond {
					}
					m.Unlock()
				}
			}()
		}
		time.Sleep(5 * time.Millisecond)
		var worst time.Duration
		for i := 0; i < 20; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			t0 := time.Now()
			err := m.LockContext(ctx)
			cancel()
			if err != nil {
				t.Fatalf("the waiter starved: %v: state %#x waiters %d",
					err, mxState(m), mxWaiters(m))
			}
			if d := time.Since(t0); d > worst {
				worst = d
			}
			m.Unlock()
		}
		stop.Store(true)
		hogs.Wait()
		t.Logf("longest wait %v (starvation mode seen: %v)", worst,
			sawStarving.Load())
		if s, w := mxState(m), mxWaiters(m); s != 0 || w != 0 {
			t.Fatalf("state %#x waiters %d after", s, w)
		}
	})
}

// The hand-off itself: a waiter that waited past the threshold sets
// STARVING; the unlock hands over (LOCKED stays set all along) and the
// waiter, the last one, ends starvation mode.
func TestMutexHandoff(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		m := mustMutex(t, f)
		m.Lock()
		var data int
		ch := make(chan error, 1)
		go func() {
			err := m.LockContext(context.Background())
			if err == nil && data != 1 {
				err = errors.New("the hand-off did not publish the holder's data")
			}
			ch <- err
		}()
		syncEventually(t, 2*time.Second, "starving", func() bool {
			return mxState(m)&mutexStarving != 0
		})
		time.Sleep(5 * time.Millisecond) // asleep again
		data = 1
		m.Unlock()
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
		// Taken by the waiter (its owner id), starvation mode over.
		if s := mxState(m); s != mutexLocked|m.so.owner {
			t.Fatalf("state %#x after the hand-off", s)
		}
		m.Unlock()
		if s, w := mxState(m), mxWaiters(m); s != 0 || w != 0 {
			t.Fatalf("state %#x waiters %d", s, w)
		}
	})
}

// A hand-off that finds nobody asleep is taken back (the waiter counted
// in has not gone to sleep: here, a count with no goroutine behind it).
func TestMutexHandoffTakenBack(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		m := mustMutex(t, f)
		atomic.StoreUint32(m.state, mutexLocked|mutexStarving|m.so.owner)
		atomic.StoreUint32(m.waiters, 1)
		if err := m.UnlockErr(); err != nil {
			t.Fatal(err)
		}
		if s := mxState(m); s != 0 {
			t.Fatalf("state %#x: the hand-off was not taken back", s)
		}
		atomic.StoreUint32(m.waiters, 0)
		// Starvation with nobody counted: a plain unlock to 0.
		atomic.StoreUint32(m.state, mutexLocked|mutexStarving|m.so.owner)
		if err := m.UnlockErr(); err != nil {
			t.Fatal(err)
		}
		if s := mxState(m); s != 0 {
			t.Fatalf("state %#x", s)
		}
	})
}

// dieHolding does what the kernel does when the holder's mapping goes
// away: (old &^ OWNER) | OWNER_DIED, while LOCKED and not handed over.
func dieHolding(t *testing.T, m *Mutex) {
	t.Helper()
	for {
		old := mxState(m)
		if old&mutexLocked == 0 || old&mutexHandoff != 0 {
			t.Fatalf("cannot kill the holder of state %#x", old)
		}
		if atomic.CompareAndSwapUint32(m.state, old, old&^mutexOwner|mutexDied) {
			return
		}
	}
}

// takenOver puts a mutex this handle holds in the state a take-over
// leaves (OWNER_DIED, our owner id), in one CAS.
func takenOver(t *testing.T, m *Mutex) {
	t.Helper()
	for {
		old := mxState(m)
		if old&mutexLocked == 0 || old&mutexHandoff != 0 {
			t.Fatalf("not held: state %#x", old)
		}
		if atomic.CompareAndSwapUint32(m.state, old, old|mutexDied) {
			return
		}
	}
}

func TestMutexOwnerDead(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		m := mustMutex(t, f)
		if err := m.Consistent(); err != syscall.EINVAL {
			t.Fatalf("Consistent of a free mutex: %v", err)
		}
		m.Lock()
		if err := m.Consistent(); err != syscall.EINVAL {
			t.Fatalf("Consistent of a normal lock: %v", err)
		}
		dieHolding(t, m)
		if err := m.LockContext(context.Background()); err != ErrOwnerDead {
			t.Fatalf("LockContext after the death: %v", err)
		}
		if s := mxState(m); s != mutexLocked|mutexDied|m.so.owner {
			t.Fatalf("state %#x after the take-over", s)
		}
		if f&Standalone == 0 {
			// Owner ids keep the next locker out.
			if err := m.TryLockErr(); err != syscall.EBUSY {
				t.Fatalf("second take-over: %v", err)
			}
		}
		if err := m.Consistent(); err != nil {
			t.Fatalf("Consistent: %v", err)
		}
		if s := mxState(m); s != mutexLocked|m.so.owner {
			t.Fatalf("state %#x after Consistent", s)
		}
		m.Unlock()
		m.Lock()

		// Lock: panics, holding the lock.
		dieHolding(t, m)
		le := lockPanic(t, m.Lock)
		if le == nil || le.Op != "lock" || le.Err != ErrOwnerDead {
			t.Fatalf("Lock after the death: %v", le)
		}
		if err := m.Consistent(); err != nil {
			t.Fatalf("Consistent after Lock's panic: %v", err)
		}

		// A waiter asleep when the holder dies (kernel mode: its
		// slices see it; standalone: nobody would wake it, so the
		// test does).
		ch := make(chan error, 1)
		go func() { ch <- m.LockContext(context.Background()) }()
		syncEventually(t, 2*time.Second, "waiting", func() bool {
			return mxWaiters(m) == 1
		})
		time.Sleep(5 * time.Millisecond)
		dieHolding(t, m)
		if f&Standalone != 0 {
			futexWakeN(m.state, 1)
		}
		select {
		case err := <-ch:
			if err != ErrOwnerDead {
				t.Fatalf("waiter: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the waiter did not take over: state %#x", mxState(m))
		}

		// Unlocked without Consistent: never again.
		m.Unlock()
		if s := mxState(m); s != mutexDead {
			t.Fatalf("state %#x", s)
		}
		if err := m.LockContext(context.Background()); err != ErrNotRecoverable {
			t.Fatalf("LockContext: %v", err)
		}
		if err := m.TryLockErr(); err != ErrNotRecoverable {
			t.Fatalf("TryLockErr: %v", err)
		}
		le = lockPanic(t, func() { m.TryLock() })
		if le == nil || le.Err != ErrNotRecoverable {
			t.Fatalf("TryLock: %v", le)
		}
		le = lockPanic(t, m.Lock)
		if le == nil || !errors.Is(le, syscall.ENOTRECOVERABLE) {
			t.Fatalf("Lock: %v", le)
		}
		if err := m.UnlockErr(); err != syscall.EPERM {
			t.Fatalf("UnlockErr: %v", err)
		}
		if err := m.Consistent(); err != syscall.EINVAL {
			t.Fatalf("Consistent: %v", err)
		}
	})
}

// Unlock of a mutex taken over and left inconsistent wakes every waiter:
// they all fail.  (The waiters sleep first, in starvation mode: in
// standalone mode, where every owner id is 0, a waiter awake would take
// the inconsistent mutex over itself.)
func TestMutexNotRecoverableWakesAll(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		m := mustMutex(t, f)
		m.Lock()
		const n = 4
		ch := make(chan error, n)
		for i := 0; i < n; i++ {
			go func() { ch <- m.LockContext(context.Background()) }()
		}
		syncEventually(t, 2*time.Second, "waiting, starving", func() bool {
			return mxWaiters(m) == n && mxState(m)&mutexStarving != 0
		})
		time.Sleep(50 * time.Millisecond)
		takenOver(t, m)
		m.Unlock()
		if s := mxState(m); s != mutexDead {
			t.Fatalf("state %#x", s)
		}
		for i := 0; i < n; i++ {
			select {
			case err := <-ch:
				if err != ErrNotRecoverable {
					t.Fatalf("waiter: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a waiter was not woken")
			}
		}
		if w := mxWaiters(m); w != 0 {
			t.Fatalf("waiters %d", w)
		}
	})
}

func TestMutexFromFD(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		m := mustMutex(t, f)
		m2, err := MutexFromFD(m.Fd())
		if err != nil {
			t.Fatal(err)
		}
		defer m2.Free()
		if f&Standalone == 0 && m2.so.owner == m.so.owner {
			t.Fatalf("two mappings with owner id %d", m.so.owner)
		}
		m.Lock()
		ch := make(chan struct{})
		go func() {
			m2.Lock()
			close(ch)
		}()
		syncEventually(t, 2*time.Second, "waiting", func() bool {
			return mxWaiters(m) == 1
		})
		m.Unlock()
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("the other handle's Lock was not woken")
		}
		if s := mxState(m); s != mutexLocked|m2.so.owner {
			t.Fatalf("state %#x", s)
		}
		m2.Unlock()
		fd := syncPage(t, syncSize, syncKindMutex, syncMagic)
		if _, err := MutexFromFD(fd); err != syscall.EINVAL {
			t.Fatalf("unsealed memfd: %v", err)
		}
		sealFixed(fd)
		m3, err := MutexFromFD(fd)
		if err != nil {
			t.Fatalf("sealed page: %v", err)
		}
		m3.Lock()
		m3.Unlock()
		if err := m3.Free(); err != nil {
			t.Fatal(err)
		}
	})
}
