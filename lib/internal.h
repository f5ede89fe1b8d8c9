/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * libgosync: declarations shared by the library's files, not exported.
 * The tests include it too, to reach the ring below the public API.
 */
#ifndef GOSYNC_INTERNAL_H
#define GOSYNC_INTERNAL_H

#include <errno.h>
#include <stdbool.h>

/*
 * The library is compiled with -fvisibility=hidden, so nothing of its
 * own leaks out of the shared object; the public API, declared in
 * gosync.h, is what it exports (lib/libgosync.map then says which
 * version node).
 */
#pragma GCC visibility push(default)
#include "gosync.h"
#pragma GCC visibility pop
#include "ring.h"

#define GOSYNC_XSTR(x)	#x
#define GOSYNC_STR(x)	GOSYNC_XSTR(x)

/* The largest standalone ring, as the module's default max_obj_bytes. */
#define GOSYNC_STANDALONE_MAX_BYTES	(64UL << 20)
/*
 * The most bytes of elements one send_n/recv_n moves: the kernel's
 * MAX_RW_COUNT (INT_MAX rounded down to a page; 0x7ffff000 with 4 KiB
 * pages), what its ioctls accept; the same in every mode.
 */
#define GOSYNC_MAX_XFER	((size_t)(INT_MAX & ~(sysconf(_SC_PAGESIZE) - 1)))
/* The most elements of @size bytes one send_n/recv_n moves; 0 counts as 1. */
#define GOSYNC_MAX_ELEMS(size)	(GOSYNC_MAX_XFER / ((size) ? (size) : 1))

/*
 * The library leaves errno as it found it (libgosync(7)): it reports
 * errors as return values only.  Every exported function's first line is
 * GOSYNC_KEEP_ERRNO, which puts errno back on each return path (after
 * the return value, -errno included, has been computed); those with a
 * fast path of atomics alone (mutex lock and unlock, waitgroup add and
 * done) keep it there by calling nothing, and their slow halves start
 * with GOSYNC_KEEP_ERRNO.  A function
 * that runs the caller's code (gosync_once_do) stores what that code
 * left in gosync_saved_errno, so the caller sees its own change.
 */
static inline void gosync_errno_restore(int *saved)
{
	errno = *saved;
}

#define GOSYNC_KEEP_ERRNO						\
	int gosync_saved_errno						\
		__attribute__((cleanup(gosync_errno_restore))) = errno

/* ---- device.c ---- */

/*
 * The process-wide fd of /dev/gosync, opened on first use; or -errno.
 * Without the device node (a container that has only a gosync mount),
 * the mount's root directory, which answers the same ioctls.
 */
int gosync_dev_fd(void);
/* The module's GOSYNC_FEAT_* bits (asked once), or -errno. */
int64_t gosync_dev_features(void);

/* ---- wait.c: time, futexes, fork ---- */

/* A deadline a call accepts: absolute ns, or GOSYNC_NONBLOCK. */
static inline bool gosync_deadline_valid(int64_t deadline_ns)
{
	return deadline_ns >= 0 || deadline_ns == GOSYNC_NONBLOCK;
}
bool gosync_deadline_passed(int64_t deadline_ns);

/*
 * Sleep while *@word == @val, until woken, @deadline_ns (absolute
 * CLOCK_MONOTONIC) or a signal.  Non-private: the word is shared.
 * Return: 0 (woken, or the word changed), -ETIMEDOUT, -EINTR.
 */
int gosync_futex_wait(uint32_t *word, uint32_t val, int64_t deadline_ns);
void gosync_futex_wake_all(uint32_t *word);

/*
 * Bumped in the child of every fork(): kernel-mode mappings are not
 * inherited (VM_DONTCOPY), so a channel mapped under an older generation
 * must be mapped again before use.
 */
unsigned long gosync_fork_generation(void);
void gosync_fork_watch(void);
extern unsigned long gosync_fork_gen;	/* read: gosync_fork_generation() */

/*
 * Retries before an operation that would wait goes to sleep: the peer on
 * the other CPU is often about to make it possible.  GOSYNC_SPIN in the
 * environment sets it (0: never spin; at most GOSYNC_SPIN_MAX).
 */
#define GOSYNC_SPIN_DEFAULT	200
#define GOSYNC_SPIN_MAX		1000000
int gosync_spin_iters(void);

/*
 * Spin on while @left rounds remain: every 64 rounds the clock is read, so
 * that a long GOSYNC_SPIN never outlives the caller's deadline.
 */
static inline bool gosync_spin_on(int left, int64_t deadline)
{
	return left > 0 && ((left & 63) || deadline == GOSYNC_FOREVER ||
			    !gosync_deadline_passed(deadline));
}

