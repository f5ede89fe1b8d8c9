/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * libgosync: Go-style channels and synchronisation for C and for IPC
 * between processes, on top of the gosync kernel module (/dev/gosync).
 *
 * Conventions (as liburing): every function that can fail returns a
 * negative errno value and never sets errno; nothing here starts a thread
 * or a process, exits, aborts or prints on the caller's behalf, but the
 * errgroup functions that say so in their names (gosync_group_go,
 * gosync_group_try_go, gosync_group_fork).  Every function is
 * thread-safe unless its man page says otherwise.
 */
#ifndef GOSYNC_H
#define GOSYNC_H

#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>
#include <linux/gosync.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GOSYNC_VERSION_MAJOR	0
#define GOSYNC_VERSION_MINOR	1
#define GOSYNC_VERSION_PATCH	0

/* The library's version as "MAJOR.MINOR.PATCH". */
const char *gosync_version(void);

/*
 * Ask the loaded module what it implements (GOSYNC_IOC_INFO).
 * 0 on success; -ENODEV when /dev/gosync does not exist (module not loaded);
 * -EINVAL for a NULL @info; any other -errno of open(2) or ioctl(2).
 */
int gosync_info(struct gosync_info *info);

/* ---------------------------------------------------------- deadlines -- */

/*
 * Every call that may wait takes an absolute CLOCK_MONOTONIC deadline in
 * nanoseconds (gosync_now() is that clock), or one of these.  A deadline
 * in the past still does what can be done without waiting, then fails
 * with -ETIMEDOUT; GOSYNC_NONBLOCK fails with -EAGAIN instead.
 */
#define GOSYNC_FOREVER	((int64_t)GOSYNC_DEADLINE_FOREVER)
#define GOSYNC_NONBLOCK	((int64_t)GOSYNC_DEADLINE_NONBLOCK)

int64_t gosync_now(void);		/* CLOCK_MONOTONIC, ns */
int64_t gosync_after(int64_t ns);	/* now + ns, at most GOSYNC_FOREVER */

/* ----------------------------------------------------------- channels -- */

/* Flags of gosync_chan_make() and gosync_chan_from_fd(). */
#define GOSYNC_STANDALONE	(1U << 0)	/* no module: memfd + futexes */
#define GOSYNC_CLOEXEC		(1U << 1)	/* the channel's fd is O_CLOEXEC */
#define GOSYNC_NOMAP		(1U << 2)	/* kernel path only: no mapping */
/*
 * At creation (gosync_chan_make, gosync_chan_open with O_CREAT; kernel
 * mode only): the kernel closes the channel when its last end that can
 * send is gone (gosync(4), GOSYNC_CHAN_AUTOCLOSE).
 */
#define GOSYNC_AUTOCLOSE	(1U << 3)
/*
 * Directional ends (kernel mode only): gosync_chan_dup()'s @dir, and what
 * gosync_chan_flags() reports of an end opened O_WRONLY or O_RDONLY or
 * made by gosync_chan_dup().  A directional end is never mapped.
 */
#define GOSYNC_SEND_ONLY	(1U << 4)	/* Go's chan<- T */
#define GOSYNC_RECV_ONLY	(1U << 5)	/* Go's <-chan T */

struct gosync_chan;

int gosync_chan_make(struct gosync_chan **ch, size_t elem_size, size_t cap,
		     unsigned int flags);
int gosync_chan_from_fd(struct gosync_chan **ch, int fd, unsigned int flags);
int gosync_chan_fd(const struct gosync_chan *ch);
/* The fd for io_uring commands (gosync_uring.h); -EOPNOTSUPP standalone. */
int gosync_chan_uring_fd(const struct gosync_chan *ch);
void gosync_chan_free(struct gosync_chan *ch);

/*
 * Named objects (gosync_chan_open(3)).  @name: "/name", one component of
 * at most 255 bytes.  @oflag: O_RDONLY, O_WRONLY or O_RDWR, optionally |
 * O_CREAT | O_EXCL | O_CLOEXEC.  @mode: as open(2), filtered by the
 * caller's umask, used with O_CREAT.  @elem_size, @cap: the shape when
 * made; when opening an existing channel, 0 means "whatever it has", and
 * a different non-zero value is -EINVAL.  @flags: GOSYNC_STANDALONE,
 * GOSYNC_AUTOCLOSE (at creation).  Kernel mode: in the gosync filesystem
 * mounted at $GOSYNC_FS, or GOSYNC_FS_DEFAULT; standalone: in the
 * directory $GOSYNC_SHM_DIR, or /dev/shm/gosync.
 */
int gosync_chan_open(struct gosync_chan **ch, const char *name, int oflag,
		     mode_t mode, size_t elem_size, size_t cap,
		     unsigned int flags);
