// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// What every sync object (WaitGroup, Mutex) shares, as lib/sync.c: one
// page of words, made by the module (an fd) or in a sealed memfd
// (Standalone), mapped into each process that uses it.  The page starts
// with struct gosync_sync_header (magic, abi_version, kind, flags); the
// kind's words start at syncOffWords.
//
// Not ported: the C library maps a kernel object again in a forked child
// (its mapping is not inherited); a Go process does not fork, and a child
// started with the fd adopts it with WaitGroupFromFD or MutexFromFD.

// syncHeader is struct gosync_sync_header.
type syncHeader struct {
	Magic      uint32
	AbiVersion uint32
	Kind       uint32
	Flags      uint32
}

// syncObj is the handle on one sync object's page (struct gosync_sync).
type syncObj struct {
	fd         int    // the object (kernel mode) or its memfd
	mem        []byte // the page, syncSize bytes
	owner      uint32 // this mapping's owner id (0 standalone)
	standalone bool
	hb         uint64 // the race detector's mirror word (race.go)
	freeOnce   sync.Once
	freeErr    error
}

// syncFlags: every Flags bit a sync object accepts (C: GOSYNC_SYNC_FLAGS;
// CLOEXEC is always on here).
const syncFlags = Standalone

// newSyncObj makes a new object of @kind: the module's, or a standalone
// memfd with Standalone.
func newSyncObj(kind uint32, f Flags) (*syncObj, error) {
	if f&^syncFlags != 0 {
		return nil, syscall.EINVAL
	}
	if standaloneFor(f) {
		fd, err := memfd("gosync-sync")
		if err != nil {
			return nil, err
		}
		so, err := syncMakeStandalone(fd, kind)
		if err != nil {
			syscall.Close(fd)
			return nil, err
		}
		return so, nil
	}
	dfd, _, err := device()
	if err != nil {
		return nil, err
	}
	req := syncCreate{Flags: syncCloexec, Kind: kind}
	fd, e := ioctl(dfd, iocSyncCreate, unsafe.Pointer(&req))
	if e != 0 {
		return nil, e
	}
	so, err := syncMapKernel(fd)
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return so, nil
}

// syncMakeStandalone writes a new page of @kind into @fd (a new memfd),
// as gosync_sync_make_standalone: size, seals, then the header with its
// magic last.  The caller closes @fd on failure.
func syncMakeStandalone(fd int, kind uint32) (*syncObj, error) {
	if err := syscall.Ftruncate(fd, syncSize); err != nil {
		return nil, err
	}
	if err := sealFixed(fd); err != nil {
		return nil, err
	}
	mem, err := mmapShared(fd, syncSize)
	if err != nil {
		return nil, err
	}
	h := (*syncHeader)(unsafe.Pointer(&mem[0]))
	h.AbiVersion = abiVersion
	h.Kind = kind
	h.Flags = syncHdrStandalone
	// The magic last: a peer that sees it sees the rest.
	atomic.StoreUint32(&h.Magic, syncMagic)
	return &syncObj{fd: fd, mem: mem, standalone: true}, nil
}

// syncMapKernel maps a kernel object and learns this mapping's owner id
// (gosync_sync_map_kernel).  The caller closes @fd on failure.
func syncMapKernel(fd int) (*syncObj, error) {
	mem, err := mmapShared(fd, syncSize)
	if err != nil {
		return nil, err
	}
	req := chanMap{Addr: uint64(uintptr(unsafe.Pointer(&mem[0])))}
	if _, e := ioctl(fd, syncIocMap, unsafe.Pointer(&req)); e != 0 {
		syscall.Munmap(mem)
		return nil, e
	}
	return &syncObj{fd: fd, mem: mem, owner: req.Owner}, nil
}