/*
 * Make a kernel-mode mapping valid in this process: when *@gen is not the
 * fork generation, one caller runs @remap (the others wait for it) and
 * publishes the generation.  Return: 0 or @remap's error.
 */
int gosync_fork_remap(unsigned long *gen, int (*remap)(void *arg), void *arg);

/* FUTEX_WAKE up to @n waiters of a shared word: how many, or -errno. */
int gosync_futex_wake(uint32_t *word, int n);

/* ---- chan.c ---- */

/**
 * struct gosync_chan_view - a channel's mapping in this process
 * @base:	start of the mapping (NULL: not mapped)
 * @ring:	the ring's words in it, with this mapping's owner id
 * @recv:	receivers' wait words
 * @send:	senders' wait words
 */
struct gosync_chan_view {
	void *base;
	struct gosync_ring ring;
	struct gosync_wait *recv;
	struct gosync_wait *send;
};

/**
 * struct gosync_chan - the library's handle on a channel
 * @fd:		the channel (kernel mode) or the memfd or named file (standalone)
 * @flags:	GOSYNC_STANDALONE, GOSYNC_NOMAP; a directional end's
 *		GOSYNC_SEND_ONLY or GOSYNC_RECV_ONLY (with GOSYNC_NOMAP);
 *		GOSYNC_AUTOCLOSE (the kernel's GOSYNC_CHAN_STATE_AUTOCLOSE)
 * @layout:	sizes and offsets (from the kernel, or the memfd's header)
 * @map:	the mapping, valid while @gen is the fork generation
 * @gen:	fork generation @map was made in (0: being remapped)
 * @ctx:	a standalone context's done channel: that context (ctx.c),
 *		else NULL
 */
struct gosync_chan {
	int fd;
	unsigned int flags;
	struct gosync_chan_header layout;
	struct gosync_chan_view map;
	unsigned long gen;
	struct gosync_ctx *ctx;
};

/*
 * The mapping to use now: maps the channel again after a fork.
 * NULL with *@err set when that fails.
 */
struct gosync_chan_view *gosync_chan_mapping(struct gosync_chan *ch, int *err);

/*
 * Standalone: how long a non-blocking unbuffered send (or select, or
 * batch, for all its hand-offs) waits for a receiver it saw waiting to
 * take the element.
 */
#define GOSYNC_HANDOFF_NS	(100 * 1000000LL)

/* For select.c: one-shot case attempts and the cases' wait words. */
bool gosync_chan_is_standalone(const struct gosync_chan *ch);
int gosync_chan_select_try(struct gosync_chan *ch, int op, void *elem,
			   uint32_t self, int64_t until, int *ok);
struct gosync_wait *gosync_chan_select_side(struct gosync_chan *ch, int op);
void gosync_chan_select_arm(struct gosync_wait *w);
void gosync_chan_select_receiving(struct gosync_chan *ch, int delta);
/* May this handle do @op (GOSYNC_SEND, GOSYNC_RECV)?  0 or -EBADF. */
int gosync_chan_may(const struct gosync_chan *ch, int op);
/*
 * Make a handle of @fd, which it then owns (closed on failure): a kernel
 * channel or end, or a standalone ring.  @flags: GOSYNC_STANDALONE,
 * GOSYNC_CLOEXEC, GOSYNC_NOMAP.  For ctx.c's done channels.
 */
int gosync_chan_adopt(struct gosync_chan **chp, int fd, unsigned int flags);
/*
 * Standalone: after the caller's state change, the fence E and a wake of
 * @w's waiters if one armed it (the wait-word protocol of chan.c).
 */
void gosync_wait_wake_if_armed(struct gosync_wait *w);
/*
 * A standalone context's done channel (ctx.c): a private channel of
 * 0-byte elements, receive-only, whose receivers wait on @w (the
 * context tree's wait words) and which is closed exactly when a look at
 * @ctx finds it done (its own ring is never consulted).  0 or -errno.
 */
int gosync_chan_make_done(struct gosync_chan **chp, struct gosync_wait *w,
			  struct gosync_ctx *ctx);

/* ---- ctx.c: for chan.c and select.c ---- */

/*
 * When a standalone context may be done without a wake: its deadline,
 * or GOSYNC_SYNC_POLL_NS from now (a canceller killed before its wake),
 * whichever comes first.
 */
int64_t gosync_ctx_wake_by(const struct gosync_ctx *ctx);

/* ---- sync.c: what the sync objects share ---- */

/* How often a kernel-mode waiter looks for an owner that died. */
#define GOSYNC_SYNC_POLL_NS	(100 * 1000000LL)

/**
 * struct gosync_sync - the library's handle on a sync object
 * @fd:		the object (kernel mode) or its memfd (standalone)
 * @flags:	GOSYNC_STANDALONE, GOSYNC_CLOEXEC
 * @base:	the page, in this process
 * @owner:	this mapping's owner id (0 in standalone mode)
 * @gen:	fork generation of the mapping (kernel mode)
 */
