// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

var bg = context.Background()

func mustMake(t *testing.T, elem, capacity int, f Flags) *Chan {
	t.Helper()
	c, err := Make(elem, capacity, f)
	if err != nil {
		t.Fatalf("Make(%d, %d): %v", elem, capacity, err)
	}
	t.Cleanup(func() { c.Free() })
	return c
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, v)
	return b
}

func TestABISizes(t *testing.T) {
	for _, s := range []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"gosync_info", unsafe.Sizeof(devInfo{}), 64},
		{"gosync_chan_create", unsafe.Sizeof(chanCreate{}), 32},
		{"gosync_chan_info", unsafe.Sizeof(chanInfo{}), 104},
		{"gosync_chan_xfer", unsafe.Sizeof(chanXfer{}), 40},
		{"gosync_chan_wake", unsafe.Sizeof(chanWake{}), 8},
		{"gosync_chan_map", unsafe.Sizeof(chanMap{}), 24},
		{"gosync_chan_dup", unsafe.Sizeof(chanDup{}), 16},
		{"gosync_select_case", unsafe.Sizeof(selectCase{}), 24},
		{"gosync_select", unsafe.Sizeof(selectArg{}), 48},
		{"gosync_sync_create", unsafe.Sizeof(syncCreate{}), 32},
		{"gosync_sync_info", unsafe.Sizeof(syncInfo{}), 48},
		{"gosync_open", unsafe.Sizeof(openArg{}), 56},
		{"gosync_chan_header", unsafe.Sizeof(chanHeader{}), 80},
		{"chan_info.map_size", unsafe.Offsetof(chanInfo{}.MapSize), 24},
		{"chan_info.len", unsafe.Offsetof(chanInfo{}.Len), 72},
		{"open.fd", unsafe.Offsetof(openArg{}.Fd), 36},
		{"select.index", unsafe.Offsetof(selectArg{}.Index), 24},
		{"header.map_size", unsafe.Offsetof(chanHeader{}.MapSize), 32},
		{"header.off_slots", unsafe.Offsetof(chanHeader{}.OffSlots), 72},
	} {
		if s.got != s.want {
			t.Errorf("%s: %d, want %d", s.name, s.got, s.want)
		}
	}
}

// Every shape the module accepts has the layout the rule gives (the
// adoption checks it; a mismatch would be EINVAL), in both modes.
func TestLayoutGrid(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		for _, e := range []int{0, 1, 7, 8, 9, 4096, 65535} {
			for _, c := range []int{0, 1, 2, 3, 16, 1000} {
				ch := mustMake(t, e, c, f)
				if ch.ElemSize() != e || ch.Cap() != c {
					t.Fatalf("shape %d %d", ch.ElemSize(), ch.Cap())
				}
				ch.Free()
			}
		}
		if _, err := Make(65536, 1, f); err != syscall.EINVAL {
			t.Fatalf("elem 65536: %v", err)
		}
		if _, err := Make(8, maxCap+1, f); err != syscall.EINVAL {
			t.Fatalf("cap 2^20+1: %v", err)
		}
	})
}

func TestStreamManyToMany(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		for _, capacity := range []int{0, 1, 16} {
			for _, elem := range []int{8, 0} {
				streamCheck(t, mustMake(t, elem, capacity, f), 4, 4, 2000)
			}
		}
	})
}

