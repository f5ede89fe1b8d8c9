// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

import (
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The child of TestKilledAtEveryStep: adopts fd 3, and SIGKILLs itself at
// one step of its first operation past the warm-up ones.
func TestHelperDiesAtStep(t *testing.T) {
	stepName := os.Getenv("GOSYNC_GO_DIE_AT")
	if stepName == "" {
		t.Skip("a helper process of TestKilledAtEveryStep")
	}
	c, err := FromFD(3)
	if err != nil {
		os.Exit(3)
	}
	warm, _ := strconv.Atoi(os.Getenv("GOSYNC_GO_WARM"))
	n := 0
	ringStep = func(s string) {
		if s == stepName && n == warm {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Hour)
		}
	}
	send := stepName[:4] == "send"
	for ; ; n++ {
		if send {
			if err := c.Send(bg, u64(uint64(100+n))); err != nil {
				os.Exit(4)
			}
		} else if _, _, err := c.Recv(bg); err != nil {
			os.Exit(4)
		}
	}
}

// A Go process killed at every step of a fast-path send or receive costs
// at most its own element: the kernel releases its claims (its mapping's
// owner id is in them), and nobody hangs (kernel mode; standalone rings
// have no one to release a dead process's claim, as in C).
func TestKilledAtEveryStep(t *testing.T) {
	forModes(t, func(t *testing.T, f Flags) {
		if f&Standalone != 0 {
			t.Skip("a standalone ring cannot release a dead claim (documented)")
		}
		for _, stepName := range []string{"send_claimed", "send_tail",
			"send_copied", "send_done", "recv_claimed", "recv_head",
			"recv_copied", "recv_done"} {
			t.Run(stepName, func(t *testing.T) { dieAt(t, f, stepName) })
		}
	})
}

func dieAt(t *testing.T, f Flags, stepName string) {
	c := mustMake(t, 8, 4, f)
	send := stepName[:4] == "send"
	if !send {
		for i := 0; i < 4; i++ {
			c.Send(bg, u64(uint64(i)))
		}
	}
	dfd, err := dupFD(c.Fd())
	if err != nil {
		t.Fatal(err)
	}
	file := os.NewFile(uintptr(dfd), "chan")
	defer file.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperDiesAtStep$")
	cmd.Env = append(os.Environ(), "GOSYNC_GO_DIE_AT="+stepName,
		"GOSYNC_GO_WARM=1")
	cmd.ExtraFiles = []*os.File{file}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, 20*time.Second)
	defer cancel()
	got := []uint64{}
	if send {
		// The child sends 100, then dies sending 101: 100 arrives;
		// 101 arrives or is lost, nothing else.
		for len(got) < 1 {
			b, _, err := c.Recv(ctx)
			if err != nil {
				t.Fatalf("waiting for the child's first element: %v", err)
			}
			got = append(got, binary.LittleEndian.Uint64(b))
		}
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the child did not die")
	}
	// Whatever is left, then the ring must work for everyone.
	for {
		b, _, err := c.TryRecv()
		if err != nil {
			break
		}
		got = append(got, binary.LittleEndian.Uint64(b))
	}
	if send {
		if got[0] != 100 || len(got) > 2 || len(got) == 2 && got[1] != 101 {
			t.Fatalf("after a sender died at %s: %v", stepName, got)
		}
	} else if len(got) != 2 || got[0] != 2 || got[1] != 3 {
		// It took 0 (warm-up) and died taking 1: a dead reader's claim
		// is freed, so 2 and 3 are left.
		t.Fatalf("after a receiver died at %s: %v", stepName, got)
	}
	for i := 0; i < 12; i++ {
		if err := c.Send(ctx, u64(uint64(1000+i))); err != nil {
			t.Fatalf("send %d after the death: %v", i, err)
		}
		b, ok, err := c.Recv(ctx)
		if err != nil || !ok || binary.LittleEndian.Uint64(b) != uint64(1000+i) {
			t.Fatalf("recv %d after the death: %v %v %v", i, b, ok, err)
		}
	}
}
