/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * gosync: Go-style channels and synchronisation objects for C and for IPC
 * between processes.  The ABI of /dev/gosync and of the objects it makes.
 *
 * Rules every struct here follows (Documentation/process/botching-up-ioctls):
 *  - fixed-width types only, pointers passed as __u64, sizes multiples of 8;
 *  - every struct has a flags word; unknown flags fail with EINVAL;
 *  - reserved fields must be zero on input (EINVAL otherwise) and are
 *    written as zero on output, so they can gain meaning later;
 *  - additions that userspace must be able to detect get a GOSYNC_FEAT_* bit;
 *  - deadlines are absolute CLOCK_MONOTONIC times in nanoseconds, so an
 *    interrupted call restarts with the same deadline.
 */
#ifndef _UAPI_LINUX_GOSYNC_H
#define _UAPI_LINUX_GOSYNC_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define GOSYNC_DEVICE_NAME	"gosync"	/* the node is /dev/gosync */

/* Bumped only for incompatible changes; additions are feature bits. */
#define GOSYNC_ABI_VERSION	1

/* Feature bits of gosync_info.features. */
#define GOSYNC_FEAT_CHAN	0x1ULL	/* channels (GOSYNC_IOC_CHAN_*) */
#define GOSYNC_FEAT_SELECT	0x2ULL	/* GOSYNC_IOC_SELECT */
#define GOSYNC_FEAT_URING	0x4ULL	/* IORING_OP_URING_CMD on channels */
#define GOSYNC_FEAT_SYNC	0x8ULL	/* waitgroup, mutex, rwmutex, once, cond */
#define GOSYNC_FEAT_WG_OWNED	0x10ULL	/* GOSYNC_SYNC_IOC_WG_*_OWNED */
#define GOSYNC_FEAT_SELECT_FD	0x20ULL	/* GOSYNC_SELECT_FDREADY select cases */
#define GOSYNC_FEAT_CHAN_ZERO	0x40ULL	/* channels of 0-byte elements */
/* The gosync filesystem, directional ends, GOSYNC_CHAN_AUTOCLOSE: */
#define GOSYNC_FEAT_NAMES	0x80ULL
#define GOSYNC_FEAT_URING_RECV_N 0x100ULL	/* GOSYNC_URING_RECV_N */
#define GOSYNC_FEAT_CTX		0x200ULL	/* contexts (GOSYNC_IOC_CTX_CREATE) */

/*
 * ioctl numbers: one magic (0xB8, unused in ioctl-number.rst), split by the
 * kind of fd the ioctl is issued on.
 *   0x00-0x1f  /dev/gosync
 *   0x20-0x3f  a channel fd
 *   0x40-0x5f  a sync object fd (waitgroup, mutex, ...)
 *   0x60-0x7f  the root directory of a gosync filesystem
 *   0x80-0x9f  a context fd
 */
#define GOSYNC_IOC_MAGIC	0xB8

/* Deadlines (absolute CLOCK_MONOTONIC ns); any other negative is EINVAL. */
#define GOSYNC_DEADLINE_NONBLOCK	(-1LL)	/* do not wait: EAGAIN */
#define GOSYNC_DEADLINE_FOREVER		0x7fffffffffffffffLL

/**
 * struct gosync_info - what the loaded module implements
 * @flags:	in: must be 0 (no flags are defined yet)
 * @abi_version: out: GOSYNC_ABI_VERSION of the module
 * @features:	out: GOSYNC_FEAT_* bits of what the module implements
 * @resv:	in: must be 0; out: 0
 *
 * GOSYNC_IOC_INFO on /dev/gosync fills it.  Errors: EFAULT for a bad
 * pointer, EINVAL for unknown flags or a non-zero reserved word.
 */
struct gosync_info {
	__u32 flags;
	__u32 abi_version;
	__u64 features;
	__u64 resv[6];
};

#define GOSYNC_INFO_FLAGS	0	/* every valid flag of gosync_info */

/* ------------------------------------------------------------ channels -- */

#define GOSYNC_CHAN_MAX_ELEM	65535U		/* element size, bytes */
#define GOSYNC_CHAN_MAX_CAP	0x100000U	/* capacity, elements: 2^20 */

/**
 * struct gosync_chan_create - make a channel (GOSYNC_IOC_CHAN_CREATE)
 * @flags:	in: GOSYNC_CHAN_CLOEXEC, GOSYNC_CHAN_NONBLOCK
 * @elem_size:	in: bytes per element, 0..GOSYNC_CHAN_MAX_ELEM (0: Go's
 *		struct{}, since GOSYNC_FEAT_CHAN_ZERO; see below)
 * @cap:	in: capacity in elements, 0 (unbuffered)..GOSYNC_CHAN_MAX_CAP
 * @fd:		out: the channel's fd (also the ioctl's return value)
 * @resv:	in: must be 0
 *
 * A channel of 0-byte elements carries only the events themselves: no
 * element pointer is ever read or written (SEND/RECV, select, uring
 * commands; any value, NULL included, will do), its slots are the slot
 * word alone, and read(2)/write(2) fail with EINVAL, because a byte
 * count cannot say how many 0-byte elements it means.
 *
 * Errors: EINVAL (flags, reserved, sizes), ENOMEM (the ring would exceed
 * the per-channel or per-user memory limit, or allocation failed), EMFILE
 * (the user has too many gosync objects, or the process too many fds).
 */
struct gosync_chan_create {
	__u32 flags;
	__u32 elem_size;
	__u32 cap;
	__s32 fd;
	__u64 resv[2];
};

#define GOSYNC_CHAN_CLOEXEC	0x1U	/* fd is O_CLOEXEC */
#define GOSYNC_CHAN_NONBLOCK	0x2U	/* fd is O_NONBLOCK (read/write) */
/*
 * Since GOSYNC_FEAT_NAMES: the kernel closes the channel when its last
 * end that can send is gone.  An end that can send is an open file of
 * the channel with write access (FMODE_WRITE): the fd this ioctl makes,
 * a name opened O_WRONLY or O_RDWR, a GOSYNC_CHAN_IOC_DUP send-only end,
 * and every dup(2)/fork/SCM_RIGHTS copy of one (they share the file).  A
 * file is gone once every fd of it is closed, every mapping made through
 * it is unmapped, every io_uring command on it has completed and no
 * io_uring registered-file table or SCM_RIGHTS message in flight holds
 * it: exit and SIGKILL do all of that for what the process held.  A
 * receive-only end and the name do not count.  The close happens when
 * that count falls from 1 to 0 (never while it was never above 0) and is
 * a GOSYNC_CHAN_IOC_CLOSE: receivers drain what was sent, then see
 * closed.
 */
