// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libgosync: contexts, Go's context.Context across processes.
 *
 * Kernel mode only (GOSYNC_FEAT_CTX): a context is an fd of the module,
 * which alone decides and records when it is done (kmod/ctx.c).  Its
 * page, a sync object's layout (struct gosync_sync_header, then struct
 * gosync_ctx_words at info.off_words), is mapped read-only into every
 * process that has a handle, so Err and Cause are a load, no system
 * call; a forked child maps it again on first use (the kernel's
 * mappings are not inherited), as the sync objects do.  Cancel and
 * making a context are ioctls.  The done channel is the module's, a
 * receive-only end (never mapped: every receive on it is the kernel's),
 * asked for once per handle, on first use.
 *
 * Ordering (gosync_ctx_publish() in kmod/ctx.c; models/ctx.pml):
 *
 *   kernel, cancelling (its lock held)     library: err, cause
 *     words.cause = cause                    load-acquire words.state [CTX-B]
 *     store-release words.state     [CTX-A]  set: load words.cause
 *     close the done channel
 *
 * A state seen set has its cause with it; the done channel closes after
 * the state is set, so a receiver that saw it closed sees the state too.
 *
 * Standalone contexts are not implemented yet: without the module (or
 * with one that has no contexts) every make and from_fd is -EOPNOTSUPP.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define GOSYNC_CTX_MAKE_FLAGS	(GOSYNC_STANDALONE | GOSYNC_CLOEXEC | \
				 GOSYNC_CTX_CANCEL_ON_EXIT)
#define GOSYNC_CTX_FD_FLAGS	(GOSYNC_STANDALONE | GOSYNC_CLOEXEC)
/* The library's flags and the ioctl's must not meet. */
_Static_assert(!(GOSYNC_CTX_CANCEL_ON_EXIT &
		 (GOSYNC_STANDALONE | GOSYNC_CLOEXEC | GOSYNC_NOMAP |
		  GOSYNC_AUTOCLOSE | GOSYNC_SEND_ONLY | GOSYNC_RECV_ONLY)),
	       "GOSYNC_CTX_CANCEL_ON_EXIT is a bit of the library's");

/**
 * struct gosync_ctx - the library's handle on a context
 * @fd:		the context's fd
 * @deadline:	its deadline (set at creation, never changed)
 * @map_size:	bytes of its page (from GOSYNC_CTX_IOC_INFO)
 * @off_words:	where the words are in it
 * @base:	the page, in this process (read-only)
 * @words:	the words in @base
 * @gen:	fork generation of the mapping (0: being mapped again)
 * @done:	the done channel, once asked for (set once, by a CAS)
 * @off_values:	where the value records are in @base
 * @values_len:	their bytes (set at creation, never changed)
 */
struct gosync_ctx {
	int fd;
	int64_t deadline;
	size_t map_size;
	size_t off_words;
	void *base;
	const struct gosync_ctx_words *words;
	unsigned long gen;
	struct gosync_chan *done;
	size_t off_values;
	size_t values_len;
};

/* ------------------------------------------------------------ mapping -- */

/* Map the page read-only: the kernel refuses PROT_WRITE (EACCES). */
static int gosync_ctx_map(void *arg)
{
	struct gosync_ctx *ctx = arg;
	void *base = mmap(NULL, ctx->map_size, PROT_READ, MAP_SHARED,
			  ctx->fd, 0);

	if (base == MAP_FAILED)
		return -errno;
	ctx->base = base;
	ctx->words = (const struct gosync_ctx_words *)
		     ((const unsigned char *)base + ctx->off_words);
	return 0;
}

/* The words if they are mapped for this process as they are, else NULL. */
static inline const struct gosync_ctx_words *
gosync_ctx_words_ready(const struct gosync_ctx *ctx)
{
	if (__atomic_load_n(&ctx->gen, __ATOMIC_ACQUIRE) ==
	    __atomic_load_n(&gosync_fork_gen, __ATOMIC_ACQUIRE))
		return ctx->words;
	return NULL;
}

/*
 * The state (0, ECANCELED, ETIMEDOUT) and, if @cause, the cause (0 while
 * live) from the words.
 */
static inline int gosync_ctx_load(const struct gosync_ctx_words *w,
				  int *cause)
{
	/*
	 * [CTX-B]: pairs with [CTX-A] in gosync_ctx_publish(), kmod/ctx.c:
	 * the cause is stored before the state's release, so a state seen
	 * set here has its cause with it.
	 */
	int state = (int)__atomic_load_n(&w->state, __ATOMIC_ACQUIRE);

	if (cause)
		*cause = state ? __atomic_load_n(&w->cause, __ATOMIC_RELAXED) :
				 0;
	return state;
}

/*
 * The state and cause when the words are not mapped for this process:
 * after a fork, map them again (the handle's mapping is its own cache,
 * hence the cast); if that fails, ask the kernel.  0 or -errno.
 */
static __attribute__((noinline)) int
gosync_ctx_read_slow(const struct gosync_ctx *ctx, int *state, int *cause)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_ctx *c = (struct gosync_ctx *)ctx;
	struct gosync_ctx_info info;

	if (!ctx)
		return -EINVAL;
	if (!gosync_fork_remap(&c->gen, gosync_ctx_map, c)) {
		*state = gosync_ctx_load(c->words, cause);
		return 0;
	}
	/* No barrier: the ioctl reads both under the kernel's lock. */
	memset(&info, 0, sizeof(info));
	if (ioctl(ctx->fd, GOSYNC_CTX_IOC_INFO, &info) < 0)
		return -errno;
	*state = (int)info.state;
	*cause = info.cause;
	return 0;
}

