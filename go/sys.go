// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

import (
	"context"
	"errors"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Errors.  Every other error is a syscall.Errno, as the C library's
// -errno (os.ErrDeadlineExceeded and a context's own error aside).
var (
	// ErrClosed: a send on a closed channel (EPIPE), or a second Close.
	ErrClosed = errors.New("gosync: channel closed")
	// ErrWouldBlock: a Try operation found nothing to do (EAGAIN).
	ErrWouldBlock = syscall.EAGAIN
)

func errno(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// ioctl issues one ioctl, restarting on EINTR (the module restarts its
// waits itself; a Go signal never ends one early).
func ioctl(fd int, req uintptr, arg unsafe.Pointer) (int, syscall.Errno) {
	for {
		r, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req,
			uintptr(arg))
		if e == syscall.EINTR {
			continue
		}
		runtime.KeepAlive(arg)
		if e != 0 {
			return -1, e
		}
		return int(r), 0
	}
}

// Monotonic nanoseconds, the clock of every gosync deadline.
func monoNow() int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1, /* CLOCK_MONOTONIC */
		uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Sec*1e9 + ts.Nsec
}

// deadlineOf turns a context's deadline into an absolute CLOCK_MONOTONIC
// deadline in nanoseconds (deadlineForever without one).
func deadlineOf(ctx context.Context) int64 {
	d, ok := ctx.Deadline()
	if !ok {
		return deadlineForever
	}
	left := time.Until(d)
	if left <= 0 {
		return monoNow()
	}
	now := monoNow()
	if int64(left) > math.MaxInt64-now {
		return deadlineForever
	}
	return now + int64(left)
}

// fence is the full barrier of the wake protocol (E and F): a locked
// read-modify-write, as the C side's seq_cst fence.
func fence() {
	var x uint32
	atomic.AddUint32(&x, 0)
}

// futex ops: always shared (no FUTEX_PRIVATE_FLAG), so they meet the C
// side's keys in other processes.
const (
	futexWait       = 0
	futexWake       = 1
	futexWaitBitset = 9
	futexBitsetAny  = 0xffffffff
	futexClockRT    = 256
	futex32         = 2
)

var noWaitv atomic.Bool

type futexWaitvArg struct {
	Val   uint64
	Uaddr uint64
	Flags uint32
	Resv  uint32
}

// futexWaitUntil sleeps while *addr == val, until woken or the absolute
// monotonic deadline (deadlineForever: none).  It returns 0 (woken, or the
// word already differs, or a spurious wake), ETIMEDOUT or EINTR; callers
// look again in every case.
func futexWaitUntil(addr *uint32, val uint32, deadline int64) syscall.Errno {
	var ts *syscall.Timespec
	if deadline != deadlineForever {
		t := syscall.NsecToTimespec(deadline)
		ts = &t
	}
	if !noWaitv.Load() {
		w := futexWaitvArg{Val: uint64(val),
			Uaddr: uint64(uintptr(unsafe.Pointer(addr))), Flags: futex32}
		_, _, e := syscall.Syscall6(sysFutexWaitv,
			uintptr(unsafe.Pointer(&w)), 1, 0,
			uintptr(unsafe.Pointer(ts)), 1 /* CLOCK_MONOTONIC */, 0)
		switch e {
		case 0, syscall.EAGAIN:
			return 0
		case syscall.ENOSYS, syscall.EPERM:
			noWaitv.Store(true)
		default:
			return e
		}
	}
	_, _, e := syscall.Syscall6(syscall.SYS_FUTEX,
		uintptr(unsafe.Pointer(addr)), futexWaitBitset, uintptr(val),
		uintptr(unsafe.Pointer(ts)), 0, futexBitsetAny)
	if e == syscall.EAGAIN {
		return 0
	}
	return e
}

func futexWakeN(addr *uint32, n int) int {
	r, _, e := syscall.Syscall(syscall.SYS_FUTEX,
		uintptr(unsafe.Pointer(addr)), futexWake, uintptr(n))
	if e != 0 {
		return 0
	}
	return int(r)
}

// The device: $GOSYNC_DEVICE, /dev/gosync, or the root of a gosync fs
// ($GOSYNC_FS or /run/gosync), which answers the same ioctls.  Opened
// once per process.
var dev struct {
	once     sync.Once
	fd       int
	features uint64
	err      error
}

func device() (int, uint64, error) {
	dev.once.Do(func() {
		dev.fd, dev.err = openDevice()
		if dev.err != nil {
			return
		}
		var in devInfo
		if _, e := ioctl(dev.fd, iocInfo, unsafe.Pointer(&in)); e != 0 {
			syscall.Close(dev.fd)
			dev.err = e
			return
		}
		if in.AbiVersion != abiVersion {
			syscall.Close(dev.fd)
			dev.err = syscall.EPROTO
			return
		}
		dev.features = in.Features
	})
	return dev.fd, dev.features, dev.err
}

