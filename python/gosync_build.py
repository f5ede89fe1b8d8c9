# SPDX-License-Identifier: GPL-2.0 OR MIT
"""cffi (API mode) description of libgosync for the gosync Python package.

Run by the Makefile as ``python3 gosync_build.py OUT.c``: it only writes the
extension's C source; the Makefile compiles it with the project's compiler
flags and links it with build/lib/libgosync.a, so the module needs no
libgosync.so at run time and nothing is downloaded.
"""
import sys

import cffi

CDEF = r"""
#define GOSYNC_STANDALONE ...
#define GOSYNC_CLOEXEC ...
#define GOSYNC_NOMAP ...
#define GOSYNC_AUTOCLOSE ...
#define GOSYNC_SEND_ONLY ...
#define GOSYNC_RECV_ONLY ...
#define GOSYNC_SEND ...
#define GOSYNC_RECV ...
#define GOSYNC_FDREADY ...
#define GOSYNC_CTX_CANCEL_ON_EXIT ...
#define GOSYNC_CTX_KEY_MAX ...
#define GOSYNC_CTX_VAL_MAX ...
#define GOSYNC_CTX_CAUSE_MAX ...
#define GOSYNC_SELECT_MAX ...
#define O_RDONLY ...
#define O_WRONLY ...
#define O_RDWR ...
#define O_CREAT ...
#define O_EXCL ...
#define O_CLOEXEC ...
#define EINTR ...
#define EIO ...
#define EINVAL ...

typedef int... mode_t;

static const int64_t GOSYNC_FOREVER;
static const int64_t GOSYNC_NONBLOCK;

const char *gosync_version(void);
int64_t gosync_now(void);
int64_t gosync_after(int64_t ns);

struct gosync_chan;
int gosync_chan_make(struct gosync_chan **ch, size_t elem_size, size_t cap,
                     unsigned int flags);
int gosync_chan_from_fd(struct gosync_chan **ch, int fd, unsigned int flags);
int gosync_chan_open(struct gosync_chan **ch, const char *name, int oflag,
                     mode_t mode, size_t elem_size, size_t cap,
                     unsigned int flags);
int gosync_chan_dup(struct gosync_chan **end, const struct gosync_chan *ch,
                    unsigned int dir);
int gosync_chan_fd(const struct gosync_chan *ch);
void gosync_chan_free(struct gosync_chan *ch);
int gosync_unlink_flags(const char *name, unsigned int flags);
int gosync_unlink(const char *name);
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
size_t gosync_chan_len(const struct gosync_chan *ch);
size_t gosync_chan_cap(const struct gosync_chan *ch);
size_t gosync_chan_elem_size(const struct gosync_chan *ch);
unsigned int gosync_chan_flags(const struct gosync_chan *ch);

struct gosync_case {
    struct gosync_chan *ch;
    int op;
    void *elem;
    int ok;
    int fd;
    unsigned int events;
    ...;
};
int gosync_select(struct gosync_case *cases, size_t n, int64_t deadline_ns);

struct gosync_wg;
struct gosync_mutex;
struct gosync_rwmutex;
struct gosync_once;
struct gosync_cond;
int  gosync_wg_make(struct gosync_wg **wg, unsigned int flags);
int  gosync_wg_from_fd(struct gosync_wg **wg, int fd, unsigned int flags);
int  gosync_wg_open(struct gosync_wg **wg, const char *name, int oflag,
                    mode_t mode, unsigned int flags);
int  gosync_wg_fd(const struct gosync_wg *wg);
void gosync_wg_free(struct gosync_wg *wg);
int  gosync_wg_add(struct gosync_wg *wg, int delta);
int  gosync_wg_add_owned(struct gosync_wg *wg, int delta);
int  gosync_wg_done(struct gosync_wg *wg);
int  gosync_wg_wait(struct gosync_wg *wg, int64_t deadline_ns);

int  gosync_mutex_make(struct gosync_mutex **m, unsigned int flags);
int  gosync_mutex_from_fd(struct gosync_mutex **m, int fd, unsigned int flags);
int  gosync_mutex_open(struct gosync_mutex **m, const char *name, int oflag,
                       mode_t mode, unsigned int flags);
int  gosync_mutex_fd(const struct gosync_mutex *m);
void gosync_mutex_free(struct gosync_mutex *m);
int  gosync_mutex_lock(struct gosync_mutex *m, int64_t deadline_ns);
int  gosync_mutex_trylock(struct gosync_mutex *m);
int  gosync_mutex_unlock(struct gosync_mutex *m);
int  gosync_mutex_consistent(struct gosync_mutex *m);

int  gosync_rwmutex_make(struct gosync_rwmutex **rw, unsigned int flags);
int  gosync_rwmutex_from_fd(struct gosync_rwmutex **rw, int fd,
                            unsigned int flags);
int  gosync_rwmutex_open(struct gosync_rwmutex **rw, const char *name,
                         int oflag, mode_t mode, unsigned int flags);
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
int  gosync_once_open(struct gosync_once **once, const char *name, int oflag,
                      mode_t mode, unsigned int flags);
int  gosync_once_fd(const struct gosync_once *once);
void gosync_once_free(struct gosync_once *once);
int  gosync_once_do(struct gosync_once *once, void (*fn)(void *arg), void *arg);

int  gosync_cond_make(struct gosync_cond **c, unsigned int flags);
int  gosync_cond_from_fd(struct gosync_cond **c, int fd, unsigned int flags);
int  gosync_cond_open(struct gosync_cond **c, const char *name, int oflag,
                      mode_t mode, unsigned int flags);
int  gosync_cond_fd(const struct gosync_cond *c);
void gosync_cond_free(struct gosync_cond *c);
int  gosync_cond_wait(struct gosync_cond *c, struct gosync_mutex *m,
                      int64_t deadline_ns);
int  gosync_cond_signal(struct gosync_cond *c);
int  gosync_cond_broadcast(struct gosync_cond *c);

struct gosync_ctx;
int  gosync_ctx_make(struct gosync_ctx **ctx, struct gosync_ctx *parent,
                     unsigned int flags);
int  gosync_ctx_with_deadline(struct gosync_ctx **ctx,
                              struct gosync_ctx *parent, int64_t deadline_ns,
                              unsigned int flags);
int  gosync_ctx_with_value(struct gosync_ctx **ctx, struct gosync_ctx *parent,
                           const char *key, const void *val, size_t len);
int  gosync_ctx_value(const struct gosync_ctx *ctx, const char *key,
                      void *buf, size_t *len);
int  gosync_ctx_open(struct gosync_ctx **ctx, const char *name, int oflag,
                     mode_t mode, unsigned int flags);
int  gosync_ctx_cancel(struct gosync_ctx *ctx, int cause);
int  gosync_ctx_err(const struct gosync_ctx *ctx);
int  gosync_ctx_cause(const struct gosync_ctx *ctx);
int64_t gosync_ctx_deadline(const struct gosync_ctx *ctx);
struct gosync_chan *gosync_ctx_done(struct gosync_ctx *ctx);
int  gosync_ctx_fd(const struct gosync_ctx *ctx);
int  gosync_ctx_from_fd(struct gosync_ctx **ctx, int fd, unsigned int flags);
void gosync_ctx_free(struct gosync_ctx *ctx);
int  gosync_chan_send_ctx(struct gosync_chan *ch, const void *elem,
                          struct gosync_ctx *ctx);
int  gosync_chan_recv_ctx(struct gosync_chan *ch, void *elem,
                          struct gosync_ctx *ctx);
int  gosync_wg_wait_ctx(struct gosync_wg *wg, struct gosync_ctx *ctx);

struct gosync_group;
int  gosync_group_make(struct gosync_group **g, struct gosync_ctx *parent,
                       unsigned int flags);
struct gosync_ctx *gosync_group_ctx(struct gosync_group *g);
int  gosync_group_set_limit(struct gosync_group *g, int n);
int  gosync_group_wait(struct gosync_group *g);
void gosync_group_free(struct gosync_group *g);

/* The package's own glue (below): tasks and once bodies that call back
 * into Python. */
extern "Python" int gosync_py_task(struct gosync_ctx *ctx, void *arg);
extern "Python" void gosync_py_once(void *arg);
int gosync_py_group_go(struct gosync_group *g, void *arg, int try_only);
int gosync_py_once_do(struct gosync_once *once, void *arg);
/* The calls that move an element or take a lock, with their result also
 * stored at *res, where Python finds it when a signal handler's exception
 * (Ctrl-C) is raised as the call returns, before its value is seen; res
 * may be NULL.  gosync_py_send takes a char pointer: a bytes object is
 * passed as it is, with no copy. */
int gosync_py_send(struct gosync_chan *ch, const char *elem,
                   int64_t deadline_ns, int *res);
int gosync_py_send_sync(struct gosync_chan *ch, const void *elem,
                        int64_t deadline_ns, int *res);
int gosync_py_recv(struct gosync_chan *ch, void *elem, int64_t deadline_ns,
                   int *res);
int gosync_py_send_n(struct gosync_chan *ch, const void *elems, size_t n,
                     int64_t deadline_ns, int *res);
int gosync_py_recv_n(struct gosync_chan *ch, void *elems, size_t n,
                     int64_t deadline_ns, int *res);
int gosync_py_send_ctx(struct gosync_chan *ch, const void *elem,
                       struct gosync_ctx *ctx, int *res);
int gosync_py_recv_ctx(struct gosync_chan *ch, void *elem,
                       struct gosync_ctx *ctx, int *res);
int gosync_py_select(struct gosync_case *cases, size_t n, int64_t deadline_ns,
                     int *res);
int gosync_py_mutex_lock(struct gosync_mutex *m, int64_t deadline_ns,
                         int *res);
int gosync_py_rwmutex_lock(struct gosync_rwmutex *rw, int64_t deadline_ns,
                           int *res);
int gosync_py_rwmutex_rlock(struct gosync_rwmutex *rw, int64_t deadline_ns,
                            int *res);
"""