/* ------------------------------------------------------ state, cancel -- */

/* The fast paths call nothing (errno stays): the slow half keeps it. */
int gosync_ctx_err(const struct gosync_ctx *ctx)
{
	const struct gosync_ctx_words *w = ctx ? gosync_ctx_words_ready(ctx) :
						 NULL;
	int state, cause, ret;

	if (w)
		return -gosync_ctx_load(w, NULL);
	ret = gosync_ctx_read_slow(ctx, &state, &cause);
	return ret ? ret : -state;
}

int gosync_ctx_cause(const struct gosync_ctx *ctx)
{
	const struct gosync_ctx_words *w = ctx ? gosync_ctx_words_ready(ctx) :
						 NULL;
	int state, cause, ret;

	if (w) {
		gosync_ctx_load(w, &cause);
		return cause;
	}
	ret = gosync_ctx_read_slow(ctx, &state, &cause);
	return ret ? ret : cause;
}

int64_t gosync_ctx_deadline(const struct gosync_ctx *ctx)
{
	GOSYNC_KEEP_ERRNO;

	return ctx ? ctx->deadline : -EINVAL;
}

int gosync_ctx_cancel(struct gosync_ctx *ctx, int cause)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_ctx_cancel req;

	if (!ctx || cause < 0 || cause > GOSYNC_CTX_CAUSE_MAX)
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.cause = cause;
	/* EALREADY: done before, by whatever came first; its cause stays. */
	if (ioctl(ctx->fd, GOSYNC_CTX_IOC_CANCEL, &req) < 0 &&
	    errno != EALREADY)
		return -errno;
	return 0;
}

/*
 * The done channel into *@chp: asked for once, on first use; of racing
 * first callers one installs its channel and the others free theirs.
 * 0 or -errno (no fd, no memory).
 */
static int gosync_ctx_done_get(struct gosync_ctx *ctx, struct gosync_chan **chp)
{
	struct gosync_chan *ch, *cur = NULL;
	struct gosync_ctx_done req;
	int fd, ret;

	ch = __atomic_load_n(&ctx->done, __ATOMIC_ACQUIRE);
	if (ch) {
		*chp = ch;
		return 0;
	}
	memset(&req, 0, sizeof(req));
	/* The library's own fd: another process asks for its own. */
	req.flags = GOSYNC_CTX_CLOEXEC;
	fd = ioctl(ctx->fd, GOSYNC_CTX_IOC_DONE, &req);
	if (fd < 0)
		return -errno;
	/* A receive-only end: adopted unmapped (GOSYNC_RECV_ONLY, NOMAP). */
	ret = gosync_chan_adopt(&ch, fd, 0);
	if (ret)
		return ret;
	/*
	 * Acq_rel: the handle made here is published whole; pairs with the
	 * acquire load above (a thread that finds it there uses it).
	 */
	if (!__atomic_compare_exchange_n(&ctx->done, &cur, ch, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		gosync_chan_free(ch);
		ch = cur;
	}
	*chp = ch;
	return 0;
}

struct gosync_chan *gosync_ctx_done(struct gosync_ctx *ctx)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_chan *ch;

	return ctx && !gosync_ctx_done_get(ctx, &ch) ? ch : NULL;
}