// syncAdoptMemfd checks and maps a standalone object's file
// (gosync_sync_adopt_memfd).  The caller closes @fd on failure.
func syncAdoptMemfd(fd int, kind uint32) (*syncObj, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, err
	}
	// Sealed at its size, or a named file (trusted).
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Size != syncSize ||
		!sealsOK(fd) {
		return nil, syscall.EINVAL
	}
	mem, err := mmapShared(fd, syncSize)
	if err != nil {
		return nil, err
	}
	h := (*syncHeader)(unsafe.Pointer(&mem[0]))
	// magic: acquire, pairs with the creator's release.
	if atomic.LoadUint32(&h.Magic) != syncMagic ||
		h.AbiVersion != abiVersion || h.Kind != kind ||
		h.Flags&syncHdrStandalone == 0 {
		syscall.Munmap(mem)
		return nil, syscall.EINVAL
	}
	return &syncObj{fd: fd, mem: mem, standalone: true}, nil
}

// syncFromFD makes a handle of an object of @kind from an fd the caller
// keeps: a kernel object (it answers SYNC_IOC_INFO; another kind is
// EINVAL) or a standalone page (ENOTTY: all the checks of
// syncAdoptMemfd).  The handle has its own duplicate of @fd.
func syncFromFD(fd int, kind uint32) (*syncObj, error) {
	if fd < 0 {
		return nil, syscall.EINVAL
	}
	own, err := dupFD(fd)
	if err != nil {
		return nil, err
	}
	so, err := syncAdopt(own, kind)
	if err != nil {
		syscall.Close(own)
		return nil, err
	}
	return so, nil
}

// syncAdopt: gosync_sync_adopt on an fd of our own (closed by the caller
// on failure).
func syncAdopt(own int, kind uint32) (*syncObj, error) {
	var in syncInfo
	_, e := ioctl(own, syncIocInfo, unsafe.Pointer(&in))
	switch e {
	case 0:
		if in.Kind != kind {
			return nil, syscall.EINVAL
		}
		return syncMapKernel(own)
	case syscall.ENOTTY:
		return syncAdoptMemfd(own, kind)
	}
	return nil, e
}

// words: the kind's words at syncOffWords.
func (so *syncObj) word32(off uint64) *uint32 {
	return word32(so.mem, syncOffWords+off)
}

func (so *syncObj) word64(off uint64) *uint64 {
	return word64(so.mem, syncOffWords+off)
}

// free unmaps the page and closes the fd, once; later calls return the
// first one's result.  No operation on the object may run during or
// after it.
func (so *syncObj) free() error {
	if so == nil {
		return syscall.EINVAL
	}
	so.freeOnce.Do(func() {
		if so.mem != nil {
			syscall.Munmap(so.mem)
		}
		so.freeErr = syscall.Close(so.fd)
	})
	return so.freeErr
}

// Fd is the object's fd (kernel mode: the module's; standalone: the
// memfd), owned by the handle.
func (so *syncObj) Fd() int { return so.fd }

// The wait slices of sync objects.
const (
	// syncPollNs: how often a kernel-mode waiter looks again, for words
	// the kernel changed without a wake (GOSYNC_SYNC_POLL_NS).
	syncPollNs = 100e6
	// syncCtxSliceNs: how often a waiter whose context can be cancelled
	// looks at it (a futex wait blocks its thread; nothing wakes it on
	// cancellation).
	syncCtxSliceNs = 50e6
)

// slice: when the next futex sleep ends (gosync_sync_slice): @deadline,
// or sooner in kernel mode (syncPollNs) and when @cancellable
// (syncCtxSliceNs).
func (so *syncObj) slice(deadline int64, cancellable bool) int64 {
	if so.standalone && !cancellable {
		return deadline
	}
	s := int64(syncPollNs)
	if cancellable {
		s = syncCtxSliceNs
	}
	if t := monoNow() + s; t < deadline {
		return t
	}
	return deadline
}

// syncDeadlinePassed: gosync_deadline_passed.
func syncDeadlinePassed(deadline int64) bool {
	return deadline != deadlineForever && monoNow() >= deadline
}

// syncCtxErr is what a wait that gave up returns: the context's error,
// or DeadlineExceeded when its deadline passed on the monotonic clock
// before its own timer said so.
func syncCtxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.DeadlineExceeded
}

// syncCancelled: is @done closed (nil: never)?
func syncCancelled(done <-chan struct{}) bool {
	if done == nil {
		return false
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}
