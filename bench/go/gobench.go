// SPDX-License-Identifier: GPL-2.0 OR MIT

// gobench: the Go peers of bench/gosync-bench.c, in-process (goroutines,
// GOMAXPROCS=2), printing the same RESULT lines with impl=go.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func report(workload, unit string, value float64) {
	fmt.Printf("RESULT workload=%s impl=go value=%.6g unit=%s ctxsw=0\n",
		workload, value, unit)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

func stream(elem, capacity, n int) {
	// One producer goroutine -> one consumer, elements of elem bytes.
	switch elem {
	case 8:
		streamT[[8]byte](elem, capacity, n)
	case 64:
		streamT[[64]byte](elem, capacity, n)
	case 4096:
		streamT[[4096]byte](elem, capacity, n)
	default:
		panic("elem")
	}
}

func streamT[T any](elem, capacity, n int) {
	ch := make(chan T, capacity)
	go func() {
		var v T
		for i := 0; i < n; i++ {
			ch <- v
		}
	}()
	<-ch
	t0 := time.Now()
	for i := 1; i < n; i++ {
		<-ch
	}
	d := time.Since(t0)
	report(fmt.Sprintf("stream-%d-%d", elem, capacity), "msg/s",
		float64(n-1)/d.Seconds())
}

func pingpong(n int) {
	a, b := make(chan uint64), make(chan uint64)
	go func() {
		for i := 0; i < n; i++ {
			b <- <-a
		}
	}()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		a <- uint64(i)
		<-b
	}
	report("pingpong", "ns/rtt", float64(time.Since(t0).Nanoseconds())/float64(n))
}

func mpmc(n int) {
	ch := make(chan uint64, 64)
	var wg sync.WaitGroup
	var left int64 = int64(n)
	t0 := time.Now()
	for p := 0; p < 2; p++ {
		go func() {
			for i := 0; i < n/2; i++ {
				ch <- uint64(i)
			}
		}()
	}
	for c := 0; c < 2; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for atomic.AddInt64(&left, -1) >= 0 {
				<-ch
			}
		}()
	}
	wg.Wait()
	report("mpmc-2x2", "msg/s", float64(n)/time.Since(t0).Seconds())
}

func selectK(k, n int) {
	chs := make([]chan uint64, k)
	for i := range chs {
		chs[i] = make(chan uint64, 512) // as the C peers: a pipe's page
		go func(c chan uint64) {
			for m := 0; m < n/k; m++ {
				c <- 1
			}
		}(chs[i])
	}
	total := n / k * k
	t0 := time.Now()
	for m := 0; m < total; m++ {
		switch k {
		case 2:
			select {
			case <-chs[0]:
			case <-chs[1]:
			}
		case 8:
			select {
			case <-chs[0]:
			case <-chs[1]:
			case <-chs[2]:
			case <-chs[3]:
			case <-chs[4]:
			case <-chs[5]:
			case <-chs[6]:
			case <-chs[7]:
			}
		}
	}
	report(fmt.Sprintf("select-%d", k), "msg/s", float64(total)/time.Since(t0).Seconds())
}

func wgAddDone(n int) {
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		wg.Done()
	}
	report("wg-add-done", "ns/op", float64(time.Since(t0).Nanoseconds())/float64(n))
}

func wgWake(n int) {
	var total time.Duration
	for i := 0; i < n; i++ {
		var wg, ready sync.WaitGroup
		var stamp time.Time
		done := make(chan time.Duration)
		wg.Add(1)
		ready.Add(1)
		go func() {
			ready.Done()
			wg.Wait()
			done <- time.Since(stamp)
		}()
		ready.Wait()
		time.Sleep(200 * time.Microsecond)
		stamp = time.Now()
		wg.Done()
		total += <-done
	}
	report("wg-wake", "ns/op", float64(total.Nanoseconds())/float64(n))
}

func mutex(n int, contended bool) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	counter := 0
	procs := 1
	name := "mutex-uncontended"
	if contended {
		procs, name = 2, "mutex-contended"
	}
	t0 := time.Now()
	for p := 0; p < procs; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/procs; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	report(name, "ns/op", float64(time.Since(t0).Nanoseconds())/float64(n))
}

func main() {
	a := os.Args
	switch a[1] {
	case "stream":
		stream(atoi(a[3]), atoi(a[4]), atoi(a[5]))
	case "pingpong":
		pingpong(atoi(a[3]))
	case "mpmc":
		mpmc(atoi(a[3]))
	case "select":
		selectK(atoi(a[3]), atoi(a[4]))
	case "wg-add-done":
		wgAddDone(atoi(a[3]))
	case "wg-wake":
		wgWake(atoi(a[3]))
	case "mutex-uncontended":
		mutex(atoi(a[3]), false)
	case "mutex-contended":
		mutex(atoi(a[3]), true)
	default:
		fmt.Fprintln(os.Stderr, "gobench: unknown workload", a[1])
		os.Exit(2)
	}
}