/* ------------------------------------------------- waits with a context -- */

/*
 * Wait for case @c or for @ctx to be done, whichever comes first (the
 * context's deadline is the kernel's timer: no deadline here): 0 with
 * *@c as the select left it, the context's error, or the select's.  A
 * context done already wins before anything is tried, as Go's
 * "if err := ctx.Err(); err != nil" first; when both become ready
 * together either may win, as in Go.
 */
static int gosync_ctx_wait(struct gosync_case *c, struct gosync_ctx *ctx)
{
	struct gosync_case cases[2];
	struct gosync_chan *done;
	int ret = gosync_ctx_err(ctx);

	if (ret)
		return ret;
	ret = gosync_ctx_done_get(ctx, &done);
	if (ret)
		return ret;
	cases[0] = *c;
	cases[1] = (struct gosync_case){ .ch = done, .op = GOSYNC_RECV,
					 .fd = -1 };
	ret = gosync_select(cases, 2, GOSYNC_FOREVER);
	if (ret == 1) {
		/* Closed after the state was set (CTX-A, then the close). */
		ret = gosync_ctx_err(ctx);
		return ret ? ret : -ECANCELED;
	}
	if (ret == 0)
		*c = cases[0];
	return ret < 0 ? ret : 0;
}

int gosync_chan_recv_ctx(struct gosync_chan *ch, void *elem,
			 struct gosync_ctx *ctx)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_case c = { .ch = ch, .op = GOSYNC_RECV, .elem = elem,
				 .fd = -1 };
	int ret;

	if (!ch || !ctx)
		return -EINVAL;
	/* (a select cannot mix a standalone channel with the done one) */
	if (gosync_chan_is_standalone(ch))
		return -EOPNOTSUPP;
	ret = gosync_ctx_wait(&c, ctx);
	return ret ? ret : c.ok;
}

int gosync_chan_send_ctx(struct gosync_chan *ch, const void *elem,
			 struct gosync_ctx *ctx)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_case c = { .ch = ch, .op = GOSYNC_SEND,
				 .elem = (void *)elem, .fd = -1 };

	if (!ch || !ctx)
		return -EINVAL;
	if (gosync_chan_is_standalone(ch))
		return -EOPNOTSUPP;
	return gosync_ctx_wait(&c, ctx);
}

/*
 * A waitgroup's fd is readable once its counter is zero (the module's
 * poll arms it): that, against the done channel, until a look at the
 * counter says zero.  A standalone waitgroup has no such fd.
 */
int gosync_wg_wait_ctx(struct gosync_wg *wg, struct gosync_ctx *ctx)
{
	GOSYNC_KEEP_ERRNO;
	int ret;

	if (!wg || !ctx)
		return -EINVAL;
	if (((struct gosync_sync *)wg)->flags & GOSYNC_STANDALONE)
		return -EOPNOTSUPP;
	/* A context done already wins, as in the other waits. */
	ret = gosync_ctx_err(ctx);
	if (ret)
		return ret;
	for (;;) {
		struct gosync_case c = { .op = GOSYNC_FDREADY,
					 .fd = gosync_wg_fd(wg),
					 .events = POLLIN };

		ret = gosync_wg_wait(wg, GOSYNC_NONBLOCK);
		if (ret != -EAGAIN)
			return ret;
		ret = gosync_ctx_wait(&c, ctx);
		if (ret)
			return ret;
	}
}

/* ------------------------------------------------------ making, fds -- */

/*
 * Can contexts exist here, for a call with @flags?  0 where the module
 * makes them; -EOPNOTSUPP for GOSYNC_STANDALONE (not implemented yet),
 * without the module (standalone mode) or with one that has none;
 * another -errno when the device cannot be opened.
 */
static int gosync_ctx_kernel(unsigned int flags)
{
	int64_t f;

	if (flags & GOSYNC_STANDALONE)
		return -EOPNOTSUPP;
	f = gosync_dev_features();
	if (f == -ENODEV || (f >= 0 && !(f & GOSYNC_FEAT_CTX)))
		return -EOPNOTSUPP;
	return f < 0 ? (int)f : 0;
}

void gosync_ctx_free(struct gosync_ctx *ctx)
{
	GOSYNC_KEEP_ERRNO;

	if (!ctx)
		return;
	gosync_chan_free(ctx->done);
	/* A mapping from before a fork is not in this process. */
	if (ctx->base && ctx->gen == gosync_fork_generation())
		munmap(ctx->base, ctx->map_size);
	close(ctx->fd);
	free(ctx);
}

