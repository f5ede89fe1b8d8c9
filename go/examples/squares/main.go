// SPDX-License-Identifier: GPL-2.0 OR MIT

// Command squares is the Go package's smallest whole program: a
// goroutine sends the squares of 1..10 on a buffered gosync channel (8
// bytes each, little-endian) and closes it; main receives until the
// channel is closed and prints them.  Kernel mode when the gosync module
// is loaded, standalone (a sealed memfd, no module) otherwise.  Another
// process given ch.Fd() (exec.Cmd.ExtraFiles) could be either end.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"syscall"

	"gosync"
)

func main() {
	ch, err := gosync.Make(8, 4, 0) // 8-byte elements, 4 slots
	if errors.Is(err, syscall.ENODEV) {
		ch, err = gosync.Make(8, 4, gosync.Standalone) // no module
	}
	if err != nil {
		log.Fatal(err)
	}
	defer ch.Free()

	ctx := context.Background()
	go func() {
		elem := make([]byte, 8)
		for n := uint64(1); n <= 10; n++ {
			binary.LittleEndian.PutUint64(elem, n*n)
			if err := ch.Send(ctx, elem); err != nil {
				log.Fatal(err)
			}
		}
		ch.Close() // as close(ch): receivers drain, then see it closed
	}()

	for {
		elem, ok, err := ch.Recv(ctx)
		if err != nil {
			log.Fatal(err)
		}
		if !ok { // closed and drained
			break
		}
		fmt.Println(binary.LittleEndian.Uint64(elem))
	}
}