/* Remove a name (any kind); the object lives while it is open.  @flags:
 * GOSYNC_STANDALONE, or 0. */
int gosync_unlink_flags(const char *name, unsigned int flags);
/* The gosync filesystem's name where one is mounted, else standalone's. */
int gosync_unlink(const char *name);
/* A new end that can only send (GOSYNC_SEND_ONLY) or only receive
 * (GOSYNC_RECV_ONLY), optionally | GOSYNC_CLOEXEC, with its own fd. */
int gosync_chan_dup(struct gosync_chan **end, const struct gosync_chan *ch,
		    unsigned int dir);

int gosync_chan_send(struct gosync_chan *ch, const void *elem,
		     int64_t deadline_ns);
int gosync_chan_send_sync(struct gosync_chan *ch, const void *elem,
			  int64_t deadline_ns);
int gosync_chan_recv(struct gosync_chan *ch, void *elem, int64_t deadline_ns);
int gosync_chan_send_n(struct gosync_chan *ch, const void *elems, size_t n,
		       int64_t deadline_ns);
int gosync_chan_recv_n(struct gosync_chan *ch, void *elems, size_t n,
		       int64_t deadline_ns);
int gosync_chan_close(struct gosync_chan *ch);

/* ------------------------------------------------------------- select -- */

#define GOSYNC_SEND	GOSYNC_SELECT_SEND
#define GOSYNC_RECV	GOSYNC_SELECT_RECV
#define GOSYNC_FDREADY	GOSYNC_SELECT_FDREADY	/* kernel mode only */

/*
 * One case of gosync_select(): @ch NULL is never ready (Go's nil
 * channel); @op GOSYNC_SEND or GOSYNC_RECV; @elem what to send or where to
 * receive; @ok, out, set on the case that fired: receive 1 (a value) or 0
 * (closed and drained, @elem zeroed), send 1; -EPIPE on the send case
 * that made the select fail because its channel is closed.
 *
 * @op GOSYNC_FDREADY (with @ch NULL, @elem unused) waits for any pollable
 * @fd (a pipe, socket, pidfd, timerfd, eventfd, a channel's fd) to report
 * one of the poll(2) @events (or POLLERR, POLLHUP); @ok is then its
 * revents; @fd -1 is never ready.  Kernel mode only: -EOPNOTSUPP without
 * the module or beside standalone channels.  (@fd and @events came in
 * 0.1 before its release and made the struct larger: initialise it by
 * member names, or zero it first.)
 */
struct gosync_case {
	struct gosync_chan *ch;
	int op;
	void *elem;
	int ok;
	int fd;
	unsigned int events;
};

int gosync_select(struct gosync_case *cases, size_t n, int64_t deadline_ns);

/* ------------------------------------------------------- sync objects -- */

/*
 * Go's sync across processes: one shared page each, made by the module
 * (flags: GOSYNC_CLOEXEC) or in a memfd (GOSYNC_STANDALONE), shared like a
 * channel (fork, SCM_RIGHTS, *_from_fd).  Uncontended operations are one
 * atomic instruction and no system call; waits are futex waits.
 */
struct gosync_wg;
struct gosync_mutex;
struct gosync_rwmutex;
struct gosync_once;
struct gosync_cond;

int  gosync_wg_make(struct gosync_wg **wg, unsigned int flags);
int  gosync_wg_from_fd(struct gosync_wg **wg, int fd, unsigned int flags);
/* By name, as gosync_chan_open(): @oflag O_RDWR [| O_CREAT | O_EXCL |
 * O_CLOEXEC]; @flags: GOSYNC_STANDALONE. */
int  gosync_wg_open(struct gosync_wg **wg, const char *name, int oflag,
		    mode_t mode, unsigned int flags);
int  gosync_mutex_open(struct gosync_mutex **m, const char *name, int oflag,
		       mode_t mode, unsigned int flags);
int  gosync_rwmutex_open(struct gosync_rwmutex **rw, const char *name,
			 int oflag, mode_t mode, unsigned int flags);
int  gosync_once_open(struct gosync_once **once, const char *name, int oflag,
		      mode_t mode, unsigned int flags);
int  gosync_cond_open(struct gosync_cond **c, const char *name, int oflag,
		      mode_t mode, unsigned int flags);
int  gosync_wg_fd(const struct gosync_wg *wg);
void gosync_wg_free(struct gosync_wg *wg);
int  gosync_wg_add(struct gosync_wg *wg, int delta);
int  gosync_wg_add_owned(struct gosync_wg *wg, int delta);
int  gosync_wg_done(struct gosync_wg *wg);
int  gosync_wg_wait(struct gosync_wg *wg, int64_t deadline_ns);

