// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

func mustWG(t *testing.T, f Flags) *WaitGroup {
	t.Helper()
	w, err := NewWaitGroup(f)
	if err != nil {
		t.Fatalf("NewWaitGroup(%#x): %v", f, err)
	}
	t.Cleanup(func() { w.Free() })
	return w
}

func wgState(w *WaitGroup) uint64 { return atomic.LoadUint64(w.state) }

// syncEventually polls @cond until it holds or @d passed.
func syncEventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("after %v: not %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// wgWaitAsync starts a Wait; its result arrives on the channel.
func wgWaitAsync(w *WaitGroup, ctx context.Context) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- w.Wait(ctx) }()
	return ch
}

func TestWaitGroupPage(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		w := mustWG(t, f)
		h := (*syncHeader)(unsafe.Pointer(&w.so.mem[0]))
		if f&Standalone != 0 {
			if h.Magic != syncMagic || h.AbiVersion != abiVersion ||
				h.Kind != syncKindWG || h.Flags != syncHdrStandalone {
				t.Fatalf("header %+v", *h)
			}
			if w.so.owner != 0 {
				t.Fatalf("standalone owner %d", w.so.owner)
			}
		} else if h.Magic != syncMagic || h.AbiVersion != abiVersion ||
			h.Kind != syncKindWG || h.Flags&syncHdrStandalone != 0 {
			t.Fatalf("kernel page header %+v", *h)
		}
		if wgState(w) != 0 {
			t.Fatalf("new state %#x", wgState(w))
		}
		want := uintptr(unsafe.Pointer(&w.so.mem[syncOffWords]))
		if !syncLittleEndian {
			want += 4
		}
		if uintptr(unsafe.Pointer(w.futex)) != want {
			t.Fatal("futex word is not the state's low half")
		}
		if _, err := NewWaitGroup(f | Autoclose); err != syscall.EINVAL {
			t.Fatalf("NewWaitGroup(Autoclose): %v", err)
		}
	})
}

func TestWaitGroupBasic(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		w := mustWG(t, f)
		if err := w.Wait(context.Background()); err != nil {
			t.Fatalf("Wait on zero: %v", err)
		}
		if !w.TryWait() {
			t.Fatal("TryWait on zero")
		}
		const n = 8
		if err := w.Add(n); err != nil {
			t.Fatal(err)
		}
		if w.TryWait() {
			t.Fatal("TryWait with a count")
		}
		if c := wgCounter(wgState(w)); c != n {
			t.Fatalf("counter %d", c)
		}
		// Plain Go memory written before Done, read after Wait: the
		// race detector checks the mirror.
		results := make([]int, n)
		for i := 0; i < n; i++ {
			go func(i int) {
				time.Sleep(time.Duration(i) * time.Millisecond)
				results[i] = i + 1
				if err := w.Done(); err != nil {
					t.Error(err)
				}
			}(i)
		}
		if err := w.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		for i, r := range results {
			if r != i+1 {
				t.Fatalf("results[%d] = %d", i, r)
			}
		}
		if s := wgState(w); wgCounter(s) != 0 || s&wgWaiters != 0 {
			t.Fatalf("state after %#x", s)
		}
	})
}

func TestWaitGroupBelowZero(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		w := mustWG(t, f)
		if err := w.Done(); err != syscall.EINVAL {
			t.Fatalf("Done on zero: %v", err)
		}
		if err := w.Add(-1); err != syscall.EINVAL {
			t.Fatalf("Add(-1) on zero: %v", err)
		}
		w.Add(2)
		before := wgState(w)
		if err := w.Add(-3); err != syscall.EINVAL {
			t.Fatalf("Add(-3) on 2: %v", err)
		}
		if err := w.Add(math.MaxInt32); err != syscall.EOVERFLOW {
			t.Fatalf("Add(MaxInt32) on 2: %v", err)
		}
		if err := w.Add(math.MinInt64); err != syscall.EINVAL {
			t.Fatalf("Add(MinInt64): %v", err)
		}
		if err := w.Add(math.MaxInt64); err != syscall.EOVERFLOW {
			t.Fatalf("Add(MaxInt64): %v", err)
		}
		if s := wgState(w); s != before {
			t.Fatalf("a failed Add changed the state: %#x -> %#x", before, s)
		}
		if err := w.Add(math.MaxInt32 - 2); err != nil {
			t.Fatalf("Add to MaxInt32: %v", err)
		}
		if err := w.Add(-math.MaxInt32); err != nil {
			t.Fatal(err)
		}
		if wgState(w) != 0 {
			t.Fatalf("state %#x", wgState(w))
		}
	})
}

