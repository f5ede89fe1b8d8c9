// SPDX-License-Identifier: GPL-2.0 OR MIT

// Package gosync is gosync's Go side: Go-style channels, select, a
// WaitGroup and a Mutex shared between processes and languages -- the
// same kernel objects (/dev/gosync, the gosync filesystem) and the same
// standalone memfd rings as the C library libgosync and the Python
// package, so a Go program, a C program and a Python program send and
// receive on one channel.
//
// It is pure Go (no cgo): it maps the channel's ring and runs the ring
// protocol of common/gosync_ring.h with sync/atomic on the mapping, so a
// send into a channel with room, and a receive from one with an element,
// make no system call.  docs/memory-model.md names the Go operation that
// stands for each of the protocol's barriers.
//
// # Making and sharing
//
// Make makes a channel (kernel mode, or Standalone: a sealed memfd, no
// module needed); FromFD adopts the fd of one another process made or
// passed (fork and exec with os/exec's ExtraFiles, SCM_RIGHTS); Open
// opens one by name.  Elements are byte strings of exactly ElemSize
// bytes.  Close is Go's close(ch); Free releases the handle.
//
//	ch, err := gosync.Make(8, 16, 0)        // 8-byte elements, 16 slots
//	err = ch.Send(ctx, buf)                 // buf: 8 bytes
//	elem, ok, err := ch.Recv(ctx)           // ok false: closed and drained
//
// # Waiting
//
// Every wait takes a context.Context: its deadline is the wait's, and its
// cancellation ends the wait with ctx.Err(), nothing sent or received.  In
// kernel mode a goroutine waiting on a buffered channel parks on Go's
// netpoller (a private non-blocking end of the channel, in epoll), so
// thousands of waiting goroutines hold no threads.  Waits that the kernel
// or a futex must see -- unbuffered channels (a receiver must count as
// waiting for a sender's hand-off), Select in kernel mode, every wait in
// standalone mode, and the Mutex and WaitGroup -- hold the goroutine's
// thread, as a blocking system call does, and look at the context every
// 50 ms.
//
// # Errors
//
// ErrClosed for a send on a closed channel (EPIPE); ErrWouldBlock
// (EAGAIN) from the Try operations; ctx.Err() for a wait cut short;
// otherwise a syscall.Errno, the C library's errno: EINVAL (a wrong
// element size, a bad shape), EBADF (a direction this end lacks), EIO (a
// ring a peer scribbled on), ENODEV (no module), and so on.
//
// # The race detector
//
// The race detector does not see atomics on shared mappings, so every
// object mirrors its happens-before edges (a send before the receive that
// takes it, an unlock before the next lock, a Done before Wait's return)
// on a word of its own Go struct: go test -race checks programs that use
// gosync as it checks programs that use Go's own channels.
package gosync