#define GOSYNC_CHAN_AUTOCLOSE	0x4U
#define GOSYNC_CHAN_CREATE_FLAGS (GOSYNC_CHAN_CLOEXEC | GOSYNC_CHAN_NONBLOCK | \
				  GOSYNC_CHAN_AUTOCLOSE)

/**
 * struct gosync_chan_info - a channel's shape and shared-memory layout
 * @flags:	in: must be 0
 * @elem_size:	out: bytes per element
 * @cap:	out: capacity (0: unbuffered)
 * @nslots:	out: ring slots (cap, or 1 when unbuffered)
 * @slot_size:	out: bytes per slot: the slot word, then the element
 * @state:	out: GOSYNC_CHAN_STATE_CLOSED once closed
 * @map_size:	out: bytes to mmap (offset 0, MAP_SHARED)
 * @off_tail:	out: offset of the __u64 tail word
 * @off_head:	out: offset of the __u64 head word
 * @off_recv_wait: out: offset of the receive side's struct gosync_wait
 * @off_send_wait: out: offset of the send side's struct gosync_wait
 * @off_slots:	out: offset of slot 0
 * @len:	out: elements queued right now (0 when unbuffered)
 * @resv:	in: must be 0; out: 0
 */
struct gosync_chan_info {
	__u32 flags;
	__u32 elem_size;
	__u32 cap;
	__u32 nslots;
	__u32 slot_size;
	__u32 state;
	__u64 map_size;
	__u64 off_tail;
	__u64 off_head;
	__u64 off_recv_wait;
	__u64 off_send_wait;
	__u64 off_slots;
	__u64 len;
	__u64 resv[3];
};

#define GOSYNC_CHAN_STATE_CLOSED	0x1U
/* Since GOSYNC_FEAT_NAMES: what this fd may do, and the channel's flags. */
#define GOSYNC_CHAN_STATE_NOSEND	0x2U	/* a receive-only end */
#define GOSYNC_CHAN_STATE_NORECV	0x4U	/* a send-only end */
#define GOSYNC_CHAN_STATE_AUTOCLOSE	0x8U	/* made with GOSYNC_CHAN_AUTOCLOSE */

/**
 * struct gosync_chan_xfer - send or receive (GOSYNC_CHAN_IOC_SEND/RECV)
 * @elem:	in: user pointer to @count elements (source or destination);
 *		not used when the element size is 0
 * @deadline_ns: in: absolute CLOCK_MONOTONIC deadline, or
 *		GOSYNC_DEADLINE_NONBLOCK / GOSYNC_DEADLINE_FOREVER
 * @flags:	in: SEND: GOSYNC_SEND_SYNC; RECV: 0
 * @count:	in: number of elements, 1..MAX_RW_COUNT / elem_size (a 0-byte
 *		element counts as 1 byte here: 1..MAX_RW_COUNT)
 * @resv:	in: must be 0
 *
 * SEND sends all @count elements in order, waiting for room as needed; it
 * returns how many were sent: @count, or fewer when the deadline passed, a
 * signal came or the channel was closed after at least one was sent.
 * With GOSYNC_SEND_SYNC (always, on an unbuffered channel) each element
 * counts as sent only once a receiver has taken it; an element no receiver
 * took by the deadline is withdrawn, never delivered later.
 * RECV waits for one element, then takes up to @count without waiting
 * more (fewer once the deadline has passed); it returns how many it took,
 * or 0 when the channel is closed and drained.  A long batch keeps its
 * deadline even when it never has to wait.
 * Errors: EAGAIN (NONBLOCK and nothing could be done), ETIMEDOUT,
 * EINTR (a signal; the call restarts with SA_RESTART), EPIPE (send on a
 * closed channel), EBADF (a receive-only end's SEND or CLOSE, a send-only
 * end's RECV: GOSYNC_CHAN_IOC_DUP), EFAULT, EINVAL, EIO (the shared ring is corrupt: a
 * process wrote garbage over its mapping).
 */
struct gosync_chan_xfer {
	__u64 elem;
	__s64 deadline_ns;
	__u32 flags;
	__u32 count;
	__u64 resv[2];
};

#define GOSYNC_SEND_SYNC	0x1U	/* wait until received */
#define GOSYNC_SEND_FLAGS	GOSYNC_SEND_SYNC
#define GOSYNC_RECV_FLAGS	0

/**
 * struct gosync_chan_wake - wake the waiters of a channel
 * @flags:	in: GOSYNC_WAKE_RECV and/or GOSYNC_WAKE_SEND (at least one)
 * @resv:	in: must be 0
 *
 * Issued by the library's fast path when it finds a side's armed word set
 * (see struct gosync_wait); harmless at any other time.
 */
struct gosync_chan_wake {
	__u32 flags;
	__u32 resv;
};

#define GOSYNC_WAKE_RECV	0x1U
#define GOSYNC_WAKE_SEND	0x2U
#define GOSYNC_WAKE_FLAGS	(GOSYNC_WAKE_RECV | GOSYNC_WAKE_SEND)

/**
 * struct gosync_chan_map - identify a mapping of the channel
 * @addr:	in: start address of this process's mapping of the channel
 * @owner:	out: the owner id to write into the slot words this
 *		mapping claims (1..GOSYNC_SLOT_OWNER_MAX)
 * @flags:	in: must be 0
 * @resv:	in: must be 0
 *
 * Every mmap of a channel gets its own owner id.  When the mapping goes
 * away (munmap, exit, kill) the kernel releases every slot still claimed
 * under that id, so a process that dies inside a fast-path operation costs
 * at most its own element in flight.  Errors: EINVAL (no mapping of this
 * channel starts at @addr), EFAULT.
 */
struct gosync_chan_map {
	__u64 addr;
	__u32 owner;
	__u32 flags;
	__u64 resv;
};

/**
 * struct gosync_chan_dup - a directional end (GOSYNC_CHAN_IOC_DUP)
 * @flags:	in: exactly one of GOSYNC_DUP_SEND_ONLY, GOSYNC_DUP_RECV_ONLY,
 *		optionally | GOSYNC_DUP_CLOEXEC | GOSYNC_DUP_NONBLOCK
 * @fd:		out: the new end's fd (also the ioctl's return value)
 * @resv:	in: must be 0
 *
 * A new file of the same channel that can only send (opened O_WRONLY:
 * Go's chan<- T) or only receive (O_RDONLY: <-chan T), to hand to a less
 * trusted process (an anonymous file: unlike a name's directional end,
 * it cannot be reopened for more through /proc/PID/fd, where a name's
 * O_RDONLY end reopens with whatever the name's mode allows the opener).
 * On an end that cannot do something, doing it fails
 * with EBADF before anything happens, on every path: SEND, RECV and CLOSE
 * ioctls (a receive-only end cannot close: Go's rule), read(2)/write(2),
 * select cases, io_uring commands.  A directional end cannot be mapped
 * (mmap fails with EACCES; the shared ring could not keep it to its
 * direction): every operation on it is a system call.  It can poll.
 * Errors: EBADF (asking for a direction the fd itself lacks), EINVAL
 * (flags, reserved), EMFILE, ENFILE, ENOMEM.
 */
