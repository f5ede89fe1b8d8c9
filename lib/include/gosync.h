/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * libgosync: Go-style channels and synchronisation for C and for IPC
 * between processes, on top of the gosync kernel module (/dev/gosync).
 *
 * Conventions (as liburing): every function that can fail returns a
 * negative errno value and never sets errno; nothing here starts a thread,
 * exits, aborts or prints on the caller's behalf.  Every function is
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

#ifdef __cplusplus
}
#endif

#endif /* GOSYNC_H */