func openDevice() (int, error) {
	if p, ok := os.LookupEnv("GOSYNC_DEVICE"); ok {
		fd, err := syscall.Open(p, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
		if err == syscall.ENOENT {
			return -1, syscall.ENODEV
		}
		return fd, err
	}
	fd, err := syscall.Open("/dev/gosync", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != syscall.ENOENT {
		return fd, err
	}
	fd, err = fsRoot()
	if err != nil {
		return -1, syscall.ENODEV
	}
	return fd, nil
}

// fsRoot opens the root of the gosync filesystem.
func fsRoot() (int, error) {
	p := os.Getenv("GOSYNC_FS")
	if p == "" {
		p = "/run/gosync"
	}
	fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_DIRECTORY|
		syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(fd, &st); err != nil || st.Type != fsMagic {
		syscall.Close(fd)
		return -1, syscall.ENODEV
	}
	return fd, nil
}

// kernelMode tells whether new objects are made by the module.
func kernelMode() bool {
	_, _, err := device()
	return err == nil
}

// Sealing (F_ADD_SEALS, F_GET_SEALS) and memfd_create.
const (
	fAddSeals  = 1033
	fGetSeals  = 1034
	sealSeal   = 0x1
	sealShrink = 0x2
	sealGrow   = 0x4
	mfdCloexec = 0x1
	mfdSealing = 0x2
)

func memfd(name string) (int, error) {
	b, err := syscall.BytePtrFromString(name)
	if err != nil {
		return -1, err
	}
	r, _, e := syscall.Syscall(sysMemfdCreate, uintptr(unsafe.Pointer(b)),
		mfdCloexec|mfdSealing, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func fcntl(fd, cmd, arg int) (int, syscall.Errno) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd),
		uintptr(arg))
	return int(r), e
}

// sealFixed seals a new memfd's size, unless it is already sealed (a
// named tmpfs file has F_SEAL_SEAL from the start).
func sealFixed(fd int) error {
	s, e := fcntl(fd, fGetSeals, 0)
	if e != 0 {
		return e
	}
	if s&sealSeal != 0 {
		return nil
	}
	if _, e := fcntl(fd, fAddSeals, sealShrink|sealGrow|sealSeal); e != 0 {
		return e
	}
	return nil
}

// sealsOK: a sealed memfd, or a named file (F_SEAL_SEAL alone, trusted).
func sealsOK(fd int) bool {
	s, e := fcntl(fd, fGetSeals, 0)
	if e != 0 {
		return false
	}
	return s&(sealShrink|sealGrow) == sealShrink|sealGrow || s == sealSeal
}

// dupFD gives a handle its own fd.
func dupFD(fd int) (int, error) {
	r, e := fcntl(fd, syscall.F_DUPFD_CLOEXEC, 0)
	if e != 0 {
		return -1, e
	}
	return r, nil
}

func mmapShared(fd int, size int) ([]byte, error) {
	return syscall.Mmap(fd, 0, size, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_SHARED)
}

// word64 and word32 give the shared word at @off of a mapping; the
// offsets are this side's trusted copies, multiples of 8.
func word64(mem []byte, off uint64) *uint64 {
	_ = mem[off+7]
	return (*uint64)(unsafe.Pointer(&mem[off]))
}

func word32(mem []byte, off uint64) *uint32 {
	_ = mem[off+3]
	return (*uint32)(unsafe.Pointer(&mem[off]))
}

// heapBuf returns a buffer the kernel may write into during an ioctl: a
// Go heap object (never a goroutine stack, which may move).
var bufPool sync.Pool

type kbuf struct{ b []byte }

func getBuf(n int) *kbuf {
	if v, ok := bufPool.Get().(*kbuf); ok && cap(v.b) >= n {
		v.b = v.b[:n]
		return v
	}
	return &kbuf{b: make([]byte, n, n+8)}
}

func putBuf(k *kbuf) { bufPool.Put(k) }

// bufAddr is the user address of a buffer's first byte (or of a dummy
// byte for a 0-byte element).
var zeroByte [8]byte

func bufAddr(b []byte) uint64 {
	if len(b) == 0 {
		return uint64(uintptr(unsafe.Pointer(&zeroByte[0])))
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}

// futexWaitMany sleeps until one of the words differs from its value, a
// wake, or the deadline (futex_waitv; without it, on the first word in
// short slices).
func futexWaitMany(words []*uint32, vals []uint32, deadline int64) {
	if len(words) == 0 {
		if deadline == deadlineForever {
			deadline = monoNow() + sliceNs
		}
		t := syscall.NsecToTimespec(deadline - monoNow())
		if t.Sec >= 0 && t.Nsec >= 0 {
			syscall.Nanosleep(&t, nil)
		}
		return
	}
	if len(words) == 1 || noWaitv.Load() || len(words) > 128 {
		if len(words) > 1 {
			if s := monoNow() + 1e6; s < deadline {
				deadline = s
			}
		}
		futexWaitUntil(words[0], vals[0], deadline)
		return
	}
	w := make([]futexWaitvArg, len(words))
	for i := range words {
		w[i] = futexWaitvArg{Val: uint64(vals[i]),
			Uaddr: uint64(uintptr(unsafe.Pointer(words[i]))), Flags: futex32}
	}
	var ts *syscall.Timespec
	if deadline != deadlineForever {
		t := syscall.NsecToTimespec(deadline)
		ts = &t
	}
	_, _, e := syscall.Syscall6(sysFutexWaitv, uintptr(unsafe.Pointer(&w[0])),
		uintptr(len(w)), 0, uintptr(unsafe.Pointer(ts)), 1, 0)
	runtime.KeepAlive(w)
	if e == syscall.ENOSYS || e == syscall.EPERM {
		noWaitv.Store(true)
	}
}

// spinIters: GOSYNC_SPIN (as atoi; 0 never spins, at most 10^6), 200
// without it (gosync_spin_iters).
var spinIters = func() int {
	s, ok := os.LookupEnv("GOSYNC_SPIN")
	if !ok {
		return 200
	}
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	n := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n = n*10 + int(s[i]-'0'); n > 1e6 {
			n = 1e6
		}
	}
	if neg {
		return 0
	}
	return n
}()
