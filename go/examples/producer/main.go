// SPDX-License-Identifier: GPL-2.0 OR MIT

// Command producer is a Go producer on a channel that other programs (C,
// Python, Go) consume: it sends N elements in interop/peer.c's format
// (struct peer_msg: its ID and a sequence number 0..N-1, little-endian
// uint32s, 8 bytes) and exits, or with -close closes the channel first.
//
//	producer [-close] [-cap SLOTS] CHAN ID N
//
// CHAN is an inherited fd (a number: adopted with gosync.FromFD, kernel
// or standalone) or a name ("/jobs": opened, and made with 8-byte
// elements and SLOTS slots when absent, in kernel mode when the module is
// loaded, else standalone).  `make run` shows it feeding a Python and a C
// consumer (examples/python/mixed.py).
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"gosync"
)

func open(arg string, slots int) (*gosync.Chan, error) {
	if fd, err := strconv.Atoi(arg); err == nil {
		return gosync.FromFD(fd)
	}
	if !strings.HasPrefix(arg, "/") {
		return nil, fmt.Errorf("%q: neither an fd nor a name (/NAME)", arg)
	}
	// The module's name when it is loaded, else a standalone one.  An
	// existing channel is taken as it is (shape 0, 0: with O_CREATE a
	// shape other than its own would be EINVAL).
	for _, f := range []gosync.Flags{0, gosync.Standalone} {
		c, err := gosync.Open(arg, os.O_RDWR, 0, 0, 0, f)
		if errors.Is(err, syscall.ENOENT) {
			c, err = gosync.Open(arg, os.O_RDWR|os.O_CREATE, 0o600, 8, slots, f)
		}
		if f == 0 && errors.Is(err, syscall.ENODEV) {
			continue
		}
		return c, err
	}
	panic("unreachable")
}

func main() {
	closeIt := flag.Bool("close", false, "close the channel after the last element")
	slots := flag.Int("cap", 16, "a channel made by name: its capacity")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: producer [-close] [-cap SLOTS] FD|/NAME ID N")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 3 {
		flag.Usage()
		os.Exit(2)
	}
	id, err1 := strconv.ParseUint(flag.Arg(1), 10, 32)
	n, err2 := strconv.ParseUint(flag.Arg(2), 10, 32)
	if err1 != nil || err2 != nil {
		flag.Usage()
		os.Exit(2)
	}
	ch, err := open(flag.Arg(0), *slots)
	if err != nil {
		fmt.Fprintln(os.Stderr, "producer:", err)
		os.Exit(1)
	}
	if ch.ElemSize() != 8 {
		fmt.Fprintf(os.Stderr, "producer: elements of %d bytes, not 8\n", ch.ElemSize())
		os.Exit(1)
	}
	ctx := context.Background()
	msg := make([]byte, 8)
	binary.LittleEndian.PutUint32(msg[0:], uint32(id))
	for seq := uint64(0); seq < n; seq++ {
		binary.LittleEndian.PutUint32(msg[4:], uint32(seq))
		if err := ch.Send(ctx, msg); err != nil {
			fmt.Fprintln(os.Stderr, "producer: send:", err)
			os.Exit(1)
		}
	}
	if *closeIt {
		if err := ch.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "producer: close:", err)
			os.Exit(1)
		}
	}
	ch.Free()
}