struct gosync_chan_dup {
	__u32 flags;
	__s32 fd;
	__u64 resv;
};

#define GOSYNC_DUP_SEND_ONLY	0x1U
#define GOSYNC_DUP_RECV_ONLY	0x2U
#define GOSYNC_DUP_CLOEXEC	0x4U
#define GOSYNC_DUP_NONBLOCK	0x8U
#define GOSYNC_DUP_FLAGS	(GOSYNC_DUP_SEND_ONLY | GOSYNC_DUP_RECV_ONLY | \
				 GOSYNC_DUP_CLOEXEC | GOSYNC_DUP_NONBLOCK)

/* ------------------------------------------------------------- select -- */

#define GOSYNC_SELECT_MAX	4096	/* cases in one select */

/**
 * struct gosync_select_case - one case of GOSYNC_IOC_SELECT
 * @fd:		a channel fd; for GOSYNC_SELECT_FDREADY any pollable fd; or
 *		-1: a case that is never ready (Go's nil channel)
 * @op:		GOSYNC_SELECT_SEND, GOSYNC_SELECT_RECV or
 *		GOSYNC_SELECT_FDREADY (GOSYNC_FEAT_SELECT_FD)
 * @elem:	SEND, RECV: user pointer: the element to send, or where to
 *		receive (not used when the element size is 0)
 * @events:	FDREADY: the poll(2) events to wait for (POLLIN, ...; the
 *		low 16 bits, as in struct pollfd; the rest must be 0);
 *		POLLERR and POLLHUP are always reported, as by poll(2)
 * @result:	out, for the case that fired: RECV: 1 (a value) or 0
 *		(closed and drained); SEND: 0, or -EPIPE when the select
 *		failed because this case's channel is closed; FDREADY: the
 *		revents (non-zero), as poll(2) would report them
 * @flags:	in: must be 0
 *
 * An FDREADY case is ready when the fd's poll reports any of @events (or
 * an error or hang-up); the select holds its own reference to the file
 * while it runs, so a close(2) of the fd meanwhile changes nothing.  A
 * gosync channel fd is pollable too.  Errors of such a case: EBADF (not
 * an open fd), EINVAL (a file that cannot be polled, such as a regular
 * file: poll(2) would call it always ready; or bits beyond the low 16 in
 * @events), ENOMEM (the file's poll registered on more than
 * GOSYNC_SELECT_FD_WAITS wait queues).
 */
struct gosync_select_case {
	__s32 fd;
	__u32 op;
	union {
		__u64 elem;
		__u64 events;
	};
	__s32 result;
	__u32 flags;
};

#define GOSYNC_SELECT_SEND	1
#define GOSYNC_SELECT_RECV	2
#define GOSYNC_SELECT_FDREADY	3	/* since GOSYNC_FEAT_SELECT_FD */

/* Wait queues one FDREADY case's file may register its select on. */
#define GOSYNC_SELECT_FD_WAITS	8

/**
 * struct gosync_select - wait for the first of several channel operations
 * @cases:	in: user pointer to @ncases struct gosync_select_case
 * @ncases:	in: 0..GOSYNC_SELECT_MAX
 * @flags:	in: must be 0
 * @deadline_ns: in: absolute CLOCK_MONOTONIC, or GOSYNC_DEADLINE_*
 * @index:	out: the case that fired (or that failed with EPIPE)
 * @resv0:	in: must be 0
 * @resv:	in: must be 0
 *
 * Exactly one case fires: the ioctl returns its index (and stores it in
 * @index).  Among cases ready at once, the one is chosen uniformly at
 * random.  A send on a closed channel is ready, and fails: the ioctl
 * returns -EPIPE, @index and that case's @result say which.  A send case
 * on an unbuffered channel is ready when another receiver is blocked on it
 * (a select's receive case counts); the element is then handed over, and
 * the case fires once the receiver has taken it.  An FDREADY case fires
 * with the fd's revents in its @result.  Errors: EAGAIN (NONBLOCK,
 * nothing ready), ETIMEDOUT, EINTR, EBADF (a bad fd, or a directional
 * end in a case of the direction it lacks), EINVAL (not a
 * channel fd for SEND or RECV, a file that cannot be polled, bad op,
 * events, flags or reserved fields, too many cases), ENOMEM, EFAULT, EIO.
 * A module without GOSYNC_FEAT_SELECT_FD fails FDREADY cases with EINVAL
 * (a bad op).
 */
struct gosync_select {
	__u64 cases;
	__u32 ncases;
	__u32 flags;
	__s64 deadline_ns;
	__s32 index;
	__u32 resv0;
	__u64 resv[2];
};

/* -------------------------------------------------------------- uring -- */

/*
 * IORING_OP_URING_CMD on a channel fd: sqe->cmd_op is one of these, and
 * the command area (sqe->cmd, 16 bytes in a 64-byte SQE) holds a struct
 * gosync_uring_cmd.  The CQE's res is what the ioctl would return for one
 * element: SEND 1 (sent), RECV 1 (a value) or 0 (closed and drained), or
 * -errno: EPIPE, EBADF (a directional end against its direction),
 * ETIMEDOUT (the deadline passed while queued), ECANCELED
 * (the submitting task exited), EINVAL, EFAULT, EIO.  A command that
 * cannot complete at once is queued and completes when it can, or on
 * close, deadline or the submitter's exit; the element is copied from or
 * to the submitter's memory in its own context.
 */
#define GOSYNC_URING_SEND	0x47530001	/* "GS" 1 */
#define GOSYNC_URING_RECV	0x47530002
/*
 * Since GOSYNC_FEAT_URING_RECV_N: a batched receive.  The command's @elem
 * points to a struct gosync_chan_xfer (elem, count, deadline_ns; flags
 * and resv 0), read when the command is issued, and its @deadline_ns must
 * be 0.  It waits for one element, then takes what is there, up to count
 * (at most GOSYNC_URING_RECV_N_MAX, and count elements at most
 * MAX_RW_COUNT bytes, as the ioctl), without waiting more, as
 * GOSYNC_CHAN_IOC_RECV does: the CQE's res is how many it took, 0 on a
 * closed and drained channel, or -errno as for GOSYNC_URING_RECV.
 */