func TestWaitGroupWaitTimeout(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		w := mustWG(t, f)
		w.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
		defer cancel()
		t0 := time.Now()
		err := w.Wait(ctx)
		if err != context.DeadlineExceeded {
			t.Fatalf("Wait: %v", err)
		}
		if el := time.Since(t0); el < 75*time.Millisecond || el > 2*time.Second {
			t.Fatalf("timed out after %v", el)
		}
		s := wgState(w)
		if s&wgWaiters != 0 || wgCounter(s) != 1 {
			t.Fatalf("state after the timeout: %#x", s)
		}
		// A passed deadline: at once, never counted.
		if err := w.Wait(ctx); err != context.DeadlineExceeded {
			t.Fatalf("Wait past the deadline: %v", err)
		}
		// Cancellation, seen within a slice.
		cctx, ccancel := context.WithCancel(context.Background())
		ch := wgWaitAsync(w, cctx)
		syncEventually(t, 2*time.Second, "counted in", func() bool {
			return wgState(w)&wgWaiters == 1
		})
		t0 = time.Now()
		ccancel()
		select {
		case err := <-ch:
			if err != context.Canceled {
				t.Fatalf("cancelled Wait: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("a cancelled Wait did not return")
		}
		if el := time.Since(t0); el > time.Second {
			t.Fatalf("cancellation seen after %v", el)
		}
		if s := wgState(w); s&wgWaiters != 0 || s&wgGen != 0 {
			t.Fatalf("state after the cancel: %#x", s)
		}
		// A later Wait and Done work: the generation moves on for it.
		ch = wgWaitAsync(w, context.Background())
		syncEventually(t, 2*time.Second, "counted in", func() bool {
			return wgState(w)&wgWaiters == 1
		})
		if err := w.Done(); err != nil {
			t.Fatal(err)
		}
		if err := <-ch; err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if s := wgState(w); s != wgGenOne {
			t.Fatalf("state after the release: %#x, want %#x", s, wgGenOne)
		}
	})
}

func TestWaitGroupManyGoroutines(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		w := mustWG(t, f)
		const workers, waiters = 200, 32
		var sum int64
		w.Add(workers)
		var started sync.WaitGroup
		started.Add(workers)
		for i := 0; i < workers; i++ {
			go func(i int) {
				started.Done()
				// Extra counts taken and paid along the way.
				for k := 0; k < 10; k++ {
					if err := w.Add(1); err != nil {
						t.Error(err)
					}
					atomic.AddInt64(&sum, 1)
					if err := w.Done(); err != nil {
						t.Error(err)
					}
				}
				if err := w.Done(); err != nil {
					t.Error(err)
				}
			}(i)
		}
		errs := make(chan error, waiters)
		for i := 0; i < waiters; i++ {
			go func() { errs <- w.Wait(context.Background()) }()
		}
		for i := 0; i < waiters; i++ {
			select {
			case err := <-errs:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%d waiters not released: state %#x",
					waiters-i, wgState(w))
			}
		}
		if atomic.LoadInt64(&sum) != workers*10 {
			t.Fatalf("sum %d", sum)
		}
		if s := wgState(w); wgCounter(s) != 0 || s&wgWaiters != 0 {
			t.Fatalf("state %#x", s)
		}
	})
}