// streamCheck: producers send (id, seq); every element arrives once, in
// order per producer (8-byte elements), or the count matches (0-byte).
func streamCheck(t *testing.T, c *Chan, np, nc, n int) {
	t.Helper()
	var pw sync.WaitGroup
	for p := 0; p < np; p++ {
		pw.Add(1)
		go func(p int) {
			defer pw.Done()
			for i := 0; i < n; i++ {
				b := make([]byte, c.ElemSize())
				if len(b) == 8 {
					binary.LittleEndian.PutUint32(b, uint32(p))
					binary.LittleEndian.PutUint32(b[4:], uint32(i))
				}
				if err := c.Send(bg, b); err != nil {
					t.Errorf("send: %v", err)
					return
				}
			}
		}(p)
	}
	var mu sync.Mutex
	seen := make(map[uint32][]uint32)
	total := 0
	var cw sync.WaitGroup
	for k := 0; k < nc; k++ {
		cw.Add(1)
		go func() {
			defer cw.Done()
			last := map[uint32]int64{}
			for {
				b, ok, err := c.Recv(bg)
				if err != nil {
					t.Errorf("recv: %v", err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				total++
				if len(b) == 8 {
					p := binary.LittleEndian.Uint32(b)
					s := binary.LittleEndian.Uint32(b[4:])
					if l, ok := last[p]; ok && int64(s) <= l {
						t.Errorf("producer %d: %d after %d", p, s, l)
					}
					last[p] = int64(s)
					seen[p] = append(seen[p], s)
				}
				mu.Unlock()
			}
		}()
	}
	pw.Wait()
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	cw.Wait()
	if total != np*n {
		t.Fatalf("received %d of %d", total, np*n)
	}
	if c.ElemSize() == 8 {
		for p := 0; p < np; p++ {
			if len(seen[uint32(p)]) != n {
				t.Fatalf("producer %d: %d of %d", p, len(seen[uint32(p)]), n)
			}
		}
	}
}

func TestCloseSemantics(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		c := mustMake(t, 8, 4, f)
		for i := 0; i < 3; i++ {
			if err := c.Send(bg, u64(uint64(i))); err != nil {
				t.Fatal(err)
			}
		}
		if c.Len() != 3 {
			t.Fatalf("len %d", c.Len())
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != ErrClosed {
			t.Fatalf("second close: %v", err)
		}
		if err := c.Send(bg, u64(9)); err != ErrClosed {
			t.Fatalf("send after close: %v", err)
		}
		if err := c.TrySend(u64(9)); err != ErrClosed {
			t.Fatalf("try send after close: %v", err)
		}
		for i := 0; i < 3; i++ {
			b, ok, err := c.Recv(bg)
			if err != nil || !ok || binary.LittleEndian.Uint64(b) != uint64(i) {
				t.Fatalf("drain %d: %v %v %v", i, b, ok, err)
			}
		}
		for k := 0; k < 2; k++ {
			b, ok, err := c.Recv(bg)
			if err != nil || ok || b != nil {
				t.Fatalf("after drain: %v %v %v", b, ok, err)
			}
		}
		buf := u64(77)
		if ok, err := c.RecvInto(bg, buf); ok || err != nil || binary.LittleEndian.Uint64(buf) != 0 {
			t.Fatalf("RecvInto closed: %v %v %v", ok, err, buf)
		}
	})
}

func TestCloseWakesBlocked(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		for _, capacity := range []int{0, 2} {
			c := mustMake(t, 8, capacity, f)
			errs := make(chan error, 8)
			for i := 0; i < 4; i++ {
				go func() {
					_, ok, err := c.Recv(bg)
					if ok {
						err = errors.New("got an element")
					}
					errs <- err
				}()
			}
			full := mustMake(t, 8, capacity, f)
			for i := 0; i < capacity; i++ {
				full.Send(bg, u64(1))
			}
			for i := 0; i < 2; i++ {
				go func() { errs <- expect(full.Send(bg, u64(2)), ErrClosed) }()
			}
			time.Sleep(100 * time.Millisecond)
			c.Close()
			full.Close()
			for i := 0; i < 6; i++ {
				select {
				case err := <-errs:
					if err != nil {
						t.Fatal(err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("a waiter was not woken by close")
				}
			}
		}
	})
}

func expect(err, want error) error {
	if err != want {
		return errors.New("got " + errString(err) + ", want " + errString(want))
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func TestTryOps(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		c := mustMake(t, 8, 1, f)
		if _, _, err := c.TryRecv(); err != ErrWouldBlock {
			t.Fatalf("empty: %v", err)
		}
		if err := c.TrySend(u64(1)); err != nil {
			t.Fatal(err)
		}
		if err := c.TrySend(u64(2)); err != ErrWouldBlock {
			t.Fatalf("full: %v", err)
		}
		if b, ok, err := c.TryRecv(); err != nil || !ok || b[0] != 1 {
			t.Fatalf("try recv: %v %v %v", b, ok, err)
		}
		if err := c.Send(bg, make([]byte, 7)); err != syscall.EINVAL {
			t.Fatalf("wrong size: %v", err)
		}
		u := mustMake(t, 8, 0, f)
		if err := u.TrySend(u64(1)); err != ErrWouldBlock {
			t.Fatalf("unbuffered, nobody waiting: %v", err)
		}
		got := make(chan []byte)
		go func() {
			b, _, _ := u.Recv(bg)
			got <- b
		}()
		deadline := time.Now().Add(10 * time.Second)
		for u.TrySend(u64(5)) != nil {
			if time.Now().After(deadline) {
				t.Fatal("TrySend never met the waiting receiver")
			}
			time.Sleep(time.Millisecond)
		}
		if b := <-got; b[0] != 5 {
			t.Fatalf("got %v", b)
		}
	})
}

func TestDeadlineAndCancel(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		for _, capacity := range []int{0, 1} {
			c := mustMake(t, 8, capacity, f)
			start := time.Now()
			ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
			_, _, err := c.Recv(ctx)
			cancel()
			if err != context.DeadlineExceeded {
				t.Fatalf("recv deadline: %v", err)
			}
			if d := time.Since(start); d < 45*time.Millisecond {
				t.Fatalf("returned after %v", d)
			}
			ctx, cancel = context.WithCancel(bg)
			go func() { time.Sleep(50 * time.Millisecond); cancel() }()
			if _, _, err := c.Recv(ctx); err != context.Canceled {
				t.Fatalf("recv cancel: %v", err)
			}
			// Nothing was lost: an element sent now is received.
			go c.Send(bg, u64(42))
			b, ok, err := c.Recv(bg)
			if err != nil || !ok || b[0] != 42 {
				t.Fatalf("after cancel: %v %v %v", b, ok, err)
			}
			// A send that cannot proceed gives up: full, or nobody
			// to take an unbuffered element, which is withdrawn.
			for i := 0; i < capacity; i++ {
				c.Send(bg, u64(1))
			}
			ctx, cancel = context.WithTimeout(bg, 50*time.Millisecond)
			if err := c.Send(ctx, u64(7)); err != context.DeadlineExceeded {
				t.Fatalf("send deadline: %v", err)
			}
			cancel()
			ctx, cancel = context.WithCancel(bg)
			go func() { time.Sleep(50 * time.Millisecond); cancel() }()
			if err := c.Send(ctx, u64(8)); err != context.Canceled {
				t.Fatalf("send cancel: %v", err)
			}
			for i := 0; i < capacity; i++ {
				c.TryRecv()
			}
			if b, _, err := c.TryRecv(); err != ErrWouldBlock {
				t.Fatalf("a withdrawn element arrived: %v %v", b, err)
			}
			cctx, ccancel := context.WithCancel(bg)
			ccancel()
			if err := c.Send(cctx, u64(1)); err != context.Canceled {
				t.Fatalf("done ctx: %v", err)
			}
		}
	})
}