#define GOSYNC_URING_RECV_N	0x47530003
#define GOSYNC_URING_RECV_N_MAX	65536U

/**
 * struct gosync_uring_cmd - the 16-byte command of a uring send or receive
 * @elem:	user pointer to one element (not used when its size is 0);
 *		RECV_N: to its struct gosync_chan_xfer
 * @deadline_ns: absolute CLOCK_MONOTONIC, or GOSYNC_DEADLINE_FOREVER;
 *		GOSYNC_DEADLINE_NONBLOCK completes at once with -EAGAIN
 *		instead of queueing; RECV_N: 0 (the xfer has the deadline)
 */
struct gosync_uring_cmd {
	__u64 elem;
	__s64 deadline_ns;
};

/* ------------------------------------------------------- sync objects -- */

/*
 * A sync object (Go's sync.WaitGroup, Mutex, RWMutex, Once, Cond) is one
 * page of shared memory: struct gosync_sync_header at offset 0, then the
 * kind's words at GOSYNC_SYNC_OFF_WORDS.  Waits are futex waits on those
 * words (they are shmem pages: non-private futexes work across processes),
 * and the uncontended operations are one atomic instruction.  The kernel
 * makes the page, gives every mapping an owner id (GOSYNC_SYNC_IOC_MAP) so
 * that a process dying with a mutex locked or a Once running can be
 * told apart, and makes a waitgroup's fd pollable.  A standalone object
 * (GOSYNC_SYNC_HDR_STANDALONE) is the same page in a memfd.
 */
#define GOSYNC_SYNC_WG		1
#define GOSYNC_SYNC_MUTEX	2
#define GOSYNC_SYNC_RWMUTEX	3
#define GOSYNC_SYNC_ONCE	4
#define GOSYNC_SYNC_COND	5

#define GOSYNC_SYNC_MAGIC	0x676f7379	/* "gosy" */
#define GOSYNC_SYNC_SIZE	4096		/* bytes to mmap */
#define GOSYNC_SYNC_OFF_WORDS	64

struct gosync_sync_header {
	__u32 magic;		/* written once, last, at creation */
	__u32 abi_version;
	__u32 kind;
	__u32 flags;		/* GOSYNC_SYNC_HDR_STANDALONE */
};

#define GOSYNC_SYNC_HDR_STANDALONE	0x1U

/*
 * The words, at GOSYNC_SYNC_OFF_WORDS.  Who writes: every process using
 * the object, with atomic read-modify-writes; the kernel only as said.
 *
 * WaitGroup: state = counter << 32 | ARMED | generation | waiters; its
 * low half is the futex word.  Add/Done change the counter with one CAS
 * (never below zero); Wait counts itself in waiters and sleeps on the low
 * half; the Done that brings the counter to zero clears waiters and ARMED
 * and (with waiters) moves the generation on in the same CAS, then wakes
 * the word.  ARMED is set by the kernel's poll when the counter is not
 * zero: that Done then issues GOSYNC_SYNC_IOC_WAKE so pollers see
 * EPOLLIN.  The kernel also changes the counter with the same CAS (and
 * the same zeroing) for owned counts (GOSYNC_SYNC_IOC_WG_ADD_OWNED):
 * their Done, and their payment when the owner dies; it never wakes the
 * futex, so in kernel mode waiters look again at least every 100 ms.
 */
struct gosync_wg_words {
	__u64 state;
	__u64 resv;
};

#define GOSYNC_WG_ARMED		0x80000000ULL
#define GOSYNC_WG_GEN		0x7ffff000ULL	/* 19 bits */
#define GOSYNC_WG_WAITERS	0x00000fffULL	/* 4095 at most */

/**
 * struct gosync_wg_owned - an owned count of a waitgroup
 * @addr:	in: ADD: the start of the caller's mapping of the object;
 *		DONE: must be 0
 * @delta:	in: ADD: 1..2^31 - 1, added to the counter; DONE: must be 1
 * @flags:	in: must be 0
 * @state:	out: the state word just before the kernel's CAS (DONE:
 *		the caller wakes the futex waiters if that CAS zeroed a
 *		counter of 1 with waiters counted; the kernel cannot)
 * @paid:	out: DONE: 1 when an owned count of the caller's was paid,
 *		0 when it owns none here (nothing changed: a plain Done is
 *		the caller's to make); ADD: 0
 * @resv0:	in: must be 0; out: 0
 * @resv:	in: must be 0; out: 0
 *
 * GOSYNC_SYNC_IOC_WG_ADD_OWNED adds @delta to the counter of a waitgroup,
 * owned by the calling process (its address space): when its mapping
 * @addr goes away (exit, kill, munmap) with owned counts left, the kernel
 * pays them (never taking the counter below zero).  GOSYNC_SYNC_IOC_WG_
 * DONE_OWNED pays one owned count of the caller's, from any of its
 * mappings of the object.  The kernel keeps the owned counts: the state
 * word is the same as for plain counts.  A child made by fork owns none.
 * Errors: EINVAL (not a waitgroup, flags, reserved fields, @delta, no
 * mapping of this object at @addr in the caller; DONE: the counter is
 * already zero, nothing changed), EOVERFLOW (the counter, or the
 * caller's owned counts, would pass 2^31 - 1), EIO (the state word is
 * corrupt: a process wrote garbage over its mapping, or kept changing
 * it), EFAULT.
 */
struct gosync_wg_owned {
	__u64 addr;
	__s32 delta;
	__u32 flags;
	__u64 state;
	__u32 paid;
	__u32 resv0;
	__u64 resv[2];
};

/*
 * Mutex: state is the futex word: the owner id of the mapping that holds
 * it (0: unknown, standalone), LOCKED, STARVING (Go's starvation mode:
 * unlock hands the lock to a waiter), HANDOFF (handed over, not yet
 * taken: any waiter may take it), OWNER_DIED (set by the kernel when the
 * holder's mapping went away: the next locker gets EOWNERDEAD) and
 * NOTRECOVERABLE.  waiters counts the blocked.  A RWMutex is the same
 * words as writer lock, plus readers: the read count, WRITER_WAITING set
 * by a writer that waits for readers to leave (new readers then wait).
 * Once: state is the owner id with RUNNING, or DONE.  Cond: seq is the
 * futex word, bumped by signal and broadcast.
 */