# The glue: cffi releases the GIL around every call it makes, and
# gosync_py_task / gosync_py_once take it back (extern "Python").  A
# forked task is not started here: Group.fork runs a thread task that
# forks the way os.fork does (CPython's fork hooks, the GIL held).
SOURCE = r"""
#include <errno.h>
#include <fcntl.h>
#include <gosync.h>

static int gosync_py_task(struct gosync_ctx *ctx, void *arg);
static void gosync_py_once(void *arg);

int gosync_py_group_go(struct gosync_group *g, void *arg, int try_only)
{
	return try_only ? gosync_group_try_go(g, gosync_py_task, arg) :
			  gosync_group_go(g, gosync_py_task, arg);
}

int gosync_py_once_do(struct gosync_once *once, void *arg)
{
	return gosync_once_do(once, gosync_py_once, arg);
}

#define GOSYNC_PY_RES(name, decl, call)				\
int gosync_py_##name decl						\
{									\
	int r = call;							\
									\
	if (res)							\
		*res = r;						\
	return r;							\
}
GOSYNC_PY_RES(send, (struct gosync_chan *ch, const char *elem, int64_t d,
		     int *res), gosync_chan_send(ch, elem, d))
GOSYNC_PY_RES(send_sync, (struct gosync_chan *ch, const void *elem, int64_t d,
			  int *res), gosync_chan_send_sync(ch, elem, d))
GOSYNC_PY_RES(recv, (struct gosync_chan *ch, void *elem, int64_t d, int *res),
	      gosync_chan_recv(ch, elem, d))
GOSYNC_PY_RES(send_n, (struct gosync_chan *ch, const void *e, size_t n,
		       int64_t d, int *res), gosync_chan_send_n(ch, e, n, d))
GOSYNC_PY_RES(recv_n, (struct gosync_chan *ch, void *e, size_t n, int64_t d,
		       int *res), gosync_chan_recv_n(ch, e, n, d))
GOSYNC_PY_RES(send_ctx, (struct gosync_chan *ch, const void *elem,
			 struct gosync_ctx *ctx, int *res),
	      gosync_chan_send_ctx(ch, elem, ctx))
GOSYNC_PY_RES(recv_ctx, (struct gosync_chan *ch, void *elem,
			 struct gosync_ctx *ctx, int *res),
	      gosync_chan_recv_ctx(ch, elem, ctx))
GOSYNC_PY_RES(select, (struct gosync_case *c, size_t n, int64_t d, int *res),
	      gosync_select(c, n, d))
GOSYNC_PY_RES(mutex_lock, (struct gosync_mutex *m, int64_t d, int *res),
	      gosync_mutex_lock(m, d))
GOSYNC_PY_RES(rwmutex_lock, (struct gosync_rwmutex *rw, int64_t d, int *res),
	      gosync_rwmutex_lock(rw, d))
GOSYNC_PY_RES(rwmutex_rlock, (struct gosync_rwmutex *rw, int64_t d, int *res),
	      gosync_rwmutex_rlock(rw, d))
"""


def builder(objs=()):
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source("gosync._gosync", SOURCE, extra_objects=list(objs))
    return ffi


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: gosync_build.py OUT.c")
    builder().emit_c_code(sys.argv[1])