// Waiting goroutines park on the netpoller (kernel mode, buffered): many
// of them hold few threads.
func TestParkedGoroutinesHoldNoThreads(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		if f&Standalone != 0 {
			t.Skip("standalone waits block a thread on a futex (documented)")
		}
		c := mustMake(t, 8, 4, f)
		before := threads(t)
		const n = 200
		var wg sync.WaitGroup
		var got atomic.Int32
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, ok, err := c.Recv(bg); err == nil && ok {
					got.Add(1)
				}
			}()
		}
		time.Sleep(500 * time.Millisecond)
		during := threads(t)
		if during-before > n/4 {
			t.Fatalf("%d waiting goroutines took %d threads", n, during-before)
		}
		for i := 0; i < n; i++ {
			if err := c.Send(bg, u64(uint64(i))); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
		if got.Load() != n {
			t.Fatalf("%d of %d received", got.Load(), n)
		}
	})
}

func threads(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Threads:") {
			n, _ := strconv.Atoi(strings.TrimSpace(l[8:]))
			return n
		}
	}
	t.Fatal("no Threads line")
	return 0
}

func TestFromFD(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		c := mustMake(t, 8, 4, f)
		d, err := FromFD(c.Fd())
		if err != nil {
			t.Fatal(err)
		}
		defer d.Free()
		if d.Fd() == c.Fd() || d.Standalone() != c.Standalone() {
			t.Fatal("FromFD: same fd or mode")
		}
		c.Send(bg, u64(3))
		if b, ok, err := d.Recv(bg); err != nil || !ok || b[0] != 3 {
			t.Fatalf("%v %v %v", b, ok, err)
		}
	})
	if _, err := FromFD(-1); err != syscall.EINVAL {
		t.Fatalf("fd -1: %v", err)
	}
	// An unsealed memfd, a pipe, a corrupt header.
	fd, _ := memfdPlain(t)
	syscall.Ftruncate(fd, 4096)
	if _, err := FromFD(fd); err != syscall.EINVAL {
		t.Fatalf("unsealed memfd: %v", err)
	}
	var p [2]int
	syscall.Pipe(p[:])
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])
	if _, err := FromFD(p[0]); err == nil {
		t.Fatal("a pipe adopted")
	}
	c := mustMake(t, 8, 4, Standalone)
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&c.mem[12])), 5) // cap
	if _, err := FromFD(c.Fd()); err != syscall.EBADMSG {
		t.Fatalf("corrupt header: %v", err)
	}
}