func TestWaitGroupReuse(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		w := mustWG(t, f)
		gen := uint64(0)
		for round := 0; round < 100; round++ {
			w.Add(2)
			var data int
			ch := wgWaitAsync(w, context.Background())
			syncEventually(t, 2*time.Second, "counted in", func() bool {
				return wgState(w)&wgWaiters == 1
			})
			go func() { data = round; w.Done() }()
			w.Done()
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
			if data != round {
				t.Fatalf("round %d: data %d", round, data)
			}
			gen = (gen + wgGenOne) & wgGen
			if s := wgState(w); s != gen {
				t.Fatalf("round %d: state %#x, want %#x", round, s, gen)
			}
		}
		// A zeroing with nobody waiting keeps the generation.
		w.Add(1)
		w.Done()
		if s := wgState(w); s != gen {
			t.Fatalf("state %#x, want %#x", s, gen)
		}
	})
}

// The generation rule, on the word: a waiter of an old round that gives
// up cannot take away a count of the next round, even when the counter
// and the number of waiters are what it counted itself in with.
func TestWaitGroupStaleLeave(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		w := mustWG(t, f)
		old := uint64(1)<<32 | 5*wgGenOne | 1
		atomic.StoreUint64(w.state, old)
		if w.leave(4 * wgGenOne) {
			t.Fatal("a stale waiter took a count back")
		}
		if wgState(w) != old {
			t.Fatalf("state %#x", wgState(w))
		}
		if !w.leave(5 * wgGenOne) {
			t.Fatal("the waiter could not leave")
		}
		if s := wgState(w); s != old-1 {
			t.Fatalf("state %#x", s)
		}
		atomic.StoreUint64(w.state, 0)
	})
}

func TestWaitGroupWaitersOverflow(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		w := mustWG(t, f)
		full := uint64(1)<<32 | wgWaiters
		atomic.StoreUint64(w.state, full)
		if err := w.Wait(context.Background()); err != syscall.EOVERFLOW {
			t.Fatalf("Wait with 4095 waiters: %v", err)
		}
		if wgState(w) != full {
			t.Fatalf("state %#x", wgState(w))
		}
		atomic.StoreUint64(w.state, 0)
	})
}

// A zeroing Done clears ARMED (and, in kernel mode, wakes the pollers:
// standalone, the wake ioctl fails ENOTTY and is ignored).
func TestWaitGroupArmed(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		w := mustWG(t, f)
		atomic.StoreUint64(w.state, 2<<32|wgArmed|3*wgGenOne)
		if err := w.Done(); err != nil {
			t.Fatal(err)
		}
		if s := wgState(w); s != 1<<32|wgArmed|3*wgGenOne {
			t.Fatalf("state %#x", s)
		}
		if err := w.Done(); err != nil {
			t.Fatal(err)
		}
		if s := wgState(w); s != 3*wgGenOne {
			t.Fatalf("state %#x", s)
		}
	})
}

func TestWaitGroupFromFD(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		w := mustWG(t, f)
		w2, err := WaitGroupFromFD(w.Fd())
		if err != nil {
			t.Fatal(err)
		}
		defer w2.Free()
		if w2.Fd() == w.Fd() {
			t.Fatal("FromFD did not dup the fd")
		}
		if w2.so.standalone != (f&Standalone != 0) {
			t.Fatalf("adopted standalone=%v", w2.so.standalone)
		}
		w.Add(3)
		if c := wgCounter(wgState(w2)); c != 3 {
			t.Fatalf("other handle's counter %d", c)
		}
		ch := wgWaitAsync(w, context.Background())
		syncEventually(t, 2*time.Second, "counted in", func() bool {
			return wgState(w2)&wgWaiters == 1
		})
		for i := 0; i < 3; i++ {
			if err := w2.Done(); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case err := <-ch:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a Done through another handle did not release Wait")
		}
		// The caller's fd stays open; a freed handle's is closed.
		fd := w2.Fd()
		if err := w2.Free(); err != nil {
			t.Fatal(err)
		}
		if err := w2.Free(); err != nil {
			t.Fatalf("second Free: %v", err)
		}
		if _, e := fcntl(fd, syscall.F_GETFD, 0); e != syscall.EBADF {
			t.Fatalf("freed handle's fd: %v", e)
		}
		if _, e := fcntl(w.Fd(), syscall.F_GETFD, 0); e != 0 {
			t.Fatalf("the original fd: %v", e)
		}
		if _, err := WaitGroupFromFD(-1); err != syscall.EINVAL {
			t.Fatalf("FromFD(-1): %v", err)
		}
	})
}