struct gosync_mutex_words {
	__u32 state;		/* futex */
	__u32 waiters;
	__u32 readers;		/* RWMutex: readers, futex */
	__u32 rwaiters;		/* RWMutex: blocked readers and writers */
};

#define GOSYNC_MUTEX_OWNER		0x1ffffU
#define GOSYNC_MUTEX_LOCKED		0x20000U
#define GOSYNC_MUTEX_STARVING		0x40000U
#define GOSYNC_MUTEX_HANDOFF		0x80000U
#define GOSYNC_MUTEX_OWNER_DIED		0x100000U
#define GOSYNC_MUTEX_NOTRECOVERABLE	0x200000U
#define GOSYNC_RWMUTEX_WRITER_WAITING	0x80000000U

struct gosync_once_words {
	__u32 state;		/* futex */
	__u32 waiters;
};

#define GOSYNC_ONCE_RUNNING	0x20000U
#define GOSYNC_ONCE_DONE	0x40000U

struct gosync_cond_words {
	__u32 seq;		/* futex */
	__u32 waiters;
};

/**
 * struct gosync_sync_create - make a sync object (GOSYNC_IOC_SYNC_CREATE)
 * @flags:	in: GOSYNC_SYNC_CLOEXEC
 * @kind:	in: GOSYNC_SYNC_*
 * @fd:		out: its fd (also the ioctl's return value)
 * @resv0:	in: must be 0
 * @resv:	in: must be 0
 */
struct gosync_sync_create {
	__u32 flags;
	__u32 kind;
	__s32 fd;
	__u32 resv0;
	__u64 resv[2];
};

#define GOSYNC_SYNC_CLOEXEC	0x1U
#define GOSYNC_SYNC_CREATE_FLAGS GOSYNC_SYNC_CLOEXEC

/**
 * struct gosync_sync_info - a sync object's kind (GOSYNC_SYNC_IOC_INFO)
 * @flags:	in: must be 0
 * @kind:	out: GOSYNC_SYNC_*
 * @map_size:	out: GOSYNC_SYNC_SIZE
 * @off_words:	out: GOSYNC_SYNC_OFF_WORDS
 * @resv:	in: must be 0; out: 0
 */
struct gosync_sync_info {
	__u32 flags;
	__u32 kind;
	__u64 map_size;
	__u64 off_words;
	__u64 resv[3];
};

#define GOSYNC_IOC_INFO		_IOWR(GOSYNC_IOC_MAGIC, 0x00, struct gosync_info)
#define GOSYNC_IOC_SYNC_CREATE	_IOWR(GOSYNC_IOC_MAGIC, 0x03, struct gosync_sync_create)

#define GOSYNC_SYNC_IOC_INFO	_IOWR(GOSYNC_IOC_MAGIC, 0x40, struct gosync_sync_info)
/* The owner id of a mapping, as GOSYNC_CHAN_IOC_MAP. */
#define GOSYNC_SYNC_IOC_MAP	_IOWR(GOSYNC_IOC_MAGIC, 0x41, struct gosync_chan_map)
/* Wake the object's pollers (a waitgroup's counter reached zero). */
#define GOSYNC_SYNC_IOC_WAKE	_IO(GOSYNC_IOC_MAGIC, 0x42)
/* A waitgroup's counts owned by the calling process (struct gosync_wg_owned). */
#define GOSYNC_SYNC_IOC_WG_ADD_OWNED	_IOWR(GOSYNC_IOC_MAGIC, 0x43, struct gosync_wg_owned)
#define GOSYNC_SYNC_IOC_WG_DONE_OWNED	_IOWR(GOSYNC_IOC_MAGIC, 0x44, struct gosync_wg_owned)
#define GOSYNC_IOC_SELECT	_IOWR(GOSYNC_IOC_MAGIC, 0x02, struct gosync_select)
#define GOSYNC_IOC_CHAN_CREATE	_IOWR(GOSYNC_IOC_MAGIC, 0x01, struct gosync_chan_create)

#define GOSYNC_CHAN_IOC_INFO	_IOWR(GOSYNC_IOC_MAGIC, 0x20, struct gosync_chan_info)
#define GOSYNC_CHAN_IOC_SEND	_IOW(GOSYNC_IOC_MAGIC, 0x21, struct gosync_chan_xfer)
#define GOSYNC_CHAN_IOC_RECV	_IOW(GOSYNC_IOC_MAGIC, 0x22, struct gosync_chan_xfer)
#define GOSYNC_CHAN_IOC_CLOSE	_IO(GOSYNC_IOC_MAGIC, 0x23)
#define GOSYNC_CHAN_IOC_WAKE	_IOW(GOSYNC_IOC_MAGIC, 0x24, struct gosync_chan_wake)
#define GOSYNC_CHAN_IOC_MAP	_IOWR(GOSYNC_IOC_MAGIC, 0x25, struct gosync_chan_map)
#define GOSYNC_CHAN_IOC_DUP	_IOWR(GOSYNC_IOC_MAGIC, 0x26, struct gosync_chan_dup)

/* ------------------------------------------------------------ contexts -- */

/*
 * A context (GOSYNC_FEAT_CTX) is Go's context.Context across processes:
 * an fd that is cancelled once, by GOSYNC_CTX_IOC_CANCEL, by its deadline
 * (a kernel timer: it fires with nobody awake), by its parent's
 * cancellation, or (GOSYNC_CTX_CANCEL_ON_EXIT) when the process that
 * made it is gone.  Cancelling a context cancels all its descendants, in
 * every process, before the ioctl returns; a context made under a
 * cancelled parent is born cancelled, with the parent's error and cause;
 * a child's deadline is never later than its parent's.
 *
 * Its page (GOSYNC_SYNC_SIZE bytes; mmap(NULL, GOSYNC_SYNC_SIZE,
 * PROT_READ, MAP_SHARED, fd, 0): PROT_WRITE is EACCES, and mprotect
 * cannot add it) starts with a struct gosync_sync_header of kind
 * GOSYNC_KIND_CTX; the kernel alone writes it:
 *
 *   state	0 while live; then the error, ECANCELED or ETIMEDOUT
 *		(Go's Canceled and DeadlineExceeded), set once, by a
 *		release store [CTX-A] after @cause and before the done
 *		channel is closed; read it with an acquire load [CTX-B]
 *   cause	the positive errno given to the cancel that won (ECANCELED
 *		when it gave 0; ETIMEDOUT for a deadline; ESRCH for
 *		CANCEL_ON_EXIT); a descendant gets its ancestor's
 *   deadline_ns  absolute CLOCK_MONOTONIC ns, or GOSYNC_DEADLINE_FOREVER;
 *		set at creation, never changed
 *   values_len	bytes of value records at GOSYNC_CTX_OFF_VALUES; set at
 *		creation, never changed
 *
 * Values (Go's WithValue): a context made with a key carries its
 * parent's values and its own, as records at GOSYNC_CTX_OFF_VALUES
 * (struct gosync_ctx_value, then the key, then the value, padded to 4
 * bytes; the parent's first), written before the fd exists and never
 * changed: a lookup takes the last record with the key (a child's
 * shadows its ancestors').
 *
 * By name (GOSYNC_FS_IOC_OPEN, kind GOSYNC_KIND_CTX): a root context
 * with no deadline, no value and no CANCEL_ON_EXIT, that any process
 * allowed to open the name can watch and make children of; cancelling
 * it needs an fd opened for writing (O_RDONLY: EBADF).  An fd made by
 * GOSYNC_IOC_CTX_CREATE can do both.
 *
 * The done channel (GOSYNC_CTX_IOC_DONE) is a channel of 0-byte elements
 * that nobody can send on, closed once the context is done: a receive
 * from it (GOSYNC_CHAN_IOC_RECV, a select case, io_uring; poll says
 * EPOLLIN | EPOLLHUP) returns "closed" from then on (read(2) is EINVAL, as
 * on every channel of 0-byte elements).  Each of its fds holds the
 * context: with only done fds left, its deadline, its maker's exit or an
 * ancestor's cancel still closes it.  The context's own fd is readable
 * (EPOLLIN) once it is done.
 */
