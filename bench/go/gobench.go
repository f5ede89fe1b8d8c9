// SPDX-License-Identifier: GPL-2.0 OR MIT

// gobench: the Go peers of bench/gosync-bench.c, in-process (goroutines,
// GOMAXPROCS=2), printing the same RESULT lines with impl=go.
package main

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var impl = "go"

// The process's context switches (all threads), as the C side counts them.
func ctxsw() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Nvcsw + ru.Nivcsw)
}

var ctxsw0 = ctxsw()

func report(workload, unit string, value float64, ops int) {
	fmt.Printf("RESULT workload=%s impl=%s value=%.6g unit=%s ctxsw=%.4f\n",
		workload, impl, value, unit, (ctxsw()-ctxsw0)/float64(ops))
}

// A value's fingerprint, as in gosync-bench.c: a lost and a duplicated
// element never cancel.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
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
		float64(n-1)/d.Seconds(), n)
}

// Capacity 1 (impl go, as gosync's row) or unbuffered (go-unbuffered, as
// gosync-unbuffered).
func pingpong(n int) {
	capacity := 1
	if impl == "go-unbuffered" {
		capacity = 0
	}
	a, b := make(chan uint64, capacity), make(chan uint64, capacity)
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
	report("pingpong", "ns/rtt", float64(time.Since(t0).Nanoseconds())/float64(n), n)
}

// np producer goroutines x np consumers on one channel.
func mpmc(np, n int) {
	ch := make(chan uint64, 64)
	var wg sync.WaitGroup
	per := n / np
	total := np * per
	var left int64 = int64(total)
	var sum, mix uint64
	var mu sync.Mutex
	t0 := time.Now()
	for p := 0; p < np; p++ {
		go func(p uint64) {
			for i := 0; i < per; i++ {
				ch <- p<<32 | uint64(i)
			}
		}(uint64(p))
	}
	for c := 0; c < np; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s, m uint64
			for atomic.AddInt64(&left, -1) >= 0 {
				v := <-ch
				s += v
				m ^= mix64(v)
			}
			mu.Lock()
			sum += s
			mix ^= m
			mu.Unlock()
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	var wantSum, wantMix uint64
	for p := uint64(0); p < uint64(np); p++ {
		for i := 0; i < per; i++ {
			v := p<<32 | uint64(i)
			wantSum += v
			wantMix ^= mix64(v)
		}
	}
	if sum != wantSum || mix != wantMix {
		fmt.Fprintln(os.Stderr, "gobench: mpmc lost or duplicated an element")
		os.Exit(1)
	}
	report(fmt.Sprintf("mpmc-%dx%d", np, np), "msg/s", float64(total)/d.Seconds(), total)
}

func selectK(k, n int) {
	chs := make([]chan uint64, k)
	for i := range chs {
		chs[i] = make(chan uint64, 512) // as gosync's channels
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
		default:
			panic("select: 2 or 8 channels")
		}
	}
	report(fmt.Sprintf("select-%d", k), "msg/s", float64(total)/time.Since(t0).Seconds(), total)
}

// The channel a scale round touches: as scale_pick in gosync-bench.c.
func scalePick(m, n int) int {
	return int(mix64(uint64(m)) % uint64(n))
}

func recvCases(n int) ([]chan uint64, []reflect.SelectCase) {
	chs := make([]chan uint64, n)
	cases := make([]reflect.SelectCase, n)
	for i := range chs {
		chs[i] = make(chan uint64, 1)
		cases[i] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(chs[i])}
	}
	return chs, cases
}

// A select over the n receive cases, the way a Go program would write
// it: a plain receive for one, a select statement for eight, and
// reflect.Select (Go's select over a number of cases known only at run
// time) beyond.  Returns the case taken.
func selectN(chs []chan uint64, cases []reflect.SelectCase) int {
	switch len(chs) {
	case 1:
		<-chs[0]
		return 0
	case 8:
		select {
		case <-chs[0]:
			return 0
		case <-chs[1]:
			return 1
		case <-chs[2]:
			return 2
		case <-chs[3]:
			return 3
		case <-chs[4]:
			return 4
		case <-chs[5]:
			return 5
		case <-chs[6]:
			return 6
		case <-chs[7]:
			return 7
		}
	}
	got, _, _ := reflect.Select(cases)
	return got
}

// select-scale: one element into a channel picked at random, then a
// select over all n; exactly one is ready.
func selectScale(n, ops int) {
	chs, cases := recvCases(n)
	t0 := time.Now()
	for m := 0; m < ops; m++ {
		r := scalePick(m, n)
		chs[r] <- 1
		if got := selectN(chs, cases); got != r {
			panic("select took the wrong case")
		}
	}
	report("select-scale", "ns/op", float64(time.Since(t0).Nanoseconds())/float64(ops), ops)
}

// select-block: a goroutine selects over n empty channels; one element
// into one of them, and its answer on a reply channel: a round trip.
func selectBlock(n, ops int) {
	chs, cases := recvCases(n)
	reply := make(chan uint64, 1)
	go func() {
		for m := 0; m < ops; m++ {
			selectN(chs, cases)
			reply <- 1
		}
	}()
	t0 := time.Now()
	for m := 0; m < ops; m++ {
		chs[scalePick(m, n)] <- 1
		<-reply
	}
	report("select-block", "ns/rtt", float64(time.Since(t0).Nanoseconds())/float64(ops), ops)
}

func wgAddDone(n int) {
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		wg.Done()
	}
	report("wg-add-done", "ns/op", float64(time.Since(t0).Nanoseconds())/float64(n), n)
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
	report("wg-wake", "ns/op", float64(total.Nanoseconds())/float64(n), n)
}

func mutex(n int, procs int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	counter := 0
	name := "mutex-uncontended"
	if procs > 1 {
		name = fmt.Sprintf("mutex-contended-%d", procs)
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
	ops := n / procs * procs
	report(name, "ns/op", float64(time.Since(t0).Nanoseconds())/float64(ops), ops)
}

func main() {
	a := os.Args
	if len(a) < 4 {
		fmt.Fprintln(os.Stderr, "usage: gobench WORKLOAD IMPL ARGS... (as gosync-bench)")
		os.Exit(2)
	}
	impl = a[2]
	switch a[1] {
	case "stream":
		stream(atoi(a[3]), atoi(a[4]), atoi(a[5]))
	case "pingpong":
		pingpong(atoi(a[3]))
	case "mpmc":
		if len(a) == 5 {
			mpmc(atoi(a[3]), atoi(a[4]))
		} else {
			mpmc(2, atoi(a[3]))
		}
	case "select-scale":
		selectScale(atoi(a[3]), atoi(a[4]))
	case "select-block":
		selectBlock(atoi(a[3]), atoi(a[4]))
	case "select":
		selectK(atoi(a[3]), atoi(a[4]))
	case "wg-add-done":
		wgAddDone(atoi(a[3]))
	case "wg-wake":
		wgWake(atoi(a[3]))
	case "mutex-uncontended":
		mutex(atoi(a[3]), 1)
	case "mutex-contended":
		if len(a) == 5 {
			mutex(atoi(a[4]), atoi(a[3]))
		} else {
			mutex(atoi(a[3]), 2)
		}
	default:
		fmt.Fprintln(os.Stderr, "gobench: unknown workload", a[1])
		os.Exit(2)
	}
}
