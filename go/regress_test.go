// SPDX-License-Identifier: GPL-2.0 OR MIT

// Regression tests of an adversarial review of the package: each failed
// before its fix (the race ones under -race).

package gosync

import (
	"context"
	"encoding/binary"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// One handle, buffered, fast path only: the sender writes data[i] then
// Sends i; the receiver Recvs i then reads data[i].  Correctly
// synchronised; fastSend releases the race mirror only after the publish
// (A), so a receiver that takes the element in between acquires a stale
// clock.
func TestRegressRaceReleaseAfterPublish(t *testing.T) {
	c := mustMake(t, 8, 1, Standalone)
	const n = 30000
	data := make([]int, n)
	done := make(chan bool)
	go func() {
		for i := 0; i < n; i++ {
			for {
				b, ok, err := c.TryRecv()
				if err == nil && ok {
					j := binary.LittleEndian.Uint64(b)
					_ = data[j]
					break
				}
			}
		}
		done <- true
	}()
	for i := 0; i < n; i++ {
		data[i] = i
		for c.TrySend(u64(uint64(i))) != nil {
		}
	}
	<-done
}

// Go memory handed over through the channel between two handles of the
// same channel in one process (FromFD of the same fd, as two packages of
// one program would do): correctly synchronised, yet -race reports it.
func TestRegressRaceTwoHandles(t *testing.T) {
	c := mustMake(t, 8, 4, Standalone)
	d, err := FromFD(c.Fd())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	var x int
	done := make(chan bool)
	go func() {
		x = 1
		c.Send(bg, u64(1))
	}()
	go func() {
		d.Recv(bg)
		_ = x
		done <- true
	}()
	<-done
}

// Go's unbuffered rule: the receive is synchronised before the completion
// of the send.  The receiver writes y before its Recv; the sender reads y
// after its Send returned.
func TestRegressRaceUnbufferedRule(t *testing.T) {
	c := mustMake(t, 8, 0, Standalone)
	var y int
	done := make(chan bool)
	go func() {
		y = 1
		c.Recv(bg)
		done <- true
	}()
	c.Send(bg, u64(1))
	_ = y
	<-done
}

// Cancellation stress: a Send that returns an error must never be
// received; a Send that returns nil must be received exactly once; a Recv
// that returns an error consumed nothing.
func TestRegressCancelStress(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		for _, capacity := range []int{0, 1, 4} {
			c := mustMake(t, 8, capacity, f)
			const np, nc, n = 3, 3, 400
			var mu sync.Mutex
			sent := map[uint64]bool{}
			failed := map[uint64]bool{}
			got := map[uint64]int{}
			var pw, cw sync.WaitGroup
			for p := 0; p < np; p++ {
				pw.Add(1)
				go func(p int) {
					defer pw.Done()
					r := rand.New(rand.NewSource(int64(p)))
					for i := 0; i < n; i++ {
						v := uint64(p)<<32 | uint64(i)
						b := make([]byte, 8)
						binary.LittleEndian.PutUint64(b, v)
						ctx, cancel := context.WithTimeout(bg, time.Duration(r.Intn(300))*time.Microsecond)
						var err error
						if r.Intn(3) == 0 {
							_, _, _, err = Select(ctx, SendCase(c, b))
						} else {
							err = c.Send(ctx, b)
						}
						cancel()
						mu.Lock()
						if err == nil {
							sent[v] = true
						} else {
							failed[v] = true
						}
						mu.Unlock()
					}
				}(p)
			}
			for k := 0; k < nc; k++ {
				cw.Add(1)
				go func(k int) {
					defer cw.Done()
					r := rand.New(rand.NewSource(int64(100 + k)))
					for {
						ctx, cancel := context.WithTimeout(bg, time.Duration(r.Intn(300))*time.Microsecond)
						var b []byte
						var ok bool
						var err error
						if r.Intn(3) == 0 {
							_, b, ok, err = Select(ctx, RecvCase(c))
						} else {
							b, ok, err = c.Recv(ctx)
						}
						cancel()
						if err != nil {
							continue
						}
						if !ok {
							return
						}
						mu.Lock()
						got[binary.LittleEndian.Uint64(b)]++
						mu.Unlock()
					}
				}(k)
			}
			pw.Wait()
			c.Close()
			cw.Wait()
			for v, k := range got {
				if k != 1 {
					t.Errorf("cap %d: %x received %d times", capacity, v, k)
				}
				if failed[v] {
					t.Errorf("cap %d: %x received though its send failed", capacity, v)
				}
			}
			for v := range sent {
				if got[v] == 0 {
					t.Errorf("cap %d: %x sent but never received", capacity, v)
				}
			}
			t.Logf("cap %d: sent %d failed %d", capacity, len(sent), len(failed))
		}
	})
}

// Kernel mode: goroutines blocked sending on a send-only end (SendEnd, or
// a name opened O_WRONLY) cannot park: the pool's DUP RECV_ONLY of a
// send-only file is EBADF (kmod/chan.c gosync_chan_ioctl_dup), the pool
// is marked broken, and every blocked Send holds an OS thread in the
// kernel.
func TestRegressSendEndThreads(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		if f&Standalone != 0 {
			t.Skip("kernel mode")
		}
		c := mustMake(t, 8, 1, f)
		s, err := c.SendEnd()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Free()
		s.Send(bg, u64(0)) // full
		before := threads(t)
		const n = 100
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); s.Send(bg, u64(1)) }()
		}
		time.Sleep(time.Second)
		during := threads(t)
		t.Logf("%d senders blocked on a SendEnd: %d threads more (pool broken: %v)", n, during-before, s.parks.broken)
		c.Close()
		wg.Wait()
		if during-before > n/4 {
			t.Errorf("%d blocked sends on a send-only end took %d threads", n, during-before)
		}
	})
}

// lib/chan.c gosync_chan_open: "a standalone file is checked here":
// elem_size/cap given and different from the file's: EINVAL.  The Go doc
// of Open says the same.
func TestRegressNameShape(t *testing.T) {
	t.Setenv("GOSYNC_SHM_DIR", shmTestDir(t))
	name := "/go-review-" + strconv.Itoa(os.Getpid())
	a, err := Open(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0600, 8, 4, Standalone)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Free()
	b, err := Open(name, os.O_RDWR|os.O_CREATE, 0600, 16, 2, Standalone)
	if err != syscall.EINVAL {
		if b != nil {
			t.Errorf("opened with shape %d/%d, want EINVAL", b.ElemSize(), b.Cap())
		}
		t.Fatalf("a different shape: %v, want EINVAL", err)
	}
}

// O_EXCL alone (without O_CREAT) is ignored by C (GOSYNC_OFLAGS comment),
// and a sync object's name is EMEDIUMTYPE only for a valid kind.
func TestRegressNameNul(t *testing.T) {
	t.Setenv("GOSYNC_SHM_DIR", shmTestDir(t))
	if _, err := Open("/a\x00b", os.O_RDWR, 0, 0, 0, Standalone); err != syscall.EINVAL {
		t.Errorf("NUL in a name: %v, want EINVAL", err)
	}
}