/* A page the library can use: the words inside it, the header a context's. */
static bool gosync_ctx_layout_ok(const struct gosync_ctx_info *info)
{
	return info->off_words >= sizeof(struct gosync_sync_header) &&
	       !(info->off_words % sizeof(uint64_t)) &&
	       info->off_words <= info->map_size &&
	       info->map_size - info->off_words >=
	       sizeof(struct gosync_ctx_words) &&
	       info->off_values <= info->map_size &&
	       info->values_len <= info->map_size - info->off_values;
}

static bool gosync_ctx_header_ok(const struct gosync_ctx *ctx)
{
	const struct gosync_sync_header *hdr = ctx->base;

	/* No barrier: the kernel wrote it before the fd existed. */
	return hdr->magic == GOSYNC_SYNC_MAGIC &&
	       hdr->abi_version == GOSYNC_ABI_VERSION &&
	       hdr->kind == GOSYNC_KIND_CTX;
}

/*
 * Make a handle of @own, which it then owns (closed on failure): a
 * context (it answers GOSYNC_CTX_IOC_INFO), mapped.  Anything else is
 * another kind (-EINVAL, as the other kinds' from_fd say), or, where no
 * context can exist, -EOPNOTSUPP.
 */
static int gosync_ctx_adopt(struct gosync_ctx **ctxp, int own)
{
	struct gosync_ctx_info info;
	struct gosync_ctx *ctx;
	int ret;

	memset(&info, 0, sizeof(info));
	ret = ioctl(own, GOSYNC_CTX_IOC_INFO, &info) < 0 ? -errno : 0;
	if (ret == -ENOTTY && gosync_ctx_kernel(0) == -EOPNOTSUPP)
		ret = -EOPNOTSUPP;
	else if (ret == -ENOTTY)
		ret = -EINVAL;
	else if (!ret && !gosync_ctx_layout_ok(&info))
		ret = -EINVAL;
	if (ret) {
		close(own);
		return ret;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		close(own);
		return -ENOMEM;
	}
	ctx->fd = own;
	ctx->deadline = info.deadline_ns;
	ctx->map_size = info.map_size;
	ctx->off_words = info.off_words;
	ctx->off_values = info.off_values;
	ctx->values_len = info.values_len;
	/* No generation yet: the first gosync_fork_remap() maps it. */
	ctx->gen = ~0UL;
	gosync_fork_watch();
	ret = gosync_fork_remap(&ctx->gen, gosync_ctx_map, ctx);
	if (!ret && !gosync_ctx_header_ok(ctx))
		ret = -EINVAL;
	if (ret) {
		gosync_ctx_free(ctx);
		return ret;
	}
	*ctxp = ctx;
	return 0;
}

/* GOSYNC_IOC_CTX_CREATE with @req's parent, deadline and value. */
static int gosync_ctx_create(struct gosync_ctx **ctxp,
			     struct gosync_ctx_create *req, unsigned int flags)
{
	int dev, fd, ret;

	if (!ctxp || flags & ~GOSYNC_CTX_MAKE_FLAGS || req->deadline_ns < 0)
		return -EINVAL;
	ret = gosync_ctx_kernel(flags);
	if (ret)
		return ret;
	dev = gosync_dev_fd();
	if (dev < 0)
		return dev;
	req->flags = (flags & GOSYNC_CTX_CANCEL_ON_EXIT) |
		     (flags & GOSYNC_CLOEXEC ? GOSYNC_CTX_CLOEXEC : 0);
	fd = ioctl(dev, GOSYNC_IOC_CTX_CREATE, req);
	if (fd < 0)
		return -errno;
	return gosync_ctx_adopt(ctxp, fd);
}

int gosync_ctx_with_deadline(struct gosync_ctx **ctxp,
			     struct gosync_ctx *parent, int64_t deadline_ns,
			     unsigned int flags)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_ctx_create req;

	memset(&req, 0, sizeof(req));
	req.parent = parent ? parent->fd : -1;
	req.deadline_ns = deadline_ns;
	return gosync_ctx_create(ctxp, &req, flags);
}