int  gosync_mutex_make(struct gosync_mutex **m, unsigned int flags);
int  gosync_mutex_from_fd(struct gosync_mutex **m, int fd, unsigned int flags);
int  gosync_mutex_fd(const struct gosync_mutex *m);
void gosync_mutex_free(struct gosync_mutex *m);
int  gosync_mutex_lock(struct gosync_mutex *m, int64_t deadline_ns);
int  gosync_mutex_trylock(struct gosync_mutex *m);
int  gosync_mutex_unlock(struct gosync_mutex *m);
int  gosync_mutex_consistent(struct gosync_mutex *m);

int  gosync_rwmutex_make(struct gosync_rwmutex **rw, unsigned int flags);
int  gosync_rwmutex_from_fd(struct gosync_rwmutex **rw, int fd,
			    unsigned int flags);
int  gosync_rwmutex_fd(const struct gosync_rwmutex *rw);
void gosync_rwmutex_free(struct gosync_rwmutex *rw);
int  gosync_rwmutex_lock(struct gosync_rwmutex *rw, int64_t deadline_ns);
int  gosync_rwmutex_trylock(struct gosync_rwmutex *rw);
int  gosync_rwmutex_unlock(struct gosync_rwmutex *rw);
int  gosync_rwmutex_rlock(struct gosync_rwmutex *rw, int64_t deadline_ns);
int  gosync_rwmutex_tryrlock(struct gosync_rwmutex *rw);
int  gosync_rwmutex_runlock(struct gosync_rwmutex *rw);
int  gosync_rwmutex_consistent(struct gosync_rwmutex *rw);

int  gosync_once_make(struct gosync_once **once, unsigned int flags);
int  gosync_once_from_fd(struct gosync_once **once, int fd, unsigned int flags);
int  gosync_once_fd(const struct gosync_once *once);
void gosync_once_free(struct gosync_once *once);
int  gosync_once_do(struct gosync_once *once, void (*fn)(void *arg), void *arg);

int  gosync_cond_make(struct gosync_cond **c, unsigned int flags);
int  gosync_cond_from_fd(struct gosync_cond **c, int fd, unsigned int flags);
int  gosync_cond_fd(const struct gosync_cond *c);
void gosync_cond_free(struct gosync_cond *c);
int  gosync_cond_wait(struct gosync_cond *c, struct gosync_mutex *m,
		      int64_t deadline_ns);
int  gosync_cond_signal(struct gosync_cond *c);
int  gosync_cond_broadcast(struct gosync_cond *c);

size_t gosync_chan_len(const struct gosync_chan *ch);
size_t gosync_chan_cap(const struct gosync_chan *ch);
size_t gosync_chan_elem_size(const struct gosync_chan *ch);
/*
 * The mode the handle got: GOSYNC_STANDALONE or not, GOSYNC_NOMAP, and
 * GOSYNC_CLOEXEC when its fd has FD_CLOEXEC now; 0 for NULL.
 */
unsigned int gosync_chan_flags(const struct gosync_chan *ch);

/* ----------------------------------------------------------- contexts -- */

/*
 * Go's context.Context across processes: in kernel mode (a module with
 * GOSYNC_FEAT_CTX) or standalone (GOSYNC_STANDALONE: a tree of contexts
 * in a memfd, whose deadlines are looked at rather than timed, and which
 * has no GOSYNC_CTX_CANCEL_ON_EXIT or names: gosync_ctx_make(3)).  A
 * child is in its parent's mode.  A context is done once: when
 * cancelled (gosync_ctx_cancel), when its deadline passes (a kernel
 * timer), when its parent is done, or (GOSYNC_CTX_CANCEL_ON_EXIT, the
 * uapi's bit) when every thread of the process that made it is gone.
 * gosync_ctx_err() and gosync_ctx_cause() read its shared page: no
 * system call.  Shared as the other objects are (fork, SCM_RIGHTS,
 * gosync_ctx_from_fd).
 *
 * @flags of gosync_ctx_make() and gosync_ctx_with_deadline():
 * GOSYNC_CTX_CANCEL_ON_EXIT, GOSYNC_CLOEXEC (the context's fd), or 0
 * (GOSYNC_STANDALONE: a standalone root); of gosync_ctx_from_fd() and
 * gosync_ctx_open(): GOSYNC_CLOEXEC (of the fd it duplicates or opens),
 * GOSYNC_STANDALONE (from_fd: changes nothing, the fd says what it is;
 * open: -EOPNOTSUPP), or 0.
 * @deadline_ns: absolute CLOCK_MONOTONIC, or GOSYNC_FOREVER; never later
 * than the parent's.
 */
struct gosync_ctx;

int  gosync_ctx_make(struct gosync_ctx **ctx, struct gosync_ctx *parent,
		     unsigned int flags);
int  gosync_ctx_with_deadline(struct gosync_ctx **ctx,
			      struct gosync_ctx *parent, int64_t deadline_ns,
			      unsigned int flags);