#define GOSYNC_KIND_CTX		7

struct gosync_ctx_words {
	__u32 state;
	__s32 cause;
	__s64 deadline_ns;
	__u32 values_len;
	__u32 resv0;
	__u64 resv[5];
};

#define GOSYNC_CTX_OFF_VALUES	256
#define GOSYNC_CTX_VALUES_MAX	(GOSYNC_SYNC_SIZE - GOSYNC_CTX_OFF_VALUES)
#define GOSYNC_CTX_KEY_MAX	255
#define GOSYNC_CTX_VAL_MAX	2048

struct gosync_ctx_value {
	__u16 key_len;
	__u16 val_len;
};

/**
 * struct gosync_ctx_create - make a context (GOSYNC_IOC_CTX_CREATE)
 * @flags:	in: GOSYNC_CTX_CLOEXEC, GOSYNC_CTX_CANCEL_ON_EXIT
 * @parent:	in: a context fd, or -1 for a root context
 * @deadline_ns: in: absolute CLOCK_MONOTONIC ns, or
 *		GOSYNC_DEADLINE_FOREVER; capped at the parent's; one already
 *		past makes a context that is done (ETIMEDOUT) at once
 * @fd:		out: its fd (also the ioctl's return value)
 * @resv0:	in: must be 0
 * @key:	in: 0, or a user pointer to @key_len bytes: the context
 *		carries the value @val under this key (and its parent's)
 * @val:	in: a user pointer to @val_len bytes (0 when @val_len is 0)
 * @key_len:	in: 1..GOSYNC_CTX_KEY_MAX with @key, else 0
 * @val_len:	in: 0..GOSYNC_CTX_VAL_MAX, 0 without @key
 * @resv:	in: must be 0
 *
 * A deadline no sooner than the parent's is the parent's: the child has
 * no timer of its own, and is done when the parent is, with its error.
 * Deadlines are the host's CLOCK_MONOTONIC (not a time namespace's), as
 * every deadline of this interface.  GOSYNC_CTX_CANCEL_ON_EXIT watches
 * the process (exec does not end it, nor does a forked child's exit);
 * a cause of ESRCH given to GOSYNC_CTX_IOC_CANCEL looks the same.
 *
 * Errors: EINVAL (flags, reserved fields, a negative @deadline_ns, a
 * @parent below -1, key or value lengths), E2BIG (the parent's values
 * and this one would pass GOSYNC_CTX_VALUES_MAX bytes of records), EBADF (@parent is not an
 * open fd, or an O_PATH one), EMEDIUMTYPE (@parent is not a context),
 * ENOMEM, EMFILE (the module's per-user limits: a context is two
 * objects, itself and its done channel; or the caller's fd table),
 * ENFILE, EFAULT.
 */
struct gosync_ctx_create {
	__u32 flags;
	__s32 parent;
	__s64 deadline_ns;
	__s32 fd;
	__u32 resv0;
	__u64 key;
	__u64 val;
	__u32 key_len;
	__u32 val_len;
	__u64 resv[2];
};

#define GOSYNC_CTX_CLOEXEC		0x1U
/*
 * Cancelled (cause ESRCH) once every thread of the maker's process is
 * gone.  A bit no flag of the library's has: libgosync takes it as is.
 */
#define GOSYNC_CTX_CANCEL_ON_EXIT	0x100U
#define GOSYNC_CTX_CREATE_FLAGS	(GOSYNC_CTX_CLOEXEC | GOSYNC_CTX_CANCEL_ON_EXIT)

/**
 * struct gosync_ctx_cancel - cancel a context (GOSYNC_CTX_IOC_CANCEL)
 * @cause:	in: a positive errno (1..GOSYNC_CTX_CAUSE_MAX), or 0 for
 *		ECANCELED
 * @flags:	in: must be 0
 * @resv:	in: must be 0
 *
 * Returns 0 when this call cancelled the context (and, before returning,
 * every live descendant); fails with EALREADY when it was already done
 * (the first cause stays).  Errors: EINVAL, EBADF (an fd not open for writing),
 * EFAULT.
 */
struct gosync_ctx_cancel {
	__s32 cause;
	__u32 flags;
	__u64 resv;
};

#define GOSYNC_CTX_CAUSE_MAX	4095

/**
 * struct gosync_ctx_info - a context's state (GOSYNC_CTX_IOC_INFO)
 * @flags:	in: must be 0
 * @state:	out: 0, ECANCELED or ETIMEDOUT
 * @cause:	out: 0 while live, then the cause
 * @resv0:	in: must be 0; out: 0
 * @deadline_ns: out: its deadline, or GOSYNC_DEADLINE_FOREVER
 * @map_size:	out: GOSYNC_SYNC_SIZE
 * @off_words:	out: where struct gosync_ctx_words is in the page
 * @off_values:	out: where the value records are (GOSYNC_CTX_OFF_VALUES)
 * @values_len:	out: their bytes
 * @resv1:	in: must be 0; out: 0
 */
struct gosync_ctx_info {
	__u32 flags;
	__u32 state;
	__s32 cause;
	__u32 resv0;
	__s64 deadline_ns;
	__u64 map_size;
	__u64 off_words;
	__u64 off_values;
	__u32 values_len;
	__u32 resv1;
};