int gosync_ctx_with_value(struct gosync_ctx **ctxp, struct gosync_ctx *parent,
			  const char *key, const void *val, size_t len)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_ctx_create req;
	size_t klen = key ? strlen(key) : 0;

	if (!parent || !klen || klen > GOSYNC_CTX_KEY_MAX ||
	    len > GOSYNC_CTX_VAL_MAX || (len && !val))
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.parent = parent->fd;
	req.deadline_ns = GOSYNC_DEADLINE_FOREVER;
	req.key = (uintptr_t)key;
	req.key_len = (uint32_t)klen;
	req.val = len ? (uintptr_t)val : 0;
	req.val_len = (uint32_t)len;
	/* No flags of its own: close-on-exec when its parent's fd is. */
	return gosync_ctx_create(ctxp, &req,
				 fcntl(parent->fd, F_GETFD) > 0 ? GOSYNC_CLOEXEC : 0);
}

/*
 * The value under @key: the last record with it (a child's shadows its
 * ancestors').  The records were written before the context's fd existed
 * and never change: no barrier.  Bounded by what INFO said at adoption;
 * a record that runs past it ends the walk.
 */
int gosync_ctx_value(const struct gosync_ctx *ctx, const char *key, void *buf,
		     size_t *len)
{
	GOSYNC_KEEP_ERRNO;
	const unsigned char *p, *found = NULL;
	size_t klen = key ? strlen(key) : 0, off = 0, flen = 0;
	int ret;

	if (!ctx || !klen || !len || (*len && !buf))
		return -EINVAL;
	if (!gosync_ctx_words_ready(ctx)) {
		/* after a fork: map the page again first (its error, if any) */
		ret = gosync_fork_remap(&((struct gosync_ctx *)ctx)->gen,
					gosync_ctx_map, (void *)ctx);
		if (ret)
			return ret;
	}
	p = (const unsigned char *)ctx->base + ctx->off_values;
	while (off < ctx->values_len &&
	       ctx->values_len - off >= sizeof(struct gosync_ctx_value)) {
		struct gosync_ctx_value r;
		size_t size;

		memcpy(&r, p + off, sizeof(r));
		size = sizeof(r) + r.key_len + r.val_len;
		if (size > ctx->values_len - off)
			break;
		if (r.key_len == klen && !memcmp(p + off + sizeof(r), key, klen)) {
			found = p + off + sizeof(r) + klen;
			flen = r.val_len;
		}
		off += (size + 3) & ~(size_t)3;
	}
	if (!found)
		return -ENOENT;
	if (flen > *len) {
		*len = flen;
		return -ERANGE;
	}
	memcpy(buf, found, flen);
	*len = flen;
	return 0;
}

/* By name: a root context in the gosync filesystem (kernel mode only). */
int gosync_ctx_open(struct gosync_ctx **ctxp, const char *name, int oflag,
		    mode_t mode, unsigned int flags)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_name_req req = {
		.name = name, .oflag = oflag, .mode = mode,
		.kind = GOSYNC_KIND_CTX, .flags = flags,
	};
	int fd, ret;

	/* A handle reads its page: O_RDONLY (watch) or O_RDWR (and cancel). */
	if (!ctxp || flags & ~GOSYNC_CTX_FD_FLAGS ||
	    (oflag & O_ACCMODE) == O_WRONLY)
		return -EINVAL;
	ret = gosync_ctx_kernel(flags);
	if (ret)
		return ret;
	if (flags & GOSYNC_CLOEXEC)
		req.oflag |= O_CLOEXEC;
	fd = gosync_name_open(&req);
	if (fd < 0)
		return fd;
	return gosync_ctx_adopt(ctxp, fd);
}

int gosync_ctx_make(struct gosync_ctx **ctxp, struct gosync_ctx *parent,
		    unsigned int flags)
{
	GOSYNC_KEEP_ERRNO;

	return gosync_ctx_with_deadline(ctxp, parent, GOSYNC_FOREVER, flags);
}

int gosync_ctx_from_fd(struct gosync_ctx **ctxp, int fd, unsigned int flags)
{
	GOSYNC_KEEP_ERRNO;
	int own;

	if (!ctxp || flags & ~GOSYNC_CTX_FD_FLAGS)
		return -EINVAL;
	/* Ours to keep: the caller's fd stays the caller's. */
	own = fcntl(fd, flags & GOSYNC_CLOEXEC ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	if (own < 0)
		return -errno;
	return gosync_ctx_adopt(ctxp, own);
}

int gosync_ctx_fd(const struct gosync_ctx *ctx)
{
	GOSYNC_KEEP_ERRNO;

	return ctx ? ctx->fd : -EINVAL;
}