func TestWaitGroupFromFDWrongKind(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		m := mustMutex(t, f)
		if _, err := WaitGroupFromFD(m.Fd()); err != syscall.EINVAL {
			t.Fatalf("WaitGroupFromFD(mutex): %v", err)
		}
		w := mustWG(t, f)
		if _, err := MutexFromFD(w.Fd()); err != syscall.EINVAL {
			t.Fatalf("MutexFromFD(waitgroup): %v", err)
		}
		var p [2]int
		if err := syscall.Pipe(p[:]); err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(p[0])
		defer syscall.Close(p[1])
		if _, err := WaitGroupFromFD(p[0]); err == nil {
			t.Fatal("a pipe adopted")
		}
	})
}

// syncPage makes a memfd holding a sync page as a standalone creator
// writes it (unsealed: the caller seals it or not).
func syncPage(t *testing.T, size int, kind uint32, magic uint32) int {
	t.Helper()
	fd, err := memfd("gosync-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Ftruncate(fd, int64(size)); err != nil {
		t.Fatal(err)
	}
	mem, err := mmapShared(fd, size)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	*(*syncHeader)(unsafe.Pointer(&mem[0])) = syncHeader{Magic: magic,
		AbiVersion: abiVersion, Kind: kind, Flags: syncHdrStandalone}
	return fd
}

func TestWaitGroupFromFDUnsealed(t *testing.T) {
	// An unsealed page: refused, however good it looks.
	fd := syncPage(t, syncSize, syncKindWG, syncMagic)
	if _, err := WaitGroupFromFD(fd); err != syscall.EINVAL {
		t.Fatalf("unsealed memfd: %v", err)
	}
	// Sealed, the same page is adopted.
	if err := sealFixed(fd); err != nil {
		t.Fatal(err)
	}
	w, err := WaitGroupFromFD(fd)
	if err != nil {
		t.Fatalf("sealed page: %v", err)
	}
	w.Free()
	for _, c := range []struct {
		name  string
		size  int
		kind  uint32
		magic uint32
	}{
		{"short", 2048, syncKindWG, syncMagic},
		{"long", 8192, syncKindWG, syncMagic},
		{"bad magic", syncSize, syncKindWG, chanMagic},
		{"no magic", syncSize, syncKindWG, 0},
		{"mutex kind", syncSize, syncKindMutex, syncMagic},
	} {
		fd := syncPage(t, c.size, c.kind, c.magic)
		if err := sealFixed(fd); err != nil {
			t.Fatal(err)
		}
		if _, err := WaitGroupFromFD(fd); err != syscall.EINVAL {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// Not marked standalone, or another ABI.
	fd = syncPage(t, syncSize, syncKindWG, syncMagic)
	mem, _ := mmapShared(fd, syncSize)
	(*syncHeader)(unsafe.Pointer(&mem[0])).Flags = 0
	sealFixed(fd)
	if _, err := WaitGroupFromFD(fd); err != syscall.EINVAL {
		t.Errorf("no STANDALONE flag: %v", err)
	}
	(*syncHeader)(unsafe.Pointer(&mem[0])).Flags = syncHdrStandalone
	(*syncHeader)(unsafe.Pointer(&mem[0])).AbiVersion = 2
	if _, err := WaitGroupFromFD(fd); err != syscall.EINVAL {
		t.Errorf("abi 2: %v", err)
	}
	syscall.Munmap(mem)
}

func TestWaitGroupErrorsAreErrnos(t *testing.T) {
	w := mustWG(t, Standalone)
	err := w.Done()
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("%v", err)
	}
}