/**
 * struct gosync_ctx_done - the done channel (GOSYNC_CTX_IOC_DONE)
 * @flags:	in: GOSYNC_CTX_CLOEXEC, GOSYNC_CTX_DONE_NONBLOCK
 * @fd:		out: a receive-only end of the done channel (also the
 *		ioctl's return value); every call gives a new fd of the one
 *		channel
 * @resv:	in: must be 0
 *
 * Errors: EINVAL, EMFILE (the caller's fd table), ENFILE, ENOMEM,
 * EFAULT.
 */
struct gosync_ctx_done {
	__u32 flags;
	__s32 fd;
	__u64 resv[2];
};

#define GOSYNC_CTX_DONE_NONBLOCK	0x4U
#define GOSYNC_CTX_DONE_FLAGS	(GOSYNC_CTX_CLOEXEC | GOSYNC_CTX_DONE_NONBLOCK)

#define GOSYNC_IOC_CTX_CREATE	_IOWR(GOSYNC_IOC_MAGIC, 0x04, struct gosync_ctx_create)
#define GOSYNC_CTX_IOC_INFO	_IOWR(GOSYNC_IOC_MAGIC, 0x80, struct gosync_ctx_info)
#define GOSYNC_CTX_IOC_CANCEL	_IOW(GOSYNC_IOC_MAGIC, 0x81, struct gosync_ctx_cancel)
#define GOSYNC_CTX_IOC_DONE	_IOWR(GOSYNC_IOC_MAGIC, 0x82, struct gosync_ctx_done)

/* ---------------------------------------------------------- filesystem -- */

/*
 * The gosync filesystem (GOSYNC_FEAT_NAMES): "mount -t gosync none DIR".
 * Every mount is its own instance: its own names, object limit and root
 * owner; a user namespace's root may mount one (FS_USERNS_MOUNT).  Its
 * files are gosync objects: open(2) of a name gives the same fd as the
 * object's create ioctl (O_RDONLY: a receive-only end of a channel,
 * O_WRONLY: send-only, O_RDWR: both), stat/chmod/chown work as on files,
 * and unlink(2) removes only the name: the object lives until its last
 * file (fd, mapping, io_uring command) is gone.  Names are made only by
 * GOSYNC_FS_IOC_OPEN on the root directory; open(2) with O_CREAT of a
 * missing name and mknod(2) fail with EACCES, mkdir(2), link(2),
 * rename(2) and symlink(2) with EPERM.
 *
 * Mount options: max=N (objects made in this mount that exist: named,
 * unlinked and still open, or held by a GOSYNC_CHAN_IOC_DUP end; 1 ..
 * GOSYNC_FS_MAX, default GOSYNC_FS_MAX_DEFAULT; a remount may change it),
 * mode=OCTAL (the root directory's, default 01777), uid=N, gid=N (its
 * owner, in the mounter's user namespace; default its root).  Anything
 * else fails the mount with EINVAL.
 *
 * The root directory also answers the /dev/gosync ioctls (GOSYNC_IOC_*),
 * for a container that has the mount but not the device.
 */
#define GOSYNC_FS_TYPE		"gosync"
#define GOSYNC_FS_MAGIC		0x676f6673	/* "gofs" */
#define GOSYNC_FS_DEFAULT	"/run/gosync"	/* where the library looks */
#define GOSYNC_FS_MAX_DEFAULT	4096
#define GOSYNC_FS_MAX		0x100000U	/* 2^20 */
#define GOSYNC_NAME_MAX		255

/* Kinds: a channel, a context (GOSYNC_KIND_CTX, above), or a sync object's GOSYNC_SYNC_* (1..5). */
#define GOSYNC_KIND_CHAN	6

/**
 * struct gosync_open - open or make a named object (GOSYNC_FS_IOC_OPEN)
 * @name:	in: user pointer to the name: one path component (no '/',
 *		not "." or ".."), @name_len bytes, no NUL in them
 * @name_len:	in: 1..GOSYNC_NAME_MAX
 * @oflag:	in: O_RDONLY, O_WRONLY or O_RDWR, optionally | O_CREAT |
 *		O_EXCL | O_CLOEXEC | O_NONBLOCK (nothing else)
 * @mode:	in: with O_CREAT: the permission bits (07777 at most), less
 *		the caller's umask, as open(2) does
 * @kind:	in: GOSYNC_KIND_CHAN, GOSYNC_KIND_CTX (GOSYNC_FEAT_CTX) or
 *		GOSYNC_SYNC_*; 0 (not with O_CREAT):
 *		whatever the name is; out: the object's kind
 * @elem_size:	in: a channel's element size when made; when it exists: 0,
 *		or what it has (EINVAL otherwise); out: what it has
 * @cap:	in/out: the same for the capacity (when it exists, 0 or what
 *		it has)
 * @flags:	in: GOSYNC_OPEN_AUTOCLOSE (a channel made now gets
 *		GOSYNC_CHAN_AUTOCLOSE); out: | GOSYNC_OPEN_CREATED when this
 *		call made the object
 * @fd:		out: the fd (also the ioctl's return value)
 * @resv:	in: must be 0
 *
 * Looks the name up and makes the object if it is missing and O_CREAT
 * asks for it, all or nothing (no name is left by a call that fails),
 * atomically (of eight racing O_CREAT | O_EXCL opens of one
 * name, exactly one makes it).  Permission as open(2): to make, write and
 * search on the directory; to open what exists, read for O_RDONLY, write
 * for O_WRONLY, both for O_RDWR on the object (the maker of an object gets
 * the access it asked for whatever @mode says), checked before its kind
 * and shape; O_CREAT of a name that exists in a sticky directory others
 * may write (the default root, 01777) opens it only for its owner or the
 * directory's (the rule of fs.protected_regular=2), so a name cannot be
 * squatted for its maker: use O_EXCL to be sure the object is yours.  The
 * setgid bit is kept only for a member of the object's group.  Making a
 * name runs the LSM's create hook and reports IN_CREATE to inotify.  A
 * name's file takes no lease (F_SETLEASE: EINVAL).  A sync object is used
 * through a mapping, so anything but O_RDWR gives an fd that cannot be
 * mapped (EACCES): it can be polled, asked for INFO and WAKE (which only
 * wakes pollers), and nothing that needs a mapping works.  An open(2)
 * with access mode 3 (O_ACCMODE: ioctls only, as Linux allows) of a
 * channel is neither a sending nor a receiving end.  Errors: EEXIST (O_CREAT | O_EXCL and the
 * name exists), ENOENT (no such name, no O_CREAT), EACCES, ENAMETOOLONG,
 * EINVAL (a bad name, oflag, mode, kind, flags, reserved field; a shape
 * that differs from the object's), EMEDIUMTYPE (the name is an object of
 * another kind), ENOSPC (the mount's max= objects), EROFS (O_CREAT of a
 * missing name, or O_WRONLY or O_RDWR of any, on a read-only mount or
 * bind), EBUSY (something is mounted
 * on the name), EOVERFLOW (the caller's fsuid or fsgid has no mapping in
 * the mount's namespace), and the errors of
 * GOSYNC_IOC_CHAN_CREATE and GOSYNC_IOC_SYNC_CREATE (ENOMEM, EMFILE).
 */