/* A child carrying @len bytes at @val under @key (1..GOSYNC_CTX_KEY_MAX
 * bytes; @len up to GOSYNC_CTX_VAL_MAX), and its parent's values: -E2BIG
 * past GOSYNC_CTX_VALUES_MAX bytes of records in all. */
int  gosync_ctx_with_value(struct gosync_ctx **ctx, struct gosync_ctx *parent,
			   const char *key, const void *val, size_t len);
/* The value under @key into @buf (*@len bytes; set to its length):
 * -ENOENT if absent, -ERANGE (*@len set) if @buf is too small. */
int  gosync_ctx_value(const struct gosync_ctx *ctx, const char *key,
		      void *buf, size_t *len);
/* A root context by name: @oflag O_RDONLY (may watch, not cancel:
 * -EBADF) or O_RDWR [| O_CREAT | O_EXCL]. */
int  gosync_ctx_open(struct gosync_ctx **ctx, const char *name, int oflag,
		     mode_t mode, unsigned int flags);
/* @cause: a positive errno (1..GOSYNC_CTX_CAUSE_MAX), or 0 for ECANCELED; 0 also when
 * the context was done already (the first cause stays). */
int  gosync_ctx_cancel(struct gosync_ctx *ctx, int cause);
/* 0 while live, then -ECANCELED or -ETIMEDOUT. */
int  gosync_ctx_err(const struct gosync_ctx *ctx);
/* 0 while live, then the positive cause. */
int  gosync_ctx_cause(const struct gosync_ctx *ctx);
/* Its deadline, or GOSYNC_FOREVER. */
int64_t gosync_ctx_deadline(const struct gosync_ctx *ctx);
/* A receive-only channel of 0-byte elements, closed once the context is
 * done; owned by the context (freed by gosync_ctx_free); NULL when it
 * cannot be made (no fd or memory; a later call tries again). */
struct gosync_chan *gosync_ctx_done(struct gosync_ctx *ctx);
int  gosync_ctx_fd(const struct gosync_ctx *ctx);
int  gosync_ctx_from_fd(struct gosync_ctx **ctx, int fd, unsigned int flags);
void gosync_ctx_free(struct gosync_ctx *ctx);
/* Waits bounded by a context (no deadline of their own: the context's
 * is its timer): as gosync_chan_send(), gosync_chan_recv() and
 * gosync_wg_wait(), or the context's error when it is done first (a
 * context done already wins at once).  The channel in the context's
 * mode (else -EOPNOTSUPP); waitgroups: kernel mode only. */
int  gosync_chan_send_ctx(struct gosync_chan *ch, const void *elem,
			  struct gosync_ctx *ctx);
int  gosync_chan_recv_ctx(struct gosync_chan *ch, void *elem,
			  struct gosync_ctx *ctx);
int  gosync_wg_wait_ctx(struct gosync_wg *wg, struct gosync_ctx *ctx);

/* ----------------------------------------------------------- errgroups -- */

/*
 * Go's errgroup across threads and processes (kernel mode: a group is a
 * context): the first task to return non-zero cancels the group's
 * context, its error as the cause; gosync_group_wait() returns that first
 * error once every task has ended.  gosync_group_go() starts a thread,
 * gosync_group_fork() a process (its result is its exit status; a death
 * by a signal fails the group at once with -EOWNERDEAD).  @flags of
 * gosync_group_make(): GOSYNC_CTX_CANCEL_ON_EXIT (the forked tasks see
 * the context cancelled when the process that waits on them is gone),
 * GOSYNC_CLOEXEC, or 0.  These start work, and say so in their names;
 * nothing else in the library does.
 */
struct gosync_group;

int  gosync_group_make(struct gosync_group **g, struct gosync_ctx *parent,
		       unsigned int flags);
struct gosync_ctx *gosync_group_ctx(struct gosync_group *g);
/* Tasks that may run at once (< 0: no limit; 0 is -EINVAL); -EBUSY
 * while tasks run. */
int  gosync_group_set_limit(struct gosync_group *g, int n);
int  gosync_group_go(struct gosync_group *g,
		     int (*fn)(struct gosync_ctx *ctx, void *arg), void *arg);
/* As gosync_group_go(), or -EAGAIN at the limit. */
int  gosync_group_try_go(struct gosync_group *g,
			 int (*fn)(struct gosync_ctx *ctx, void *arg), void *arg);
int  gosync_group_fork(struct gosync_group *g,
		       int (*fn)(struct gosync_ctx *ctx, void *arg), void *arg);
/* 0 or the first error, once every task has ended (joined, reaped). */
int  gosync_group_wait(struct gosync_group *g);
/* Waits for the tasks first (gosync_group_wait), then frees. */
void gosync_group_free(struct gosync_group *g);

#ifdef __cplusplus
}
#endif

#endif /* GOSYNC_H */