struct gosync_sync {
	int fd;
	unsigned int flags;
	void *base;
	uint32_t owner;
	unsigned long gen;
};

int gosync_sync_make(struct gosync_sync **so, uint32_t kind,
		     unsigned int flags);
int gosync_sync_from_fd(struct gosync_sync **so, uint32_t kind, int fd,
			unsigned int flags);
int gosync_sync_open(struct gosync_sync **so, uint32_t kind, const char *name,
		     int oflag, mode_t mode, unsigned int flags);
int gosync_sync_fd(const struct gosync_sync *so);
void gosync_sync_free(struct gosync_sync *so);
/* The kind's words, valid in this process (mapped again after a fork). */
void *gosync_sync_words_slow(struct gosync_sync *so, int *err);

/* The words if they are mapped for this process as they are, else NULL. */
static inline void *gosync_sync_words_ready(const struct gosync_sync *so)
{
	if ((so->flags & GOSYNC_STANDALONE) ||
	    __atomic_load_n(&so->gen, __ATOMIC_ACQUIRE) ==
	    __atomic_load_n(&gosync_fork_gen, __ATOMIC_ACQUIRE))
		return (unsigned char *)so->base + GOSYNC_SYNC_OFF_WORDS;
	return NULL;
}

static inline void *gosync_sync_words(struct gosync_sync *so, int *err)
{
	void *w = gosync_sync_words_ready(so);

	return w ? w : gosync_sync_words_slow(so, err);
}
bool gosync_sync_kernel(const struct gosync_sync *so);

/*
 * A wait slice: in kernel mode a mutex's or Once's waiter wakes at least
 * every GOSYNC_SYNC_POLL_NS to see whether the kernel marked its owner
 * dead (the kernel cannot wake a futex).
 */
int64_t gosync_sync_slice(const struct gosync_sync *so, int64_t deadline);

/* mutex.c, for rwmutex.c and cond.c. */
int gosync_mutex_lock_words(struct gosync_sync *so,
			    struct gosync_mutex_words *w, int64_t deadline);
int gosync_mutex_trylock_words(struct gosync_sync *so,
			       struct gosync_mutex_words *w);
int gosync_mutex_unlock_words(struct gosync_mutex_words *w);
int gosync_mutex_consistent_words(struct gosync_sync *so,
				  struct gosync_mutex_words *w);

/* ---- name.c: what named objects share ---- */

/*
 * Standalone objects are files of a tmpfs directory: a memfd sealed at
 * its size (F_SEAL_SHRINK | F_SEAL_GROW), or a named file, which cannot
 * be sealed (its seals are exactly F_SEAL_SEAL).  gosync_shm_size() gives
 * a new one its size (and the seals, where it can have them);
 * gosync_shm_seals_ok() says whether a file is one of the two.
 */
int gosync_shm_size(int fd, off_t size);
bool gosync_shm_seals_ok(int fd);

/**
 * struct gosync_name_req - what gosync_name_open() opens or makes
 * @name:	"/name", as the caller gave it
 * @oflag:	O_RDONLY, O_WRONLY or O_RDWR [| O_CREAT | O_EXCL | O_CLOEXEC]
 * @mode:	with O_CREAT: the permission bits, less the umask
 * @kind:	GOSYNC_KIND_CHAN or a GOSYNC_SYNC_* kind
 * @elem_size:	a channel's shape (0: when it exists, whatever it has)
 * @cap:	the same
 * @flags:	GOSYNC_STANDALONE, GOSYNC_AUTOCLOSE, GOSYNC_NOMAP
 * @init:	standalone: write a new object of @kind into @fd, a file not
 *		yet named; 0 or -errno
 */
struct gosync_name_req {
	const char *name;
	int oflag;
	mode_t mode;
	uint32_t kind;
	size_t elem_size;
	size_t cap;
	unsigned int flags;
	int (*init)(int fd, const struct gosync_name_req *req);
};

/*
 * Check @req's name, oflag and mode, then open or make it: in the gosync
 * filesystem (kernel mode: GOSYNC_FS_IOC_OPEN), or in the standalone
 * directory (an existing name is checked to be of @req->kind: else
 * -EMEDIUMTYPE).  Return: the object's fd (owned by the caller), or
 * -errno.  The shape is the caller's to check in standalone mode.
 */
int gosync_name_open(const struct gosync_name_req *req);
/* The gosync filesystem's root ($GOSYNC_FS, else GOSYNC_FS_DEFAULT): an
 * fd, or -ENODEV when it is missing or not a gosync mount. */
int gosync_fs_root(void);

#endif /* GOSYNC_INTERNAL_H */