func memfdPlain(t *testing.T) (int, error) {
	b, _ := syscall.BytePtrFromString("plain")
	r, _, e := syscall.Syscall(sysMemfdCreate, uintptr(unsafe.Pointer(b)), mfdCloexec|mfdSealing, 0)
	if e != 0 {
		t.Fatal(e)
	}
	t.Cleanup(func() { syscall.Close(int(r)) })
	return int(r), nil
}

// Words a peer scribbled: EIO, never a hang or a crash.
func TestScribbledRing(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		c := mustMake(t, 8, 4, f)
		c.Send(bg, u64(1))
		w := c.r.word(0)
		atomic.StoreUint64(w, slotWord(0, 0, 7))
		if _, _, err := c.TryRecv(); err != syscall.EIO {
			t.Fatalf("bad state: %v", err)
		}
		ctx, cancel := context.WithTimeout(bg, time.Second)
		defer cancel()
		if _, _, err := c.Recv(ctx); err != syscall.EIO {
			t.Fatalf("bad state, blocking: %v", err)
		}
		d := mustMake(t, 8, 4, f)
		atomic.StoreUint64(d.r.head, 3)
		if _, _, err := d.TryRecv(); err != syscall.EIO {
			t.Fatalf("head beyond tail: %v", err)
		}
	})
}

// A peer that keeps changing the slot words (flipping an owner bit of
// each, and back): claims fail and rounds run out (EBUSY), which is
// waited out, never returned, and never hangs; every element arrives.
func TestCASStorm(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		c := mustMake(t, 8, 4, f)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				for i := uint64(0); i < c.r.nslots; i++ {
					w := word64(c.r.mem, c.r.slots+i*c.r.slotSize)
					v := atomic.LoadUint64(w)
					if atomic.CompareAndSwapUint64(w, v, v^1<<slotStateBits) {
						atomic.CompareAndSwapUint64(w, v^1<<slotStateBits, v)
					}
				}
				if k%64 == 0 {
					runtime.Gosched()
				}
			}
		}()
		ctx, cancel := context.WithTimeout(bg, 60*time.Second)
		defer cancel()
		for i := 0; i < 2000; i++ {
			if err := c.Send(ctx, u64(uint64(i))); err != nil {
				t.Fatalf("send %d under the storm: %v", i, err)
			}
			b, ok, err := c.Recv(ctx)
			if err != nil || !ok || binary.LittleEndian.Uint64(b) != uint64(i) {
				t.Fatalf("recv %d under the storm: %v %v %v", i, b, ok, err)
			}
		}
		close(stop)
		<-done
	})
}

