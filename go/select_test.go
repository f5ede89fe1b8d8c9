// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

import (
	"context"
	"encoding/binary"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestSelectBasics(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		a := mustMake(t, 8, 2, f)
		b := mustMake(t, 8, 2, f)
		if i, _, _, err := TrySelect(RecvCase(a), RecvCase(b)); i != -1 || err != ErrWouldBlock {
			t.Fatalf("nothing ready: %d %v", i, err)
		}
		b.Send(bg, u64(5))
		i, e, ok, err := Select(bg, RecvCase(a), RecvCase(nil), RecvCase(b))
		if i != 2 || !ok || err != nil || e[0] != 5 {
			t.Fatalf("recv b: %d %v %v %v", i, e, ok, err)
		}
		// Send cases; a full channel's send is not ready.
		a.Send(bg, u64(1))
		a.Send(bg, u64(1))
		i, _, _, err = Select(bg, SendCase(a, u64(2)), SendCase(b, u64(3)))
		if i != 1 || err != nil {
			t.Fatalf("send b: %d %v", i, err)
		}
		// Both ready: each is chosen, at random.
		hits := [2]int{}
		for k := 0; k < 200; k++ {
			i, _, _, err := TrySelect(RecvCase(a), RecvCase(b))
			if err != nil {
				t.Fatal(err)
			}
			hits[i]++
			c := []*Chan{a, b}[i]
			c.Send(bg, u64(1))
		}
		if hits[0] < 40 || hits[1] < 40 {
			t.Fatalf("not uniform: %v", hits)
		}
		// A closed channel: a receive case sees ok false; a send case
		// fails the select with its index.
		b.Close()
		for {
			i, _, ok, err := Select(bg, RecvCase(b))
			if err != nil || i != 0 {
				t.Fatalf("%d %v", i, err)
			}
			if !ok {
				break
			}
		}
		i, _, _, err = Select(bg, SendCase(b, u64(1)), RecvCase(nil))
		if i != 0 || err != ErrClosed {
			t.Fatalf("send to closed: %d %v", i, err)
		}
		// Errors before anything happens.
		if _, _, _, err := Select(bg, SendCase(a, make([]byte, 3))); err != syscall.EINVAL {
			t.Fatalf("wrong size: %v", err)
		}
		ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
		defer cancel()
		if i, _, _, err := Select(ctx, RecvCase(nil)); i != -1 || err != context.DeadlineExceeded {
			t.Fatalf("only nil: %d %v", i, err)
		}
		cctx, ccancel := context.WithCancel(bg)
		go func() { time.Sleep(30 * time.Millisecond); ccancel() }()
		empty := mustMake(t, 8, 1, f)
		if _, _, _, err := Select(cctx, RecvCase(empty)); err != context.Canceled {
			t.Fatalf("cancel: %v", err)
		}
	})
}

func TestSelectMixedModesRefused(t *testing.T) {
	if !kernelMode() {
		t.Skip("no module")
	}
	a := mustMake(t, 8, 1, 0)
	b := mustMake(t, 8, 1, Standalone)
	if _, _, _, err := TrySelect(RecvCase(a), RecvCase(b)); err != syscall.EINVAL {
		t.Fatalf("mixed: %v", err)
	}
}

// Unbuffered: a select's send case fires only when a receiver takes the
// element; a select's receive case counts as a waiting receiver for a
// TrySend; a blocked select is woken by another goroutine's send.
func TestSelectUnbuffered(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		u := mustMake(t, 8, 0, f)
		other := mustMake(t, 8, 1, f)
		if i, _, _, err := TrySelect(SendCase(u, u64(1))); i != -1 || err != ErrWouldBlock {
			t.Fatalf("no receiver: %d %v", i, err)
		}
		res := make(chan uint64)
		go func() {
			_, e, ok, err := Select(bg, RecvCase(other), RecvCase(u))
			if err != nil || !ok {
				t.Errorf("select recv: %v %v", ok, err)
			}
			res <- binary.LittleEndian.Uint64(e)
		}()
		deadline := time.Now().Add(10 * time.Second)
		for u.TrySend(u64(77)) != nil {
			if time.Now().After(deadline) {
				t.Fatal("TrySend never met the select's receive case")
			}
			time.Sleep(time.Millisecond)
		}
		if v := <-res; v != 77 {
			t.Fatalf("got %d", v)
		}
		go func() {
			b, _, _ := u.Recv(bg)
			res <- binary.LittleEndian.Uint64(b)
		}()
		i, _, _, err := Select(bg, SendCase(u, u64(88)), RecvCase(nil))
		if i != 0 || err != nil {
			t.Fatalf("send case: %d %v", i, err)
		}
		if v := <-res; v != 88 {
			t.Fatalf("got %d", v)
		}
		// A send case's deadline: withdrawn, never received later.
		ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
		defer cancel()
		if _, _, _, err := Select(ctx, SendCase(u, u64(99))); err != context.DeadlineExceeded {
			t.Fatalf("deadline: %v", err)
		}
		if _, _, err := u.TryRecv(); err != ErrWouldBlock {
			t.Fatalf("withdrawn element: %v", err)
		}
	})
}

// Two selects exchanging over unbuffered channels, many times: each
// element arrives once, and neither hangs.
func TestSelectPingPong(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		a := mustMake(t, 8, 0, f)
		b := mustMake(t, 8, 0, f)
		const n = 300
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				_, e, _, err := Select(bg, RecvCase(a))
				if err != nil {
					t.Error(err)
					return
				}
				if _, _, _, err := Select(bg, SendCase(b, e)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		for i := 0; i < n; i++ {
			if _, _, _, err := Select(bg, SendCase(a, u64(uint64(i)))); err != nil {
				t.Fatal(err)
			}
			_, e, _, err := Select(bg, RecvCase(b))
			if err != nil || binary.LittleEndian.Uint64(e) != uint64(i) {
				t.Fatalf("%d: %v %v", i, e, err)
			}
		}
		wg.Wait()
	})
}
