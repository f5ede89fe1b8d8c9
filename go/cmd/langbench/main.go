// SPDX-License-Identifier: GPL-2.0 OR MIT

// Command langbench is the Go peer of bench/run's lang set (as
// bench/py/pybench.py is the Python one): one measurement, printed as
// gosync-bench prints its own (a RESULT line).
//
//	langbench stream IMPL ELEM CAP N
//
// A Go producer (this process) streams N elements of ELEM bytes to a C
// consumer (gosync-bench sink, $GOSYNC_BENCH_C, which takes in batches
// or reads in large chunks), timed from the first send to the consumer's
// exit.  IMPL:
//
//	go-gosync  a gosync channel of capacity CAP (the Go package), one
//	           Send per element
//	go-pipe    a pipe (os.Pipe: an *os.File on Go's poller), one Write per
//	           element
//	go-unix    a UNIX stream socket pair (net.FileConn), one Write per
//	           element
//
// gosync runs in kernel mode when /dev/gosync exists, else standalone
// (GOSYNC_BENCH_MODE=standalone forces it).
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gosync"
)

func die(what string, err error) {
	fmt.Fprintf(os.Stderr, "langbench: %s: %v\n", what, err)
	os.Exit(1)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		die("argument "+strconv.Quote(s), err)
	}
	return n
}

// The context switches of this process and its waited-for children (the
// sink), as pybench counts them.
func ctxsw() int64 {
	var t int64
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			t += ru.Nvcsw + ru.Nivcsw
		}
	}
	return t
}

// dupFile: an *os.File of its own on fd, for exec.Cmd.ExtraFiles (an
// os.File closes its fd when closed or collected; fd stays the caller's).
func dupFile(fd int, name string) *os.File {
	d, err := syscall.Dup(fd)
	if err != nil {
		die("dup", err)
	}
	syscall.CloseOnExec(d)
	return os.NewFile(uintptr(d), name)
}

func stream(impl string, elem, capacity, n int) {
	standalone := os.Getenv("GOSYNC_BENCH_MODE") == "standalone"
	if _, err := os.Stat("/dev/gosync"); err != nil {
		standalone = true
	}
	msg := make([]byte, elem)
	for i := range msg {
		msg[i] = byte(i)
	}
	var (
		sinkEnd *os.File // the consumer's end, its fd 3
		kind    = "fd"
		send    func()
	)
	switch impl {
	case "go-gosync":
		var f gosync.Flags
		if standalone {
			f = gosync.Standalone
		}
		ch, err := gosync.Make(elem, capacity, f)
		if err != nil {
			die("gosync.Make", err)
		}
		sinkEnd, kind = dupFile(ch.Fd(), "gosync-chan"), "gosync"
		send = func() {
			ctx := context.Background()
			for i := 0; i < n; i++ {
				if err := ch.Send(ctx, msg); err != nil {
					die("Send", err)
				}
			}
		}
	case "go-pipe":
		r, w, err := os.Pipe()
		if err != nil {
			die("pipe", err)
		}
		sinkEnd = r
		send = func() {
			for i := 0; i < n; i++ {
				// A pipe write of <= PIPE_BUF is whole; os.File
				// writes the rest of a longer one itself.
				if _, err := w.Write(msg); err != nil {
					die("write", err)
				}
			}
			w.Close()
		}
	case "go-unix":
		fds, err := syscall.Socketpair(syscall.AF_UNIX,
			syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			die("socketpair", err)
		}
		sinkEnd = os.NewFile(uintptr(fds[1]), "unix-sink")
		af := os.NewFile(uintptr(fds[0]), "unix-source")
		c, err := net.FileConn(af)
		if err != nil {
			die("net.FileConn", err)
		}
		af.Close()
		send = func() {
			for i := 0; i < n; i++ {
				if _, err := c.Write(msg); err != nil {
					die("write", err)
				}
			}
			c.Close()
		}
	default:
		die("unknown impl "+impl, syscall.EINVAL)
	}
	cbench := os.Getenv("GOSYNC_BENCH_C")
	if cbench == "" {
		cbench = "gosync-bench"
	}
	var out strings.Builder
	sink := exec.Command(cbench, "sink", kind, "3", strconv.Itoa(elem),
		strconv.Itoa(n))
	sink.ExtraFiles = []*os.File{sinkEnd}
	sink.Stdout = &out
	sink.Stderr = os.Stderr
	if err := sink.Start(); err != nil {
		die("the sink", err)
	}
	sinkEnd.Close()
	c0 := ctxsw()
	t0 := time.Now()
	send()
	err := sink.Wait()
	dt := time.Since(t0)
	if err != nil || !strings.Contains(out.String(), "RESULT") {
		fmt.Fprintf(os.Stderr, "langbench: the sink failed (%v)\n", err)
		os.Exit(1)
	}
	fmt.Printf("RESULT workload=go-stream-%d-%d impl=%s value=%.6g "+
		"unit=msg/s ctxsw=%.4f\n", elem, capacity, impl,
		float64(n)/dt.Seconds(), float64(ctxsw()-c0)/float64(n))
}

func main() {
	a := os.Args[1:]
	if len(a) == 5 && a[0] == "stream" {
		stream(a[1], atoi(a[2]), atoi(a[3]), atoi(a[4]))
		return
	}
	fmt.Fprintln(os.Stderr, "usage: langbench stream go-gosync|go-pipe|go-unix ELEM CAP N")
	os.Exit(2)
}