// With the park's retry look made an hour long, a lost wakeup hangs:
// many rounds of a goroutine parked and woken by another's fast-path
// send (and a full ring's sender by a receive) must all end.
func TestParkNoLostWakeup(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		if f&Standalone != 0 {
			t.Skip("standalone waits do not park (futex waits, tested above)")
		}
		old := parkRetry
		parkRetry = time.Hour
		defer func() { parkRetry = old }()
		c := mustMake(t, 8, 1, f)
		ctx, cancel := context.WithTimeout(bg, 120*time.Second)
		defer cancel()
		errs := make(chan error, 1)
		go func() {
			for i := 0; i < 300; i++ {
				if i%3 == 0 {
					time.Sleep(time.Millisecond) // let the receiver park
				}
				if err := c.Send(ctx, u64(uint64(i))); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
		for i := 0; i < 300; i++ {
			if i%5 == 0 {
				time.Sleep(time.Millisecond) // let the sender park, full
			}
			b, ok, err := c.Recv(ctx)
			if err != nil || !ok || binary.LittleEndian.Uint64(b) != uint64(i) {
				t.Fatalf("recv %d: %v %v %v (a lost wakeup?)", i, b, ok, err)
			}
		}
		if err := <-errs; err != nil {
			t.Fatalf("send: %v (a lost wakeup?)", err)
		}
	})
}

func TestNames(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		if f&Standalone != 0 {
			t.Setenv("GOSYNC_SHM_DIR", shmTestDir(t))
		}
		name := "/go-test-" + strconv.Itoa(os.Getpid())
		Unlink(name, f&Standalone)
		if _, err := Open(name, os.O_RDWR, 0, 0, 0, f); err != syscall.ENOENT {
			t.Fatalf("missing: %v", err)
		}
		a, err := Open(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0600, 8, 4, f)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Free()
		defer Unlink(name, f&Standalone)
		if _, err := Open(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0600, 8, 4, f); err != syscall.EEXIST {
			t.Fatalf("exclusive twice: %v", err)
		}
		b, err := Open(name, os.O_RDWR|os.O_CREATE, 0600, 8, 4, f)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Free()
		a.Send(bg, u64(11))
		if m, ok, err := b.Recv(bg); err != nil || !ok || m[0] != 11 {
			t.Fatalf("%v %v %v", m, ok, err)
		}
		if _, err := Open("noslash", os.O_RDWR, 0, 0, 0, f); err != syscall.EINVAL {
			t.Fatalf("no slash: %v", err)
		}
		if _, err := Open("/a/b", os.O_RDWR, 0, 0, 0, f); err != syscall.EINVAL {
			t.Fatalf("two slashes: %v", err)
		}
		if _, err := Open("/"+strings.Repeat("x", 256), os.O_RDWR, 0, 0, 0, f); err != syscall.ENAMETOOLONG {
			t.Fatalf("long: %v", err)
		}
		if f&Standalone != 0 {
			if _, err := Open(name, os.O_RDONLY, 0, 0, 0, f); err != syscall.EOPNOTSUPP {
				t.Fatalf("standalone O_RDONLY: %v", err)
			}
			return
		}
		// Directional ends by name: no mapping, the other way EBADF.
		r, err := Open(name, os.O_RDONLY, 0, 0, 0, f)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Free()
		if err := r.Send(bg, u64(1)); err != syscall.EBADF {
			t.Fatalf("send on O_RDONLY: %v", err)
		}
		w, err := Open(name, os.O_WRONLY, 0, 0, 0, f)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Free()
		if _, _, err := w.Recv(bg); err != syscall.EBADF {
			t.Fatalf("recv on O_WRONLY: %v", err)
		}
		if err := w.Send(bg, u64(12)); err != nil {
			t.Fatal(err)
		}
		if m, ok, err := r.Recv(bg); err != nil || !ok || m[0] != 12 {
			t.Fatalf("%v %v %v", m, ok, err)
		}
		if err := r.Close(); err != syscall.EBADF {
			t.Fatalf("close on a receive-only end: %v", err)
		}
		if err := Unlink(name, 0); err != nil {
			t.Fatal(err)
		}
		if err := Unlink(name, 0); err != syscall.ENOENT {
			t.Fatalf("unlink twice: %v", err)
		}
	})
}

