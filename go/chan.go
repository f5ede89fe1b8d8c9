// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

import (
	"context"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Chan is one process's handle of a channel: a kernel object (an fd of
// /dev/gosync, or of a name in the gosync filesystem) or a standalone one
// (a sealed memfd), shared with C, Python and other Go processes by
// inheriting or passing its fd (FromFD) or by name (Open).  Elements are
// byte strings of exactly ElemSize bytes (0 allowed: a signal).
//
// Send and Recv take the shared ring's fast path (no system call) when the
// channel has room or an element; a goroutine that must wait parks on Go's
// netpoller on a private end of the channel (kernel mode, buffered), or
// blocks its thread in the kernel or on a futex (unbuffered channels,
// standalone mode).  A Chan is safe for concurrent use; Free ends it.
type Chan struct {
	fd         int
	mem        []byte // nil: not mapped (NoMap, a directional end)
	r          ring
	recvW      waitWords
	sendW      waitWords
	elemSize   int
	cap        int
	standalone bool
	noSend     bool // a receive-only end
	noRecv     bool // a send-only end
	autoclose  bool
	hb         uint64 // the race detector's mirror (race.go)
	parks      parkPool
	freeOnce   sync.Once
	freeErr    error
}

type layout struct {
	nslots, slotSize, mapSize uint64
	offTail, offHead          uint64
	offRecvWait, offSendWait  uint64
	offSlots                  uint64
}

// chanLayout is the layout rule of common/gosync_ring.h.
func chanLayout(elemSize, capacity int) (layout, error) {
	if elemSize < 0 || elemSize > maxElem || capacity < 0 || capacity > maxCap {
		return layout{}, syscall.EINVAL
	}
	var l layout
	l.nslots = uint64(capacity)
	if l.nslots == 0 {
		l.nslots = 1
	}
	l.slotSize = 8 + (uint64(elemSize)+7)&^7
	l.offTail, l.offHead = chanLine, 2*chanLine
	l.offRecvWait, l.offSendWait = 3*chanLine, 4*chanLine
	l.offSlots = 5 * chanLine
	page := uint64(os.Getpagesize())
	l.mapSize = (l.offSlots + l.nslots*l.slotSize + page - 1) &^ (page - 1)
	return l, nil
}

const maxStandaloneMap = 64 << 20

// Make makes a channel of elements of elemSize bytes (0..65535) with room
// for capacity of them (0: unbuffered, Go's rendezvous; at most 2^20).
// Without Standalone it is the module's (ENODEV when there is none).
func Make(elemSize, capacity int, f Flags) (*Chan, error) {
	if f&^(Standalone|Autoclose|NoMap) != 0 {
		return nil, syscall.EINVAL
	}
	l, err := chanLayout(elemSize, capacity)
	if err != nil {
		return nil, err
	}
	if standaloneFor(f) {
		if f&(Autoclose|NoMap) != 0 {
			return nil, syscall.EOPNOTSUPP
		}
		return makeStandalone(elemSize, capacity, l, -1)
	}
	dfd, feat, err := device()
	if err != nil {
		return nil, err
	}
	if elemSize == 0 && feat&featChanZero == 0 ||
		f&Autoclose != 0 && feat&featNames == 0 {
		return nil, syscall.EOPNOTSUPP
	}
	req := chanCreate{Flags: createCloexec, ElemSize: uint32(elemSize),
		Cap: uint32(capacity)}
	if f&Autoclose != 0 {
		req.Flags |= createAutoclose
	}
	fd, e := ioctl(dfd, iocChanCreate, unsafe.Pointer(&req))
	if e != 0 {
		return nil, e
	}
	c, err := adoptKernel(fd, f&NoMap != 0)
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return c, nil
}

// makeStandalone writes a new ring into a memfd (fd -1) or into @fd (a
// named file's temporary, see name.go), which it then owns.
func makeStandalone(elemSize, capacity int, l layout, fd int) (*Chan, error) {
	if l.mapSize > maxStandaloneMap {
		return nil, syscall.ENOMEM
	}
	var err error
	if fd < 0 {
		if fd, err = memfd("gosync-chan"); err != nil {
			return nil, err
		}
	}
	fail := func(err error) (*Chan, error) {
		syscall.Close(fd)
		return nil, err
	}
	if err = syscall.Ftruncate(fd, int64(l.mapSize)); err != nil {
		return fail(err)
	}
	if err = sealFixed(fd); err != nil {
		return fail(err)
	}
	mem, err := mmapShared(fd, int(l.mapSize))
	if err != nil {
		return fail(err)
	}
	for i := uint64(0); i < l.nslots; i++ {
		atomic.StoreUint64(word64(mem, l.offSlots+i*l.slotSize),
			slotWord(i, 0, slotFree))
	}
	h := (*chanHeader)(unsafe.Pointer(&mem[0]))
	*h = chanHeader{AbiVersion: abiVersion, ElemSize: uint32(elemSize),
		Cap: uint32(capacity), Nslots: uint32(l.nslots),
		SlotSize: uint32(l.slotSize), Flags: chanHdrStandalone,
		MapSize: l.mapSize, OffTail: l.offTail, OffHead: l.offHead,
		OffRecvWait: l.offRecvWait, OffSendWait: l.offSendWait,
		OffSlots: l.offSlots}
	atomic.StoreUint32(&h.Magic, chanMagic) // magic: last, released
	c := newChan(fd, mem, l, elemSize, capacity, 0)
	c.standalone = true
	return c, nil
}

func newChan(fd int, mem []byte, l layout, elemSize, capacity int,
	owner uint32) *Chan {
	c := &Chan{fd: fd, mem: mem, elemSize: elemSize, cap: capacity}
	if mem != nil {
		c.r = ring{mem: mem, tail: word64(mem, l.offTail),
			head: word64(mem, l.offHead), slots: l.offSlots,
			nslots: l.nslots, slotSize: l.slotSize,
			elemSize: uint64(elemSize), owner: owner}
		c.recvW = waitAt(mem, l.offRecvWait)
		c.sendW = waitAt(mem, l.offSendWait)
	}
	runtime.SetFinalizer(c, (*Chan).Free)
	return c
}

// checkLayout: a layout given by the kernel or a peer must be the one the
// rule gives for its shape, or it is not used.
func checkLayout(elemSize, capacity int, nslots, slotSize uint32, mapSize,
	offTail, offHead, offRecv, offSend, offSlots uint64) (layout, bool) {
	l, err := chanLayout(elemSize, capacity)
	if err != nil {
		return l, false
	}
	return l, uint64(nslots) == l.nslots && uint64(slotSize) == l.slotSize &&
		mapSize == l.mapSize && offTail == l.offTail &&
		offHead == l.offHead && offRecv == l.offRecvWait &&
		offSend == l.offSendWait && offSlots == l.offSlots
}

// adoptKernel makes a handle of a kernel channel's fd (which it owns).
func adoptKernel(fd int, nomap bool) (*Chan, error) {
	var in chanInfo
	if _, e := ioctl(fd, chanIocInfo, unsafe.Pointer(&in)); e != 0 {
		return nil, e
	}
	return adoptKernelInfo(fd, &in, nomap)
}

func adoptKernelInfo(fd int, in *chanInfo, nomap bool) (*Chan, error) {
	l, ok := checkLayout(int(in.ElemSize), int(in.Cap), in.Nslots,
		in.SlotSize, in.MapSize, in.OffTail, in.OffHead, in.OffRecvWait,
		in.OffSendWait, in.OffSlots)
	if !ok {
		return nil, syscall.EINVAL
	}
	fl, e := fcntl(fd, syscall.F_GETFL, 0)
	if e != 0 {
		return nil, e
	}
	noSend := fl&syscall.O_ACCMODE == syscall.O_RDONLY || in.State&stateNoSend != 0
	noRecv := fl&syscall.O_ACCMODE == syscall.O_WRONLY || in.State&stateNoRecv != 0
	var mem []byte
	var owner uint32
	if !nomap && !noSend && !noRecv {
		var err error
		if mem, err = mmapShared(fd, int(l.mapSize)); err != nil {
			return nil, err
		}
		m := chanMap{Addr: uint64(uintptr(unsafe.Pointer(&mem[0])))}
		if _, e := ioctl(fd, chanIocMap, unsafe.Pointer(&m)); e != 0 {
			syscall.Munmap(mem)
			return nil, e
		}
		owner = m.Owner
	}
	c := newChan(fd, mem, l, int(in.ElemSize), int(in.Cap), owner)
	c.noSend, c.noRecv = noSend, noRecv
	c.autoclose = in.State&stateAutoclose != 0
	return c, nil
}

// adoptStandalone makes a handle of a standalone channel's fd (owned).
func adoptStandalone(fd int) (*Chan, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Size < chanHdrSize ||
		!sealsOK(fd) {
		return nil, syscall.EINVAL
	}
	mem, err := mmapShared(fd, int(st.Size))
	if err != nil {
		return nil, err
	}
	h := (*chanHeader)(unsafe.Pointer(&mem[0]))
	magic := atomic.LoadUint32(&h.Magic) // magic: acquire
	if magic == syncMagic {
		syscall.Munmap(mem)
		return nil, syscall.EINVAL
	}
	hc := *h // one copy; the shared header is never read again
	l, ok := checkLayout(int(hc.ElemSize), int(hc.Cap), hc.Nslots,
		hc.SlotSize, hc.MapSize, hc.OffTail, hc.OffHead, hc.OffRecvWait,
		hc.OffSendWait, hc.OffSlots)
	if magic != chanMagic || hc.AbiVersion != abiVersion ||
		hc.Flags&chanHdrStandalone == 0 || !ok ||
		hc.MapSize != uint64(st.Size) {
		syscall.Munmap(mem)
		return nil, syscall.EBADMSG
	}
	c := newChan(fd, mem, l, int(hc.ElemSize), int(hc.Cap), 0)
	c.standalone = true
	return c, nil
}

// FromFD makes a handle of a channel whose fd this process got (by
// inheritance, SCM_RIGHTS, or from C or Python): a kernel channel or a
// standalone one, told apart by the fd itself.  The handle has its own
// duplicate of fd; the caller still owns fd.
func FromFD(fd int) (*Chan, error) {
	if fd < 0 {
		return nil, syscall.EINVAL
	}
	own, err := dupFD(fd)
	if err != nil {
		return nil, err
	}
	c, err := adoptFD(own, false)
	if err != nil {
		syscall.Close(own)
	}
	return c, err
}

func adoptFD(fd int, nomap bool) (*Chan, error) {
	var in chanInfo
	_, e := ioctl(fd, chanIocInfo, unsafe.Pointer(&in))
	switch e {
	case 0:
		return adoptKernelInfo(fd, &in, nomap)
	case syscall.ENOTTY:
		if nomap {
			return nil, syscall.EOPNOTSUPP
		}
		return adoptStandalone(fd)
	}
	return nil, e
}

// Free releases this handle: its mapping and its fd.  The channel lives
// on while other handles, fds or names hold it.  Free does not close the
// channel (Close does); no operation on the handle may run during or
// after Free.
func (c *Chan) Free() error {
	c.freeOnce.Do(func() {
		runtime.SetFinalizer(c, nil)
		c.parks.drain()
		if c.mem != nil {
			syscall.Munmap(c.mem)
		}
		c.freeErr = syscall.Close(c.fd)
	})
	return c.freeErr
}

// Fd is the handle's fd, borrowed: for poll/epoll, or to pass to another
// process (which adopts it with FromFD, gosync_chan_from_fd or
// Chan.from_fd).  It stays the handle's: to wrap it in an *os.File (for
// exec.Cmd.ExtraFiles, say) duplicate it first, or the File's finalizer
// closes the handle's fd.
func (c *Chan) Fd() int { return c.fd }

// ElemSize is the size of every element in bytes.
func (c *Chan) ElemSize() int { return c.elemSize }

// Cap is the channel's capacity (0: unbuffered).
func (c *Chan) Cap() int { return c.cap }

// Standalone tells whether the channel lives in a memfd, not the module.
func (c *Chan) Standalone() bool { return c.standalone }

// Len is the number of elements buffered (0 for an unbuffered channel).
func (c *Chan) Len() int {
	defer runtime.KeepAlive(c)
	if c.cap == 0 {
		return 0
	}
	if c.mem == nil {
		var in chanInfo
		if _, e := ioctl(c.fd, chanIocInfo, unsafe.Pointer(&in)); e != 0 {
			return 0
		}
		return int(in.Len)
	}
	return int(c.r.len())
}

// ---------------------------------------------------------------- wakes

// arm: a waiter's F.  atomic.StoreUint32 is an XCHG on amd64, itself a
// full barrier; the fence says so and keeps it on other architectures.
func arm(w waitWords) {
	atomic.StoreUint32(w.armed, 1)
	fence() // F, matches E
}

// wakeIfArmed: a waker's E, after it published or freed a slot.
func (c *Chan) wakeIfArmed(w waitWords, side uint32) {
	fence() // E, matches F
	if atomic.LoadUint32(w.armed) != 0 {
		c.wake(w, side)
	}
}

func (c *Chan) wake(w waitWords, side uint32) {
	if c.standalone {
		// Cleared first: a waiter that re-arms after this keeps it.
		if atomic.SwapUint32(w.armed, 0) == 0 {
			return
		}
		atomic.AddUint32(w.futex, 1)
		futexWakeN(w.futex, 1<<31-1)
		return
	}
	// The kernel clears armed and wakes its queues (and the pollers).
	req := chanWake{Flags: side}
	ioctl(c.fd, chanIocWake, unsafe.Pointer(&req))
}

func wouldBlock(e syscall.Errno) bool {
	return e == syscall.EAGAIN || e == syscall.EINPROGRESS || e == syscall.EBUSY
}

// ------------------------------------------------------------ operations

func (c *Chan) checkElem(elem []byte) error {
	if len(elem) != c.elemSize {
		return syscall.EINVAL
	}
	return nil
}

// xfer is one SEND or RECV ioctl of one element; the element travels
// through a Go heap buffer (a goroutine's stack may move).
func (c *Chan) xfer(req uintptr, elem []byte, deadline int64,
	flags uint32) syscall.Errno {
	_, e := c.xferF(req, elem, deadline, flags)
	return e
}

// errOf maps the protocol's errnos to the package's errors.
func errOf(ctx context.Context, e syscall.Errno) error {
	switch e {
	case 0:
		return nil
	case syscall.EPIPE:
		return ErrClosed
	case syscall.ECANCELED:
		if ctx != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	case syscall.ETIMEDOUT:
		if ctx != nil {
			if err := ctx.Err(); err != nil {
				return err
			}
			if _, ok := ctx.Deadline(); ok {
				return context.DeadlineExceeded
			}
		}
		return os.ErrDeadlineExceeded
	}
	return e
}

// sliceNs: how long a thread-blocking wait sleeps before it looks at its
// context again (when the context can be cancelled).
const sliceNs = 50e6

// sliceEnd: the end of the next wait slice before @deadline.
func sliceEnd(ctx context.Context, deadline int64) int64 {
	if ctx == nil || ctx.Done() == nil {
		return deadline
	}
	if s := monoNow() + sliceNs; s < deadline {
		return s
	}
	return deadline
}

func (c *Chan) fastSend(elem []byte, state uint64) (uint64, syscall.Errno) {
	raceRelease(&c.hb) // before the publish (a failed try only merges)
	pos, e := c.r.trySend(elem, state)
	if e == 0 {
		step("send_done")
		c.wakeIfArmed(c.recvW, wakeRecv)
	}
	return pos, e
}

func (c *Chan) fastRecv(out []byte) (bool, syscall.Errno) {
	raceReceived() // before the claim a sync sender may see at once
	got, freed, e := c.r.tryRecv(out)
	if freed {
		step("recv_done")
		c.wakeIfArmed(c.sendW, wakeSend)
	}
	if got {
		raceAcquire(&c.hb)
		return true, 0
	}
	if e == 0 {
		raceAcquire(&c.hb) // a close happens before the receive that sees it
		return false, 0
	}
	return false, e
}

// Send sends elem (exactly ElemSize bytes), waiting for room (buffered)
// or for a receiver to take it (unbuffered) until ctx is done.  It
// returns nil, ErrClosed (the channel is closed), ctx.Err() (nothing was
// sent), or a syscall.Errno: EINVAL (a wrong size), EBADF (a receive-only
// end), EIO (the ring is corrupt).
func (c *Chan) Send(ctx context.Context, elem []byte) error {
	if err := c.checkElem(elem); err != nil {
		return err
	}
	if c.noSend {
		return syscall.EBADF
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	defer runtime.KeepAlive(c)
	return errOf(ctx, c.send(ctx, elem, deadlineOf(ctx)))
}

// TrySend sends elem only if it can without waiting: room in a buffered
// channel, or (unbuffered) a receiver already waiting to take it.
// ErrWouldBlock otherwise.
func (c *Chan) TrySend(elem []byte) error {
	if err := c.checkElem(elem); err != nil {
		return err
	}
	if c.noSend {
		return syscall.EBADF
	}
	defer runtime.KeepAlive(c)
	return errOf(nil, c.send(nil, elem, deadlineNonblock))
}

func (c *Chan) send(ctx context.Context, elem []byte, deadline int64) syscall.Errno {
	switch {
	case c.mem == nil && c.cap != 0 && deadline != deadlineNonblock:
		_, e := c.kernelWait(ctx, true, elem, deadline)
		return e
	case c.mem == nil:
		return c.kernelSliced(ctx, chanIocSend, elem, deadline, 0)
	case c.standalone && c.cap == 0:
		return c.sendSyncStandalone(ctx, elem, deadline, 0, 0)
	case c.cap == 0:
		// Kernel mode: a sync send is always the kernel's, which can
		// withdraw it if this process dies (docs/go-port-notes.md 4.2).
		return c.kernelSliced(ctx, chanIocSend, elem, deadline, xferSync)
	}
	_, e := c.fastSend(elem, slotFull)
	if !wouldBlock(e) {
		return e
	}
	if deadline == deadlineNonblock {
		return c.tryArmed(c.sendW, func() syscall.Errno {
			_, e := c.fastSend(elem, slotFull)
			return e
		})
	}
	if e = c.spin(ctx, deadline, func() syscall.Errno {
		_, e := c.fastSend(elem, slotFull)
		return e
	}); !wouldBlock(e) {
		return e
	}
	if c.standalone {
		return c.waitStandalone(ctx, c.sendW, false, deadline,
			func() syscall.Errno {
				_, e := c.fastSend(elem, slotFull)
				return e
			})
	}
	_, e = c.kernelWait(ctx, true, elem, deadline)
	return e
}

// Recv receives one element, waiting until one comes or ctx is done.  ok
// is false (and elem nil) once the channel is closed and drained.  Errors
// as Send's (EBADF: a send-only end).
func (c *Chan) Recv(ctx context.Context) (elem []byte, ok bool, err error) {
	elem = make([]byte, c.elemSize)
	ok, err = c.RecvInto(ctx, elem)
	if !ok {
		elem = nil
	}
	return elem, ok, err
}

// RecvInto is Recv into buf (ElemSize bytes; zeroed when closed).
func (c *Chan) RecvInto(ctx context.Context, buf []byte) (ok bool, err error) {
	if err := c.checkElem(buf); err != nil {
		return false, err
	}
	if c.noRecv {
		return false, syscall.EBADF
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	defer runtime.KeepAlive(c)
	ok, e := c.recv(ctx, buf, deadlineOf(ctx))
	return ok, errOf(ctx, e)
}

// TryRecv receives an element only if one is there; ErrWouldBlock
// otherwise; ok false when closed and drained.
func (c *Chan) TryRecv() (elem []byte, ok bool, err error) {
	if c.noRecv {
		return nil, false, syscall.EBADF
	}
	defer runtime.KeepAlive(c)
	elem = make([]byte, c.elemSize)
	ok, e := c.recv(nil, elem, deadlineNonblock)
	if !ok {
		elem = nil
	}
	return elem, ok, errOf(nil, e)
}

func (c *Chan) recv(ctx context.Context, out []byte, deadline int64) (ok bool, e syscall.Errno) {
	defer func() {
		if !ok && e == 0 {
			for i := range out {
				out[i] = 0
			}
		}
	}()
	if c.mem == nil {
		var n int
		if c.cap == 0 || deadline == deadlineNonblock {
			n, e = c.kernelRecvSliced(ctx, out, deadline)
		} else {
			n, e = c.kernelWait(ctx, false, out, deadline)
		}
		return e == 0 && n > 0, e
	}
	var got bool
	try := func() syscall.Errno {
		var e syscall.Errno
		got, e = c.fastRecv(out)
		return e
	}
	e = try()
	if wouldBlock(e) && deadline != deadlineNonblock {
		e = c.spin(ctx, deadline, try)
	}
	if !wouldBlock(e) && (e != syscall.EIO || c.standalone) {
		return got, e
	}
	if c.standalone {
		if deadline == deadlineNonblock {
			return got, c.tryArmed(c.recvW, try)
		}
		return got, c.waitStandalone(ctx, c.recvW, true, deadline, try)
	}
	var n int
	switch {
	case e == syscall.EIO || c.cap == 0 || deadline == deadlineNonblock:
		// The kernel answers for a corrupt ring; an unbuffered
		// receiver waits in the kernel, where it counts as a blocked
		// receiver for senders' hand-offs (docs/go-port-notes.md 6.4);
		// and a non-blocking one arms there.
		n, e = c.kernelRecvSliced(ctx, out, deadline)
	default:
		n, e = c.kernelWait(ctx, false, out, deadline)
	}
	return e == 0 && n > 0, e
}

// tryArmed: try; when it would block, arm and try again (F), so the next
// event wakes a poller: a non-blocking operation's duty.
func (c *Chan) tryArmed(w waitWords, try func() syscall.Errno) syscall.Errno {
	e := try()
	if !wouldBlock(e) {
		return e
	}
	arm(w)
	e = try()
	if wouldBlock(e) {
		return syscall.EAGAIN
	}
	return e
}

// spin retries a bounded number of times before sleeping (GOSYNC_SPIN
// tries, as the C library: spinIters).
func (c *Chan) spin(ctx context.Context, deadline int64, try func() syscall.Errno) syscall.Errno {
	e := syscall.EAGAIN
	for i := 0; i < spinIters && wouldBlock(e); i++ {
		if i%64 == 63 {
			if deadline != deadlineForever && monoNow() >= deadline ||
				ctx != nil && ctx.Err() != nil {
				break
			}
			runtime.Gosched()
		}
		relax()
		e = try()
	}
	return e
}

// relax stands for the C library's cpu_relax (PAUSE) between two tries:
// Go has no portable PAUSE, and a try without a pause between gives up
// before a peer on the other CPU gets to the slot (a sleep and a wake
// per ring's worth of elements, at 8 bytes).
func relax() {
	for k := 0; k < relaxCalls; k++ {
		syncRelax()
	}
}

const relaxCalls = 100

// ----------------------------------------------------------- standalone

func (c *Chan) recvWaitersAdd(d int32) {
	atomic.AddUint32(c.recvW.waiters, uint32(d))
	if d < 0 || c.cap == 0 {
		c.wakeIfArmed(c.sendW, wakeSend)
	}
}

// waitStandalone retries @try, sleeping on the side's futex in between,
// until the deadline or ctx is done; counted among the side's waiters
// from its first sleep to its end (models/handoff.pml).
func (c *Chan) waitStandalone(ctx context.Context, w waitWords, recvSide bool,
	deadline int64, try func() syscall.Errno) (e syscall.Errno) {
	counted := false
	defer func() {
		if counted {
			if recvSide {
				c.recvWaitersAdd(-1)
			} else {
				atomic.AddUint32(w.waiters, ^uint32(0))
			}
		}
	}()
	for {
		ev := atomic.LoadUint32(w.futex)
		if e = try(); !wouldBlock(e) {
			return e
		}
		if deadline == deadlineNonblock {
			return c.tryArmed(w, try)
		}
		if deadline != deadlineForever && monoNow() >= deadline {
			return syscall.ETIMEDOUT
		}
		if ctx != nil && ctx.Err() != nil {
			return syscall.ECANCELED
		}
		if !counted {
			if recvSide {
				c.recvWaitersAdd(1)
			} else {
				atomic.AddUint32(w.waiters, 1)
			}
			counted = true
		}
		arm(w)
		if e = try(); !wouldBlock(e) {
			return e
		}
		until := sliceEnd(ctx, deadline)
		if e == syscall.EBUSY {
			if s := monoNow() + 100e3; s < until {
				until = s
			}
		}
		futexWaitUntil(w.futex, ev, until)
	}
}

const handoffNs = 100e6

// sendSyncStandalone deposits a SYNC element and waits until a receiver
// took it (lib/chan.c gosync_send_sync_standalone).  @self: of the
// receivers counted, the caller's own (a select's); @until: a
// non-blocking hand-off's bound (0: 100 ms from now).
func (c *Chan) sendSyncStandalone(ctx context.Context, elem []byte,
	deadline int64, self uint32, until int64) syscall.Errno {
	nonblock := false
	others := func() bool { return atomic.LoadUint32(c.recvW.waiters) > self }
	if deadline == deadlineNonblock {
		if c.r.closed() {
			return syscall.EPIPE
		}
		arm(c.sendW)
		if !others() {
			return syscall.EAGAIN
		}
		nonblock = true
		deadline = until
		if deadline == 0 {
			deadline = monoNow() + handoffNs
		}
	}
	gaveUp := func(e syscall.Errno) bool {
		return e == syscall.ENOMSG ||
			nonblock && (e == syscall.ETIMEDOUT || e == syscall.ECANCELED)
	}
	var pos uint64
	e := c.waitStandalone(ctx, c.sendW, false, deadline, func() syscall.Errno {
		var e syscall.Errno
		pos, e = c.fastSend(elem, slotSync)
		if nonblock && wouldBlock(e) && !others() {
			return syscall.ENOMSG
		}
		return e
	})
	if gaveUp(e) {
		return syscall.EAGAIN
	}
	if e != 0 {
		return e
	}
	e = c.waitStandalone(ctx, c.sendW, false, deadline, func() syscall.Errno {
		if c.r.delivered(pos) {
			return 0
		}
		if c.r.closed() {
			return syscall.EPIPE
		}
		if nonblock && !others() {
			return syscall.ENOMSG
		}
		return syscall.EAGAIN
	})
	if e == 0 || !c.r.withdraw(pos) {
		raceDelivered()
		return 0
	}
	c.wakeIfArmed(c.sendW, wakeSend)
	if gaveUp(e) {
		return syscall.EAGAIN
	}
	return e
}

// ------------------------------------------------------------ kernel mode

// kernelSliced: one SEND or RECV ioctl until the deadline, in slices when
// ctx can be cancelled (the ioctl holds this goroutine's thread).
func (c *Chan) kernelSliced(ctx context.Context, req uintptr, elem []byte,
	deadline int64, flags uint32) syscall.Errno {
	for {
		until := sliceEnd(ctx, deadline)
		e := c.xfer(req, elem, until, flags)
		if e != syscall.ETIMEDOUT || until == deadline {
			return e
		}
		if ctx.Err() != nil {
			return syscall.ECANCELED
		}
	}
}

// kernelRecvSliced: a RECV ioctl until the deadline, in slices when ctx
// can be cancelled; the count is 0 when the channel is closed and drained.
func (c *Chan) kernelRecvSliced(ctx context.Context, out []byte,
	deadline int64) (int, syscall.Errno) {
	for {
		until := sliceEnd(ctx, deadline)
		n, e := c.xferN(chanIocRecv, out, until)
		if e != syscall.ETIMEDOUT || until == deadline {
			return n, e
		}
		if ctx.Err() != nil {
			return 0, syscall.ECANCELED
		}
	}
}

// xferN is xfer that returns the kernel's count (RECV: 0 when closed and
// drained).
func (c *Chan) xferN(req uintptr, elem []byte, deadline int64) (int, syscall.Errno) {
	return c.xferF(req, elem, deadline, 0)
}

func (c *Chan) xferF(req uintptr, elem []byte, deadline int64, flags uint32) (int, syscall.Errno) {
	kb := getBuf(c.elemSize)
	defer putBuf(kb)
	if req == chanIocSend {
		copy(kb.b, elem)
		raceRelease(&c.hb)
	} else {
		raceReceived() // before the hand-off the ioctl may make
	}
	x := chanXfer{Elem: bufAddr(kb.b), DeadlineNs: deadline, Flags: flags,
		Count: 1}
	n, e := ioctl(c.fd, req, unsafe.Pointer(&x))
	runtime.KeepAlive(kb)
	if e == 0 && req == chanIocRecv {
		copy(elem, kb.b)
		raceAcquire(&c.hb)
	}
	if e == 0 && req == chanIocSend && flags&xferSync != 0 {
		raceDelivered()
	}
	return n, e
}

// Close closes the channel, as Go's close(ch): receivers drain what was
// sent, then see ok false; sends fail with ErrClosed.  A second Close is
// ErrClosed; a receive-only end cannot close (EBADF).
func (c *Chan) Close() error {
	defer runtime.KeepAlive(c)
	if !c.standalone {
		raceRelease(&c.hb)
		_, e := ioctl(c.fd, chanIocClose, nil)
		return errOf(nil, e)
	}
	raceRelease(&c.hb)
	switch c.r.close() {
	case syscall.EPIPE:
		return ErrClosed
	case syscall.EBUSY:
		return syscall.EIO
	}
	atomic.StoreUint32(c.recvW.armed, 1)
	atomic.StoreUint32(c.sendW.armed, 1)
	c.wake(c.recvW, wakeRecv)
	c.wake(c.sendW, wakeSend)
	return nil
}

// SendEnd gives a new send-only end of the channel (kernel mode): its own
// fd, never mapped, that counts toward Autoclose; RecvEnd a receive-only
// one, which cannot close the channel.  For handing a process only the
// direction it needs.
func (c *Chan) SendEnd() (*Chan, error) { return c.dupEnd(dupSendOnly) }

// RecvEnd: see SendEnd.
func (c *Chan) RecvEnd() (*Chan, error) { return c.dupEnd(dupRecvOnly) }

func (c *Chan) dupEnd(dir uint32) (*Chan, error) {
	if c.standalone {
		return nil, syscall.EOPNOTSUPP
	}
	req := chanDup{Flags: dir | dupCloexec}
	fd, e := ioctl(c.fd, chanIocDup, unsafe.Pointer(&req))
	runtime.KeepAlive(c)
	if e != 0 {
		return nil, e
	}
	d, err := adoptKernel(fd, true)
	if err != nil {
		syscall.Close(fd)
	}
	return d, err
}
