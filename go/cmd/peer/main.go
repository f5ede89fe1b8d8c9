// SPDX-License-Identifier: GPL-2.0 OR MIT

// Command peer is the Go side of the cross-language tests
// (python/tests/test_interop.py): interop/peer.c's commands, with the
// same arguments and output, on the Go package.  Every element is a
// struct peer_msg: a producer's id and its sequence number, each a
// little-endian uint32, 8 bytes.
//
//	peer produce FD ID N [DELAY_US]  send (ID, 0..N-1) on the channel at FD
//	peer consume FD                  receive until closed; print "ID SEQ"
//	                                 per element, then "closed"
//	peer select FD...                as consume, over several channels with
//	                                 Select; "IDX ID SEQ" lines; ends when
//	                                 every channel is closed
//	peer wg FD N                     N times: Done on the WaitGroup at FD
//	peer lock FD SHM N               N times: lock the Mutex at FD, add one
//	                                 to the 64-bit counter at the start of
//	                                 the shared file SHM (an fd, mapped),
//	                                 unlock
//
// The fds are inherited (kernel or standalone objects, adopted with
// FromFD, WaitGroupFromFD, MutexFromFD).  Exit status 0, or 1 with a
// message on stderr; 2 for a usage error.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"gosync"
)

const msgSize = 8 // struct peer_msg

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "peer: %s: %v\n", what, err)
	os.Exit(1)
}

func num(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		fail("argument "+strconv.Quote(s), err)
	}
	return n
}

func openChan(arg string) *gosync.Chan {
	c, err := gosync.FromFD(int(num(arg)))
	if err != nil {
		fail("FromFD", err)
	}
	if c.ElemSize() != msgSize {
		fmt.Fprintf(os.Stderr, "peer: elements of %d bytes, not %d\n",
			c.ElemSize(), msgSize)
		os.Exit(1)
	}
	return c
}

func produce(args []string) {
	c := openChan(args[0])
	id := uint32(num(args[1]))
	n := num(args[2])
	var delay time.Duration
	if len(args) > 3 {
		delay = time.Duration(num(args[3])) * time.Microsecond
	}
	ctx := context.Background()
	m := make([]byte, msgSize)
	binary.LittleEndian.PutUint32(m[0:], id)
	for i := int64(0); i < n; i++ {
		binary.LittleEndian.PutUint32(m[4:], uint32(i))
		if err := c.Send(ctx, m); err != nil {
			fail("Send", err)
		}
		if delay > 0 {
			time.Sleep(delay)
		}
	}
	if err := c.Free(); err != nil {
		fail("Free", err)
	}
}

func consume(args []string) {
	c := openChan(args[0])
	out := bufio.NewWriter(os.Stdout)
	ctx := context.Background()
	for {
		m, ok, err := c.Recv(ctx)
		if err != nil {
			fail("Recv", err)
		}
		if !ok {
			break
		}
		fmt.Fprintf(out, "%d %d\n", binary.LittleEndian.Uint32(m[0:]),
			binary.LittleEndian.Uint32(m[4:]))
	}
	fmt.Fprintln(out, "closed")
	if err := out.Flush(); err != nil {
		fail("stdout", err)
	}
	c.Free()
}

func selectAll(args []string) {
	if len(args) > 16 {
		fail("select", syscall.E2BIG)
	}
	chans := make([]*gosync.Chan, len(args))
	cases := make([]gosync.Case, len(args))
	for i, a := range args {
		chans[i] = openChan(a)
		cases[i] = gosync.RecvCase(chans[i])
	}
	out := bufio.NewWriter(os.Stdout)
	ctx := context.Background()
	for open := len(cases); open > 0; {
		i, m, ok, err := gosync.Select(ctx, cases...)
		if err != nil {
			fail("Select", err)
		}
		if !ok {
			cases[i].Chan = nil // Go's nil channel: never again
			open--
			continue
		}
		fmt.Fprintf(out, "%d %d %d\n", i, binary.LittleEndian.Uint32(m[0:]),
			binary.LittleEndian.Uint32(m[4:]))
	}
	fmt.Fprintln(out, "closed")
	if err := out.Flush(); err != nil {
		fail("stdout", err)
	}
	for _, c := range chans {
		c.Free()
	}
}

func wg(args []string) {
	w, err := gosync.WaitGroupFromFD(int(num(args[0])))
	if err != nil {
		fail("WaitGroupFromFD", err)
	}
	for n := num(args[1]); n > 0; n-- {
		if err := w.Done(); err != nil {
			fail("Done", err)
		}
	}
	w.Free()
}

func lock(args []string) {
	m, err := gosync.MutexFromFD(int(num(args[0])))
	if err != nil {
		fail("MutexFromFD", err)
	}
	mem, err := syscall.Mmap(int(num(args[1])), 0, 8,
		syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		fail("mmap SHM", err)
	}
	// A plain load and store, not an atomic add: only the lock keeps
	// the other processes' increments from being lost.
	counter := (*uint64)(unsafe.Pointer(&mem[0]))
	ctx := context.Background()
	for n := num(args[2]); n > 0; n-- {
		if err := m.LockContext(ctx); err != nil {
			fail("Lock", err)
		}
		*counter = *counter + 1
		if err := m.UnlockErr(); err != nil {
			fail("Unlock", err)
		}
	}
	syscall.Munmap(mem)
	m.Free()
}

func main() {
	a := os.Args[1:]
	switch {
	case len(a) >= 4 && len(a) <= 5 && a[0] == "produce":
		produce(a[1:])
	case len(a) == 2 && a[0] == "consume":
		consume(a[1:])
	case len(a) >= 2 && a[0] == "select":
		selectAll(a[1:])
	case len(a) == 3 && a[0] == "wg":
		wg(a[1:])
	case len(a) == 4 && a[0] == "lock":
		lock(a[1:])
	default:
		fmt.Fprintln(os.Stderr, "usage: peer produce FD ID N [DELAY_US] | "+
			"consume FD | select FD... | wg FD N | lock FD SHM N")
		os.Exit(2)
	}
}