func shmTestDir(t *testing.T) string {
	d, err := os.MkdirTemp("/dev/shm", "gosync-go-test")
	if err != nil {
		t.Skip("no /dev/shm")
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return filepath.Join(d, "names")
}

func TestDirectionalEnds(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		c := mustMake(t, 8, 4, f)
		if f&Standalone != 0 {
			if _, err := c.SendEnd(); err != syscall.EOPNOTSUPP {
				t.Fatalf("standalone SendEnd: %v", err)
			}
			return
		}
		s, err := c.SendEnd()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Free()
		r, err := c.RecvEnd()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Free()
		if s.mem != nil || r.mem != nil {
			t.Fatal("a directional end is mapped")
		}
		if _, _, err := s.TryRecv(); err != syscall.EBADF {
			t.Fatalf("recv on send end: %v", err)
		}
		if err := r.TrySend(u64(1)); err != syscall.EBADF {
			t.Fatalf("send on recv end: %v", err)
		}
		if err := s.Send(bg, u64(4)); err != nil {
			t.Fatal(err)
		}
		if b, ok, err := r.Recv(bg); err != nil || !ok || b[0] != 4 {
			t.Fatalf("%v %v %v", b, ok, err)
		}
	})
}

// The C library on the other side of the same channel (interop/peer,
// $GOSYNC_PEER): a Go producer and a C consumer, then the reverse.
func TestWithCPeer(t *testing.T) {
	peer := os.Getenv("GOSYNC_PEER")
	if peer == "" {
		t.Skip("GOSYNC_PEER is not set (build/interop/peer)")
	}
	forModes(t, func(t *testing.T, f Flags) {
		for _, capacity := range []int{0, 16} {
			c := mustMake(t, 8, capacity, f)
			// The os.File owns a duplicate: its finalizer closes that.
			dfd, err := dupFD(c.Fd())
			if err != nil {
				t.Fatal(err)
			}
			file := os.NewFile(uintptr(dfd), "chan")
			defer file.Close()
			cons := exec.Command(peer, "consume", "3")
			cons.ExtraFiles = []*os.File{file}
			out := &strings.Builder{}
			cons.Stdout = out
			cons.Stderr = os.Stderr
			if err := cons.Start(); err != nil {
				t.Fatal(err)
			}
			prod := exec.Command(peer, "produce", "3", "7", "500")
			prod.ExtraFiles = []*os.File{file}
			prod.Stderr = os.Stderr
			if err := prod.Start(); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 500; i++ {
				b := make([]byte, 8)
				binary.LittleEndian.PutUint32(b, 9)
				binary.LittleEndian.PutUint32(b[4:], uint32(i))
				if err := c.Send(bg, b); err != nil {
					t.Fatal(err)
				}
			}
			if err := prod.Wait(); err != nil {
				t.Fatal(err)
			}
			c.Close()
			if err := cons.Wait(); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if lines[len(lines)-1] != "closed" {
				t.Fatal("the C consumer did not see close")
			}
			next := map[string]int{}
			for _, l := range lines[:len(lines)-1] {
				fs := strings.Fields(l)
				seq, _ := strconv.Atoi(fs[1])
				if seq != next[fs[0]] {
					t.Fatalf("producer %s: %d, want %d", fs[0], seq, next[fs[0]])
				}
				next[fs[0]]++
			}
			if next["7"] != 500 || next["9"] != 500 {
				t.Fatalf("counts %v", next)
			}
		}
	})
}