struct gosync_open {
	__u64 name;
	__u32 name_len;
	__u32 oflag;
	__u32 mode;
	__u32 kind;
	__u32 elem_size;
	__u32 cap;
	__u32 flags;
	__s32 fd;
	__u64 resv[2];
};

#define GOSYNC_OPEN_AUTOCLOSE	0x1U
#define GOSYNC_OPEN_FLAGS	GOSYNC_OPEN_AUTOCLOSE
#define GOSYNC_OPEN_CREATED	0x80000000U	/* out only */

#define GOSYNC_FS_IOC_OPEN	_IOWR(GOSYNC_IOC_MAGIC, 0x60, struct gosync_open)

/*
 * The shared region of a channel: mmap(NULL, map_size, PROT_READ |
 * PROT_WRITE, MAP_SHARED, fd, 0).  Offsets come from GOSYNC_CHAN_IOC_INFO
 * (and, for standalone channels, from the header); do not hard-code them.
 * The mapping is not inherited by fork (the child maps it again) and cannot
 * be split or grown.
 *
 * Who writes what ("user" is any process with the mapping; the kernel
 * validates everything it reads and never trusts it):
 *
 *   header	written once at creation; read-only afterwards
 *   tail	producers (CAS), and close (sets GOSYNC_TAIL_CLOSED)
 *   head	consumers (CAS)
 *   slot word	whoever owns the slot's current state, see below
 *   wait.armed	waiters set it; the waker that sees it set clears it
 *   wait.waiters kernel-mode channels: the kernel only (blocked
 *		receivers/senders in the kernel); standalone: the waiters
 *   wait.futex	standalone channels only: the waker bumps it (FUTEX_WAKE)
 *
 * The ordering between these accesses (which barrier pairs with which) is
 * tabled in docs/memory-model.md and drawn at the top of common/gosync_ring.h.
 */
#define GOSYNC_CHAN_MAGIC	0x676f6368	/* "goch" */

/**
 * struct gosync_chan_header - offset 0 of a channel's shared region
 *
 * Written once when the channel is made; the same values as
 * struct gosync_chan_info.  GOSYNC_CHAN_HDR_STANDALONE marks a ring made by
 * the library in a memfd, with no kernel behind it.
 */
struct gosync_chan_header {
	__u32 magic;
	__u32 abi_version;
	__u32 elem_size;
	__u32 cap;
	__u32 nslots;
	__u32 slot_size;
	__u32 flags;
	__u32 resv0;
	__u64 map_size;
	__u64 off_tail;
	__u64 off_head;
	__u64 off_recv_wait;
	__u64 off_send_wait;
	__u64 off_slots;
};

#define GOSYNC_CHAN_HDR_STANDALONE	0x1U

/*
 * tail: (position << 1) | GOSYNC_TAIL_CLOSED.  The position is the next one
 * a producer will claim; once CLOSED is set the tail never moves again, so
 * every position below it was claimed before the close.
 * head: the next position a consumer will claim.
 * Both only move forward, and are only hints: a slot's own word says whether
 * a position is taken.
 */
#define GOSYNC_TAIL_CLOSED	1ULL

/**
 * struct gosync_wait - one side (receivers or senders) of a channel's waits
 * @armed:	non-zero: someone may be waiting for this side's next event
 *		(an element published, for receivers; a slot freed or an
 *		element taken, for senders) and must be woken
 * @waiters:	how many are blocked in a receive (or send) right now
 * @futex:	standalone mode: the word waiters sleep on; bumped by wakes
 * @resv:	0
 */
struct gosync_wait {
	__u32 armed;
	__u32 waiters;
	__u32 futex;
	__u32 resv;
};

/*
 * Slot word (__u64, first 8 bytes of each slot; the element follows):
 *
 *   63            20 19            3 2     0
 *  [ position (44) | owner (17)     | state ]
 *
 * position is the ring position (modulo 2^44) the state refers to; owner is
 * the claimer's id from GOSYNC_CHAN_IOC_MAP (0: the kernel, or a standalone
 * ring) and is meaningful in WRITING and READING only.  Slot i starts as
 * FREE at position i.  Transitions (position p, n = nslots):
 *
 *   FREE(p)    -> WRITING(p)   producer claims (CAS)
 *   WRITING(p) -> FULL(p)      producer published the element
 *   WRITING(p) -> SYNC(p)      same, and the sender waits for a receiver
 *   WRITING(p) -> FREE(p)      producer found the channel closed at p
 *   FULL(p) or SYNC(p) -> READING(p)  consumer claims (CAS)
 *   SYNC(p)    -> SKIP(p)      sender withdrew the element (CAS)
 *   READING(p) -> FREE(p + n)  consumer copied the element out
 *   SKIP(p)    -> FREE(p + n)  a consumer passed the withdrawn position
 *   WRITING(p) -> SKIP(p)      kernel: the claiming mapping went away
 *   READING(p) -> FREE(p + n)  kernel: the claiming mapping went away
 */
#define GOSYNC_SLOT_STATE_BITS	3
#define GOSYNC_SLOT_OWNER_BITS	17
#define GOSYNC_SLOT_POS_SHIFT	(GOSYNC_SLOT_STATE_BITS + GOSYNC_SLOT_OWNER_BITS)
#define GOSYNC_SLOT_POS_BITS	(64 - GOSYNC_SLOT_POS_SHIFT)
#define GOSYNC_SLOT_OWNER_MAX	((1U << GOSYNC_SLOT_OWNER_BITS) - 1)

#define GOSYNC_SLOT_FREE	0
#define GOSYNC_SLOT_WRITING	1
#define GOSYNC_SLOT_FULL	2
#define GOSYNC_SLOT_SYNC	3
#define GOSYNC_SLOT_READING	4
#define GOSYNC_SLOT_SKIP	5

#endif /* _UAPI_LINUX_GOSYNC_H */
