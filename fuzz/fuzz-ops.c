// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * gosync-fuzz: every operation.  An operation is a type and four words;
 * its executor turns any words into a call: mostly valid ones, often
 * boundary ones (0, 1, max, max+1, INT_MAX, negative, unknown flag bits,
 * non-zero reserved fields, bad pointers, read-only memory, pointers into
 * the object's own mapping).  Decisions depend only on the words and on
 * the worker's tables, so a single-threaded replay makes the same calls.
 *
 * Memory the kernel may write to asynchronously (queued io_uring receives
 * complete later) is always fuzzer-private junk: the per-thread arenas,
 * the rings' element buffers, and the reserved slots that every object
 * mapping lives in.  No pointer ever aims at fuzzer state.
 *
 * Locking (the worker's threads share its tables): w->mm (a rwlock:
 * writers change the reserved slots, readers make mappings the kernel
 * places, which must never land in a slot's transient hole), then a
 * ring's lock, then w->tbl (objects and mappings).  Nothing is held
 * across a blocking call but a ring's lock, and nothing at all inside a
 * fault guard.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include <gosync.h>

#include "fuzz.h"

#define ARENA_STRUCTS	(256UL << 10)	/* structs, cases; elements after */

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP	4
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER	(1U << 12)
#endif

/* ------------------------------------------------------------ helpers -- */

static uint64_t r64(struct tctx *t)
{
	return rnd(&t->rng);
}

static long sys_ret(long ret)
{
	return ret < 0 ? -errno : ret;
}

static long xioctl(int fd, unsigned long cmd, void *arg)
{
	return sys_ret(ioctl(fd, cmd, arg));
}

int high_fd(int fd, int base)
{
	int nfd;

	if (fd < 0 || fd >= base)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, base);
	if (nfd < 0)
		return fd;
	close(fd);
	return nfd;
}

int dev_open(void)
{
	return open("/dev/" GOSYNC_DEVICE_NAME, O_RDWR | O_CLOEXEC);
}

int chan_info(int fd, struct layout *lay)
{
	struct gosync_chan_info info;

	memset(&info, 0, sizeof(info));
	if (ioctl(fd, GOSYNC_CHAN_IOC_INFO, &info))
		return -errno;
	lay->elem = info.elem_size;
	lay->cap = info.cap;
	lay->nslots = info.nslots;
	lay->slot_size = info.slot_size;
	lay->map_size = info.map_size;
	lay->off_tail = info.off_tail;
	lay->off_head = info.off_head;
	lay->off_rw = info.off_recv_wait;
	lay->off_sw = info.off_send_wait;
	lay->off_slots = info.off_slots;
	lay->state = info.state & (GOSYNC_CHAN_STATE_NOSEND |
				   GOSYNC_CHAN_STATE_NORECV |
				   GOSYNC_CHAN_STATE_AUTOCLOSE);
	return 0;
}

static int sync_kind(int fd)
{
	struct gosync_sync_info info;

	memset(&info, 0, sizeof(info));
	if (ioctl(fd, GOSYNC_SYNC_IOC_INFO, &info))
		return -errno;
	return info.kind;
}

/* A context's INFO: 0, or -errno. */
static int ctx_info(int fd, struct gosync_ctx_info *info)
{
	memset(info, 0, sizeof(*info));
	if (ioctl(fd, GOSYNC_CTX_IOC_INFO, info))
		return -errno;
	return 0;
}

/* A gosync filesystem's root directory? */
static int is_fsdir(int fd)
{
	struct statfs sfs;
	struct stat st;

	return !fstatfs(fd, &sfs) && sfs.f_type == GOSYNC_FS_MAGIC &&
	       !fstat(fd, &st) && S_ISDIR(st.st_mode);
}

static int is_gosync(int kind)
{
	return kind == K_DEV || kind == K_CHAN || kind == K_SYNC ||
	       kind == K_FSDIR || kind == K_CTX;
}

/* The channel end @o may not do this (a directional end's other way). */
static int dir_forbids(const struct obj *o, int send)
{
	return o->kind == K_CHAN &&
	       (o->lay.state & (send ? GOSYNC_CHAN_STATE_NOSEND :
				GOSYNC_CHAN_STATE_NORECV));
}

static const char *end_name(const struct obj *o)
{
	return o->lay.state & GOSYNC_CHAN_STATE_NOSEND ? "receive-only" :
	       o->lay.state & GOSYNC_CHAN_STATE_NORECV ? "send-only" : "full";
}

/* No objs[] fd closed since @gen: the fds we picked still name them. */
static int tbl_same(struct wctx *w, uint64_t gen)
{
	return atomic_load(&w->tbl_gen) == gen;
}

/* The object in slot @s, copied; its fd or -1. */
static int obj_get(struct wctx *w, int s, struct obj *o)
{
	pthread_mutex_lock(&w->tbl);
	*o = w->objs[s];
	pthread_mutex_unlock(&w->tbl);
	if (o->kind == K_NONE)
		o->fd = -1;
	return o->fd;
}

/*
 * An object for an operation that wants @want (K_NONE: anything): from
 * slot @sel on, the first of that kind; now and then any slot at all, or
 * an fd that is no object (-1, closed, huge).  Returns the slot, or -1
 * with o->fd set to a bad fd.
 */
static int pick_obj(struct tctx *t, uint8_t sel, int want, struct obj *o)
{
	struct wctx *w = t->w;
	uint64_t r = r64(t);
	int i;

	memset(o, 0, sizeof(*o));
	if (r % 64 == 0) {
		static const int bad[] = { -1, -2, INT_MAX, 100000, 1023 };

		o->fd = bad[(r >> 8) % 5];
		if ((r >> 8) % 5 == 4)
			o->fd = w->fdbase - 1;	/* most likely closed */
		o->kind = K_NONE;
		return -1;
	}
	if (r % 16 == 1)
		want = K_NONE;
	pthread_mutex_lock(&w->tbl);
	for (i = 0; i < NOBJ_ALL; i++) {
		int s = (sel + i) % NOBJ_ALL;

		if (w->objs[s].kind == K_NONE)
			continue;
		if (want != K_NONE && w->objs[s].kind != want)
			continue;
		*o = w->objs[s];
		pthread_mutex_unlock(&w->tbl);
		return s;
	}
	pthread_mutex_unlock(&w->tbl);
	o->fd = -1;
	return -1;
}

/*
 * Put a new object in a program slot, closing what was there: @o's fd,
 * kind and what the table knows of it (its access mode is the file's).
 */
static void obj_put_as(struct wctx *w, int s, const struct obj *o)
{
	int old;

	pthread_mutex_lock(&w->tbl);
	old = w->objs[s].kind != K_NONE ? w->objs[s].fd : -1;
	w->objs[s] = *o;
	w->objs[s].acc = fcntl(o->fd, F_GETFL) & O_ACCMODE;
	atomic_fetch_add(&w->tbl_gen, 1);
	/* close under the lock: nobody may see the number reused meanwhile */
	if (old >= 0 && old != o->fd)
		close(old);
	pthread_mutex_unlock(&w->tbl);
}

static void obj_put(struct wctx *w, int s, int fd, int kind, int skind,
		    const struct layout *lay)
{
	struct obj o;

	memset(&o, 0, sizeof(o));
	o.fd = fd;
	o.kind = kind;
	o.skind = skind;
	if (lay)
		o.lay = *lay;
	obj_put_as(w, s, &o);
}

/*
 * Where a device ioctl goes: /dev/gosync mostly, now and then a gosync
 * root directory (which answers them too).
 */
static int dev_fd(struct tctx *t, uint64_t sel)
{
	struct obj o;

	if (sel % 8)
		return t->w->dev;
	if (pick_obj(t, sel >> 3, K_FSDIR, &o) >= 0 && o.kind == K_FSDIR)
		return o.fd;
	return t->w->dev;
}

static void obj_close(struct wctx *w, int s)
{
	pthread_mutex_lock(&w->tbl);
	if (w->objs[s].kind != K_NONE) {
		/* Before the close: a check that saw the old gen must fail. */
		atomic_fetch_add(&w->tbl_gen, 1);
		close(w->objs[s].fd);
		w->objs[s].kind = K_NONE;
		w->objs[s].fd = -1;
	}
	pthread_mutex_unlock(&w->tbl);
}

/* The mapping in slot @sel on with one of @kinds (bit mask), copied. */
static int pick_map(struct wctx *w, unsigned int sel, unsigned int kinds,
		    struct mapent *m)
{
	int i;

	pthread_mutex_lock(&w->tbl);
	for (i = 0; i < NMAPS; i++) {
		int s = (sel + i) % NMAPS;

		if (w->maps[s].kind == M_NONE || !(kinds & (1U << w->maps[s].kind)))
			continue;
		*m = w->maps[s];
		pthread_mutex_unlock(&w->tbl);
		return s;
	}
	pthread_mutex_unlock(&w->tbl);
	return -1;
}

#define MK(k)	(1U << (k))
#define MK_OBJ	(MK(M_CHAN) | MK(M_SYNC) | MK(M_CTX))
#define MK_ANY	(MK_OBJ | MK(M_ANON) | MK(M_OTHER))

/* A mapping of a gosync object (the module's rules hold for it)? */
static int map_is_obj(int kind)
{
	return kind == M_CHAN || kind == M_SYNC || kind == M_CTX;
}

static char *slot_base(struct wctx *w, int s)
{
	return w->res + (size_t)s * SLOT_LEN;
}

/* Make slot @s (or part of it) reserved address space again. */
static void slot_reserve(struct wctx *w, int s, char *from, size_t len)
{
	char *base = slot_base(w, s);

	if (!from) {
		from = base;
		len = SLOT_LEN;
	}
	if (from < base || from + len > base + SLOT_LEN)
		return;
	mmap(from, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
	     MAP_NORESERVE, -1, 0);
}

/* Forget mapping slot @s (table locked): its kind, its fd. */
static void map_forget(struct wctx *w, int s)
{
	if (w->maps[s].fd >= 0)
		close(w->maps[s].fd);
	w->maps[s].fd = -1;
	w->maps[s].kind = M_NONE;
}

/*
 * An element or struct pointer: mostly the thread's arena, otherwise
 * NULL, low, kernel, non-canonical, PROT_NONE, read-only, straddling the
 * guard page, inside an object's mapping, an empty reserved slot, a
 * ring's buffers, random.  *valid: how many bytes from it are usable.
 */
static char *pick_ptr(struct tctx *t, uint64_t sel, size_t need, size_t *valid)
{
	struct wctx *w = t->w;
	char *elems = t->arena + ARENA_STRUCTS, *p;
	size_t room = ARENA_LEN - ARENA_STRUCTS;
	uint64_t x = sel >> 6;
	struct mapent m;
	size_t v = 0;
	int s;

	if (need > room)
		need = room;
	switch (sel % 40) {
	default:
		p = elems + ((x % (room - need + 1)) & ~7UL);
		break;
	case 24:
		p = elems + x % (room - need + 1);
		break;
	case 25:
		p = NULL;
		break;
	case 26:
		p = (char *)(uintptr_t)(1 + x % 4095);
		break;
	case 27:
		p = (char *)(uintptr_t)(0xffff888000000000ULL + (x & 0xffff000));
		break;
	case 28:
		p = (char *)(uintptr_t)0x8000000000000000ULL;
		break;
	case 29:
		p = w->bad + x % w->page;
		break;
	case 30:
		p = w->ro + (x % 8) * 8;
		break;
	case 31:
		p = t->arena + ARENA_LEN - (x % (need + 1));
		break;
	case 32: case 33: case 34: case 35:
		s = pick_map(w, x, MK_ANY, &m);
		if (s < 0) {
			p = elems;
			break;
		}
		x >>= 8;
		/* anywhere but the magic word, which a probe reads */
		p = m.addr + 8 + ((x % (m.len - 8)) & (x & 1 ? ~7UL : ~0UL));
		break;
	case 36:
		p = w->res + (x % NMAPS) * SLOT_LEN + SLOT_LEN - w->page;
		break;
	case 37:
		s = x % NRINGS;
		p = w->rings[s].bufs ? w->rings[s].bufs + ((x >> 4) %
			((size_t)NPEND * URING_BUF - URING_BUF)) : elems;
		break;
	case 38:
		p = (char *)(uintptr_t)(x << 6 | (sel & 63));
		break;
	case 39:
		p = w->t[x % w->nthreads].arena + ARENA_STRUCTS + (x >> 8) % room;
		break;
	}
	/* what is usable from there */
	if (p >= t->arena && p < t->arena + ARENA_LEN)
		v = t->arena + ARENA_LEN - p;
	else if (p >= w->res && p < w->res + NMAPS * SLOT_LEN &&
		 pick_map(w, (p - w->res) / SLOT_LEN, MK_ANY, &m) >= 0 &&
		 p >= m.addr && p < m.addr + m.len)
		v = m.addr + m.len - p;
	else
		for (s = 0; s < w->nthreads; s++)
			if (p >= w->t[s].arena && p < w->t[s].arena + ARENA_LEN)
				v = w->t[s].arena + ARENA_LEN - p;
	for (s = 0; s < NRINGS && !v; s++)
		if (w->rings[s].bufs && p >= w->rings[s].bufs &&
		    p < w->rings[s].bufs + (size_t)NPEND * URING_BUF)
			v = w->rings[s].bufs + (size_t)NPEND * URING_BUF - p;
	if (valid)
		*valid = v;
	return p;
}

/*
 * Where an ioctl's struct goes: *fill says whether we write it there
 * (arena, or a mapping: *shared set, guarded) or the kernel reads what
 * is there (read-only page: plausible structs; bad pointers).
 */
struct sptr {
	char *p;
	int fill;
	int shared;
};

static struct sptr struct_ptr(struct tctx *t, uint64_t sel, size_t size,
			      size_t ro_off)
{
	struct sptr s = { t->arena + ((sel >> 4) % 64) * 64, 1, 0 };
	struct mapent m;

	switch (sel % 32) {
	case 0:
		s.p = t->w->ro + ro_off;
		s.fill = 0;
		break;
	case 1:
		s.p = t->w->bad;
		s.fill = 0;
		break;
	case 2:
		s.p = NULL;
		s.fill = 0;
		break;
	case 3:
		/* straddles the guard page: the first half is there */
		s.p = t->arena + ARENA_LEN - size / 2;
		s.fill = 0;
		memset(s.p, 0, size / 2);
		break;
	case 4:
		if (pick_map(t->w, sel >> 8, MK_ANY, &m) >= 0 && m.len >= size + 8) {
			/* never over the magic word, which a probe reads */
			s.p = m.addr + 8 + (((sel >> 16) % (m.len - size - 7)) & ~7UL);
			s.shared = 1;
		}
		break;
	case 5:
		s.p += 1 + (sel >> 12) % 7;	/* misaligned */
		break;
	default:
		break;
	}
	return s;
}

/* Copy @src into the struct's place: 0, or 1 when that faulted. */
static int sfill(struct tctx *t, struct sptr *s, const void *src, size_t n)
{
	if (!s->fill)
		return 0;
	if (!s->shared) {
		memcpy(s->p, src, n);
		return 0;
	}
	return GUARD(t, memcpy(s->p, src, n));
}

static int __attribute__((noinline))
load64(struct tctx *t, uint64_t *p, uint64_t *v)
{
	return GUARD(t, *v = __atomic_load_n(p, __ATOMIC_RELAXED));
}

static void __attribute__((noinline))
store64(struct tctx *t, uint64_t *p, uint64_t v)
{
	GUARD(t, __atomic_store_n(p, v, __ATOMIC_RELAXED));
}

/* 1 when it faulted */
static int __attribute__((noinline))
store32(struct tctx *t, uint32_t *p, uint64_t v)
{
	return GUARD(t, __atomic_store_n(p, (uint32_t)v, __ATOMIC_RELAXED));
}

static int __attribute__((noinline))
load32(struct tctx *t, const void *p, uint32_t *v)
{
	return GUARD(t, *v = __atomic_load_n((const uint32_t *)p,
					     __ATOMIC_ACQUIRE));
}

static void count_result(struct tctx *t, int err)
{
	atomic_fetch_add_explicit(&SH->results[t->cur->type][err ? 1 : 0], 1,
				  memory_order_relaxed);
	if (err > 0 && err < NERRNO)
		atomic_fetch_add_explicit(&SH->errnos[t->cur->type][err], 1,
					  memory_order_relaxed);
}

static void limit_hit(long ret)
{
	if (ret == -ENOMEM || ret == -EMFILE || ret == -ENFILE)
		atomic_fetch_add_explicit(&SH->limit_hits, 1,
					  memory_order_relaxed);
}

/* ------------------------------------------------------ object ops -- */

/* 0: Go's struct{}, valid since GOSYNC_FEAT_CHAN_ZERO; no bytes to copy. */
static const uint32_t elem_sizes[] = {
	0, 0, 1, 2, 3, 4, 7, 8, 8, 8, 9, 12, 15, 16, 16, 17, 24, 31, 32, 33,
	48, 63, 64, 64, 65, 100, 127, 128, 129, 255, 256, 511, 512, 1000, 1024,
	4095, 4096, 4097, 8192, 16384, 32768, 65534, 65535,
};
static const uint32_t caps[] = {
	0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4, 5, 7, 8, 8, 15, 16, 31, 32, 63, 64,
	100, 128, 255, 256, 1000, 1024, 4096, 65536,
};

#define NELEMS(a)	(sizeof(a) / sizeof((a)[0]))

static uint64_t chan_bytes(uint32_t elem, uint32_t cap)
{
	uint64_t slot = 8 + (((uint64_t)elem + 7) & ~7ULL);

	return 640 + (cap ? cap : 1) * slot;
}

static int op_chan_create(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	struct gosync_chan_create req;
	uint32_t a = op->a;
	uint64_t b = op->b, c = op->c;
	struct layout lay;
	struct sptr s;
	long ret;

	memset(&req, 0, sizeof(req));
	if ((a & 0xff) < 224)
		req.elem_size = elem_sizes[(a >> 8) % NELEMS(elem_sizes)];
	else
		switch ((a >> 8) % 6) {
		case 0: req.elem_size = GOSYNC_CHAN_MAX_ELEM + 8; break;
		case 1: req.elem_size = GOSYNC_CHAN_MAX_ELEM + 1; break;
		case 2: req.elem_size = UINT32_MAX; break;
		case 3: req.elem_size = 1U << 31; break;
		default: req.elem_size = 1 + (a >> 12) % GOSYNC_CHAN_MAX_ELEM; break;
		}
	if (b % 64 < 56)
		req.cap = caps[(b >> 8) % NELEMS(caps)];
	else
		switch ((b >> 8) % 6) {
		case 0: req.cap = GOSYNC_CHAN_MAX_CAP; break;
		case 1: req.cap = GOSYNC_CHAN_MAX_CAP + 1; break;
		case 2: req.cap = UINT32_MAX; break;
		case 3: req.cap = INT32_MAX; break;
		default: req.cap = (b >> 16) % (GOSYNC_CHAN_MAX_CAP + 1); break;
		}
	/* Rings of megabytes cost real time to zero: now and then only. */
	if (req.elem_size && req.elem_size <= GOSYNC_CHAN_MAX_ELEM &&
	    req.cap <= GOSYNC_CHAN_MAX_CAP &&
	    chan_bytes(req.elem_size, req.cap) > (256U << 10) &&
	    chan_bytes(req.elem_size, req.cap) <= (64U << 20) && !w->replay) {
		int64_t now = now_ns(), gap = chan_bytes(req.elem_size, req.cap) >
					      (2U << 20) ? 5000000000LL : 1000000000LL;

		if (now - w->last_big < gap)
			req.cap = 1 + req.cap % 16;
		else
			w->last_big = now;
	}
	switch (c % 16) {
	case 0: case 1: case 2: case 3: case 4: case 5:
		req.flags = 0;
		break;
	case 6: req.flags = GOSYNC_CHAN_CLOEXEC; break;
	case 7: req.flags = GOSYNC_CHAN_NONBLOCK; break;
	case 8: req.flags = GOSYNC_CHAN_CLOEXEC | GOSYNC_CHAN_NONBLOCK; break;
	case 9: req.flags = 1U << ((c >> 8) % 32); break;
	case 10: req.resv[0] = c >> 8 | 1; break;
	case 11: req.resv[1] = 1; break;
	case 12: req.fd = -1; break;	/* output field: ignored */
	default: req.flags = (c >> 8) & 7; break;	/* | AUTOCLOSE */
	}
	s = struct_ptr(t, c >> 4, sizeof(req), 0);
	if (sfill(t, &s, &req, sizeof(req)))
		return EFAULT;
	ret = xioctl(dev_fd(t, c >> 40), GOSYNC_IOC_CHAN_CREATE, s.p);
	check_errno(t, "CHAN_CREATE", ret < 0 ? -ret : 0);
	limit_hit(ret);
	if (ret < 0)
		return -ret;
	if (chan_info(ret, &lay)) {
		fail(t, "CHAN_CREATE returned fd %ld, which answers no CHAN_IOC_INFO",
		     ret);
		close(ret);
		return 0;
	}
	if (s.fill && !s.shared &&
	    (lay.elem != req.elem_size || lay.cap != req.cap))
		fail(t, "CHAN_CREATE(elem %u, cap %u) made a channel of elem %u, cap %u",
		     req.elem_size, req.cap, lay.elem, lay.cap);
	if (s.fill && !s.shared &&
	    lay.state != (req.flags & GOSYNC_CHAN_AUTOCLOSE ?
			  GOSYNC_CHAN_STATE_AUTOCLOSE : 0))
		fail(t, "CHAN_CREATE(flags %#x) made a channel whose INFO state is %#x",
		     req.flags, lay.state);
	if (s.fill && !s.shared && ((struct gosync_chan_create *)s.p)->fd != ret)
		fail(t, "CHAN_CREATE returned fd %ld but stored fd %d", ret,
		     ((struct gosync_chan_create *)s.p)->fd);
	obj_put(w, op->o1 % NOBJ, ret, K_CHAN, 0, &lay);
	return 0;
}

static int op_sync_create(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	struct gosync_sync_create req;
	uint32_t a = op->a;
	struct sptr s;
	long ret;
	int kind;

	memset(&req, 0, sizeof(req));
	if (a % 16 < 14)
		req.kind = GOSYNC_SYNC_WG + (a >> 4) % 5;
	else
		req.kind = (a >> 4) % 3 == 0 ? 0 : (a >> 4) % 3 == 1 ?
			   GOSYNC_SYNC_COND + 1 : a;
	switch (op->b % 16) {
	case 0: req.flags = GOSYNC_SYNC_CLOEXEC; break;
	case 1: req.flags = 1U << ((op->b >> 8) % 32); break;
	case 2: req.resv0 = 1; break;
	case 3: req.resv[(op->b >> 8) & 1] = op->b | 1; break;
	default: break;
	}
	s = struct_ptr(t, op->c, sizeof(req), 512);
	if (sfill(t, &s, &req, sizeof(req)))
		return EFAULT;
	ret = xioctl(dev_fd(t, op->c >> 40), GOSYNC_IOC_SYNC_CREATE, s.p);
	check_errno(t, "SYNC_CREATE", ret < 0 ? -ret : 0);
	limit_hit(ret);
	if (ret < 0)
		return -ret;
	kind = sync_kind(ret);
	if (kind < GOSYNC_SYNC_WG || kind > GOSYNC_SYNC_COND ||
	    (s.fill && !s.shared && (uint32_t)kind != req.kind))
		fail(t, "SYNC_CREATE(kind %u) made fd %ld of kind %d", req.kind,
		     ret, kind);
	obj_put(w, op->o1 % NOBJ, ret, K_SYNC, kind, NULL);
	return 0;
}

static int op_open_dev(struct tctx *t, const struct op *op)
{
	static const int flags[] = {
		O_RDWR, O_RDWR, O_RDONLY, O_WRONLY, O_RDWR | O_NONBLOCK,
		O_PATH, O_RDWR | O_CLOEXEC, O_RDWR | O_APPEND,
	};
	int fd = open("/dev/" GOSYNC_DEVICE_NAME, flags[op->a % 8]);

	if (fd < 0)
		return errno;
	obj_put(t->w, op->o1 % NOBJ, fd, K_DEV, 0, NULL);
	return 0;
}

/* A memfd that looks like a standalone channel (the library's). */
static int fake_standalone(void)
{
	struct gosync_chan_header h;
	int fd = memfd_create("gosync-fake", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	memset(&h, 0, sizeof(h));
	h.magic = GOSYNC_CHAN_MAGIC;
	h.abi_version = GOSYNC_ABI_VERSION;
	h.elem_size = 8;
	h.cap = 2;
	h.nslots = 2;
	h.slot_size = 16;
	h.flags = GOSYNC_CHAN_HDR_STANDALONE;
	h.map_size = 4096;
	if (ftruncate(fd, 4096) || pwrite(fd, &h, sizeof(h), 0) != sizeof(h)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int op_open_other(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	int s = op->o1 % NOBJ, fds[2], fd = -1, kind = K_OTHER;

	switch (op->a % 10) {
	case 0: case 1:
		if (pipe2(fds, op->a & 0x100 ? O_NONBLOCK : 0))
			return errno;
		obj_put(w, s, fds[0], K_PIPE, 0, NULL);
		obj_put(w, (s + 1) % NOBJ, fds[1], K_PIPE, 0, NULL);
		return 0;
	case 2:
		fd = eventfd(op->b & 0xff, EFD_NONBLOCK);
		kind = K_EVENTFD;
		break;
	case 3:
		fd = fake_standalone();
		kind = K_MEMFD;
		break;
	case 4:
		if (socketpair(AF_UNIX, op->a & 0x100 ? SOCK_DGRAM : SOCK_STREAM,
			       0, fds))
			return errno;
		obj_put(w, s, fds[0], K_SOCK, 0, NULL);
		obj_put(w, (s + 1) % NOBJ, fds[1], K_SOCK, 0, NULL);
		return 0;
	case 5: case 6:
		fd = epoll_create1(op->a & 0x100 ? EPOLL_CLOEXEC : 0);
		kind = K_EPOLL;
		break;
	case 7:
		fd = open("/dev/null", O_RDWR);
		break;
	case 8:
		fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
		if (fd >= 0) {
			struct itimerspec its = { .it_value.tv_nsec = 1000000 };

			timerfd_settime(fd, 0, &its, NULL);
		}
		break;
	default:
		fd = open("/proc/self/stat", O_RDONLY);
		break;
	}
	if (fd < 0)
		return errno;
	obj_put(w, s, fd, kind, 0, NULL);
	return 0;
}

static int op_dup(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	int src = op->o1 % NOBJ_ALL, dst = op->o2 % NOBJ, fd, ret = 0;
	struct obj o;

	pthread_mutex_lock(&w->tbl);
	o = w->objs[src];
	if (o.kind == K_NONE) {
		pthread_mutex_unlock(&w->tbl);
		return EBADF;
	}
	if (op->a % 4 == 0 && w->objs[dst].kind != K_NONE && dst != src) {
		/*
		 * Onto a live object's fd: replaces it under every user.  The
		 * gen moves first, so that a check of another thread that
		 * straddles the dup3 sees it moved (uring's direction check).
		 */
		atomic_fetch_add(&w->tbl_gen, 1);
		fd = dup3(o.fd, w->objs[dst].fd, op->a & 0x10 ? O_CLOEXEC : 0);
		if (fd < 0) {
			ret = errno;
		} else {
			w->objs[dst] = o;
			w->objs[dst].fd = fd;
		}
		pthread_mutex_unlock(&w->tbl);
		return ret;
	}
	/* still under the lock: the number must still name that object */
	switch (op->a % 4) {
	case 1: fd = fcntl(o.fd, F_DUPFD_CLOEXEC, (op->b & 0xff) + 3); break;
	case 2: fd = fcntl(o.fd, F_DUPFD, 0); break;
	default: fd = dup(o.fd); break;
	}
	ret = fd < 0 ? errno : 0;
	pthread_mutex_unlock(&w->tbl);
	if (fd < 0)
		return ret;
	if (fd >= w->fdbase) {
		close(fd);
		return 0;
	}
	o.fd = fd;		/* the same object: what we know of it holds */
	obj_put_as(w, dst, &o);
	return 0;
}

static int op_close(struct tctx *t, const struct op *op)
{
	obj_close(t->w, op->o1 % NOBJ_ALL);
	return 0;
}

/* ------------------------------------------------------------- names -- */

/* A few names, so that opens, unlinks and renames collide. */
static const char *const fs_names[] = {
	"a", "b", "c", "d", "chan", "wg", "mu", "x",
};
#define NFS_NAMES	((int)NELEMS(fs_names))

/*
 * A name for a gosync mount, in the thread's arena (NUL-terminated):
 * mostly one of fs_names, now and then the longest, one too long, an
 * empty one, "." or "..", one with '/' or a NUL in it, a length beyond
 * what is there, a bad pointer.  *len: the length to pass.
 */
static char *fs_name(struct tctx *t, uint64_t sel, uint32_t *len)
{
	char *p = t->arena + ARENA_STRUCTS - 512;
	const char *n;
	uint32_t l;

	switch (sel % 32) {
	default:
		n = fs_names[(sel >> 5) % NFS_NAMES];
		l = strlen(n);
		memcpy(p, n, l);
		break;
	case 24: l = GOSYNC_NAME_MAX; memset(p, 'n', l); break;
	case 25: l = GOSYNC_NAME_MAX + 1; memset(p, 'n', l); break;
	case 26: l = 0; break;
	case 27: memcpy(p, "..", 2); l = 1 + (sel >> 5) % 2; break;
	case 28: memcpy(p, "a/b", 3); l = 3; break;
	case 29: memcpy(p, "a\0b", 3); l = 3; break;
	case 30: p[0] = 'a'; l = 1 + (sel >> 5) % 8; break;	/* and junk */
	case 31:
		*len = 1 + (sel >> 5) % 4;
		return (sel >> 7) % 2 ? t->w->bad : NULL;
	}
	p[l] = 0;
	*len = l;
	return p;
}

/* What a name mostly is: its kind and shape, so that opens agree. */
static void fs_shape(const char *name, uint32_t len, struct gosync_open *req)
{
	static const struct { const char *n; uint32_t kind, elem, cap; } sh[] = {
		{ "a", GOSYNC_KIND_CHAN, 8, 4 }, { "b", GOSYNC_KIND_CHAN, 8, 0 },
		{ "c", GOSYNC_KIND_CHAN, 16, 1 }, { "d", GOSYNC_KIND_CHAN, 0, 2 },
		{ "chan", GOSYNC_KIND_CHAN, 64, 64 }, { "wg", GOSYNC_SYNC_WG, 0, 0 },
		{ "mu", GOSYNC_SYNC_MUTEX, 0, 0 }, { "x", GOSYNC_SYNC_COND, 0, 0 },
	};
	size_t i;

	req->kind = GOSYNC_KIND_CHAN;
	req->elem_size = 1;
	req->cap = 1;
	for (i = 0; name && i < NELEMS(sh); i++)
		if (len == strlen(sh[i].n) && !memcmp(name, sh[i].n, len)) {
			req->kind = sh[i].kind;
			req->elem_size = sh[i].elem;
			req->cap = sh[i].cap;
		}
}

static int classify_put(struct wctx *w, int s, int fd);

static const unsigned long gosync_cmds[] = {
	GOSYNC_IOC_INFO, GOSYNC_IOC_CHAN_CREATE, GOSYNC_IOC_SELECT,
	GOSYNC_IOC_SYNC_CREATE, GOSYNC_CHAN_IOC_INFO, GOSYNC_CHAN_IOC_SEND,
	GOSYNC_CHAN_IOC_RECV, GOSYNC_CHAN_IOC_CLOSE, GOSYNC_CHAN_IOC_WAKE,
	GOSYNC_CHAN_IOC_MAP, GOSYNC_SYNC_IOC_INFO, GOSYNC_SYNC_IOC_MAP,
	GOSYNC_SYNC_IOC_WAKE, GOSYNC_CHAN_IOC_DUP, GOSYNC_FS_IOC_OPEN,
	GOSYNC_IOC_CTX_CREATE, GOSYNC_CTX_IOC_INFO, GOSYNC_CTX_IOC_CANCEL,
	GOSYNC_CTX_IOC_DONE,
};

static int cmd_blocks(unsigned long cmd)
{
	return cmd == GOSYNC_CHAN_IOC_SEND || cmd == GOSYNC_CHAN_IOC_RECV ||
	       cmd == GOSYNC_IOC_SELECT;
}

/*
 * Any ioctl on any fd: valid commands on the wrong kind of fd, unknown
 * numbers in gosync's magic, valid numbers with the wrong size or
 * direction, the VFS's own, random ones; with random structs (but never
 * a random deadline: those are picked, and bounded).
 */
static int op_dev_ioctl(struct tctx *t, const struct op *op)
{
	static const unsigned long vfs[] = {
		FIONBIO, FIOCLEX, FIONCLEX, FIOASYNC, FIONREAD, FIOQSIZE,
		_IOR('f', 1, long), _IOR('c', 1, unsigned long), 0,
	};
	uint64_t a = op->a, b = op->b;
	unsigned long cmd;
	struct obj o;
	struct dl dl;
	char *arg = t->arena + 4096;
	int i, blocks, raw = 0;
	long ret;

	pick_obj(t, op->o1, K_NONE, &o);
	if (o.kind == K_SOCK)
		o.fd = t->w->dev;	/* socket ioctls are not ours to fuzz */
	switch (a % 16) {
	case 0: case 1: case 2: case 3:
		cmd = gosync_cmds[(a >> 4) % NELEMS(gosync_cmds)];
		break;
	case 4: case 5: case 6:
		cmd = _IOC((a >> 4) & 3, GOSYNC_IOC_MAGIC, (a >> 8) & 0xff,
			   (a >> 16) & 0x3fff);
		break;
	case 7:
		cmd = gosync_cmds[(a >> 4) % NELEMS(gosync_cmds)];
		cmd = (cmd & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
		      ((((cmd >> _IOC_SIZESHIFT) & _IOC_SIZEMASK) +
			((a >> 8) % 2 ? 8 : -8)) & _IOC_SIZEMASK) << _IOC_SIZESHIFT;
		break;
	case 8:
		cmd = gosync_cmds[(a >> 4) % NELEMS(gosync_cmds)];
		cmd ^= (unsigned long)(1 + (a >> 8) % 3) << _IOC_DIRSHIFT;
		break;
	case 9:
		cmd = vfs[(a >> 4) % NELEMS(vfs)];
		break;
	case 10:
		cmd = (uint32_t)b;
		break;
	default:
		cmd = gosync_cmds[(a >> 4) % NELEMS(gosync_cmds)];
		break;
	}
	if (cmd == FIOASYNC)
		cmd = FIONREAD;
	/* the argument: random bytes, then sane fields where it matters */
	for (i = 0; i < 64; i += 8) {
		uint64_t v = r64(t);

		if ((a >> 20) & 1)
			v &= 0xff;
		memcpy(arg + i, &v, 8);
	}
	blocks = cmd_blocks(cmd);
	if (cmd == FIONBIO)
		*(int *)arg = (b >> 8) & 1;
	/* names from the few (random ones would fill the mount for good) */
	if (cmd == GOSYNC_FS_IOC_OPEN && (b >> 24) % 4) {
		struct gosync_open *g = (void *)arg;
		uint32_t len;

		g->name = (uintptr_t)fs_name(t, b >> 26, &len);
		g->name_len = len;
	}
	if (blocks) {
		int64_t d = pick_deadline(t, op->c, &dl);

		if (cmd == GOSYNC_IOC_SELECT) {
			struct gosync_select *sel = (void *)arg;

			sel->deadline_ns = d;
			sel->ncases %= 8;
		} else {
			struct gosync_chan_xfer *x = (void *)arg;

			x->deadline_ns = d;
			x->count = 1 + x->count % 4;
		}
	}
	if (a & 0x80000000U && !blocks) {
		raw = 1;	/* an integer argument */
	}
	if (blocks && (b >> 20) % 8 == 0)
		/* the struct itself in a mapping, where peers may change it */
		dl_begin_timeout(t, &dl, 20000000, 1);
	ret = xioctl(o.fd, cmd, raw ? (void *)(uintptr_t)(b >> 8) : arg);
	if (blocks)
		dl_end(t, &dl, "random ioctl", ret, ret < 0 ? -ret : 0);
	if (is_gosync(o.kind) && !(cmd == GOSYNC_FS_IOC_OPEN && ret == -ENOSPC))
		check_errno(t, "ioctl", ret < 0 ? -ret : 0);
	limit_hit(ret);
	/* a new fd (a create, a dup, an open): keep the object */
	if (ret >= 0 && (cmd == GOSYNC_IOC_CHAN_CREATE ||
			 cmd == GOSYNC_IOC_SYNC_CREATE ||
			 cmd == GOSYNC_CHAN_IOC_DUP || cmd == GOSYNC_FS_IOC_OPEN ||
			 cmd == GOSYNC_IOC_CTX_CREATE || cmd == GOSYNC_CTX_IOC_DONE))
		classify_put(t->w, op->o2 % NOBJ, ret);
	return ret < 0 ? -ret : 0;
}

static int op_dev_info(struct tctx *t, const struct op *op)
{
	struct gosync_info info;
	struct sptr s;
	struct obj o;
	long ret;

	memset(&info, 0, sizeof(info));
	switch (op->a % 8) {
	case 0: info.flags = 1U << ((op->a >> 4) % 32); break;
	case 1: info.resv[(op->a >> 4) % 6] = op->b | 1; break;
	case 2: info.abi_version = op->a; info.features = op->b; break;
	default: break;
	}
	if (op->a & 0x100)
		pick_obj(t, op->o1, op->a & 0x200 ? K_FSDIR : K_DEV, &o);
	else
		o.fd = t->w->dev, o.kind = K_DEV;
	s = struct_ptr(t, op->c, sizeof(info), 1024);
	if (sfill(t, &s, &info, sizeof(info)))
		return EFAULT;
	ret = xioctl(o.fd, GOSYNC_IOC_INFO, s.p);
	if (o.kind == K_DEV || o.kind == K_FSDIR)
		check_errno(t, "IOC_INFO", ret < 0 ? -ret : 0);
	if (!ret && s.fill && !s.shared &&
	    (o.kind == K_DEV || o.kind == K_FSDIR)) {
		struct gosync_info *r = (void *)s.p;

		if (r->abi_version != GOSYNC_ABI_VERSION ||
		    r->features != (GOSYNC_FEAT_CHAN | GOSYNC_FEAT_SELECT |
				    GOSYNC_FEAT_URING | GOSYNC_FEAT_SYNC |
				    GOSYNC_FEAT_WG_OWNED |
				    GOSYNC_FEAT_SELECT_FD |
				    GOSYNC_FEAT_CHAN_ZERO |
				    GOSYNC_FEAT_NAMES |
				    GOSYNC_FEAT_URING_RECV_N |
				    GOSYNC_FEAT_CTX) ||
		    r->flags)
			fail(t, "IOC_INFO: abi %u features %#llx flags %#x",
			     r->abi_version, (unsigned long long)r->features,
			     r->flags);
	}
	return ret < 0 ? -ret : 0;
}

/* ------------------------------------------------------------- select -- */

static int op_select(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	struct gosync_select req;
	struct gosync_select_case *cases = (void *)(t->arena + 8192);
	uint64_t r = op->d;
	uint32_t n, i;
	struct sptr s;
	struct dl dl;
	long ret;
	int64_t d;
	int prev = -1, forbid = 0;
	struct obj prevo = { .fd = -1, .kind = K_NONE };
	uint64_t gen = atomic_load(&w->tbl_gen);

	switch (op->b % 64) {
	case 0: case 1: case 2: case 3: n = 0; break;
	case 40: case 41: case 42: case 43: case 44: case 45:
		n = 9 + (op->b >> 6) % 56;
		break;
	case 46: n = (op->b >> 6) % 2 ? GOSYNC_SELECT_MAX : 1000 + (op->b >> 7) % 3000; break;
	case 47: n = GOSYNC_SELECT_MAX + 1 + (op->b >> 6) % 2 * 1000000; break;
	case 48: case 49: n = (op->b >> 6) % 300; break;
	default: n = 1 + (op->b >> 6) % 8; break;
	}
	for (i = 0; i < n && i < GOSYNC_SELECT_MAX; i++) {
		struct gosync_select_case *c = &cases[i];
		uint64_t x = rnd(&r);
		struct obj o;
		size_t need;

		memset(c, 0, sizeof(*c));
		memset(&o, 0, sizeof(o));
		o.kind = K_NONE;
		switch (x % 20) {
		case 0:
			c->fd = -1;
			break;
		case 1:
			c->fd = (x >> 8) % 2 ? -2 : (int)(x >> 8) % 100000;
			break;
		case 2:
			pick_obj(t, x >> 8, K_NONE, &o);
			c->fd = o.fd;
			break;
		case 3:
			if (prev >= 0) {
				c->fd = prev;
				o = prevo;
				break;
			}
			/* fall through */
		default:
			pick_obj(t, x >> 8, K_CHAN, &o);
			c->fd = o.fd;
			break;
		}
		prev = c->fd;
		prevo = o;
		c->op = (x >> 16) % 20 < 9 ? GOSYNC_SELECT_SEND :
			(x >> 16) % 20 < 18 ? GOSYNC_SELECT_RECV :
			(x >> 16) % 20 < 19 ? GOSYNC_SELECT_FDREADY :
			(uint32_t)(x >> 24) % 4 * 4;
		if ((c->op == GOSYNC_SELECT_SEND || c->op == GOSYNC_SELECT_RECV) &&
		    c->fd >= 0 && dir_forbids(&o, c->op == GOSYNC_SELECT_SEND))
			forbid = 1;
		need = 65536;
		c->elem = (uintptr_t)pick_ptr(t, x >> 20, need, NULL);
		/* Poll events, now and then with bits beyond the 16. */
		if (c->op == GOSYNC_SELECT_FDREADY)
			c->events = (x >> 48) % 8 ? (x >> 24) & 0xffff :
				    x >> 24;
		if ((x >> 40) % 64 == 0)
			c->flags = 1U << ((x >> 46) % 32);
		c->result = (int32_t)(x >> 32);
	}
	memset(&req, 0, sizeof(req));
	req.cases = (uintptr_t)cases;
	req.ncases = n;
	switch (op->a % 16) {
	case 0: req.flags = 1U << ((op->a >> 4) % 32); break;
	case 1: req.resv0 = 1; break;
	case 2: req.resv[(op->a >> 4) & 1] = 1; break;
	case 3: req.cases = (uintptr_t)pick_ptr(t, op->a >> 4, n * 24, NULL); break;
	case 4: req.index = -1; break;
	default: break;
	}
	d = pick_deadline(t, op->c, &dl);
	req.deadline_ns = d;
	s = struct_ptr(t, op->a >> 8, sizeof(req), 2048);
	if (s.shared)
		dl_begin_timeout(t, &dl, 20000000, 1);
	if (sfill(t, &s, &req, sizeof(req))) {
		dl_end(t, &dl, "select", 0, 0);
		return EFAULT;
	}
	dl_allow(t, &dl, n < GOSYNC_SELECT_MAX ? n : GOSYNC_SELECT_MAX);
	ret = xioctl(dev_fd(t, op->d >> 50), GOSYNC_IOC_SELECT, s.p);
	dl_end(t, &dl, "select", ret, ret < 0 ? -ret : 0);
	check_errno(t, "SELECT", ret < 0 ? -ret : 0);
	if (ret >= 0 && (uint32_t)ret >= n)
		fail(t, "SELECT of %u cases returned %ld", n, ret);
	if (ret >= 0 && s.fill && !s.shared &&
	    ((struct gosync_select *)s.p)->index != ret)
		fail(t, "SELECT returned %ld, stored index %d", ret,
		     ((struct gosync_select *)s.p)->index);
	/* one case against its end's direction fails the whole select */
	if (ret >= 0 && forbid && s.fill && !s.shared &&
	    req.cases == (uintptr_t)cases && n <= GOSYNC_SELECT_MAX &&
	    tbl_same(w, gen))
		fail(t, "SELECT of %u cases, one of them against a directional end's direction, returned %ld",
		     n, ret);
	return ret < 0 ? -ret : 0;
}

/* ------------------------------------------------------- channel ioctls -- */

static int op_chan_info(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	struct gosync_chan_info info;
	struct sptr s;
	struct obj o;
	int slot;
	long ret;

	memset(&info, 0, sizeof(info));
	switch (op->a % 8) {
	case 0: info.flags = 1U << ((op->a >> 4) % 32); break;
	case 1: info.resv[(op->a >> 4) % 3] = 1; break;
	case 2: info.elem_size = op->a; info.map_size = op->b; break;
	default: break;
	}
	s = struct_ptr(t, op->c, sizeof(info), 0);
	if (sfill(t, &s, &info, sizeof(info)))
		return EFAULT;
	/* under the table lock: the slot's object cannot change meanwhile */
	pthread_mutex_lock(&w->tbl);
	slot = -1;
	for (int i = 0; i < NOBJ_ALL; i++) {
		int k = (op->o1 + i) % NOBJ_ALL;

		if (w->objs[k].kind == K_CHAN || (op->a & 0x100 &&
						  w->objs[k].kind != K_NONE)) {
			slot = k;
			break;
		}
	}
	if (slot < 0) {
		pthread_mutex_unlock(&w->tbl);
		return EBADF;
	}
	o = w->objs[slot];
	ret = xioctl(o.fd, GOSYNC_CHAN_IOC_INFO, s.p);
	pthread_mutex_unlock(&w->tbl);
	if (is_gosync(o.kind))
		check_errno(t, "CHAN_IOC_INFO", ret < 0 ? -ret : 0);
	if (!ret && o.kind == K_CHAN && s.fill && !s.shared) {
		struct gosync_chan_info *r = (void *)s.p;

		if (r->elem_size != o.lay.elem || r->cap != o.lay.cap ||
		    r->map_size != o.lay.map_size || r->flags ||
		    (r->state & ~(GOSYNC_CHAN_STATE_CLOSED |
				  GOSYNC_CHAN_STATE_NOSEND |
				  GOSYNC_CHAN_STATE_NORECV |
				  GOSYNC_CHAN_STATE_AUTOCLOSE)) ||
		    (r->state & ~GOSYNC_CHAN_STATE_CLOSED) != o.lay.state ||
		    r->len > (r->cap ? r->cap : 0) || r->resv[0] || r->resv[1] ||
		    r->resv[2] || r->nslots != (r->cap ? r->cap : 1))
			fail(t, "CHAN_IOC_INFO: elem %u cap %u map %llu len %llu state %#x (made as elem %u cap %u map %llu, state %#x)",
			     r->elem_size, r->cap,
			     (unsigned long long)r->map_size,
			     (unsigned long long)r->len, r->state, o.lay.elem,
			     o.lay.cap, (unsigned long long)o.lay.map_size,
			     o.lay.state);
	}
	return ret < 0 ? -ret : 0;
}

/* Counts: mostly 1, then small, then the boundaries. */
static uint32_t pick_count(uint32_t sel, uint32_t elem)
{
	uint32_t x = sel & 0xff, y = sel >> 8;

	if (!elem)
		elem = 1;
	if (x < 150)
		return 1;
	if (x < 200)
		return 2 + y % 7;
	if (x < 220)
		return 9 + y % 56;
	if (x < 230)
		return 65 + y % 4032;
	switch (x % 8) {
	case 0: return 0;
	case 1: return INT_MAX / elem;
	case 2: return INT_MAX / elem + 1;
	case 3: return UINT32_MAX;
	case 4: return INT_MAX;
	case 5: return 0x80000000U;
	default: return y;
	}
}

static int op_xfer(struct tctx *t, const struct op *op, int send)
{
	struct gosync_chan_xfer x;
	uint32_t count, elem;
	size_t valid, span;
	struct sptr s;
	struct obj o;
	struct dl dl;
	char *p;
	long ret;
	uint64_t gen = atomic_load(&t->w->tbl_gen);

	pick_obj(t, op->o1, K_CHAN, &o);
	elem = o.kind == K_CHAN && o.lay.elem ? o.lay.elem : 8;
	count = pick_count(op->a, elem);
	span = (size_t)elem * (count > 4096 ? 4096 : count ? count : 1);
	p = pick_ptr(t, op->b, span, &valid);
	/* Huge counts: only from where a fault ends them soon. */
	if (count > 4096 && valid > (size_t)elem * 4096) {
		size_t back = (size_t)elem * (1 + (op->b >> 40) % 64);

		p = t->arena + ARENA_LEN - (back < ARENA_LEN - ARENA_STRUCTS ?
					    back : ARENA_LEN - ARENA_STRUCTS);
		valid = t->arena + ARENA_LEN - p;
	}
	memset(&x, 0, sizeof(x));
	x.elem = (uintptr_t)p;
	x.count = count;
	switch ((op->a >> 24) % 16) {
	case 0: case 1: case 2: case 3: case 4:
		x.flags = send ? GOSYNC_SEND_SYNC : 0;
		break;
	case 5: x.flags = 1U << ((op->a >> 28) % 16 + 1); break;
	case 6: x.flags = (uint32_t)op->d | (send ? 0 : 1); break;
	case 7: x.resv[0] = 1; break;
	case 8: x.resv[1] = op->d | 1; break;
	default: break;
	}
	x.deadline_ns = pick_deadline(t, op->c, &dl);
	s = struct_ptr(t, op->d, sizeof(x), 0);
	if (s.shared)
		dl_begin_timeout(t, &dl, 20000000, 1);
	if (sfill(t, &s, &x, sizeof(x))) {
		dl_end(t, &dl, send ? "SEND" : "RECV", 0, 0);
		return EFAULT;
	}
	span = elem ? valid / elem + 1 : 1;
	dl_allow(t, &dl, span < count ? span : count);
	ret = xioctl(o.fd, send ? GOSYNC_CHAN_IOC_SEND : GOSYNC_CHAN_IOC_RECV,
		     s.p);
	dl_end(t, &dl, send ? "CHAN_IOC_SEND" : "CHAN_IOC_RECV", ret,
	       ret < 0 ? -ret : 0);
	if (is_gosync(o.kind))
		check_errno(t, send ? "CHAN_IOC_SEND" : "CHAN_IOC_RECV",
			    ret < 0 ? -ret : 0);
	if (ret > 0 && (uint64_t)ret > count && s.fill && !s.shared)
		fail(t, "%s of %u elements returned %ld",
		     send ? "SEND" : "RECV", count, ret);
	if (ret == 0 && send && s.fill && !s.shared)
		fail(t, "SEND of %u elements returned 0", count);
	if (dir_forbids(&o, send) && ret != -EBADF && tbl_same(t->w, gen))
		fail(t, "%s on a %s end returned %ld (%s), not EBADF",
		     send ? "CHAN_IOC_SEND" : "CHAN_IOC_RECV", end_name(&o), ret,
		     ret < 0 ? strerror(-ret) : "ok");
	return ret < 0 ? -ret : 0;
}

static int op_chan_close(struct tctx *t, const struct op *op)
{
	struct obj o;
	long ret;
	uint64_t gen = atomic_load(&t->w->tbl_gen);
	int s = pick_obj(t, op->o1, K_CHAN, &o);

	/* the pool is everyone's: close it rarely */
	if (s >= NOBJ && op->a % 8) {
		s = pick_obj(t, op->o1 % NOBJ, K_CHAN, &o);
		if (s >= NOBJ)
			return 0;
	}
	ret = xioctl(o.fd, GOSYNC_CHAN_IOC_CLOSE,
		     op->a % 16 == 1 ? (void *)(uintptr_t)op->b : NULL);
	if (is_gosync(o.kind))
		check_errno(t, "CHAN_IOC_CLOSE", ret < 0 ? -ret : 0);
	if (dir_forbids(&o, 1) && ret != -EBADF && tbl_same(t->w, gen))
		fail(t, "CHAN_IOC_CLOSE on a receive-only end returned %ld (%s), not EBADF",
		     ret, ret < 0 ? strerror(-ret) : "ok");
	return ret < 0 ? -ret : 0;
}

static int op_chan_wake(struct tctx *t, const struct op *op)
{
	struct gosync_chan_wake wk;
	struct obj o;
	unsigned int n = 1, i;
	long ret = 0;

	pick_obj(t, op->o1, K_CHAN, &o);
	memset(&wk, 0, sizeof(wk));
	switch (op->a % 16) {
	case 0: wk.flags = 0; break;
	case 1: wk.flags = 1U << ((op->a >> 4) % 32); break;
	case 2: wk.flags = GOSYNC_WAKE_RECV; wk.resv = 1; break;
	case 3: wk.flags = GOSYNC_WAKE_RECV; break;
	case 4: wk.flags = GOSYNC_WAKE_SEND; break;
	default: wk.flags = GOSYNC_WAKE_FLAGS; break;
	}
	if (op->b % 32 == 0)
		n = (O.avoid & AVOID_WAKE_LOOP) ? 8 : O.light ? 50 + (op->b >> 5) % 200 :
		    200 + (op->b >> 5) % 1800;
	else if (op->b % 4 == 0)
		n = 2 + (op->b >> 4) % 30;
	memcpy(t->arena, &wk, sizeof(wk));
	for (i = 0; i < n; i++) {
		ret = xioctl(o.fd, GOSYNC_CHAN_IOC_WAKE,
			     op->c % 32 == 0 ? (void *)t->w->bad : t->arena);
		if (ret < 0 && ret != -EINVAL)
			break;
	}
	if (is_gosync(o.kind))
		check_errno(t, "CHAN_IOC_WAKE", ret < 0 ? -ret : 0);
	return ret < 0 ? -ret : 0;
}

static int op_map_ioctl(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	struct gosync_chan_map req;
	struct mapent m;
	struct obj o;
	struct sptr s;
	unsigned long cmd;
	int ms;
	long ret;

	pick_obj(t, op->o1, op->a & 1 ? K_SYNC : K_CHAN, &o);
	cmd = o.kind == K_SYNC ? GOSYNC_SYNC_IOC_MAP : GOSYNC_CHAN_IOC_MAP;
	if (op->a % 16 == 15)
		cmd = cmd == GOSYNC_SYNC_IOC_MAP ? GOSYNC_CHAN_IOC_MAP :
						   GOSYNC_SYNC_IOC_MAP;
	memset(&req, 0, sizeof(req));
	ms = pick_map(w, op->o2, MK_ANY, &m);
	switch ((op->a >> 4) % 16) {
	case 0: req.addr = 0; break;
	case 1: req.addr = ms >= 0 ? (uintptr_t)m.addr + w->page : 0; break;
	case 2: req.addr = ms >= 0 ? (uintptr_t)m.addr + 1 : 0; break;
	case 3: req.addr = (uintptr_t)t->arena; break;
	case 4: req.addr = op->b; break;
	case 5: req.addr = ms >= 0 ? (uintptr_t)m.addr : 0; req.flags = 1; break;
	case 6: req.addr = ms >= 0 ? (uintptr_t)m.addr : 0; req.resv = op->b | 1; break;
	case 7: req.addr = ms >= 0 ? (uintptr_t)m.addr : 0; req.owner = op->b; break;
	default: req.addr = ms >= 0 ? (uintptr_t)m.addr : 0; break;
	}
	s = struct_ptr(t, op->c, sizeof(req), 0);
	if (sfill(t, &s, &req, sizeof(req)))
		return EFAULT;
	ret = xioctl(o.fd, cmd, s.p);
	if (is_gosync(o.kind))
		check_errno(t, "IOC_MAP", ret < 0 ? -ret : 0);
	if (!ret && s.fill && !s.shared) {
		uint32_t owner = ((struct gosync_chan_map *)s.p)->owner;

		if (!owner || owner > GOSYNC_SLOT_OWNER_MAX)
			fail(t, "IOC_MAP: owner id %u", owner);
		/* remember the owner of our mapping, for the touches */
		pthread_mutex_lock(&w->tbl);
		if (ms >= 0 && (uintptr_t)w->maps[ms].addr == req.addr)
			w->maps[ms].owner = owner;
		pthread_mutex_unlock(&w->tbl);
	}
	return ret < 0 ? -ret : 0;
}

static int op_sync_info(struct tctx *t, const struct op *op)
{
	struct gosync_sync_info info;
	struct sptr s;
	struct obj o;
	long ret;

	pick_obj(t, op->o1, K_SYNC, &o);
	memset(&info, 0, sizeof(info));
	switch (op->a % 8) {
	case 0: info.flags = 1U << ((op->a >> 4) % 32); break;
	case 1: info.resv[(op->a >> 4) % 3] = 1; break;
	case 2: info.kind = op->a; info.map_size = op->b; break;
	default: break;
	}
	s = struct_ptr(t, op->c, sizeof(info), 0);
	if (sfill(t, &s, &info, sizeof(info)))
		return EFAULT;
	ret = xioctl(o.fd, GOSYNC_SYNC_IOC_INFO, s.p);
	if (is_gosync(o.kind))
		check_errno(t, "SYNC_IOC_INFO", ret < 0 ? -ret : 0);
	if (!ret && o.kind == K_SYNC && s.fill && !s.shared) {
		struct gosync_sync_info *r = (void *)s.p;

		if (r->map_size != GOSYNC_SYNC_SIZE ||
		    r->off_words != GOSYNC_SYNC_OFF_WORDS ||
		    r->kind < GOSYNC_SYNC_WG || r->kind > GOSYNC_SYNC_COND)
			fail(t, "SYNC_IOC_INFO: kind %u map %llu off %llu",
			     r->kind, (unsigned long long)r->map_size,
			     (unsigned long long)r->off_words);
	}
	return ret < 0 ? -ret : 0;
}

/*
 * A waitgroup's owned counts (GOSYNC_SYNC_IOC_WG_ADD_OWNED / DONE_OWNED):
 * an address that is, or is not, a mapping of the object, any delta, now
 * and then a flag or a reserved field set, the struct anywhere.
 */
static long wg_owned_ioctl(struct tctx *t, const struct op *op,
			   const struct obj *o)
{
	struct gosync_wg_owned req;
	struct mapent m;
	struct sptr sp;
	uint64_t c = op->c;
	int add = op->a & 0x100;

	memset(&req, 0, sizeof(req));
	if (pick_map(t->w, op->o2, MK(M_SYNC), &m) >= 0 && c % 4)
		req.addr = (uintptr_t)m.addr + (c % 16 == 1 ? t->w->page : 0);
	else
		req.addr = c >> 8;
	switch ((c >> 4) % 8) {
	case 0: req.delta = 0; break;
	case 1: req.delta = -1; break;
	case 2: req.delta = INT32_MAX; break;
	case 3: req.delta = (int32_t)(c >> 32); break;
	default: req.delta = 1 + (c >> 8) % 3; break;
	}
	if (!add && (c >> 7) % 4) {
		req.addr = 0;		/* mostly a well-formed Done */
		req.delta = 1;
	}
	switch ((c >> 12) % 16) {
	case 0: req.flags = 1U << ((c >> 16) % 32); break;
	case 1: req.resv0 = 1; break;
	case 2: req.resv[1] = c | 1; break;
	case 3: req.paid = 1; break;
	case 4: req.state = c; break;
	default: break;
	}
	sp = struct_ptr(t, c >> 20, sizeof(req), 0);
	if (sfill(t, &sp, &req, sizeof(req)))
		return -EFAULT;
	return xioctl(o->fd, add ? GOSYNC_SYNC_IOC_WG_ADD_OWNED :
			     GOSYNC_SYNC_IOC_WG_DONE_OWNED, sp.p);
}

static int op_sync_wake(struct tctx *t, const struct op *op)
{
	struct obj o;
	unsigned int n = op->b % 8 == 0 ? 50 + op->b % 500 : 1, i;
	long ret = 0;

	pick_obj(t, op->o1, K_SYNC, &o);
	if (op->a % 8 >= 5) {
		ret = wg_owned_ioctl(t, op, &o);
		if (is_gosync(o.kind))
			check_errno(t, "SYNC_IOC_WG_*_OWNED", ret < 0 ? -ret : 0);
		return ret < 0 ? -ret : 0;
	}
	for (i = 0; i < n; i++)
		ret = xioctl(o.fd, GOSYNC_SYNC_IOC_WAKE,
			     op->a % 8 == 0 ? (void *)(uintptr_t)op->c : NULL);
	if (is_gosync(o.kind))
		check_errno(t, "SYNC_IOC_WAKE", ret < 0 ? -ret : 0);
	return ret < 0 ? -ret : 0;
}

/* ------------------------------------------------------- read, write -- */

static size_t pick_len(uint32_t sel, uint32_t elem)
{
	uint32_t x = sel & 0x1f, y = sel >> 5;

	if (!elem)
		elem = 8;
	switch (x) {
	case 0: return 0;
	case 1: return 1;
	case 2: return elem > 1 ? elem - 1 : 2;
	case 3: return elem + 1;
	case 4: return (size_t)elem * (1 + y % 8) + 1;
	case 5: return SSIZE_MAX;
	case 6: return 1UL << 31;
	case 7: return (size_t)INT_MAX / elem * elem + elem;
	case 8: return y;
	case 9: case 10: case 11: return (size_t)elem * (2 + y % 64);
	default: return elem;
	}
}

static int op_rw(struct tctx *t, const struct op *op, int write_)
{
	struct obj o;
	struct dl dl;
	struct iovec iov[4];
	size_t len, valid, span;
	uint32_t elem;
	char *p;
	long ret;
	int how = (op->a >> 12) % 16, fl = -1;
	uint64_t gen = atomic_load(&t->w->tbl_gen);

	pick_obj(t, op->o1, K_CHAN, &o);
	elem = o.kind == K_CHAN && o.lay.elem ? o.lay.elem : 8;
	len = pick_len(op->a, elem);
	span = len < 4096UL * elem ? len : 4096UL * elem;
	p = pick_ptr(t, op->b, span, &valid);
	if (len > 4096UL * elem && valid > 4096UL * elem) {
		p = t->arena + ARENA_LEN - elem * (1 + op->b % 16);
		valid = t->arena + ARENA_LEN - p;
	}
	/*
	 * Mostly non-blocking for this one call; a blocking fd blocks
	 * forever: a periodic signal ends the call.
	 */
	memset(&dl, 0, sizeof(dl));
	if (op->c % 8 < 5) {
		fl = fcntl(o.fd, F_GETFL);
		if (fl >= 0 && !(fl & O_NONBLOCK))
			fcntl(o.fd, F_SETFL, fl | O_NONBLOCK);
		else
			fl = -1;
	}
	dl_begin_timeout(t, &dl, 300000 + op->c % (op->c % 16 ? 2000000 : 20000000), 1);
	span = valid / elem + 1;
	dl_allow(t, &dl, span < len / elem ? span : len / elem);
	switch (how) {
	case 0: case 1:
		iov[0].iov_base = p;
		iov[0].iov_len = len / 2;
		iov[1].iov_base = p + len / 2;
		iov[1].iov_len = len - len / 2;
		iov[2].iov_base = t->arena;
		iov[2].iov_len = 0;
		ret = write_ ? writev(o.fd, iov, 2 + how) : readv(o.fd, iov, 2 + how);
		break;
	case 2:
		ret = write_ ? pwrite(o.fd, p, len, op->d % 4096) :
			       pread(o.fd, p, len, op->d % 4096);
		break;
	case 3:
		iov[0].iov_base = p;
		iov[0].iov_len = len;
		ret = write_ ? pwritev2(o.fd, iov, 1, -1, RWF_NOWAIT) :
			       preadv2(o.fd, iov, 1, -1, RWF_NOWAIT);
		break;
	case 4:
		iov[0].iov_base = p;
		iov[0].iov_len = len;
		ret = write_ ? pwritev2(o.fd, iov, 1, -1, RWF_HIPRI | RWF_DSYNC) :
			       preadv2(o.fd, iov, 1, -1, RWF_HIPRI);
		break;
	default:
		ret = write_ ? write(o.fd, p, len) : read(o.fd, p, len);
		break;
	}
	ret = sys_ret(ret);
	dl_end(t, &dl, write_ ? "write" : "read", ret, ret < 0 ? -ret : 0);
	if (fl >= 0)
		fcntl(o.fd, F_SETFL, fl);
	if (o.kind == K_CHAN) {
		check_errno(t, write_ ? "write" : "read", ret < 0 ? -ret : 0);
		if (ret > 0 && (size_t)ret > len)
			fail(t, "%s of %zu bytes returned %ld",
			     write_ ? "write" : "read", len, ret);
		if (dir_forbids(&o, write_) && ret >= 0 && tbl_same(t->w, gen))
			fail(t, "%s of %zu bytes on a %s end returned %ld",
			     write_ ? "write" : "read", len, end_name(&o), ret);
	}
	return ret < 0 ? -ret : 0;
}

static int op_fcntl(struct tctx *t, const struct op *op)
{
	struct obj o;
	struct flock fl;
	long ret;
	int fl0;

	pick_obj(t, op->o1, K_NONE, &o);
	switch (op->a % 12) {
	case 0: case 1: case 2:
		fl0 = fcntl(o.fd, F_GETFL);
		if (fl0 < 0)
			return errno;
		ret = fcntl(o.fd, F_SETFL, fl0 ^ O_NONBLOCK);
		break;
	case 3:
		ret = fcntl(o.fd, F_SETFL, (int)op->b & (O_APPEND | O_NONBLOCK |
							O_DIRECT | O_NOATIME |
							O_ASYNC));
		break;
	case 4:
		ret = fcntl(o.fd, F_SETFD, (int)op->b & 1);
		break;
	case 5: case 6:
		memset(&fl, 0, sizeof(fl));
		fl.l_type = op->a & 0x100 ? F_WRLCK : F_RDLCK;
		fl.l_len = op->b % 100;
		ret = fcntl(o.fd, op->a & 0x200 ? F_OFD_SETLK : F_SETLK, &fl);
		break;
	case 7:
		ret = fcntl(o.fd, F_SETOWN, getpid());
		if (!ret)
			ret = fcntl(o.fd, F_SETSIG, SIGUSR2);
		break;
	case 8:
		ret = fcntl(o.fd, F_SETLEASE, F_RDLCK);
		break;
	case 9:
		ret = fcntl(o.fd, F_GETPIPE_SZ);
		break;
	case 10:
		ret = fcntl(o.fd, F_ADD_SEALS, (int)op->b & 0xf);
		break;
	default:
		ret = fcntl(o.fd, F_GETFL);
		break;
	}
	ret = sys_ret(ret);
	return ret < 0 ? -ret : 0;
}

/* ------------------------------------------------------- poll, epoll -- */

/* A poll-style timeout in ms, and the deadline record for it. */
static int pick_timeout(struct tctx *t, uint64_t sel, struct dl *dl)
{
	int ms;

	switch (sel % 32) {
	default:
		ms = 0;
		break;
	case 20: case 21: case 22: case 23: case 24: case 25: case 26: case 27:
		ms = 1;
		break;
	case 28: case 29:
		ms = 2 + (sel >> 5) % 8;
		break;
	case 30:
		ms = (sel >> 5) % 4 ? 2 : 10 + (sel >> 5) % 90;
		break;
	case 31:
		ms = -1;
		break;
	}
	memset(dl, 0, sizeof(*dl));
	dl_begin_timeout(t, dl, ms < 0 ? (int64_t)(1000000 + (sel >> 8) % 4000000) :
			 (int64_t)ms * 1000000, ms < 0);
	return ms;
}

static short pick_events(uint64_t x)
{
	static const short ev[] = {
		POLLIN, POLLOUT, POLLIN | POLLOUT, POLLPRI, POLLRDHUP | POLLIN,
		POLLIN | POLLOUT | POLLERR | POLLHUP, 0, -1,
	};

	return ev[x % 8];
}

static int op_poll(struct tctx *t, const struct op *op)
{
	struct pollfd *pfd = (void *)(t->arena + 16384);
	uint64_t r = op->d;
	unsigned int n, i;
	struct dl dl;
	int ms;
	long ret;

	n = op->a % 16 == 0 ? 0 : op->a % 16 == 1 ? 64 : 1 + (op->a >> 4) % 8;
	for (i = 0; i < n; i++) {
		uint64_t x = rnd(&r);
		struct obj o;

		pick_obj(t, x, x % 4 ? K_CHAN : K_NONE, &o);
		pfd[i].fd = x % 32 == 0 ? -1 : o.fd;
		pfd[i].events = pick_events(x >> 8);
		pfd[i].revents = (short)(x >> 16);
	}
	ms = pick_timeout(t, op->c, &dl);
	if (op->b % 4 == 0) {
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		sigset_t mask;

		sigemptyset(&mask);
		ret = ppoll(pfd, n, ms < 0 ? NULL : &ts, &mask);
	} else {
		ret = poll(n == 1 && op->b % 64 == 1 ? (void *)t->w->bad : pfd,
			   n, ms);
	}
	ret = sys_ret(ret);
	dl_end(t, &dl, "poll", ret, ret < 0 ? -ret : 0);
	return ret < 0 ? -ret : 0;
}

static int epoll_slot(struct tctx *t, uint8_t sel)
{
	struct obj o;
	int s = pick_obj(t, sel, K_EPOLL, &o), fd;

	if (s >= 0 && o.kind == K_EPOLL)
		return s;
	fd = epoll_create1(0);
	if (fd < 0)
		return -1;
	s = sel % NOBJ;
	obj_put(t->w, s, fd, K_EPOLL, 0, NULL);
	return s;
}

static int op_epoll_ctl(struct tctx *t, const struct op *op)
{
	static const uint32_t evs[] = {
		EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT, EPOLLIN | EPOLLET,
		EPOLLOUT | EPOLLET, EPOLLIN | EPOLLOUT | EPOLLET,
		EPOLLIN | EPOLLONESHOT, EPOLLIN | EPOLLEXCLUSIVE,
		EPOLLIN | EPOLLRDHUP | EPOLLPRI, EPOLLIN | EPOLLWAKEUP, 0,
		EPOLLIN | EPOLLOUT | EPOLLET | EPOLLONESHOT,
	};
	struct epoll_event ev;
	struct obj e, o;
	int s = epoll_slot(t, op->o2), opc;
	long ret;

	if (s < 0)
		return EMFILE;
	obj_get(t->w, s, &e);
	pick_obj(t, op->o1, op->a % 4 ? K_CHAN : K_NONE, &o);
	switch (op->b % 8) {
	case 0: case 1: case 2: case 3: opc = EPOLL_CTL_ADD; break;
	case 4: case 5: opc = EPOLL_CTL_MOD; break;
	case 6: opc = EPOLL_CTL_DEL; break;
	default: opc = (int)(op->b >> 8) % 8; break;
	}
	ev.events = (op->a >> 8) % 16 == 0 ? (uint32_t)op->c :
		    evs[(op->a >> 12) % NELEMS(evs)];
	ev.data.u64 = op->d;
	ret = sys_ret(epoll_ctl(e.fd, opc, o.fd,
				op->a % 64 == 63 ? (void *)t->w->bad : &ev));
	return ret < 0 ? -ret : 0;
}

static int op_epoll_wait(struct tctx *t, const struct op *op)
{
	struct epoll_event *evs = (void *)(t->arena + 32768);
	struct dl dl;
	struct obj e;
	int s = epoll_slot(t, op->o1), n, ms;
	long ret;

	if (s < 0)
		return EMFILE;
	obj_get(t->w, s, &e);
	n = op->a % 16 == 0 ? (int)((op->a >> 4) % 3) - 1 :
			       (int)(1 + (op->a >> 4) % 64);
	ms = pick_timeout(t, op->c, &dl);
	if (op->b % 4 == 0) {
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		ret = syscall(SYS_epoll_pwait2, e.fd, evs, n, ms < 0 ? NULL : &ts,
			      NULL, 8);
	} else {
		ret = epoll_wait(e.fd, op->b % 64 == 1 ? (void *)t->w->ro : evs, n,
				 ms);
	}
	ret = sys_ret(ret);
	dl_end(t, &dl, "epoll_wait", ret, ret < 0 ? -ret : 0);
	return ret < 0 ? -ret : 0;
}

/* ------------------------------------------------------------- uring -- */

static int ring_owned(struct ringent *re, struct tctx *t)
{
	return !(re->flags & IORING_SETUP_SINGLE_ISSUER) || re->owner == t->tid;
}

static void ring_exit_locked(struct wctx *w, struct ringent *re)
{
	if (!re->live)
		return;
	io_uring_queue_exit(&re->ring);
	re->live = 0;
	memset(re->pend, 0, sizeof(re->pend));
	(void)w;
}

/* Set ring @ri up with @entries and @flags (under its lock). */
static int ring_setup_locked(struct tctx *t, struct ringent *re,
			     unsigned int entries, unsigned int flags)
{
	struct wctx *w = t->w;
	struct io_uring_params p;
	int ret, fd;

	ring_exit_locked(w, re);
	memset(&p, 0, sizeof(p));
	p.flags = flags;
	if (flags & IORING_SETUP_SQPOLL)
		p.sq_thread_idle = 1;
	if (flags & IORING_SETUP_CQSIZE)
		p.cq_entries = entries * 2;
	/*
	 * Its mmaps land where the kernel likes: never in a reserved slot's
	 * transient hole, as the caller holds the mm lock (order: mm, ring).
	 */
	ret = io_uring_queue_init_params(entries, &re->ring, &p);
	if (ret < 0)
		return -ret;
	fd = fcntl(re->ring.ring_fd, F_DUPFD_CLOEXEC, w->fdbase + 20);
	if (fd >= 0) {
		close(re->ring.ring_fd);
		re->ring.ring_fd = fd;
		re->ring.enter_ring_fd = fd;
	}
	re->live = 1;
	re->flags = flags;
	memset(re->pend, 0, sizeof(re->pend));
	re->owner = t->tid;
	return 0;
}

static int op_ring_setup(struct tctx *t, const struct op *op)
{
	static const unsigned int fl[] = {
		0, 0, 0, 0, 0, 0, IORING_SETUP_CLAMP, IORING_SETUP_COOP_TASKRUN,
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		IORING_SETUP_SINGLE_ISSUER,
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_SQE128, IORING_SETUP_CQE32, IORING_SETUP_IOPOLL,
		IORING_SETUP_SQPOLL, IORING_SETUP_CQSIZE, IORING_SETUP_SUBMIT_ALL,
	};
	static const unsigned int ent[] = {
		1, 2, 4, 8, 16, 32, 64, 64, 64, 128, 256, 0, 4097, 3,
	};
	struct ringent *re = &t->w->rings[op->o1 % NRINGS];
	unsigned int flags = fl[op->a % NELEMS(fl)];
	int ret;

	if (op->a % 64 == 63)
		flags = (uint32_t)op->b;	/* unknown bits too */
	if ((flags & IORING_SETUP_SQPOLL) && op->b % 4)
		flags &= ~IORING_SETUP_SQPOLL;	/* a polling thread: rarely */
	pthread_rwlock_rdlock(&t->w->mm);
	pthread_mutex_lock(&re->lock);
	ret = ring_setup_locked(t, re, ent[(op->a >> 8) % NELEMS(ent)], flags);
	pthread_mutex_unlock(&re->lock);
	pthread_rwlock_unlock(&t->w->mm);
	return ret;
}

static struct ringent *ring_get(struct tctx *t, uint8_t sel)
{
	struct ringent *re = &t->w->rings[sel % NRINGS];

	pthread_rwlock_rdlock(&t->w->mm);
	pthread_mutex_lock(&re->lock);
	if (!re->live && ring_setup_locked(t, re, 64, 0)) {
		pthread_mutex_unlock(&re->lock);
		pthread_rwlock_unlock(&t->w->mm);
		return NULL;
	}
	pthread_rwlock_unlock(&t->w->mm);
	return re;
}

static int pend_slot(struct ringent *re)
{
	int i;

	for (i = 0; i < NPEND - 1; i++)
		if (!re->pend[i].live)
			return i;
	return -1;
}

static int pend_count(struct ringent *re)
{
	int i, n = 0;

	for (i = 0; i < NPEND - 1; i++)
		n += re->pend[i].live;
	return n;
}

static struct pend *pend_add(struct tctx *t, struct ringent *re, int slot,
			     struct io_uring_sqe *sqe, int64_t deadline,
			     int check, int recv, int objslot)
{
	struct pend *pd = &re->pend[slot];

	pd->ud = (uint64_t)++re->seq << 8 | slot;
	pd->deadline = deadline;
	pd->submit = now_ns();
	pd->gen = stop_gen(t->w);
	pd->cgen = atomic_load(&t->w->sh->child_gen);
	pd->live = 1;
	pd->check = check < 0 ? 0 : check;
	pd->recv = recv;
	pd->chan = check >= 0;
	pd->forbid = 0;
	pd->drain = !!(sqe->flags & IOSQE_IO_DRAIN);
	pd->most = 1;
	pd->obj = objslot;
	io_uring_sqe_set_data64(sqe, pd->ud);
	return pd;
}

/*
 * Will the next submit issue its first request inline, looking its fd up
 * while we watch the table?  Not behind SQEs left over from an earlier
 * submit (they go first, and may link to ours), nor while a request
 * submitted with IOSQE_IO_DRAIN is live: until it completes, io_uring
 * defers every later request and looks its fd up when it issues it, at
 * any time after, when the number may name another file (the direction
 * check failed on that once).  Call before preparing.
 */
static int ring_issues_inline(struct ringent *re)
{
	int i;

	if (io_uring_sq_ready(&re->ring))
		return 0;
	for (i = 0; i < NPEND - 1; i++)
		if (re->pend[i].live && re->pend[i].drain)
			return 0;
	return 1;
}

/*
 * Submit what is prepared.  The first @n entries from @first were
 * prepared now; those the kernel did not take are unchecked (they go in
 * with a later submit).
 */
static int ring_submit(struct tctx *t, struct ringent *re, int *slots, int n)
{
	int ret = io_uring_submit(&re->ring), i;

	(void)t;
	for (i = ret < 0 ? 0 : ret; i < n; i++) {
		re->pend[slots[i]].check = 0;
		re->pend[slots[i]].forbid = 0;
	}
	return ret < 0 ? -ret : 0;
}

static int64_t pick_uring_deadline(uint64_t x)
{
	int64_t now = now_ns();

	switch (x % 16) {
	case 0: case 1: case 2: case 3: return GOSYNC_DEADLINE_NONBLOCK;
	case 4: return now - (int64_t)((x >> 8) % 1000000000);
	case 5: return 0;
	case 6: case 7: case 8: case 9: return now + (int64_t)((x >> 8) % 2000000);
	case 10: case 11: return now + 2000000 + (int64_t)((x >> 8) % 30000000);
	case 12:
		/* long waits are kicked by every wake: rare in the light mix */
		if (O.light && (x >> 8) % 4)
			return now + (int64_t)((x >> 8) % 2000000);
		return now + 50000000 + (int64_t)((x >> 8) % 200000000);
	case 13: case 14:
		if (O.light && (x >> 8) % 4)
			return GOSYNC_DEADLINE_NONBLOCK;
		return GOSYNC_DEADLINE_FOREVER;
	default: return (x >> 8) % 2 ? -2 : INT64_MIN;
	}
}

/*
 * A batched receive's arguments: in its struct pend (read by the kernel at
 * the submit), the elements at the start of the slot's buffer, as many as
 * fit (at most URING_RECV_N); now and then a field the kernel must refuse,
 * the command's own deadline set, or the arguments elsewhere.  Return:
 * the most elements it may take.
 */
static uint32_t uring_recv_n_args(struct ringent *re, int slot, uint64_t x,
				  int64_t d, uint32_t elem,
				  struct gosync_uring_cmd *cmd)
{
	struct gosync_chan_xfer *xf = &re->pend[slot].xf;
	uint32_t fit = URING_BUF / (elem ? elem : 1);

	memset(xf, 0, sizeof(*xf));
	xf->elem = (uintptr_t)(re->bufs + (size_t)slot * URING_BUF);
	xf->count = 1 + (x >> 36) % (fit < URING_RECV_N ? fit : URING_RECV_N);
	xf->deadline_ns = d;
	cmd->elem = (uintptr_t)xf;
	cmd->deadline_ns = 0;
	switch ((x >> 40) % 24) {
	case 0: xf->count = 0; break;
	case 1: xf->count = GOSYNC_URING_RECV_N_MAX + 1 + (x >> 44) % 1000; break;
	case 2: xf->count = UINT32_MAX; break;
	case 3: xf->flags = 1U << ((x >> 44) % 32); break;
	case 4: xf->resv[(x >> 44) & 1] = x | 1; break;
	case 5: xf->elem = 8; break;
	case 6: xf->elem = (uintptr_t)(re->bufs + (size_t)NPEND * URING_BUF); break;
	case 7: cmd->deadline_ns = d | 1; break;
	case 8: cmd->elem = 8; break;
	case 9: xf->deadline_ns = -2; break;
	default: break;
	}
	return xf->count && xf->count <= GOSYNC_URING_RECV_N_MAX ? xf->count : 0;
}

static int op_uring_cmd(struct tctx *t, const struct op *op)
{
	struct ringent *re = ring_get(t, op->o2);
	uint64_t r = op->d, gen = atomic_load(&t->w->tbl_gen);
	int n, i, slots[8], got = 0, ret, linked = 0;

	if (!re)
		return ENOMEM;
	if (!re->live || (!ring_owned(re, t) && op->a % 8)) {
		pthread_mutex_unlock(&re->lock);
		return EBUSY;
	}
	n = op->a % 16 < 10 ? 1 : 2 + op->a % 6;
	linked = !ring_issues_inline(re);
	for (i = 0; i < n; i++) {
		uint64_t x = rnd(&r);
		int slot = pend_slot(re), os, recv, chan;
		struct io_uring_sqe *sqe;
		struct gosync_uring_cmd cmd;
		uint32_t cmd_op, most;
		int64_t d;
		struct obj o;

		if (slot < 0)
			break;
		sqe = io_uring_get_sqe(&re->ring);
		if (!sqe)
			break;
		os = pick_obj(t, x, x % 8 ? K_CHAN : K_NONE, &o);
		chan = o.kind == K_CHAN;
		switch ((x >> 4) % 32) {
		case 0: cmd_op = 0; break;
		case 1: cmd_op = GOSYNC_URING_RECV + 1; break;
		case 2: cmd_op = (uint32_t)(x >> 32); break;
		case 3: case 4: case 5: cmd_op = GOSYNC_URING_RECV_N; break;
		default:
			cmd_op = (x >> 9) & 1 ? GOSYNC_URING_SEND : GOSYNC_URING_RECV;
			break;
		}
		recv = cmd_op == GOSYNC_URING_RECV || cmd_op == GOSYNC_URING_RECV_N;
		if ((x >> 10) % 8)
			cmd.elem = (uintptr_t)(re->bufs + (size_t)slot * URING_BUF);
		else
			cmd.elem = (uintptr_t)pick_ptr(t, x >> 13, 65536, NULL);
		d = pick_uring_deadline(x >> 20);
		/* known bug: a stopped submitter's queued receive */
		if ((O.avoid & AVOID_STOP_URING) && recv &&
		    d == GOSYNC_DEADLINE_FOREVER)
			d = GOSYNC_DEADLINE_NONBLOCK;
		cmd.deadline_ns = d;
		most = 1;
		if (cmd_op == GOSYNC_URING_RECV_N)
			most = uring_recv_n_args(re, slot, x, d,
						 chan ? o.lay.elem : 0, &cmd);
		io_uring_prep_rw(IORING_OP_URING_CMD, sqe, o.fd, NULL, 0, 0);
		sqe->cmd_op = cmd_op;
		memcpy(sqe->cmd, &cmd, sizeof(cmd));
		switch ((x >> 28) % 32) {
		case 0: sqe->flags |= IOSQE_ASYNC; break;
		case 1: sqe->flags |= IOSQE_IO_LINK; break;
		case 2: sqe->flags |= IOSQE_IO_DRAIN; break;
		case 3: sqe->flags |= IOSQE_FIXED_FILE; break;
		case 4: sqe->flags |= IOSQE_CQE_SKIP_SUCCESS; break;
		case 5: sqe->len = (uint32_t)(x >> 33); break;
		case 6: sqe->off = x; break;
		case 7: sqe->uring_cmd_flags = 1U << ((x >> 33) % 32); break;
		default: break;
		}
		pend_add(t, re, slot, sqe, d,
			 !chan ? -1 : sqe->flags || (x >> 28) % 32 < 8 ? 0 : 1,
			 recv, os)->most = most;
		/*
		 * Issued inline (no flag here or before it in the batch): the
		 * fd is looked up during the submit, while we watch the table.
		 */
		linked |= sqe->flags;
		if (!linked && (cmd_op == GOSYNC_URING_SEND || recv) &&
		    dir_forbids(&o, !recv))
			re->pend[slot].forbid = 1;
		slots[got++] = slot;
	}
	ret = got ? ring_submit(t, re, slots, got) : EBUSY;
	for (i = 0; i < got; i++)
		if (!tbl_same(t->w, gen))
			re->pend[slots[i]].forbid = 0;
	pthread_mutex_unlock(&re->lock);
	return ret;
}

static int op_uring_poll(struct tctx *t, const struct op *op)
{
	struct ringent *re = ring_get(t, op->o2);
	struct io_uring_sqe *sqe;
	struct obj o;
	int slot, ret, os;
	unsigned int mask;

	if (!re)
		return ENOMEM;
	slot = pend_slot(re);
	if (!re->live || slot < 0 || !ring_owned(re, t) ||
	    !(sqe = io_uring_get_sqe(&re->ring))) {
		pthread_mutex_unlock(&re->lock);
		return EBUSY;
	}
	os = pick_obj(t, op->o1, op->a % 4 ? K_CHAN : K_NONE, &o);
	mask = op->a & 0x100 ? (uint32_t)op->b : (uint32_t[]){ POLLIN, POLLOUT,
		POLLIN | POLLOUT, POLLIN | EPOLLET, POLLOUT | EPOLLET,
		POLLIN | POLLRDHUP, POLLIN | EPOLLONESHOT, 0 }[op->b % 8];
	switch (op->a % 8) {
	case 0: {
		int j;

		/* remove a live poll of ours */
		for (j = 0; j < NPEND - 1; j++)
			if (re->pend[j].live && re->pend[j].chan == 0 &&
			    re->pend[j].recv == 2)
				break;
		io_uring_prep_poll_remove(sqe, j < NPEND - 1 ? re->pend[j].ud :
					  op->c);
		pend_add(t, re, slot, sqe, 0, -1, 0, os);
		break;
	}
	case 1: case 2:
		io_uring_prep_poll_multishot(sqe, o.fd, mask);
		pend_add(t, re, slot, sqe, 0, -1, 2, os);
		break;
	default:
		io_uring_prep_poll_add(sqe, o.fd, mask);
		pend_add(t, re, slot, sqe, 0, -1, 2, os);
		break;
	}
	ret = ring_submit(t, re, &slot, 1);
	pthread_mutex_unlock(&re->lock);
	return ret;
}

/* IORING_OP_READ / WRITE on a channel fd: io-wq does the blocking. */
static int op_uring_rw(struct tctx *t, const struct op *op)
{
	struct ringent *re;
	struct io_uring_sqe *sqe;
	struct obj o;
	int slot, ret, os, inl;
	uint32_t elem;
	uint64_t gen;
	char *buf;

	if (O.avoid & AVOID_URING_RW)
		return 0;
	re = ring_get(t, op->o2);
	if (!re)
		return ENOMEM;
	/* before taking an SQE: it would count as left over */
	inl = re->live && ring_issues_inline(re);
	slot = pend_slot(re);
	if (!re->live || slot < 0 || !ring_owned(re, t) ||
	    !(sqe = io_uring_get_sqe(&re->ring))) {
		pthread_mutex_unlock(&re->lock);
		return EBUSY;
	}
	gen = atomic_load(&t->w->tbl_gen);
	os = pick_obj(t, op->o1, K_CHAN, &o);
	/*
	 * Only the module's files (or a bad fd): this kernel's io_uring
	 * spins for ever in the submitter's task work on a READ or WRITE of
	 * a pollable file without FMODE_NOWAIT or O_NONBLOCK while its poll
	 * says ready.  The module's files all have the bit
	 * (gosync_install_fd()); others here have not (an epoll fd, a
	 * blocking pipe), and that loop is the kernel's, not ours.  A bad
	 * fd becomes -1 here (1023 or the one below the table may be open).
	 * Left: another thread may close and reuse the number between here
	 * and the submit; rare enough, and the leak check would say so.
	 */
	if (!is_gosync(o.kind)) {
		o.fd = -1;
		o.kind = K_NONE;
		os = -1;
	}
	elem = o.kind == K_CHAN && o.lay.elem ? o.lay.elem : 8;
	buf = re->bufs + (size_t)slot * URING_BUF;
	switch (op->a % 8) {
	case 0: case 1: case 2:
		io_uring_prep_read(sqe, o.fd, buf, elem * (1 + (op->b % 4)) %
				   (URING_BUF + 1), 0);
		break;
	case 3: case 4: case 5:
		io_uring_prep_write(sqe, o.fd, buf, elem * (1 + (op->b % 4)) %
				    (URING_BUF + 1), 0);
		break;
	case 6:
		io_uring_prep_read(sqe, o.fd, buf, (uint32_t)op->b % URING_BUF,
				   -1);
		break;
	default:
		io_uring_prep_write(sqe, o.fd, buf, elem + 1, 0);
		sqe->rw_flags = RWF_NOWAIT;
		break;
	}
	if (op->c % 8 == 0)
		sqe->flags |= IOSQE_ASYNC;
	pend_add(t, re, slot, sqe, 0, -1, 3, os);
	re->pend[slot].forbid = inl && !sqe->flags &&
		dir_forbids(&o, sqe->opcode == IORING_OP_WRITE);
	ret = ring_submit(t, re, &slot, 1);
	if (ret || !tbl_same(t->w, gen))
		re->pend[slot].forbid = 0;
	pthread_mutex_unlock(&re->lock);
	return ret;
}

/*
 * Reap every completion there is, then fail any uring command that is
 * still queued well past its deadline (not excused by a stop or stall).
 */
static void ring_reap_locked(struct tctx *t, struct ringent *re, int check,
			     int wait_ms)
{
	struct io_uring_cqe *cqe;
	int64_t now;
	int i, enter = ring_owned(re, t);

	if (!re->live)
		return;
	if (enter && wait_ms > 0) {
		struct __kernel_timespec ts = { 0, wait_ms * 1000000LL };

		io_uring_wait_cqe_timeout(&re->ring, &cqe, &ts);
	} else if (enter) {
		io_uring_get_events(&re->ring);
	}
	while (!io_uring_peek_cqe(&re->ring, &cqe)) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		struct pend *pd = &re->pend[ud & 0xff];

		if ((ud & 0xff) < NPEND - 1 && pd->live && pd->ud == ud) {
			if (pd->chan)
				check_uring_res(t, pd->recv ? "uring recv" :
						"uring send", cqe->res, pd->most);
			/* (io_uring's own checks of the sqe may come first) */
			if (pd->forbid && cqe->res >= 0)
				fail(t, "uring %s on a directional end of the other direction completed with res %d",
				     pd->recv == 1 ? "recv" : pd->recv == 3 ?
				     "read/write" : "send", cqe->res);
			if (!(cqe->flags & IORING_CQE_F_MORE))
				pd->live = 0;
		}
		io_uring_cqe_seen(&re->ring, cqe);
	}
	if (!check || !enter)
		return;
	now = now_ns();
	for (i = 0; i < NPEND - 1; i++) {
		struct pend *pd = &re->pend[i];
		int64_t due;

		if (!pd->live || !pd->check ||
		    pd->deadline == GOSYNC_DEADLINE_FOREVER)
			continue;
		due = pd->deadline < pd->submit ? pd->submit : pd->deadline;
		if (now - due <= O.bound_ns)
			continue;
		pd->check = 0;
		if (pd->gen != stop_gen(t->w) || (pd->gen & 1) ||
		    pd->cgen != atomic_load(&t->w->sh->child_gen) ||
		    now - due - stall_ns(due, now) <= O.bound_ns) {
			atomic_fetch_add(&SH->excused, 1);
			continue;
		}
		fail(t, "uring %s (deadline %s) still queued %.3f s after its deadline",
		     pd->recv ? "recv" : "send",
		     pd->deadline == GOSYNC_DEADLINE_NONBLOCK ? "NONBLOCK" :
		     "absolute", (now - due) / 1e9);
	}
}

void rings_reap_all(struct tctx *t, int check)
{
	int i;

	for (i = 0; i < NRINGS; i++) {
		struct ringent *re = &t->w->rings[i];

		pthread_mutex_lock(&re->lock);
		ring_reap_locked(t, re, check, 0);
		pthread_mutex_unlock(&re->lock);
	}
}

static int op_uring_reap(struct tctx *t, const struct op *op)
{
	struct ringent *re = &t->w->rings[op->o2 % NRINGS];

	pthread_mutex_lock(&re->lock);
	ring_reap_locked(t, re, 1, op->a % 16 == 0 ? 1 : 0);
	pthread_mutex_unlock(&re->lock);
	return 0;
}

static int op_uring_cancel(struct tctx *t, const struct op *op)
{
	struct ringent *re = ring_get(t, op->o2);
	struct io_uring_sqe *sqe;
	struct obj o;
	int slot, ret, j;

	if (!re)
		return ENOMEM;
	slot = pend_slot(re);
	if (!re->live || slot < 0 || !ring_owned(re, t) ||
	    !(sqe = io_uring_get_sqe(&re->ring))) {
		pthread_mutex_unlock(&re->lock);
		return EBUSY;
	}
	for (j = (int)(op->b % (NPEND - 1)); j < NPEND - 1; j++)
		if (re->pend[j].live)
			break;
	switch (op->a % 4) {
	case 0:
		pick_obj(t, op->o1, K_CHAN, &o);
		io_uring_prep_cancel_fd(sqe, o.fd, IORING_ASYNC_CANCEL_ALL);
		break;
	case 1:
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		break;
	default:
		io_uring_prep_cancel64(sqe, j < NPEND - 1 ? re->pend[j].ud : op->c,
				       op->a & 0x10 ? IORING_ASYNC_CANCEL_ALL : 0);
		break;
	}
	pend_add(t, re, slot, sqe, 0, -1, 0, -1);
	ret = ring_submit(t, re, &slot, 1);
	pthread_mutex_unlock(&re->lock);
	return ret;
}

static int op_ring_close(struct tctx *t, const struct op *op)
{
	struct ringent *re = &t->w->rings[op->o2 % NRINGS];

	pthread_mutex_lock(&re->lock);
	if (re->live && op->a % 2)
		ring_reap_locked(t, re, 1, 0);
	/* prepared but never submitted, now and then */
	if (re->live && op->a % 8 == 2 && ring_owned(re, t)) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&re->ring);

		if (sqe)
			io_uring_prep_nop(sqe);
	}
	ring_exit_locked(t->w, re);
	pthread_mutex_unlock(&re->lock);
	return 0;
}

/* ------------------------------------------------------------ memory -- */

static int map_kind_of(int kind)
{
	return kind == K_CHAN ? M_CHAN : kind == K_SYNC ? M_SYNC :
	       kind == K_CTX ? M_CTX : M_OTHER;
}

/* The object kind a mapping of the module's shows. */
static int obj_kind_of(int mkind)
{
	return mkind == M_SYNC ? K_SYNC : mkind == M_CTX ? K_CTX : K_CHAN;
}

/* The bytes a whole mapping of the object takes. */
static size_t obj_map_size(int mkind, const struct layout *lay)
{
	return mkind == M_CHAN ? lay->map_size : GOSYNC_SYNC_SIZE;
}

static bool vma_is_gosync(const char *addr, size_t len);

/*
 * Does a vma of the module's start at @addr? (a split shows up as one)
 * A context has no MAP ioctl: its page is one page, and the kernel's
 * list of vmas says.
 */
static int vma_starts(int fd, int kind, char *addr)
{
	struct gosync_chan_map req = { .addr = (uintptr_t)addr };

	if (kind == K_CTX)
		return vma_is_gosync(addr, GOSYNC_SYNC_SIZE);
	return !ioctl(fd, kind == K_SYNC ? GOSYNC_SYNC_IOC_MAP :
		      GOSYNC_CHAN_IOC_MAP, &req);
}

/*
 * The header's magic through the mapping: what the kernel wrote there at
 * creation.  Nothing of ours writes it, so anything else means the
 * mapping no longer shares the kernel's pages.
 */
/* Is @m still what the table holds at its address? (mm lock held) */
static int map_current(struct wctx *w, const struct mapent *m)
{
	int i, same = 0;

	pthread_mutex_lock(&w->tbl);
	for (i = 0; i < NMAPS; i++)
		if (w->maps[i].kind == m->kind && w->maps[i].addr == m->addr &&
		    w->maps[i].fd == m->fd && w->maps[i].len == m->len)
			same = 1;
	pthread_mutex_unlock(&w->tbl);
	return same;
}

/*
 * @locked: the caller holds w->mm.  Otherwise the probe takes it, so no
 * other thread can replace the mapping while it reads.
 */
static void probe_magic_as(struct tctx *t, const struct mapent *m,
			   const char *after, int locked)
{
	uint32_t magic = 0, want;
	int current;

	if (!map_is_obj(m->kind) || m->reported)
		return;
	if (!(m->prot & PROT_READ))
		return;
	want = m->kind == M_CHAN ? GOSYNC_CHAN_MAGIC : GOSYNC_SYNC_MAGIC;
	if (!locked)
		pthread_rwlock_rdlock(&t->w->mm);
	current = map_current(t->w, m);
	if (current && load32(t, m->addr, &magic))
		current = 0;
	if (!locked)
		pthread_rwlock_unlock(&t->w->mm);
	if (!current)
		return;
	if (magic != want) {
		/* and through a fresh mapping of the same object? */
		uint32_t fresh = 0;
		size_t size = obj_map_size(m->kind, &m->lay);
		char *p = m->fd >= 0 ? mmap(NULL, size, PROT_READ, MAP_SHARED,
					    m->fd, 0) : MAP_FAILED;

		if (p != MAP_FAILED) {
			load32(t, p, &fresh);
			munmap(p, size);
		}
		/* once per mapping: later touches see the same */
		pthread_mutex_lock(&t->w->tbl);
		for (int i = 0; i < NMAPS; i++)
			if (t->w->maps[i].addr == m->addr &&
			    t->w->maps[i].kind == m->kind)
				t->w->maps[i].reported = 1;
		pthread_mutex_unlock(&t->w->tbl);
		atomic_fetch_add(&SH->known[5], 1);
		fail(t, "after %s the %s mapping at %p (%zu bytes, owner %u) reads magic %#x, want %#x; a fresh mapping of the object reads %#x%s",
		     after, m->kind == M_CHAN ? "channel" : m->kind == M_CTX ?
		     "context" : "sync object",
		     (void *)m->addr, m->len, m->owner, magic, want, fresh,
		     p == MAP_FAILED ? " (could not map it)" : "");
	}
}

/* Did an operation on [addr, addr+len) split the gosync mapping @m? */
static int split_at(struct wctx *w, const struct mapent *m, char *addr,
		    size_t len)
{
	char *end = m->addr + m->len;
	char *b2 = addr + ((len + w->page - 1) & ~(w->page - 1));
	int kind = obj_kind_of(m->kind);

	if (m->fd < 0 || !len)
		return 0;
	if (addr > m->addr && addr < end && vma_starts(m->fd, kind, addr))
		return 1;
	return b2 > m->addr && b2 < end && vma_starts(m->fd, kind, b2);
}

static void probe_magic(struct tctx *t, const struct mapent *m, const char *after)
{
	probe_magic_as(t, m, after, 0);
}

/*
 * What a plain mmap of a context's page (MAP_SHARED, offset 0, the one
 * page) must give: 0, the errno, or -1 when the rules say nothing
 * exact (other flags, prot bits beyond the three).  Only PROT_READ (or
 * none) of a file that can read: the kernel alone writes the page.
 */
/*
 * What mmap of a context's page must say: 0, an errno, -1 (no verdict)
 * or CTX_MAP_EACCES_OR_EPERM: PROT_WRITE | PROT_EXEC of a file that may
 * write, where the order of the kernel's checks decides (do_mmap()
 * refuses exec on a noexec mount, as an anonymous inode's is, with
 * EPERM before the module's ->mmap refuses the write with EACCES; a
 * name in a gosync mount without noexec meets the module's first).
 */
#define CTX_MAP_EACCES_OR_EPERM	(-2)

static int ctx_map_want(int acc, size_t len, int prot, int flags, off_t off)
{
	if (flags != MAP_SHARED || off || len != GOSYNC_SYNC_SIZE ||
	    (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)))
		return -1;
	/* do_mmap(): no read access, or a write a read-only file cannot */
	if (acc == O_WRONLY || acc == O_ACCMODE ||
	    ((prot & PROT_WRITE) && acc == O_RDONLY))
		return EACCES;
	if ((prot & PROT_WRITE) && (prot & PROT_EXEC))
		return CTX_MAP_EACCES_OR_EPERM;
	if (prot & PROT_WRITE)
		return EACCES;
	return prot & PROT_EXEC ? EPERM : 0;
}

/*
 * Map @o (the object in table slot @os; or -1 and fd -1: anonymous)
 * into mapping slot @s with the given arguments: the table takes what
 * the kernel allowed, and the module's rules judge it.  0 or the errno.
 */
static int map_obj(struct tctx *t, int s, int os, const struct obj *o,
		   size_t len, int prot, int flags, off_t off)
{
	struct wctx *w = t->w;
	char *p, *base = slot_base(w, s);
	struct mapent m;
	int err = 0, acc = O_RDWR, want = -1;

	pthread_rwlock_wrlock(&w->mm);
	pthread_mutex_lock(&w->tbl);
	if (w->maps[s].kind != M_NONE) {
		munmap(w->maps[s].addr, w->maps[s].len);
		map_forget(w, s);
		slot_reserve(w, s, NULL, 0);
	}
	/* the fd's object, now: another thread may have replaced it */
	if (os >= 0 && (w->objs[os].fd != o->fd || w->objs[os].kind != o->kind)) {
		pthread_mutex_unlock(&w->tbl);
		pthread_rwlock_unlock(&w->mm);
		return EAGAIN;
	}
	if (os >= 0)
		acc = w->objs[os].acc;
	if (os >= 0 && o->kind == K_CTX)
		want = ctx_map_want(acc, len, prot, flags, off);
	p = mmap(base, len, prot, flags | MAP_FIXED, o->fd, off);
	if (p != MAP_FAILED && os >= 0 &&
	    ((o->kind == K_CHAN && (w->objs[os].lay.state &
				   (GOSYNC_CHAN_STATE_NOSEND |
				    GOSYNC_CHAN_STATE_NORECV))) ||
	     (o->kind == K_SYNC && acc != O_RDWR)))
		fail(t, "mmap of a %s (%s) succeeded",
		     o->kind == K_CHAN ? "directional channel end" :
		     "sync object opened without O_RDWR", end_name(&w->objs[os]));
	if (p != MAP_FAILED && os >= 0 && o->kind == K_CTX &&
	    ((prot & PROT_WRITE) || acc == O_WRONLY || acc == O_ACCMODE))
		fail(t, "mmap(prot %#x, flags %#x) of a context (fd access %#x) succeeded: only the kernel may write its page",
		     prot, flags, acc);
	if (p == MAP_FAILED) {
		err = errno;
		slot_reserve(w, s, NULL, 0);
		pthread_mutex_unlock(&w->tbl);
		pthread_rwlock_unlock(&w->mm);
		if (is_gosync(o->kind))
			check_errno(t, "mmap", err);
		if (want == CTX_MAP_EACCES_OR_EPERM && err != EACCES &&
		    err != EPERM)
			fail(t, "mmap(%zu bytes, prot %#x, MAP_SHARED) of a context (fd access %#x) failed with %s, want EACCES or EPERM",
			     len, prot, acc, strerror(err));
		if (want >= 0 && err != want && !(!want && err == ENOMEM))
			fail(t, "mmap(%zu bytes, prot %#x, MAP_SHARED) of a context (fd access %#x) failed with %s, want %s",
			     len, prot, acc, strerror(err),
			     want ? strerror(want) : "success");
		return err;
	}
	memset(&m, 0, sizeof(m));
	m.addr = p;
	m.len = (len + w->page - 1) & ~(w->page - 1);
	m.kind = o->fd < 0 ? M_ANON : map_kind_of(o->kind);
	m.nocopy = map_is_obj(m.kind);	/* VM_DONTCOPY */
	m.prot = prot;
	m.lay = o->lay;
	m.skind = o->skind;
	m.fd = -1;
	if (map_is_obj(m.kind)) {
		struct gosync_chan_map req = { .addr = (uintptr_t)p };

		if ((flags & MAP_TYPE) == MAP_PRIVATE || off ||
		    m.len != obj_map_size(m.kind, &o->lay) ||
		    (prot & PROT_EXEC))
			fail(t, "mmap of a gosync object broke its rules: %s, offset %lld, %zu bytes of %zu, prot %#x",
			     (flags & MAP_TYPE) == MAP_PRIVATE ? "private" : "shared",
			     (long long)off, len, obj_map_size(m.kind, &o->lay),
			     prot);
		/* (a context's page has no MAP ioctl: no owner id to ask) */
		if (m.kind != M_CTX &&
		    !ioctl(o->fd, m.kind == M_CHAN ? GOSYNC_CHAN_IOC_MAP :
			   GOSYNC_SYNC_IOC_MAP, &req))
			m.owner = req.owner;
		m.fd = fcntl(o->fd, F_DUPFD_CLOEXEC, w->fdbase + 40);
	}
	w->maps[s] = m;
	pthread_mutex_unlock(&w->tbl);
	pthread_rwlock_unlock(&w->mm);
	probe_magic(t, &m, "mmap");
	return 0;
}

static int op_mmap(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	int s = op->o2 % NMAPS, prot, flags, os, kind;
	uint32_t a = op->a;
	struct obj o;
	size_t len, base_len;
	off_t off;

	/* a channel, a sync object, now and then a context's page */
	kind = a & 0x80000000U ? K_SYNC : K_CHAN;
	if ((a >> 27) % 16 == 15)
		kind = K_CTX;
	os = pick_obj(t, op->o1, kind, &o);
	if (op->b % 32 == 0) {
		o.kind = K_NONE;		/* anonymous */
		o.fd = -1;
		os = -1;
	}
	base_len = o.kind == K_CHAN ? o.lay.map_size : o.kind == K_SYNC ||
		   o.kind == K_CTX ? GOSYNC_SYNC_SIZE : w->page * (1 + op->b % 8);
	if (!base_len)
		base_len = w->page;
	switch (a % 16) {
	case 10: len = base_len - w->page; break;
	case 11: len = base_len + w->page; break;
	case 12: len = 0; break;
	case 13: len = w->page; break;
	case 14: len = 2 * base_len; break;
	case 15: len = base_len + ((a >> 20) & 1 ? 1 : -1); break;
	default: len = base_len; break;
	}
	if (len > SLOT_LEN - (1UL << 20))
		len = SLOT_LEN - (1UL << 20);	/* a gap before the next slot */
	switch ((a >> 4) % 16) {
	case 10: prot = PROT_READ; break;
	case 11: prot = PROT_WRITE; break;
	case 12: prot = PROT_READ | PROT_WRITE | PROT_EXEC; break;
	case 13: prot = PROT_READ | PROT_EXEC; break;
	case 14: prot = PROT_NONE; break;
	case 15: prot = (int)(op->b >> 8) & 0x0100000f; break;
	default: prot = PROT_READ | PROT_WRITE; break;
	}
	switch ((a >> 8) % 16) {
	case 11: flags = MAP_PRIVATE; break;
	case 12: flags = MAP_SHARED_VALIDATE | (1 << (8 + (op->b >> 16) % 8)); break;
	case 13: flags = MAP_SHARED | MAP_POPULATE; break;
	case 14: flags = MAP_SHARED | MAP_LOCKED; break;
	case 15: flags = MAP_SHARED | MAP_NORESERVE; break;
	default: flags = MAP_SHARED; break;
	}
	if (o.fd < 0)
		flags |= MAP_ANONYMOUS;
	switch ((a >> 12) % 16) {
	case 13: off = w->page; break;
	case 14: off = -(off_t)w->page; break;
	case 15: off = (off_t)((op->b >> 24) % 1024) * w->page; break;
	default: off = 0; break;
	}
	return map_obj(t, s, os, &o, len, prot, flags, off);
}

/* A sub-range of a mapping: whole, first, last or a middle page, ... */
static void pick_range(struct wctx *w, const struct mapent *m, uint64_t sel,
		       char **addr, size_t *len)
{
	size_t pages = m->len / w->page;

	*addr = m->addr;
	*len = m->len;
	switch (sel % 12) {
	case 6: *len = w->page; break;
	case 7: *addr = m->addr + m->len - w->page; *len = w->page; break;
	case 8:
		if (pages > 2) {
			*addr = m->addr + w->page * (1 + (sel >> 4) % (pages - 2));
			*len = w->page;
		}
		break;
	case 9: *len = 0; break;
	case 10: *addr = m->addr + 1; break;
	case 11: *len = m->len + w->page; break;
	default: break;
	}
}

static int covers(const struct mapent *m, char *addr, size_t len)
{
	return addr <= m->addr && addr + len >= m->addr + m->len;
}

/*
 * Is [@addr, @addr + @len) one VMA of a gosync file, as the kernel says
 * (/proc/self/maps)?  Asked before a check that blames the module: the
 * table can be stale (a hole between a munmap and its slot_reserve() is
 * anybody's, a malloc's mmap in another thread, say), and then the check
 * says nothing about the module.
 */
static bool vma_is_gosync(const char *addr, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	bool yes = false;

	if (!f)
		return true;	/* cannot tell: trust the table */
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 ||
		    lo != (unsigned long)addr)
			continue;
		yes = hi == (unsigned long)addr + len && strstr(line, "gosync");
		break;
	}
	fclose(f);
	return yes;
}

static int op_munmap(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	struct mapent m;
	char *addr;
	size_t len;
	int s, ret;
	struct obj o;

	pthread_rwlock_wrlock(&w->mm);
	s = pick_map(w, op->o2, MK_ANY, &m);
	if (s < 0) {
		pthread_rwlock_unlock(&w->mm);
		return ENOENT;
	}
	pick_range(w, &m, op->a, &addr, &len);
	if (map_is_obj(m.kind) && len &&
	    !covers(&m, addr, len) && !vma_is_gosync(m.addr, m.len)) {
		/* The table is stale here: no verdict on the module. */
		pthread_rwlock_unlock(&w->mm);
		return ESTALE;
	}
	ret = munmap(addr, len) ? errno : 0;
	if (!ret && len) {
		char *end = addr + ((len + w->page - 1) & ~(w->page - 1));

		if (end > slot_base(w, s) + SLOT_LEN)
			end = slot_base(w, s) + SLOT_LEN;
		if (covers(&m, addr, len)) {
			pthread_mutex_lock(&w->tbl);
			map_forget(w, s);
			pthread_mutex_unlock(&w->tbl);
			slot_reserve(w, s, NULL, 0);
		} else {
			if (map_is_obj(m.kind))
				fail(t, "munmap of %zu bytes at +%td split a gosync mapping of %zu bytes",
				     len, addr - m.addr, m.len);
			slot_reserve(w, s, addr, end - addr);
		}
	}
	pthread_rwlock_unlock(&w->mm);
	(void)o;
	return ret;
}

static int free_map_slot(struct wctx *w, unsigned int from)
{
	int i;

	for (i = 0; i < NMAPS; i++)
		if (w->maps[(from + i) % NMAPS].kind == M_NONE)
			return (from + i) % NMAPS;
	return -1;
}

static int op_mremap(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	struct mapent m;
	int s, d, ret = 0, v = op->a % 8, gos;
	size_t nlen;
	char *p = MAP_FAILED;

	pthread_rwlock_wrlock(&w->mm);
	s = pick_map(w, op->o2, MK_ANY, &m);
	pthread_mutex_lock(&w->tbl);
	d = free_map_slot(w, op->o1);
	pthread_mutex_unlock(&w->tbl);
	if (s < 0 || (d < 0 && v != 3 && v != 5)) {
		pthread_rwlock_unlock(&w->mm);
		return ENOENT;
	}
	gos = map_is_obj(m.kind);
	nlen = m.len;
	switch (v) {
	case 0: case 1: case 2:		/* move */
		p = mremap(m.addr, m.len, m.len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   slot_base(w, d));
		break;
	case 3:				/* grow in place */
		nlen = m.len + w->page;
		p = mremap(m.addr, m.len, nlen, 0);
		break;
	case 4:				/* grow, moving */
		nlen = m.len + w->page * (1 + op->b % 4);
		p = mremap(m.addr, m.len, nlen, MREMAP_MAYMOVE | MREMAP_FIXED,
			   slot_base(w, d));
		break;
	case 5:				/* shrink */
		nlen = m.len > w->page ? m.len - w->page : m.len;
		p = mremap(m.addr, m.len, nlen, 0);
		break;
	case 6:				/* keep the old one too */
		p = mremap(m.addr, m.len, m.len, MREMAP_MAYMOVE | MREMAP_FIXED |
			   MREMAP_DONTUNMAP, slot_base(w, d));
		break;
	default:			/* a second mapping of the same pages */
		nlen = m.len;
		p = mremap(m.addr, 0, nlen, MREMAP_MAYMOVE | MREMAP_FIXED,
			   slot_base(w, d));
		break;
	}
	if (p == MAP_FAILED) {
		ret = errno;
		if (d >= 0)
			slot_reserve(w, d, NULL, 0);
		pthread_rwlock_unlock(&w->mm);
		if (gos)
			check_errno(t, "mremap", ret);
		return ret;
	}
	if (gos && (nlen != m.len || v == 7))
		fail(t, "mremap (variant %d) of a gosync mapping of %zu bytes to %zu succeeded",
		     v, m.len, nlen);
	pthread_mutex_lock(&w->tbl);
	if (v == 3 || v == 5) {
		w->maps[s].len = nlen;
		pthread_mutex_unlock(&w->tbl);
		if (nlen < m.len)
			slot_reserve(w, s, m.addr + nlen, m.len - nlen);
	} else {
		struct mapent n = m;

		n.addr = p;
		n.len = nlen;
		if (v == 6 || v == 7)
			n.fd = n.fd >= 0 ? fcntl(n.fd, F_DUPFD_CLOEXEC,
						 w->fdbase + 40) : -1;
		w->maps[d] = n;
		if (v != 6 && v != 7) {
			w->maps[s].kind = M_NONE;
			w->maps[s].fd = -1;	/* moved with it */
		}
		pthread_mutex_unlock(&w->tbl);
		if (v != 6 && v != 7)
			slot_reserve(w, s, NULL, 0);
	}
	pthread_rwlock_unlock(&w->mm);
	return 0;
}

/*
 * No MADV_HWPOISON (100) or MADV_SOFT_OFFLINE (101): as root they inject
 * a hardware memory failure, and the poisoned page (one the module pins)
 * later fails a region's allocation with EIO, as hardware errors do;
 * that tests the machine, not us.  99 is an advice no kernel has.
 */
static int op_madvise(struct tctx *t, const struct op *op)
{
	static const int adv[] = {
		MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
		MADV_DONTNEED, MADV_DONTNEED, MADV_FREE, MADV_REMOVE,
		MADV_DONTFORK, MADV_DOFORK, MADV_DOFORK, MADV_MERGEABLE,
		MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP,
		MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_COLD,
		MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE, 99, -1,
	};
	struct wctx *w = t->w;
	struct mapent m;
	char *addr;
	size_t len;
	int s, a, ret, wr;

	a = adv[op->a % NELEMS(adv)];
	if (a == MADV_REMOVE && (O.avoid & AVOID_REMAP))
		a = MADV_DONTNEED;
	/*
	 * DONTFORK/DOFORK change what the table records (nocopy), so they
	 * are serialised with each other: two of them racing on one mapping
	 * under the read lock could leave the table saying the opposite of
	 * the kernel, and a forked child then took the hole for a mapping.
	 */
	wr = a == MADV_DOFORK || a == MADV_DONTFORK;
	if (wr)
		pthread_rwlock_wrlock(&w->mm);
	else
		pthread_rwlock_rdlock(&w->mm);
	s = pick_map(w, op->o2, MK_ANY, &m);
	if (s < 0) {
		pthread_rwlock_unlock(&w->mm);
		return ENOENT;
	}
	pick_range(w, &m, op->b, &addr, &len);
	ret = madvise(addr, len, a) ? errno : 0;
	if (!ret && covers(&m, addr, len) &&
	    (a == MADV_DOFORK || a == MADV_DONTFORK)) {
		pthread_mutex_lock(&w->tbl);
		w->maps[s].nocopy = a == MADV_DONTFORK;
		pthread_mutex_unlock(&w->tbl);
	}
	if (!ret && map_is_obj(m.kind)) {
		/* no split: no vma of ours may start inside the mapping */
		if (split_at(w, &m, addr, len))
			fail(t, "madvise(%d) of %zu bytes at +%td split a gosync mapping",
			     a, len, addr - m.addr);
		if (a == MADV_REMOVE && addr == m.addr)
			probe_magic_as(t, &m, "MADV_REMOVE", 1);
	}
	pthread_rwlock_unlock(&w->mm);
	return ret;
}

static int op_mprotect(struct tctx *t, const struct op *op)
{
	static const int prots[] = {
		PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE, PROT_WRITE,
		PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC,
		PROT_EXEC, PROT_READ | PROT_WRITE, 0x10,
	};
	struct wctx *w = t->w;
	struct mapent m;
	char *addr;
	size_t len;
	int s, prot = prots[op->a % NELEMS(prots)], ret;

	/* the table records prot: as op_madvise's DONTFORK, one at a time */
	pthread_rwlock_wrlock(&w->mm);
	s = pick_map(w, op->o2, MK_ANY, &m);
	if (s < 0) {
		pthread_rwlock_unlock(&w->mm);
		return ENOENT;
	}
	pick_range(w, &m, op->b, &addr, &len);
	ret = mprotect(addr, len, prot) ? errno : 0;
	/*
	 * A context's page is the kernel's to write: its mmap took
	 * VM_MAYWRITE (as every gosync mapping's VM_MAYEXEC), so from its
	 * first page on neither can be added: EACCES.  ENOMEM says the
	 * range is not mapped as the table has it (the table can be stale,
	 * as op_munmap knows) or no memory: no verdict then; a success is
	 * always one.
	 */
	if (m.kind == M_CTX && len && addr == m.addr &&
	    (prot & (PROT_WRITE | PROT_EXEC)) &&
	    !(prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) && ret != EACCES &&
	    ret != ENOMEM)
		fail(t, "mprotect(%#x) of %zu bytes of a context's page returned %s, want EACCES",
		     prot, len, ret ? strerror(ret) : "success");
	if (!ret && len && map_is_obj(m.kind)) {
		if (prot & PROT_EXEC)
			fail(t, "mprotect(PROT_EXEC) of a gosync mapping succeeded");
		else if (split_at(w, &m, addr, len))
			fail(t, "mprotect of %zu bytes at +%td split a gosync mapping of %zu",
			     len, addr - m.addr, m.len);
	}
	if (!ret && covers(&m, addr, len)) {
		pthread_mutex_lock(&w->tbl);
		w->maps[s].prot = prot;
		pthread_mutex_unlock(&w->tbl);
	}
	pthread_rwlock_unlock(&w->mm);
	return ret;
}

static int op_remap_file_pages(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	struct mapent m;
	char *addr;
	size_t len;
	int s, ret;

	if (O.avoid & AVOID_REMAP)
		return 0;
	pthread_rwlock_wrlock(&w->mm);
	s = pick_map(w, op->o2, MK_OBJ, &m);
	if (s < 0) {
		pthread_rwlock_unlock(&w->mm);
		return ENOENT;
	}
	pick_range(w, &m, op->b, &addr, &len);
	ret = remap_file_pages(addr, len, 0, op->a % 4 ? 0 : op->c % 16,
			       op->a % 16 == 1 ? (int)op->c : 0) ? errno : 0;
	if (ret && m.fd >= 0 && !vma_starts(m.fd, obj_kind_of(m.kind), m.addr)) {
		/*
		 * It is a MAP_FIXED mmap underneath: the old mapping went
		 * before the object's ->mmap refused the new one.  Forget it,
		 * and fill the hole it left in its slot.
		 */
		pthread_mutex_lock(&w->tbl);
		map_forget(w, s);
		pthread_mutex_unlock(&w->tbl);
		slot_reserve(w, s, NULL, 0);
	}
	if (!ret) {
		/* still the module's mapping?  It may not become executable. */
		if (!mprotect(m.addr, w->page, PROT_READ | PROT_EXEC)) {
			atomic_fetch_add(&SH->known[5], 1);
			fail(t, "after remap_file_pages of %zu bytes at +%td the gosync mapping could be made executable [known bug: remap_file_pages/MADV_REMOVE bypassing the module's mmap rules]",
			     len, addr - m.addr);
		}
		/* nor a context's page writable: the re-mmap met its rules */
		if (m.kind == M_CTX &&
		    !mprotect(m.addr, w->page, PROT_READ | PROT_WRITE))
			fail(t, "after remap_file_pages of %zu bytes at +%td a context's page could be made writable",
			     len, addr - m.addr);
		probe_magic_as(t, &m, "remap_file_pages", 1);
		pthread_mutex_lock(&w->tbl);
		w->maps[s].kind = M_OTHER;	/* not ours to judge any more */
		pthread_mutex_unlock(&w->tbl);
	}
	pthread_rwlock_unlock(&w->mm);
	return ret;
}

static int op_msync(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	struct mapent m;
	char *addr;
	size_t len;
	int s, ret;

	pthread_rwlock_rdlock(&w->mm);
	s = pick_map(w, op->o2, MK_ANY, &m);
	if (s < 0) {
		pthread_rwlock_unlock(&w->mm);
		return ENOENT;
	}
	pick_range(w, &m, op->b, &addr, &len);
	switch (op->a % 10) {
	case 0: ret = msync(addr, len, MS_SYNC); break;
	case 1: ret = msync(addr, len, MS_ASYNC); break;
	case 2: ret = msync(addr, len, MS_INVALIDATE); break;
	case 3: ret = msync(addr, len, (int)op->c); break;
	case 4: ret = mlock(addr, len); break;
	case 5: ret = munlock(addr, len); break;
	case 6: ret = mlock2(addr, len, MLOCK_ONFAULT); break;
	case 7: ret = mincore(addr, len, (unsigned char *)t->arena + 65536); break;
	case 8: ret = mlock(addr, len) ? -1 : munlock(addr, len); break;
	default: ret = mincore(addr, len, (unsigned char *)w->ro); break;
	}
	ret = ret ? errno : 0;
	pthread_rwlock_unlock(&w->mm);
	(void)s;
	return ret;
}

/* ------------------------------------------- the shared words by hand -- */

static uint64_t slot_word(uint64_t pos, uint32_t owner, uint32_t state)
{
	return pos << GOSYNC_SLOT_POS_SHIFT |
	       (uint64_t)(owner & GOSYNC_SLOT_OWNER_MAX) << GOSYNC_SLOT_STATE_BITS |
	       (state & 7);
}

static int cas64(uint64_t *p, uint64_t old, uint64_t new)
{
	return __atomic_compare_exchange_n(p, &old, new, 0, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

static int cas32(uint32_t *p, uint32_t old, uint32_t new)
{
	return __atomic_compare_exchange_n(p, &old, new, 0, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

/* An fd of the object a mapping shows (for its wakes), or -1. */
static int map_fd(const struct mapent *m)
{
	return m->fd;
}

/*
 * A channel's fast path, by hand: claim, publish, take; and now and then
 * stop in the middle (the claim is left for the kernel to release when
 * the mapping goes), or set the armed words, or nudge a hint.
 */
static void touch_chan(struct tctx *t, const struct mapent *m, uint64_t x)
{
	char *base = m->addr;
	uint64_t *tail = (uint64_t *)(base + m->lay.off_tail);
	uint64_t *head = (uint64_t *)(base + m->lay.off_head);
	struct gosync_wait *rw = (void *)(base + m->lay.off_rw);
	struct gosync_wait *sw = (void *)(base + m->lay.off_sw);
	uint32_t n = m->lay.nslots ? m->lay.nslots : 1, owner = m->owner;
	struct gosync_chan_wake wk = { 0 };
	uint64_t tv, p, w, *word;
	int wake = 0;

	(void)t;
	if (x % 16 == 15)
		owner = (uint32_t)(x >> 8) % (GOSYNC_SLOT_OWNER_MAX + 1);
	switch (x % 8) {
	case 0: case 1: case 2:		/* send */
		tv = __atomic_load_n(tail, __ATOMIC_ACQUIRE);
		if (tv & GOSYNC_TAIL_CLOSED)
			break;
		p = tv >> 1;
		word = (uint64_t *)(base + m->lay.off_slots +
				    (p % n) * m->lay.slot_size);
		w = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		if (w != slot_word(p, 0, GOSYNC_SLOT_FREE) ||
		    !cas64(word, w, slot_word(p, owner, GOSYNC_SLOT_WRITING)))
			break;
		if ((x >> 8) % 16 == 0)
			break;		/* abandoned mid-send */
		if (!cas64(tail, tv, tv + 2)) {
			__atomic_store_n(word, w, __ATOMIC_RELEASE);
			break;
		}
		memset(word + 1, (int)x, m->lay.elem < 64 ? m->lay.elem : 64);
		__atomic_store_n(word, slot_word(p, 0, (x >> 12) % 4 ?
						 GOSYNC_SLOT_FULL : GOSYNC_SLOT_SYNC),
				 __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* E */
		if (__atomic_load_n(&rw->armed, __ATOMIC_RELAXED)) {
			__atomic_store_n(&rw->armed, 0, __ATOMIC_RELAXED);
			wk.flags = GOSYNC_WAKE_RECV;
			wake = 1;
		}
		break;
	case 3: case 4: case 5:		/* receive */
		p = __atomic_load_n(head, __ATOMIC_ACQUIRE);
		word = (uint64_t *)(base + m->lay.off_slots +
				    (p % n) * m->lay.slot_size);
		w = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		if ((w != slot_word(p, 0, GOSYNC_SLOT_FULL) &&
		     w != slot_word(p, 0, GOSYNC_SLOT_SYNC)) ||
		    !cas64(word, w, slot_word(p, owner, GOSYNC_SLOT_READING)))
			break;
		if ((x >> 8) % 16 == 0)
			break;		/* abandoned mid-receive */
		cas64(head, p, p + 1);
		__atomic_store_n(word, slot_word(p + n, 0, GOSYNC_SLOT_FREE),
				 __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* E */
		if (__atomic_load_n(&sw->armed, __ATOMIC_RELAXED)) {
			__atomic_store_n(&sw->armed, 0, __ATOMIC_RELAXED);
			wk.flags = GOSYNC_WAKE_SEND;
			wake = 1;
		}
		break;
	case 6:				/* arm, as a waiter would */
		__atomic_store_n((x >> 8) & 1 ? &rw->armed : &sw->armed, 1,
				 __ATOMIC_SEQ_CST);
		break;
	default:			/* just look */
		(void)__atomic_load_n(tail, __ATOMIC_ACQUIRE);
		(void)__atomic_load_n(head, __ATOMIC_ACQUIRE);
		(void)__atomic_load_n(&rw->waiters, __ATOMIC_RELAXED);
		break;
	}
	if (wake && map_fd(m) >= 0)
		ioctl(map_fd(m), GOSYNC_CHAN_IOC_WAKE, &wk);
}

static void touch_sync(struct tctx *t, const struct mapent *m, uint64_t x)
{
	char *words = m->addr + GOSYNC_SYNC_OFF_WORDS;
	uint32_t owner = m->owner & GOSYNC_MUTEX_OWNER;
	uint32_t *st = (uint32_t *)words;
	uint64_t *wg = (uint64_t *)words;
	uint64_t old;
	uint32_t o32;

	(void)t;
	switch (m->skind) {
	case GOSYNC_SYNC_WG:
		old = __atomic_load_n(wg, __ATOMIC_ACQUIRE);
		if (x % 2) {		/* Add(1) */
			if ((old >> 32) < 0x7fffffff)
				cas64(wg, old, old + (1ULL << 32));
		} else if (old >> 32) {	/* Done(): the last one wakes */
			uint64_t new = old - (1ULL << 32);

			/*
			 * To zero: waiters and ARMED go, the generation moves
			 * on when someone waits; the futex is the low half.
			 */
			if (!(new >> 32))
				new = (old & GOSYNC_WG_GEN) +
				      (old & GOSYNC_WG_WAITERS ? 0x1000 : 0);
			new &= ~0ULL >> 1 << 1 | 1;
			if (cas64(wg, old, new) && !(new >> 32)) {
				syscall(SYS_futex, words, FUTEX_WAKE, INT_MAX,
					NULL, NULL, 0);
				if ((old & GOSYNC_WG_ARMED) && map_fd(m) >= 0)
					ioctl(map_fd(m), GOSYNC_SYNC_IOC_WAKE, 0);
			}
		}
		break;
	case GOSYNC_SYNC_MUTEX:
	case GOSYNC_SYNC_RWMUTEX:
		o32 = __atomic_load_n(st, __ATOMIC_ACQUIRE);
		if (!(o32 & GOSYNC_MUTEX_LOCKED)) {
			/* take it; (x >> 4) % 4 == 0: and keep it */
			if (cas32(st, o32, o32 | GOSYNC_MUTEX_LOCKED | owner) &&
			    (x >> 4) % 4) {
				o32 |= GOSYNC_MUTEX_LOCKED | owner;
				cas32(st, o32, o32 & ~(GOSYNC_MUTEX_LOCKED |
						       GOSYNC_MUTEX_OWNER));
				syscall(SYS_futex, st, FUTEX_WAKE, 1, NULL, NULL, 0);
			}
		} else if ((o32 & GOSYNC_MUTEX_OWNER) == owner && owner) {
			cas32(st, o32, o32 & ~(GOSYNC_MUTEX_LOCKED |
					       GOSYNC_MUTEX_OWNER));
			syscall(SYS_futex, st, FUTEX_WAKE, 1, NULL, NULL, 0);
		}
		break;
	case GOSYNC_SYNC_ONCE:
		o32 = __atomic_load_n(st, __ATOMIC_ACQUIRE);
		if (!o32)
			cas32(st, 0, GOSYNC_ONCE_RUNNING | owner);
		else if (o32 == (GOSYNC_ONCE_RUNNING | owner) && (x >> 4) % 2)
			cas32(st, o32, GOSYNC_ONCE_DONE);
		syscall(SYS_futex, st, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
		break;
	default:			/* cond: signal */
		__atomic_fetch_add(st, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, st, FUTEX_WAKE, (x >> 4) % 2 ? 1 : INT_MAX,
			NULL, NULL, 0);
		break;
	}
}

/* A context's page is the kernel's: a touch reads it, as Err does. */
static void touch_ctx(const struct mapent *m)
{
	const struct gosync_ctx_words *cw =
		(const void *)(m->addr + GOSYNC_SYNC_OFF_WORDS);

	if (__atomic_load_n(&cw->state, __ATOMIC_ACQUIRE))
		(void)__atomic_load_n(&cw->cause, __ATOMIC_RELAXED);
	(void)__atomic_load_n(&cw->deadline_ns, __ATOMIC_RELAXED);
}

/* One guarded touch: 1 when it faulted. */
static int touch_one(struct tctx *t, const struct mapent *m, uint64_t x)
{
	if (m->kind == M_CHAN && m->lay.nslots)
		return GUARD(t, touch_chan(t, m, x));
	if (m->kind == M_SYNC)
		return GUARD(t, touch_sync(t, m, x));
	if (m->kind == M_CTX)
		return GUARD(t, touch_ctx(m));
	return GUARD(t, m->addr[8 + (x >> 8) % (m->len - 8)] ^= (char)x);
}

static int op_touch(struct tctx *t, const struct op *op)
{
	struct mapent m;
	uint64_t r = op->d;
	int n = 1 + op->a % 8, i, s = pick_map(t->w, op->o2, MK_ANY, &m);

	if (s < 0)
		return ENOENT;
	for (i = 0; i < n; i++) {
		if (touch_one(t, &m, rnd(&r))) {
			atomic_fetch_add_explicit(&SH->faults, 1,
						  memory_order_relaxed);
			return EFAULT;
		}
	}
	probe_magic(t, &m, "touch");
	return 0;
}

/* Futex waits and wakes on the shared words; atomics as the library does. */
static int op_sync_words(struct tctx *t, const struct op *op)
{
	struct mapent m;
	struct dl dl;
	uint32_t *word, val = 0;
	struct timespec ts;
	long ret = 0;
	int s = pick_map(t->w, op->o2, op->a & 0x100 ? MK_ANY : MK(M_SYNC), &m);
	int64_t ns;

	if (s < 0)
		return ENOENT;
	word = (uint32_t *)(m.addr + (m.kind == M_SYNC || m.kind == M_CTX ?
				      GOSYNC_SYNC_OFF_WORDS +
				      4 * ((op->b >> 8) % 4) :
				      8 + ((op->b >> 8) % (m.len / 4 - 2)) * 4));
	if (load32(t, word, &val))
		return EFAULT;
	ns = (op->c % 4 == 0) ? 0 : 50000 + (int64_t)(op->c % 1000000);
	ts.tv_sec = 0;
	ts.tv_nsec = ns;
	switch (op->a % 8) {
	case 0: case 1: case 2:
		memset(&dl, 0, sizeof(dl));
		dl_begin_timeout(t, &dl, ns, 0);
		ret = syscall(SYS_futex, word, FUTEX_WAIT, val, &ts, NULL, 0);
		ret = sys_ret(ret);
		dl_end(t, &dl, "futex wait", ret, ret < 0 ? -ret : 0);
		break;
	case 3: {
		struct timespec abs;

		clock_gettime(CLOCK_MONOTONIC, &abs);
		abs.tv_nsec += ns;
		if (abs.tv_nsec >= 1000000000) {
			abs.tv_sec++;
			abs.tv_nsec -= 1000000000;
		}
		memset(&dl, 0, sizeof(dl));
		dl_begin_timeout(t, &dl, ns, 0);
		ret = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, &abs, NULL,
			      FUTEX_BITSET_MATCH_ANY);
		ret = sys_ret(ret);
		dl_end(t, &dl, "futex wait_bitset", ret, ret < 0 ? -ret : 0);
		break;
	}
	case 4: case 5:
		ret = sys_ret(syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL,
				      NULL, 0));
		break;
	case 6:
		if (GUARD(t, touch_sync(t, &m, op->d)))
			return EFAULT;
		break;
	default:
		if (GUARD(t, __atomic_fetch_add(word, (uint32_t)op->d & 3,
						 __ATOMIC_SEQ_CST)))
			return EFAULT;
		break;
	}
	return ret < 0 ? -ret : 0;
}

/*
 * Scribble: random and plausible values over mapped shared pages: slot
 * words near the ring positions, tails (with and without the close bit),
 * heads, armed and waiter words, sync states.  Never the magic words (a
 * probe reads them).
 */
void scribble_burst(struct tctx *t, uint64_t *rng, int n)
{
	struct mapent m;
	int i;

	for (i = 0; i < n; i++) {
		uint64_t x = rnd(rng), v = rnd(rng), *p, off;
		int s = pick_map(t->w, x, MK_OBJ, &m);

		if (s < 0)
			return;
		x >>= 8;
		if (m.kind == M_CHAN && m.lay.nslots) {
			uint64_t tv = 0, pos;

			if (load64(t, (uint64_t *)(m.addr + m.lay.off_tail), &tv))
				continue;
			pos = (tv >> 1) + (x % 5) - 2;
			switch (x % 12) {
			case 0: off = m.lay.off_tail; v = tv + 2 * ((v % 5) - 2); break;
			case 1: off = m.lay.off_tail; v = tv | GOSYNC_TAIL_CLOSED; break;
			case 2: off = m.lay.off_head; v = pos + (v % 3); break;
			case 3: off = m.lay.off_rw + ((v >> 8) % 2) * 4; v %= 3; break;
			case 4: off = m.lay.off_sw + ((v >> 8) % 2) * 4; v %= 3; break;
			case 5: case 6: case 7:
				off = m.lay.off_slots + (pos % m.lay.nslots) *
				      m.lay.slot_size;
				v = slot_word(pos + (v % 2) * m.lay.nslots,
					      (uint32_t)(v >> 8) % 4 ? m.owner :
					      (uint32_t)(v >> 12),
					      (uint32_t)(v >> 40) % 8);
				break;
			case 8: off = 8 + (x >> 4) % 56; break;	/* header */
			case 9: v = (x >> 8) % 2 ? 0 : ~0ULL;
				/* fall through */
			default: off = 8 + (x >> 4) % (m.len - 8); break;
			}
		} else if (m.kind == M_SYNC) {
			off = GOSYNC_SYNC_OFF_WORDS + (x % 4) * 4;
			switch ((x >> 4) % 6) {
			case 0: v = (uint32_t)v | GOSYNC_MUTEX_LOCKED; break;
			case 1: v = GOSYNC_ONCE_RUNNING | (v & GOSYNC_MUTEX_OWNER); break;
			case 2: v = 0; break;
			case 3: v = (v & 0xffffffff00000000ULL) | GOSYNC_WG_ARMED; off &= ~7UL; break;
			default: break;
			}
			if ((x >> 8) % 8 == 0)
				off = 8 + (x >> 12) % (m.len - 16);
		} else {
			continue;
		}
		off &= ~3UL;
		if (off < 8 || off + 8 > m.len)
			continue;
		p = (uint64_t *)(m.addr + (off & ~7UL));
		if ((off & 7) || (m.kind == M_SYNC && (x >> 4) % 6 < 3))
			store32(t, (uint32_t *)(m.addr + off), v);
		else
			store64(t, p, v);
	}
}

static int op_scribble(struct tctx *t, const struct op *op)
{
	uint64_t r = op->d | 1;

	scribble_burst(t, &r, 1 + op->a % 64);
	return 0;
}

/* ------------------------------------------------- the honest library -- */

/* The pool: channels of assorted shapes, then one sync object of each kind. */
static const struct { uint32_t elem, cap; } pool_chans[] = {
	{ 8, 0 }, { 8, 1 }, { 1, 0 }, { 16, 4 }, { 64, 64 }, { 24, 2 },
	{ 4096, 2 }, { 65535, 1 }, { 8, 1024 },
};
#define NPOOL_CHAN	((int)NELEMS(pool_chans))

/* A name of the run's mount, opened (made if missing) for the pool. */
static int pool_name(const char *name, uint32_t oflag, uint32_t flags)
{
	struct gosync_open req;
	int fd;

	memset(&req, 0, sizeof(req));
	req.name = (uintptr_t)name;
	req.name_len = strlen(name);
	req.oflag = oflag | O_CLOEXEC;
	fd = ioctl(g_fsroot, GOSYNC_FS_IOC_OPEN, &req);	/* whatever it is */
	if (fd >= 0)
		return fd;
	fs_shape(name, req.name_len, &req);
	req.oflag |= O_CREAT;
	req.mode = 0666;
	req.flags = req.kind == GOSYNC_KIND_CHAN ? flags : 0;
	return ioctl(g_fsroot, GOSYNC_FS_IOC_OPEN, &req);
}

/* A directional end of the pool's @fd. */
static int pool_end(int fd, uint32_t dir)
{
	struct gosync_chan_dup req = { .flags = dir | GOSYNC_DUP_CLOEXEC };

	return ioctl(fd, GOSYNC_CHAN_IOC_DUP, &req);
}

void pool_create(int *fds, int n, int fdbase)
{
	int dev = dev_open(), i;

	for (i = 0; i < n; i++) {
		int fd = -1;

		if (i >= NPOOL_LIB + NPOOL_NAMES) {
			/* a root context, then a child of it (FOREVER both) */
			struct gosync_ctx_create c = {
				.parent = i == NPOOL_LIB + NPOOL_NAMES ? -1 :
					  fds[i - 1],
				.deadline_ns = GOSYNC_DEADLINE_FOREVER,
			};

			if (dev >= 0)
				fd = ioctl(dev, GOSYNC_IOC_CTX_CREATE, &c);
		} else if (i >= NPOOL_LIB) {
			if (i == NPOOL_LIB + 1)
				fd = pool_end(fds[1], GOSYNC_DUP_SEND_ONLY);
			else if (i == NPOOL_LIB + 2)
				fd = pool_end(fds[3], GOSYNC_DUP_RECV_ONLY);
			else if (g_fsroot < 0)
				fd = -1;
			else if (i == NPOOL_LIB)
				fd = openat(g_fsroot, ".", O_RDONLY | O_DIRECTORY |
					    O_CLOEXEC);
			else if (i == NPOOL_LIB + 3)
				fd = pool_name("a", O_RDWR, 0);
			else if (i == NPOOL_LIB + 4)
				fd = pool_name("b", O_WRONLY, GOSYNC_OPEN_AUTOCLOSE);
			else
				fd = pool_name("wg", O_RDWR, 0);
		} else if (dev >= 0 && i < NPOOL_CHAN) {
			struct gosync_chan_create c = {
				.elem_size = pool_chans[i].elem,
				.cap = pool_chans[i].cap,
			};

			fd = ioctl(dev, GOSYNC_IOC_CHAN_CREATE, &c);
		} else if (dev >= 0) {
			struct gosync_sync_create c = {
				.kind = GOSYNC_SYNC_WG + (i - NPOOL_CHAN) % 5,
			};

			fd = ioctl(dev, GOSYNC_IOC_SYNC_CREATE, &c);
		}
		if (fd < 0)
			fd = open("/dev/null", O_RDWR);
		if (fds[i] >= 0) {
			dup2(fd, fds[i]);	/* replaces the old one in place */
			close(fd);
		} else {
			fds[i] = high_fd(fd, fdbase);
		}
	}
	if (dev >= 0)
		close(dev);
}

/* Put the pool's objects back in their slots where a program closed them. */
void pool_refill(struct wctx *w)
{
	int j;

	for (j = 0; j < NPOOL; j++) {
		struct obj o;
		struct layout lay;
		int fd;

		obj_get(w, NOBJ + j, &o);
		if (o.kind != K_NONE)
			continue;
		fd = fcntl(w->pool_fd[j], F_DUPFD, 0);
		if (fd < 0)
			continue;
		if (j >= NPOOL_LIB)
			classify_put(w, NOBJ + j, fd);
		else if (j < NPOOL_CHAN && !chan_info(fd, &lay))
			obj_put(w, NOBJ + j, fd, K_CHAN, 0, &lay);
		else if (j >= NPOOL_CHAN && sync_kind(fd) > 0)
			obj_put(w, NOBJ + j, fd, K_SYNC, sync_kind(fd), NULL);
		else
			obj_put(w, NOBJ + j, fd, K_OTHER, 0, NULL);
	}
}

void lib_drop(struct wctx *w)
{
	int j;

	pthread_rwlock_rdlock(&w->mm);
	pthread_mutex_lock(&w->tbl);
	for (j = 0; j < NLIB; j++) {
		void *h = w->lib[j];

		if (!h)
			continue;
		if (j < NPOOL_CHAN)
			gosync_chan_free(h);
		else
			switch (GOSYNC_SYNC_WG + (j - NPOOL_CHAN) % 5) {
			case GOSYNC_SYNC_WG: gosync_wg_free(h); break;
			case GOSYNC_SYNC_MUTEX: gosync_mutex_free(h); break;
			case GOSYNC_SYNC_RWMUTEX: gosync_rwmutex_free(h); break;
			case GOSYNC_SYNC_ONCE: gosync_once_free(h); break;
			default: gosync_cond_free(h); break;
			}
		w->lib[j] = NULL;
		w->lib_kind[j] = 0;
	}
	pthread_mutex_unlock(&w->tbl);
	pthread_rwlock_unlock(&w->mm);
}

static void *lib_get(struct wctx *w, int j)
{
	void *h;
	int ret = 0;

	pthread_rwlock_rdlock(&w->mm);
	pthread_mutex_lock(&w->tbl);
	h = w->lib[j];
	if (!h) {
		if (j < NPOOL_CHAN)
			ret = gosync_chan_from_fd((struct gosync_chan **)&h,
						  w->pool_fd[j], GOSYNC_CLOEXEC);
		else
			switch (GOSYNC_SYNC_WG + (j - NPOOL_CHAN) % 5) {
			case GOSYNC_SYNC_WG:
				ret = gosync_wg_from_fd((struct gosync_wg **)&h,
							w->pool_fd[j], GOSYNC_CLOEXEC);
				break;
			case GOSYNC_SYNC_MUTEX:
				ret = gosync_mutex_from_fd((struct gosync_mutex **)&h,
							   w->pool_fd[j], GOSYNC_CLOEXEC);
				break;
			case GOSYNC_SYNC_RWMUTEX:
				ret = gosync_rwmutex_from_fd((struct gosync_rwmutex **)&h,
							     w->pool_fd[j], GOSYNC_CLOEXEC);
				break;
			case GOSYNC_SYNC_ONCE:
				ret = gosync_once_from_fd((struct gosync_once **)&h,
							  w->pool_fd[j], GOSYNC_CLOEXEC);
				break;
			default:
				ret = gosync_cond_from_fd((struct gosync_cond **)&h,
							  w->pool_fd[j], GOSYNC_CLOEXEC);
				break;
			}
		if (ret)
			h = NULL;
		w->lib[j] = h;
	}
	pthread_mutex_unlock(&w->tbl);
	pthread_rwlock_unlock(&w->mm);
	return h;
}

/* A batch that fits the arena. */
static size_t lib_n(int j, uint64_t x)
{
	size_t max = (512UL << 10) / pool_chans[j].elem;

	if (max > 16)
		max = 16;
	return 1 + x % max;
}

static int64_t lib_deadline(uint64_t x)
{
	switch (x % 8) {
	case 0: case 1: case 2: return GOSYNC_NONBLOCK;
	case 3: return gosync_now() - 1;
	case 7: return gosync_after(1000000 + (int64_t)((x >> 3) % 4000000));
	default: return gosync_after((int64_t)((x >> 3) % 1000000));
	}
}

/* Check a library call's return against its deadline. */
static void lib_dl(struct tctx *t, struct dl *dl, int64_t d, const char *what,
		   int ret)
{
	dl->expect = d == GOSYNC_NONBLOCK || d < dl->start ? dl->start : d;
	dl_end(t, dl, what, ret, ret < 0 ? -ret : 0);
}

/*
 * The library's work for one op: *ret its return value, *what what to
 * check against the deadline (NULL: nothing).  Runs under the fault
 * guard: a peer may truncate the shared file under the library's mapping.
 */
static void __attribute__((noinline))
lib_work(struct tctx *t, const struct op *op, int j, void *h, void **hh,
	 int64_t d, struct dl *dl, int *retp, const char **what)
{
	char *e = t->arena + ARENA_STRUCTS + 4096;
	uint64_t x = op->b;
	int ret = 0, i;

	*what = NULL;
	if (j < NPOOL_CHAN) {
		struct gosync_chan *ch = h;
		struct gosync_case cs[4];

		*what = "library channel call";
		switch (op->a % 12) {
		case 0: case 1: case 2:
			ret = gosync_chan_send(ch, e, d);
			break;
		case 3:
			ret = gosync_chan_send_sync(ch, e, d);
			break;
		case 4: case 5: case 6:
			ret = gosync_chan_recv(ch, e, d);
			break;
		case 7:
			ret = gosync_chan_send_n(ch, e, lib_n(j, x), d);
			break;
		case 8:
			ret = gosync_chan_recv_n(ch, e, lib_n(j, x), d);
			break;
		case 9: case 10: {
			int n = 2 + x % 3;

			for (i = 0; i < n; i++) {
				uint64_t y = rnd(&x);

				cs[i].ch = y % 16 ? hh[i] : NULL;
				cs[i].op = (y >> 8) % 2 ? GOSYNC_SEND : GOSYNC_RECV;
				cs[i].elem = e + i * 65536;
				cs[i].ok = 0;
			}
			*what = "gosync_select";
			ret = gosync_select(cs, n, d);
			break;
		}
		default:
			*what = NULL;
			if (op->a % 64 == 11)
				ret = gosync_chan_close(ch);
			else
				ret = (int)gosync_chan_len(ch);
			break;
		}
		*retp = ret;
		return;
	}
	switch (GOSYNC_SYNC_WG + (j - NPOOL_CHAN) % 5) {
	case GOSYNC_SYNC_WG:
		switch (op->a % 4) {
		case 0: ret = gosync_wg_add(h, 1); break;
		case 1: ret = gosync_wg_done(h); break;
		default:
			ret = gosync_wg_wait(h, d);
			*what = "gosync_wg_wait";
			break;
		}
		break;
	case GOSYNC_SYNC_MUTEX:
		if (op->a % 4 == 0) {
			ret = gosync_mutex_unlock(h);
			break;
		}
		ret = op->a % 4 == 1 ? gosync_mutex_trylock(h) :
				       gosync_mutex_lock(h, d);
		*what = "gosync_mutex_lock";
		if (ret == -EOWNERDEAD)
			ret = gosync_mutex_consistent(h);
		if (!ret && (op->a >> 4) % 4)
			ret = gosync_mutex_unlock(h);	/* else: kept */
		break;
	case GOSYNC_SYNC_RWMUTEX:
		switch (op->a % 6) {
		case 0: ret = gosync_rwmutex_unlock(h); break;
		case 1: ret = gosync_rwmutex_runlock(h); break;
		case 2: case 3:
			ret = gosync_rwmutex_rlock(h, d);
			*what = "gosync_rwmutex_rlock";
			if (ret == -EOWNERDEAD)
				ret = gosync_rwmutex_consistent(h);
			if (!ret && (op->a >> 4) % 4)
				ret = gosync_rwmutex_runlock(h);
			break;
		default:
			ret = gosync_rwmutex_lock(h, d);
			*what = "gosync_rwmutex_lock";
			if (ret == -EOWNERDEAD)
				ret = gosync_rwmutex_consistent(h);
			if (!ret && (op->a >> 4) % 4)
				ret = gosync_rwmutex_unlock(h);
			break;
		}
		break;
	case GOSYNC_SYNC_ONCE:
		/* once_do has no deadline: a scribbled RUNNING would hang it */
		break;
	default: {
		struct gosync_mutex *m = hh[0];

		switch (op->a % 4) {
		case 0: ret = gosync_cond_signal(h); break;
		case 1: ret = gosync_cond_broadcast(h); break;
		default:
			if (!m)
				break;
			ret = gosync_mutex_lock(m, gosync_after(1000000));
			if (ret == -EOWNERDEAD)
				ret = gosync_mutex_consistent(m);
			if (ret)
				break;
			dl->start = now_ns();
			ret = gosync_cond_wait(h, m, d);
			*what = "gosync_cond_wait";
			gosync_mutex_unlock(m);
			break;
		}
		break;
	}
	}
	*retp = ret;
}

static int op_lib(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	int j = op->o1 % NLIB;
	const char *what = NULL;
	int ret = 0, i;
	void *h, *hh[4];
	struct dl dl;
	int64_t d;

	if (O.no_lib || w->in_child)
		return 0;
	h = lib_get(w, j);
	if (!h)
		return ENODEV;
	/* the other handles a select or a cond wait needs, outside the guard */
	if (j < NPOOL_CHAN) {
		for (i = 0; i < 4; i++)
			hh[i] = lib_get(w, (op->b + 7 * i) % NPOOL_CHAN);
	} else {
		hh[0] = lib_get(w, NPOOL_CHAN + 1);
	}
	memset(&dl, 0, sizeof(dl));
	dl.start = now_ns();
	dl.gen = stop_gen(w);
	dl.cgen = atomic_load(&w->sh->child_gen);
	d = lib_deadline(op->c);
	if (GUARD(t, lib_work(t, op, j, h, hh, d, &dl, &ret, &what))) {
		atomic_fetch_add_explicit(&SH->faults, 1, memory_order_relaxed);
		return EFAULT;
	}
	if (what)
		lib_dl(t, &dl, d, what, ret);
	return ret < 0 ? -ret : 0;
}

/* -------------------------------------------------- processes, fds -- */

void kids_reap(struct wctx *w, int kill_all)
{
	int64_t now = now_ns();
	int i, st;

	for (i = 0; i < (int)NELEMS(w->kids); i++) {
		struct child *k = &w->kids[i];

		if (!k->pid)
			continue;
		if (kill_all || (k->kill_at && now >= k->kill_at)) {
			kill(k->pid, SIGKILL);
			if (k->stopped) {
				kill(k->pid, SIGCONT);
				atomic_fetch_add(&w->sh->child_gen, 1);
				k->stopped = 0;
			}
			while (waitpid(k->pid, &st, 0) < 0 && errno == EINTR)
				;
			k->pid = 0;
		} else if (waitpid(k->pid, &st, WNOHANG) == k->pid) {
			k->pid = 0;
		}
	}
}

/*
 * fork(2) with every lock of the worker taken (w->mm as a writer, then
 * the rings', then w->tbl), so no other thread holds one the child may
 * need: a child forked while another thread held w->tbl waited on it for
 * ever (a fuzz run's "hung ... in op #5 (autoclose)").  In the child,
 * which is one thread, the locks are made anew: glibc's rwlock knows its
 * writer by tid, which the child's thread does not share, so an unlock
 * there would count as a reader's and leave w->mm held for good.
 */
static pid_t fork_quiet(struct wctx *w)
{
	pid_t pid;
	int i;

	pthread_rwlock_wrlock(&w->mm);
	for (i = 0; i < NRINGS; i++)
		pthread_mutex_lock(&w->rings[i].lock);
	pthread_mutex_lock(&w->tbl);
	pid = fork();
	if (pid == 0) {
		pthread_rwlock_init(&w->mm, NULL);
		pthread_mutex_init(&w->tbl, NULL);
		for (i = 0; i < NRINGS; i++)
			pthread_mutex_init(&w->rings[i].lock, NULL);
		return 0;
	}
	pthread_mutex_unlock(&w->tbl);
	for (i = 0; i < NRINGS; i++)
		pthread_mutex_unlock(&w->rings[i].lock);
	pthread_rwlock_unlock(&w->mm);
	return pid;
}

/* The forked child: run the next few ops alone, then exit (or exec). */
static void __attribute__((noreturn))
child_run(struct tctx *t, int idx, int k, int how, pid_t parent)
{
	static struct thread_sh dummy;
	struct wctx *w = t->w;
	int i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	w->in_child = 1;
	for (i = 0; i < NRINGS; i++)
		ring_exit_locked(w, &w->rings[i]);
	memset(w->kids, 0, sizeof(w->kids));
	/*
	 * fork(2) copied no VM_DONTCOPY vma (a gosync mapping not given
	 * MADV_DOFORK): here its range is a hole, which the table must not
	 * call a mapping (a munmap of part of it succeeds).
	 */
	for (i = 0; i < NMAPS; i++) {
		if (w->maps[i].kind == M_NONE || !w->maps[i].nocopy)
			continue;
		map_forget(w, i);
		slot_reserve(w, i, NULL, 0);
	}
	t->kcov = NULL;
	t->hb = &dummy;
	t->tid = gettid();
	tctx_timers(t);
	for (i = idx + 1; i <= idx + k && i < (int)w->prog->n; i++) {
		const struct op *op = &w->prog->ops[i];

		if (op->type == OP_FORK || op->type == OP_LIB ||
		    op->type == OP_LIMIT_BURST)
			continue;
		t->cur = op;
		t->cur_index = i;
		op_exec(t, op);
	}
	if (how == 7)
		execl("/proc/self/exe", "gosync-fuzz", "--exec-child", (char *)NULL);
	_exit(0);
}

static int op_fork(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	int k = 1 + op->a % 8, how = op->b % 8, i, slot = -1, idx = t->cur_index;
	const struct op *me = t->cur;
	pid_t pid, parent = getpid();

	if (w->in_child)
		return 0;
	kids_reap(w, 0);
	for (i = 0; i < (int)NELEMS(w->kids); i++)
		if (!w->kids[i].pid)
			slot = i;
	if (slot < 0)
		return EAGAIN;
	pid = fork_quiet(w);
	if (pid == 0)
		child_run(t, idx, k, how, parent);
	t->cur = me;
	if (pid < 0)
		return errno;
	w->kids[slot].pid = pid;
	w->kids[slot].stopped = 0;
	w->kids[slot].kill_at = 0;
	if (w->replay || how < 2 || how == 7) {
		/* wait for it, a second at most */
		int64_t end = now_ns() + 1000000000LL;
		int st;

		while (now_ns() < end) {
			if (waitpid(pid, &st, WNOHANG) == pid) {
				w->kids[slot].pid = 0;
				break;
			}
			usleep(1000);
		}
		if (w->kids[slot].pid) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			w->kids[slot].pid = 0;
		}
	} else if (how >= 5) {
		struct timespec ts = { 0, (long)(op->c % 5000000) };

		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		w->kids[slot].pid = 0;
	}
	/* else it runs on, killed at the program's end */
	return 0;
}

static void ctx_put(struct wctx *w, int s, int fd,
		    const struct gosync_ctx_info *ci, int ps, uint64_t gen);

static int classify_put(struct wctx *w, int s, int fd)
{
	struct gosync_ctx_info ci;
	struct layout lay;
	int kind;

	if (fd >= w->fdbase) {
		close(fd);
		return 0;
	}
	if (!chan_info(fd, &lay)) {
		obj_put(w, s, fd, K_CHAN, 0, &lay);
	} else if ((kind = sync_kind(fd)) > 0) {
		obj_put(w, s, fd, K_SYNC, kind, NULL);
	} else if (!ctx_info(fd, &ci)) {
		ctx_put(w, s, fd, &ci, -1, 0);	/* its ancestors: unknown */
	} else if (is_fsdir(fd)) {
		obj_put(w, s, fd, K_FSDIR, 0, NULL);
	} else {
		struct gosync_info info = { 0 };

		obj_put(w, s, fd, ioctl(fd, GOSYNC_IOC_INFO, &info) ? K_OTHER :
			K_DEV, 0, NULL);
	}
	return 0;
}

static int op_send_fd(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	int sock = op->a % 2 ? w->xs[0] : g_xs[0], n = 1 + (op->a >> 4) % 4, i;
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov = { .iov_base = t->arena, .iov_len = 1 };
	int fds[4];
	long ret;

	for (i = 0; i < n; i++) {
		struct obj o;

		pick_obj(t, op->o1 + i * 7, i ? K_NONE : K_CHAN, &o);
		fds[i] = o.fd;
	}
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	ret = sys_ret(sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL));
	return ret < 0 ? -ret : 0;
}

static int op_recv_fd(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	int sock = op->a % 2 ? w->xs[1] : g_xs[1], i, n;
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov = { .iov_base = t->arena, .iov_len = 16 };
	long ret;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = op->a % 16 == 3 ? CMSG_SPACE(sizeof(int)) :
			    sizeof(cbuf);
	ret = sys_ret(recvmsg(sock, &mh, MSG_DONTWAIT |
			      (op->a & 0x100 ? MSG_CMSG_CLOEXEC : 0)));
	if (ret < 0)
		return -ret;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int fds[8];

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > 8)
			n = 8;
		memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
		for (i = 0; i < n; i++)
			classify_put(w, (op->o1 + i) % NOBJ, fds[i]);
	}
	return 0;
}

static int op_signal(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	struct child *k = &w->kids[op->b % NELEMS(w->kids)];
	long ret = 0;
	pid_t peer;

	switch (op->a % 8) {
	case 0: case 1:
		ret = syscall(SYS_tgkill, getpid(), t->tid, SIGUSR1);
		break;
	case 2: case 3:
		ret = syscall(SYS_tgkill, getpid(),
			      w->t[op->b % w->nthreads].tid,
			      op->a % 8 == 2 ? SIGUSR1 : SIGUSR2);
		break;
	case 4:
		if (!k->pid)
			break;
		if (!k->stopped) {
			atomic_fetch_add(&w->sh->child_gen, 1);
			ret = kill(k->pid, SIGSTOP);
			k->stopped = 1;
		} else {
			ret = kill(k->pid, SIGCONT);
			atomic_fetch_add(&w->sh->child_gen, 1);
			k->stopped = 0;
		}
		break;
	case 5:
		if (w->replay || w->in_child)
			break;
		peer = atomic_load(&SH->w[op->b % O.procs].pid);
		if (peer > 0 && peer != getpid())
			ret = kill(peer, SIGUSR1);
		break;
	case 6:
		ret = kill(getpid(), SIGUSR1);
		break;
	default:
		if (k->pid)
			ret = kill(k->pid, op->c % 2 ? SIGKILL : SIGUSR1);
		break;
	}
	return ret < 0 ? errno : 0;
}

static int op_rlimit(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	struct rlimit rl;
	int ret;

	if (w->in_child)
		return 0;
	if (op->a % 4 == 3) {
		getrlimit(RLIMIT_MEMLOCK, &rl);
		rl.rlim_cur = op->b % 2 ? 0 : rl.rlim_max;
		ret = setrlimit(RLIMIT_MEMLOCK, &rl);
		w->rlimit_changed = 1;
		return ret ? errno : 0;
	}
	rl.rlim_max = w->nofile.max;
	switch (op->a % 8) {
	case 0: rl.rlim_cur = 0; break;
	case 1: rl.rlim_cur = 3; break;
	case 2: rl.rlim_cur = 16 + op->b % 48; break;
	default: rl.rlim_cur = 64 + op->b % 256; break;
	}
	ret = setrlimit(RLIMIT_NOFILE, &rl);
	w->rlimit_changed = 1;
	return ret ? errno : 0;
}

/* Create objects until a limit says no (or enough), then close them all. */
static int op_limit_burst(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	int fds[400], n = 0, i, max = 16 + op->a % 340, big;
	int64_t now = now_ns();
	long ret = 0;

	big = (op->a >> 12) % 8 == 0;
	if (!w->replay) {
		if (now - w->last_burst < 15000000000LL)
			return 0;
		if (big && now - w->last_bigburst < 20000000000LL)
			big = 0;
		w->last_burst = now;
		if (big)
			w->last_bigburst = now;
	}
	if (big)
		max = 8;
	else if (O.light)
		max = 16 + op->a % 48;
	for (n = 0; n < max; n++) {
		if (big || n % 3) {
			struct gosync_chan_create c = {
				.elem_size = big ? 65535 : 8,
				.cap = big ? 255 : n % 5,
			};

			ret = xioctl(w->dev, GOSYNC_IOC_CHAN_CREATE, &c);
		} else {
			struct gosync_sync_create c = {
				.kind = GOSYNC_SYNC_WG + n % 5,
			};

			ret = xioctl(w->dev, GOSYNC_IOC_SYNC_CREATE, &c);
		}
		if (ret < 0)
			break;
		fds[n] = ret;
		if (ret >= w->fdbase - 64) {
			n++;
			break;
		}
	}
	limit_hit(ret);
	if (ret < 0)
		check_errno(t, "burst create", -ret);
	/* a few stay, the rest go at once */
	for (i = 0; i < n; i++) {
		if (i < 2 && op->b % 2)
			classify_put(w, (op->o1 + i) % NOBJ, fds[i]);
		else
			close(fds[i]);
	}
	return ret < 0 ? -ret : 0;
}

static long read_file(const char *path, char *buf, size_t len, off_t off)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long ret, total = 0;

	if (fd < 0)
		return -errno;
	do {
		ret = pread(fd, buf, len, off + total);
		if (ret > 0)
			total += ret;
	} while (ret > 0 && !off && total < (long)len * 64);
	close(fd);
	return ret < 0 ? -errno : total;
}

static int op_procfs(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	char path[96], *buf = t->arena + 65536;
	struct mapent m;
	struct obj o;
	long ret = 0;
	int s, fd, cur;

	switch (op->a % 10) {
	case 0: case 1:
		/* a channel's, or any fd's: a sync object's, a name's */
		pick_obj(t, op->o1, op->a % 10 ? K_NONE : K_CHAN, &o);
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", o.fd);
		ret = read_file(path, buf, 4096, 0);
		break;
	case 2:
		/* the mounts' show_options too */
		ret = read_file((op->a >> 4) % 2 ? "/proc/self/maps" :
				"/proc/self/mountinfo", buf, 4096, 0);
		break;
	case 3:
		ret = read_file("/proc/self/smaps", buf, 4096, 0);
		break;
	case 4:
		if (pick_map(w, op->o2, MK_ANY, &m) < 0)
			break;
		ret = read_file("/proc/self/pagemap", buf, 8 * (m.len / w->page),
				(off_t)((uintptr_t)m.addr / w->page * 8));
		break;
	case 5:
		if (pick_map(w, op->o2, MK_ANY, &m) < 0)
			break;
		fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return errno;
		if (op->b % 2) {
			ret = pread(fd, buf, m.len < 4096 ? m.len : 4096,
				    (off_t)(uintptr_t)m.addr);
		} else if (m.kind == M_CTX) {
			/*
			 * ptrace's forced write, too, finds a context's page
			 * not writable: shared, without VM_MAYWRITE.  (Under
			 * the mm lock: the table's mapping is the one there.)
			 */
			pthread_rwlock_rdlock(&w->mm);
			cur = map_current(w, &m);
			ret = pwrite(fd, buf, 8, (off_t)(uintptr_t)m.addr + 8 +
				     (op->c % (m.len - 16) & ~7UL));
			pthread_rwlock_unlock(&w->mm);
			if (cur && ret >= 0)
				fail(t, "a write of 8 bytes through /proc/self/mem into a context's page returned %ld",
				     ret);
		} else {
			ret = pwrite(fd, buf, 8, (off_t)(uintptr_t)m.addr + 8 +
				     (op->c % (m.len - 16) & ~7UL));
		}
		close(fd);
		break;
	case 6: case 7:
		if ((O.avoid & AVOID_REMAP) || geteuid())
			break;
		pthread_rwlock_wrlock(&w->mm);
		s = pick_map(w, op->o2, MK_OBJ, &m);
		if (s < 0) {
			pthread_rwlock_unlock(&w->mm);
			break;
		}
		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
			 (unsigned long)(uintptr_t)m.addr,
			 (unsigned long)(uintptr_t)(m.addr + m.len));
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			pthread_rwlock_unlock(&w->mm);
			break;
		}
		switch (op->b % 6) {
		case 0:
			ret = pread(fd, buf, 4096, 0);
			break;
		case 1:
			ret = pwrite(fd, buf, 8, 8 + (op->c % (m.len - 16) & ~7UL));
			break;
		case 2:
			ret = ftruncate(fd, (off_t)(op->c % 3) * m.len / 2);
			break;
		case 3:
			ret = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					0, w->page);
			break;
		case 4: {
			int d = free_map_slot(w, op->o1);
			char *p;

			if (d < 0)
				break;
			p = mmap(slot_base(w, d), m.len, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED, fd, 0);
			if (p == MAP_FAILED) {
				slot_reserve(w, d, NULL, 0);
				break;
			}
			if (m.kind == M_CTX)
				fail(t, "a writable mmap of a context's page through /proc/self/map_files succeeded");
			pthread_mutex_lock(&w->tbl);
			w->maps[d] = m;
			w->maps[d].addr = p;
			w->maps[d].kind = M_OTHER;
			w->maps[d].fd = -1;
			pthread_mutex_unlock(&w->tbl);
			break;
		}
		default: {
			struct stat st;

			ret = fstat(fd, &st);
			break;
		}
		}
		close(fd);
		pthread_rwlock_unlock(&w->mm);
		if (op->b % 6 == 2 || op->b % 6 == 3) {
			uint32_t magic = 0;

			if (!load32(t, m.addr, &magic) &&
			    magic != (m.kind == M_CHAN ? GOSYNC_CHAN_MAGIC :
				      GOSYNC_SYNC_MAGIC)) {
				atomic_fetch_add(&SH->known[6], 1);
				fail(t, "after %s through /proc/self/map_files the gosync mapping at %p no longer shares the kernel's page (magic %#x) [the shmem file under the mapping is reachable: related to the known remap_file_pages/MADV_REMOVE bypass]",
				     op->b % 6 == 2 ? "ftruncate" : "fallocate(PUNCH_HOLE)",
				     (void *)m.addr, magic);
			}
		}
		break;
	case 8:
		ret = read_file("/sys/kernel/debug/gosync/limits", buf, 4096, 0);
		break;
	default:
		ret = read_file("/proc/self/status", buf, 4096, 0);
		break;
	}
	return ret < 0 ? (ret == -1 ? errno : (int)-ret) : 0;
}

static int op_sleep(struct tctx *t, const struct op *op)
{
	struct timespec ts = { 0, (long)(op->a % 2000000) };

	(void)t;
	if (op->b % 2)
		return sched_yield() ? errno : 0;
	return nanosleep(&ts, NULL) ? errno : 0;
}

/* ------------------------------------------------ names, directional ends -- */

/*
 * GOSYNC_CHAN_IOC_DUP: a directional end of any channel (the pool's, a
 * program's, a name's, another end), with valid flags mostly, otherwise
 * both directions, none, unknown bits, a reserved field, the struct
 * anywhere.  The end joins the table: every other operation runs on it.
 */
static int op_chan_dup(struct tctx *t, const struct op *op)
{
	static const uint32_t fl[] = {
		GOSYNC_DUP_SEND_ONLY, GOSYNC_DUP_RECV_ONLY,
		GOSYNC_DUP_SEND_ONLY | GOSYNC_DUP_CLOEXEC,
		GOSYNC_DUP_RECV_ONLY | GOSYNC_DUP_NONBLOCK,
		GOSYNC_DUP_SEND_ONLY | GOSYNC_DUP_NONBLOCK | GOSYNC_DUP_CLOEXEC,
		GOSYNC_DUP_RECV_ONLY | GOSYNC_DUP_CLOEXEC,
		GOSYNC_DUP_SEND_ONLY | GOSYNC_DUP_RECV_ONLY, 0,
	};
	struct wctx *w = t->w;
	struct gosync_chan_dup req;
	uint64_t gen = atomic_load(&w->tbl_gen);
	struct layout lay;
	struct sptr s;
	struct obj o;
	uint32_t dir;
	long ret;
	int fd;

	pick_obj(t, op->o1, K_CHAN, &o);
	memset(&req, 0, sizeof(req));
	req.flags = fl[op->a % 8 < 6 ? op->a % 8 : (op->a >> 8) % NELEMS(fl)];
	switch ((op->a >> 4) % 32) {
	case 0: req.flags |= 1U << ((op->a >> 12) % 32); break;
	case 1: req.resv = op->b | 1; break;
	case 2: req.flags = (uint32_t)op->b; break;
	case 3: req.fd = (int32_t)op->b; break;		/* output: ignored */
	default: break;
	}
	s = struct_ptr(t, op->c, sizeof(req), 0);
	if (sfill(t, &s, &req, sizeof(req)))
		return EFAULT;
	ret = xioctl(o.fd, GOSYNC_CHAN_IOC_DUP, s.p);
	if (is_gosync(o.kind))
		check_errno(t, "CHAN_IOC_DUP", ret < 0 ? -ret : 0);
	limit_hit(ret);
	if (ret < 0)
		return -ret;
	fd = ret;
	dir = req.flags & (GOSYNC_DUP_SEND_ONLY | GOSYNC_DUP_RECV_ONLY);
	if (s.fill && !s.shared && o.kind == K_CHAN && tbl_same(w, gen)) {
		int fdf = fcntl(fd, F_GETFD), fl2 = fcntl(fd, F_GETFL);

		if (((struct gosync_chan_dup *)s.p)->fd != fd)
			fail(t, "CHAN_IOC_DUP returned fd %d but stored %d", fd,
			     ((struct gosync_chan_dup *)s.p)->fd);
		if ((req.flags & ~GOSYNC_DUP_FLAGS) || req.resv ||
		    (dir != GOSYNC_DUP_SEND_ONLY && dir != GOSYNC_DUP_RECV_ONLY))
			fail(t, "CHAN_IOC_DUP(flags %#x, resv %#llx) succeeded",
			     req.flags, (unsigned long long)req.resv);
		else if (dir_forbids(&o, dir == GOSYNC_DUP_SEND_ONLY))
			fail(t, "CHAN_IOC_DUP(%s) of a %s end succeeded: an end only narrows",
			     dir == GOSYNC_DUP_SEND_ONLY ? "SEND_ONLY" : "RECV_ONLY",
			     end_name(&o));
		if (chan_info(fd, &lay))
			fail(t, "CHAN_IOC_DUP's fd %d answers no CHAN_IOC_INFO", fd);
		else if (lay.elem != o.lay.elem || lay.cap != o.lay.cap ||
			 (lay.state & GOSYNC_CHAN_STATE_AUTOCLOSE) !=
			 (o.lay.state & GOSYNC_CHAN_STATE_AUTOCLOSE) ||
			 (lay.state & (GOSYNC_CHAN_STATE_NOSEND |
				       GOSYNC_CHAN_STATE_NORECV)) !=
			 (dir == GOSYNC_DUP_SEND_ONLY ? GOSYNC_CHAN_STATE_NORECV :
			  GOSYNC_CHAN_STATE_NOSEND))
			fail(t, "CHAN_IOC_DUP(%#x) of elem %u cap %u state %#x made elem %u cap %u state %#x",
			     req.flags, o.lay.elem, o.lay.cap, o.lay.state,
			     lay.elem, lay.cap, lay.state);
		if (fdf < 0 || !(fdf & FD_CLOEXEC) != !(req.flags & GOSYNC_DUP_CLOEXEC) ||
		    fl2 < 0 || !(fl2 & O_NONBLOCK) != !(req.flags & GOSYNC_DUP_NONBLOCK) ||
		    (fl2 & O_ACCMODE) != (dir == GOSYNC_DUP_SEND_ONLY ? O_WRONLY :
					  O_RDONLY))
			fail(t, "CHAN_IOC_DUP(%#x): fd flags %#x, file flags %#x",
			     req.flags, fdf, fl2);
	}
	classify_put(w, op->o2 % NOBJ, fd);
	return 0;
}

/* A root directory of a gosync mount for an operation: mostly the run's. */
static int fs_dir(struct tctx *t, uint8_t sel, uint64_t x, struct obj *d)
{
	if (x % 32 == 0)
		return pick_obj(t, sel, K_NONE, d);	/* any fd at all */
	if (pick_obj(t, sel, K_FSDIR, d) >= 0 && d->kind == K_FSDIR)
		return 0;
	d->fd = g_fsroot;
	d->kind = g_fsroot >= 0 ? K_FSDIR : K_NONE;
	return 0;
}

/* What GOSYNC_FS_IOC_OPEN answered, against what it was asked. */
static void fs_open_check(struct tctx *t, const struct gosync_open *req,
			  const struct gosync_open *r, int fd)
{
	uint32_t acc = req->oflag & O_ACCMODE, created = r->flags &
		       GOSYNC_OPEN_CREATED;
	struct layout lay;
	struct stat st;
	int fdf, fl;

	if (r->fd != fd)
		fail(t, "FS_IOC_OPEN returned fd %d but stored %d", fd, r->fd);
	if (created && !(req->oflag & O_CREAT))
		fail(t, "FS_IOC_OPEN without O_CREAT (oflag %#x) says it made the object",
		     req->oflag);
	if ((req->oflag & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) && !created)
		fail(t, "FS_IOC_OPEN(O_CREAT | O_EXCL) succeeded without making the object");
	if (r->flags & ~(req->flags | GOSYNC_OPEN_CREATED))
		fail(t, "FS_IOC_OPEN(flags %#x) answered flags %#x", req->flags,
		     r->flags);
	if (req->kind && r->kind != req->kind)
		fail(t, "FS_IOC_OPEN(kind %u) opened kind %u", req->kind, r->kind);
	if (r->kind == GOSYNC_KIND_CHAN) {
		uint32_t want = acc == O_RDONLY ? GOSYNC_CHAN_STATE_NOSEND :
				acc == O_WRONLY ? GOSYNC_CHAN_STATE_NORECV : 0;

		if (chan_info(fd, &lay))
			fail(t, "FS_IOC_OPEN of a channel gave fd %d, which answers no CHAN_IOC_INFO",
			     fd);
		else if ((lay.state & (GOSYNC_CHAN_STATE_NOSEND |
				       GOSYNC_CHAN_STATE_NORECV)) != want ||
			 lay.elem != r->elem_size || lay.cap != r->cap ||
			 (created && (lay.elem != req->elem_size ||
				      lay.cap != req->cap ||
				      !(lay.state & GOSYNC_CHAN_STATE_AUTOCLOSE) !=
				      !(req->flags & GOSYNC_OPEN_AUTOCLOSE))) ||
			 (!created && ((req->elem_size && req->elem_size != lay.elem) ||
				       (req->cap && req->cap != lay.cap))))
			fail(t, "FS_IOC_OPEN(oflag %#x, elem %u, cap %u, flags %#x) answered elem %u cap %u flags %#x; the fd: elem %u cap %u state %#x",
			     req->oflag, req->elem_size, req->cap, req->flags,
			     r->elem_size, r->cap, r->flags, lay.elem, lay.cap,
			     lay.state);
	} else if (r->kind == GOSYNC_KIND_CTX) {
		struct gosync_ctx_info ci;
		int err = ctx_info(fd, &ci);

		/* a named context is a root without a deadline */
		if (err || r->elem_size || r->cap ||
		    ci.deadline_ns != GOSYNC_DEADLINE_FOREVER)
			fail(t, "FS_IOC_OPEN answered a context (elem %u cap %u); the fd's INFO: %s, deadline %lld",
			     r->elem_size, r->cap, err ? strerror(-err) : "ok",
			     (long long)ci.deadline_ns);
	} else if (r->kind < GOSYNC_SYNC_WG || r->kind > GOSYNC_SYNC_COND ||
		   sync_kind(fd) != (int)r->kind || r->elem_size || r->cap) {
		fail(t, "FS_IOC_OPEN answered kind %u (elem %u cap %u), the fd's is %d",
		     r->kind, r->elem_size, r->cap, sync_kind(fd));
	}
	fdf = fcntl(fd, F_GETFD);
	fl = fcntl(fd, F_GETFL);
	if (fdf < 0 || !(fdf & FD_CLOEXEC) != !(req->oflag & O_CLOEXEC) ||
	    fl < 0 || (uint32_t)(fl & O_ACCMODE) != acc ||
	    !(fl & O_NONBLOCK) != !(req->oflag & O_NONBLOCK))
		fail(t, "FS_IOC_OPEN(oflag %#x): fd flags %#x, file flags %#x",
		     req->oflag, fdf, fl);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size)
		fail(t, "FS_IOC_OPEN's fd: mode %#o size %lld", st.st_mode,
		     (long long)st.st_size);
}

/*
 * GOSYNC_FS_IOC_OPEN on a root directory: a name of the few, access,
 * O_CREAT, O_EXCL, O_CLOEXEC, O_NONBLOCK, a mode, the name's kind and
 * shape mostly (so that opens agree), now and then another kind or
 * shape, auto-close, garbage in any field, the struct anywhere.
 */
static int op_fs_open(struct tctx *t, const struct op *op)
{
	static const uint32_t modes[] = {
		0666, 0666, 0600, 0644, 0400, 0200, 0, 07777, 0640, 0660,
	};
	static const uint32_t accs[] = { O_RDONLY, O_WRONLY, O_RDWR, O_RDWR };
	struct wctx *w = t->w;
	struct gosync_open req;
	uint64_t a = op->a, b = op->b, c = op->c;
	struct sptr s;
	struct obj d;
	uint32_t len;
	char *name;
	long ret;

	fs_dir(t, op->o1, b >> 40, &d);
	memset(&req, 0, sizeof(req));
	name = fs_name(t, b, &len);
	req.name = (uintptr_t)name;
	req.name_len = len;
	fs_shape(name && name != w->bad ? name : NULL, len, &req);
	req.oflag = accs[a % 4];
	if ((a >> 2) % 4)
		req.oflag |= O_CREAT;
	if ((a >> 4) % 8 == 0)
		req.oflag |= O_EXCL;
	if ((a >> 7) % 4 == 0)
		req.oflag |= O_CLOEXEC;
	if ((a >> 9) % 4 == 0)
		req.oflag |= O_NONBLOCK;
	switch ((a >> 11) % 64) {
	case 0: req.oflag |= O_ACCMODE; break;
	case 1: req.oflag |= 1U << ((a >> 16) % 32); break;
	case 2: req.oflag |= O_TRUNC; break;
	case 3: req.oflag = (uint32_t)(c >> 32); break;
	default: break;
	}
	req.mode = modes[(c >> 8) % NELEMS(modes)];
	if ((c >> 12) % 32 == 0)
		req.mode = (uint32_t)(c >> 16) | 010000;
	switch ((c >> 17) % 32) {
	case 0: req.kind = 0; req.elem_size = 0; req.cap = 0; break;
	case 1: req.kind = 1 + (c >> 21) % (GOSYNC_KIND_CTX + 1); break;
	case 2: req.elem_size = 0; req.cap = 0; break;	/* whatever it has */
	case 3:
		req.elem_size = elem_sizes[(c >> 21) % NELEMS(elem_sizes)];
		req.cap = caps[(c >> 27) % NELEMS(caps)];
		break;
	case 4: req.kind = (uint32_t)(c >> 32); break;
	case 6: case 7:		/* a context (a root, no shape) */
		req.kind = GOSYNC_KIND_CTX;
		req.elem_size = 0;
		req.cap = 0;
		break;
	default: break;
	}
	if (req.kind != GOSYNC_KIND_CHAN && (c >> 33) % 2) {
		req.elem_size = 0;
		req.cap = 0;
	}
	if ((c >> 34) % 4 == 0 && req.kind == GOSYNC_KIND_CHAN)
		req.flags = GOSYNC_OPEN_AUTOCLOSE;
	switch ((c >> 36) % 32) {
	case 0: req.flags |= 1U << ((c >> 41) % 32); break;
	case 1: req.resv[(c >> 41) % 2] = c | 1; break;
	case 2: req.fd = -1; break;		/* output: ignored */
	default: break;
	}
	s = struct_ptr(t, op->d, sizeof(req), 0);
	if (sfill(t, &s, &req, sizeof(req)))
		return EFAULT;
	ret = xioctl(d.fd, GOSYNC_FS_IOC_OPEN, s.p);
	if (is_gosync(d.kind) && ret != -ENOSPC)
		check_errno(t, "FS_IOC_OPEN", ret < 0 ? -ret : 0);
	limit_hit(ret);
	if (ret < 0)
		return -ret;
	if (s.fill && !s.shared)
		fs_open_check(t, &req, (struct gosync_open *)s.p, ret);
	classify_put(w, op->o2 % NOBJ, ret);
	return 0;
}

/* Is @fd a file of the run's mount (where chmod and chown are ours)? */
static int fs_ours(int fd)
{
	struct stat st;

	return g_fsroot >= 0 && !fstat(fd, &st) && st.st_dev == g_fsdev;
}

/* Unlink every name (the mount's max= must not stay used up). */
static int fs_sweep(int dir)
{
	char buf[4096];
	long n, off;
	int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), k = 0;

	if (fd < 0)
		return -errno;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (off = 0; off < n;) {
			struct dirent64 { uint64_t ino; int64_t off;
				unsigned short reclen; unsigned char type;
				char name[]; } *de = (void *)(buf + off);

			if (strcmp(de->name, ".") && strcmp(de->name, "..") &&
			    !unlinkat(dir, de->name, 0))
				k++;
			off += de->reclen;
		}
	close(fd);
	return k;
}

/*
 * Path calls on the names of a mount, through its root directory fd:
 * open(2) with any access, O_TRUNC, O_CREAT, O_EXCL, O_PATH, ...;
 * unlink, rmdir, chmod, chown, stat, truncate, rename, link, symlink,
 * mkdir, mknod (all but the first few must fail: only the ioctl makes
 * names, only unlink removes them), readdir, a sweep, a reopen through
 * /proc/self/fd, statfs.
 */
static int op_fs_path(struct tctx *t, const struct op *op)
{
	static const int oflags[] = {
		O_RDONLY, O_WRONLY, O_RDWR, O_RDWR | O_TRUNC, O_WRONLY | O_TRUNC,
		O_RDWR | O_CREAT, O_WRONLY | O_CREAT | O_TRUNC, O_RDONLY | O_CREAT,
		O_RDWR | O_CREAT | O_EXCL, O_RDONLY | O_NONBLOCK, O_PATH,
		O_RDONLY | O_DIRECTORY, O_RDWR | O_APPEND, O_WRONLY | O_NOATIME,
		O_RDWR | O_TMPFILE, O_RDONLY | O_TRUNC, O_ACCMODE,
	};
	static const uid_t ids[] = { 0, 65534, (uid_t)-1, 1000 };
	static const mode_t cmodes[] = { 0666, 0600, 0644, 0, 0444, 07777, 0222 };
	struct wctx *w = t->w;
	uint64_t a = op->a, b = op->b, c = op->c;
	char *name, *name2, path[400], buf[4096];
	struct layout lay, lay2;
	struct stat st;
	struct obj d, o;
	uint32_t len;
	long ret = 0;
	int fd, fl;
	/* Before the pick: a check made after another thread closed or
	 * replaced the fd (its number reused) must not blame the kernel. */
	uint64_t dgen = atomic_load(&t->w->tbl_gen);

	fs_dir(t, op->o1, c >> 40, &d);
	name = fs_name(t, b, &len);
	switch (a % 20) {
	case 0: case 1: case 2: case 3: case 4:
		fl = oflags[(a >> 8) % NELEMS(oflags)];
		if ((a >> 16) % 4 == 0)
			fl |= O_CLOEXEC;
		fd = openat(d.fd, name, fl, 0666);
		if (fd < 0)
			return errno;
		if ((fl & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) &&
		    d.kind == K_FSDIR && tbl_same(t->w, dgen))
			fail(t, "open(O_CREAT | O_EXCL) of a name in a gosync mount succeeded: only GOSYNC_FS_IOC_OPEN makes names");
		if (!(fl & O_PATH) && !chan_info(fd, &lay) && fs_ours(fd)) {
			int acc = fl & O_ACCMODE;
			/* O_ACCMODE (3): neither, an ioctl-only file */
			uint32_t want = (acc == O_RDWR ? 0 : acc == O_WRONLY ?
					 GOSYNC_CHAN_STATE_NORECV :
					 GOSYNC_CHAN_STATE_NOSEND) |
					(acc == O_ACCMODE ? GOSYNC_CHAN_STATE_NORECV : 0);

			if ((lay.state & (GOSYNC_CHAN_STATE_NOSEND |
					  GOSYNC_CHAN_STATE_NORECV)) != want)
				fail(t, "open(%#x) of a named channel gave an end of state %#x",
				     fl, lay.state);
		}
		classify_put(w, op->o2 % NOBJ, fd);
		return 0;
	case 5: case 6:
		ret = unlinkat(d.fd, name, (a >> 8) % 8 ? 0 : AT_REMOVEDIR);
		break;
	case 7:
		if ((a >> 8) % 2) {
			ret = fchmodat(d.fd, name, cmodes[(a >> 9) % NELEMS(cmodes)], 0);
			break;
		}
		pick_obj(t, op->o2, K_NONE, &o);
		if (!fs_ours(o.fd))
			return 0;	/* never the device's or anon inodes' */
		if (is_fsdir(o.fd)) {
			/* for a moment only: everyone makes names there */
			ret = fchmod(o.fd, cmodes[(a >> 9) % NELEMS(cmodes)]);
			fchmod(o.fd, 01777);
			break;
		}
		ret = fchmod(o.fd, cmodes[(a >> 9) % NELEMS(cmodes)]);
		break;
	case 8:
		if ((a >> 8) % 2) {
			ret = fchownat(d.fd, name, ids[(a >> 9) % 4],
				       ids[(a >> 11) % 4],
				       (a >> 13) % 4 ? 0 : AT_SYMLINK_NOFOLLOW);
			break;
		}
		pick_obj(t, op->o2, K_NONE, &o);
		if (!fs_ours(o.fd) || is_fsdir(o.fd))
			return 0;
		ret = fchown(o.fd, ids[(a >> 9) % 4], ids[(a >> 11) % 4]);
		break;
	case 9:
		if ((a >> 8) % 2) {
			pick_obj(t, op->o2, K_NONE, &o);
			if (fstat(o.fd, &st))
				return errno;
			if (fs_ours(o.fd) && !S_ISDIR(st.st_mode) &&
			    (!S_ISREG(st.st_mode) || st.st_size))
				fail(t, "fstat of a gosync name's fd: mode %#o size %lld",
				     st.st_mode, (long long)st.st_size);
			return 0;
		}
		if (fstatat(d.fd, name, &st, 0))
			return errno;
		if (d.kind == K_FSDIR && tbl_same(t->w, dgen) && !S_ISDIR(st.st_mode) &&
		    (!S_ISREG(st.st_mode) || st.st_size || st.st_nlink != 1))
			fail(t, "stat of a gosync name: mode %#o size %lld links %lu",
			     st.st_mode, (long long)st.st_size,
			     (unsigned long)st.st_nlink);
		return 0;
	case 10:
		/* a size of 0 only (and that is ignored) */
		if ((a >> 8) % 2) {
			pick_obj(t, op->o2, K_NONE, &o);
			if (!fs_ours(o.fd))
				return 0;
			ret = ftruncate(o.fd, (a >> 9) % 2 ? 0 : 1 + (off_t)(b >> 32));
		} else {
			if (!g_fsdir[0] || !name || name == w->bad)
				return 0;
			snprintf(path, sizeof(path), "%s/%s", g_fsdir, name);
			ret = truncate(path, (a >> 9) % 2 ? 0 : 4096);
		}
		if (!ret && (a >> 9) % 2 == 0 && d.kind == K_FSDIR &&
		    tbl_same(t->w, dgen))
			fail(t, "truncate of a gosync name to a size succeeded");
		break;
	case 11: case 12: {
		static const unsigned int rf[] = {
			0, RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT, 0,
		};
		uint32_t len2;

		if (name && name != w->bad) {	/* fs_name reuses its place */
			memcpy(buf, name, len + 1);
			name = buf;
		}
		name2 = fs_name(t, c, &len2);
		switch ((a >> 8) % 6) {
		case 0: case 1:
			ret = syscall(SYS_renameat2, d.fd, name, d.fd, name2,
				      rf[(a >> 11) % NELEMS(rf)]);
			break;
		case 2:
			ret = renameat(d.fd, name, AT_FDCWD, "/tmp/gosync-fuzz-x");
			break;
		case 3:
			ret = linkat(d.fd, name, d.fd, name2, 0);
			break;
		case 4:
			ret = symlinkat("a", d.fd, name2);
			break;
		default:
			ret = (a >> 11) % 2 ? mkdirat(d.fd, name2, 0777) :
			      mknodat(d.fd, name2, S_IFREG | 0666, 0);
			break;
		}
		/* (a rename of a name onto itself does nothing: 0) */
		if (!ret && d.kind == K_FSDIR && tbl_same(t->w, dgen) &&
		    ((a >> 8) % 6 > 1 || !name || !name2 || strcmp(name, name2)))
			fail(t, "%s in a gosync mount succeeded",
			     (const char *[]){ "rename", "rename", "rename out",
			     "link", "symlink", "mkdir/mknod" }[(a >> 8) % 6]);
		break;
	}
	case 13: case 14: {
		long n, off;

		if (d.kind != K_FSDIR && (a >> 8) % 2)
			return 0;
		if ((a >> 9) % 2)
			lseek(d.fd, 0, SEEK_SET);
		n = syscall(SYS_getdents64, d.fd, buf, 64 + (a >> 10) % 4032);
		if (n < 0)
			return errno;
		for (off = 0; off + 19 < n;) {
			unsigned short reclen;
			unsigned char type;

			memcpy(&reclen, buf + off + 16, 2);
			type = buf[off + 18];
			if (!reclen || off + reclen > n)
				break;
			if (d.kind == K_FSDIR && type != DT_REG && type != DT_DIR &&
			    tbl_same(t->w, dgen))
				fail(t, "readdir of a gosync mount: entry '%.64s' of type %u",
				     buf + off + 19, type);
			off += reclen;
		}
		return 0;
	}
	case 15:
		if ((a >> 8) % 8 || d.kind != K_FSDIR)
			return 0;
		ret = fs_sweep(d.fd);
		return ret < 0 ? (int)-ret : 0;
	case 16: case 17: {
		/* a reopen: an end may not widen through /proc */
		int s = pick_obj(t, op->o2, K_CHAN, &o);
		uint64_t gen = atomic_load(&w->tbl_gen);

		/* (a pipe's would wait for a writer) */
		if (s < 0 || !is_gosync(o.kind))
			return EBADF;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", o.fd);
		fl = oflags[(a >> 8) % 3] | O_CLOEXEC;
		fd = open(path, fl);
		if (fd < 0)
			return errno;
		if (o.kind == K_CHAN && !fs_ours(fd) && !chan_info(fd, &lay2) &&
		    tbl_same(w, gen) &&
		    (~lay2.state & o.lay.state & (GOSYNC_CHAN_STATE_NOSEND |
						   GOSYNC_CHAN_STATE_NORECV)))
			fail(t, "a %s end reopened through /proc (flags %#x) is an end of state %#x",
			     end_name(&o), fl, lay2.state);
		classify_put(w, op->o2 % NOBJ, fd);
		return 0;
	}
	case 18:
		fd = (a >> 8) % 2 ? openat(d.fd, ".", O_RDONLY | O_DIRECTORY) :
		     open(g_fsdir, O_RDONLY | O_DIRECTORY | ((a >> 9) % 4 ? 0 : O_PATH));
		if (fd < 0)
			return errno;
		classify_put(w, op->o2 % NOBJ, fd);
		return 0;
	default: {
		struct statfs sfs;

		if (fstatfs(d.fd, &sfs))
			return errno;
		if (d.kind == K_FSDIR && sfs.f_type != GOSYNC_FS_MAGIC &&
		    tbl_same(t->w, dgen))
			fail(t, "statfs of a gosync root: type %#lx",
			     (unsigned long)sfs.f_type);
		if ((a >> 8) % 2)
			ret = utimensat(d.fd, name, NULL, 0);
		break;
	}
	}
	return ret < 0 ? errno : 0;
}

/* ------------------------------------------------------------ mounts -- */

static const struct { const char *opts; int valid; } mount_opts[] = {
	{ "", 1 }, { "max=1", 1 }, { "max=2", 1 }, { "max=0", 0 },
	{ "max=1048577", 0 }, { "mode=0700", 1 }, { "mode=755,max=3", 1 },
	{ "mode=17777", 0 }, { "uid=0,gid=0", 1 }, { "bogus=1", 0 },
	{ "max=1,mode=01777", 1 }, { "max=abc", 0 }, { "max=1,uid=0", 1 },
	{ "gid=0", 1 },
};

static int fs_mk(int root, const char *name, uint32_t oflag, uint32_t kind)
{
	struct gosync_open req;

	memset(&req, 0, sizeof(req));
	req.name = (uintptr_t)name;
	req.name_len = strlen(name);
	req.oflag = oflag | O_CLOEXEC;
	req.mode = 0666;
	req.kind = kind;
	if (kind == GOSYNC_KIND_CHAN) {
		req.elem_size = 8;
		req.cap = 1;
	}
	return ioctl(root, GOSYNC_FS_IOC_OPEN, &req) < 0 ? -errno :
	       req.fd;
}

/* Write @s to @path: 0, or -1 when it could not be written whole. */
static int write_text(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* The child of op_fs_mount: a mount namespace (and user namespace) of its own. */
static void __attribute__((noreturn))
fs_mount_child(struct tctx *t, const struct op *op, pid_t parent)
{
	struct wctx *w = t->w;
	int k = op->a % NELEMS(mount_opts), uid = geteuid(), gid = getegid();
	const char *opts = mount_opts[k].opts, *target;
	unsigned long mflags = (op->a >> 8) % 8 == 0 ? MS_RDONLY :
			       (op->a >> 8) % 8 == 1 ? MS_NOEXEC | MS_NOSUID : 0;
	char buf[64];
	int root, fd, fd2, i, ret;

	/* Dies with the worker; if the worker died before the prctl, at once. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	t->kcov = NULL;
	if (uid) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
			_exit(0);
		write_text("/proc/self/setgroups", "deny");
		snprintf(buf, sizeof(buf), "0 %d 1", uid);
		/*
		 * Unmapped, this namespace cannot name uid= or gid= 0 (EINVAL,
		 * rightly): the mount would test nothing of ours.
		 */
		if (write_text("/proc/self/uid_map", buf))
			_exit(0);
		snprintf(buf, sizeof(buf), "0 %d 1", gid);
		if (write_text("/proc/self/gid_map", buf))
			_exit(0);
	} else if (unshare(CLONE_NEWNS)) {
		_exit(0);
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		_exit(0);
	target = g_fsdir[0] ? g_fsdir : "/tmp";
	ret = mount("gosync", target, GOSYNC_FS_TYPE, mflags, opts);
	if (ret && mount_opts[k].valid && errno == EINVAL)
		fail(t, "mount -t gosync -o '%s' (flags %#lx) failed: EINVAL", opts,
		     mflags);
	if (!ret && !mount_opts[k].valid)
		fail(t, "mount -t gosync -o '%s' succeeded", opts);
	if (ret)
		_exit(0);
	root = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		_exit(0);
	if (mflags & MS_RDONLY) {
		fd = fs_mk(root, "ro", O_RDWR | O_CREAT, GOSYNC_KIND_CHAN);
		if (fd >= 0)
			fail(t, "FS_IOC_OPEN(O_CREAT) made a name in a read-only gosync mount (-o '%s')",
			     opts);
		_exit(0);
	}
	if (strstr(opts, "max=1")) {
		/* one object: named, or unlinked and still open */
		fd = fs_mk(root, "p", O_RDWR | O_CREAT, GOSYNC_KIND_CHAN);
		if (fd < 0) {
			/* (the module's per-user limits may be low just now) */
			if (fd != -ENOMEM && fd != -EMFILE)
				fail(t, "max=1 mount: the first FS_IOC_OPEN(O_CREAT) failed: %s",
				     strerror(-fd));
			_exit(0);
		}
		fd2 = fs_mk(root, "q", O_RDWR | O_CREAT, GOSYNC_SYNC_WG);
		if (fd2 != -ENOSPC)
			fail(t, "max=1 mount with one object: a second create returned %d, not ENOSPC",
			     fd2);
		unlinkat(root, "p", 0);
		fd2 = fs_mk(root, "q", O_RDWR | O_CREAT, GOSYNC_SYNC_WG);
		if (fd2 != -ENOSPC)
			fail(t, "max=1 mount, its object unlinked but open: a create returned %d, not ENOSPC",
			     fd2);
		close(fd);
		fd2 = fs_mk(root, "q", O_RDWR | O_CREAT, GOSYNC_SYNC_WG);
		if (fd2 < 0 && fd2 != -ENOMEM && fd2 != -EMFILE)
			fail(t, "max=1 mount, its object unlinked and closed: a create failed: %s",
			     strerror(-fd2));
		if (!mount(NULL, target, NULL, MS_REMOUNT, "mode=0700"))
			fail(t, "a remount of a gosync mount changed mode=");
		if (!mount(NULL, target, NULL, MS_REMOUNT, "max=2") &&
		    (fd = fs_mk(root, "r", O_RDWR | O_CREAT, GOSYNC_KIND_CHAN)) < 0 &&
		    fd != -ENOMEM && fd != -EMFILE)
			fail(t, "after a remount to max=2 with one object, a create failed: %s",
			     strerror(-fd));
	} else {
		for (i = 0; i < 1 + (int)(op->b % 6); i++) {
			snprintf(buf, sizeof(buf), "n%d", (int)((op->b >> (4 * i)) % 5));
			fd = fs_mk(root, buf, (i % 3 == 0 ? O_RDONLY : O_RDWR) | O_CREAT,
				   i % 2 ? GOSYNC_KIND_CHAN : 1 + i % 5);
			if (fd >= 0 && (op->b >> 40) % 2)
				close(fd);
			if ((op->b >> (8 + i)) % 4 == 0)
				unlinkat(root, buf, 0);
		}
	}
	/* a name's fd that outlives its mount and namespace, for the parent */
	fd = fs_mk(root, "o", O_RDWR | O_CREAT, (op->c % 2) ? GOSYNC_KIND_CHAN :
		   GOSYNC_SYNC_WG);
	if (fd >= 0 && op->c % 4 < 2) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { .iov_base = buf, .iov_len = 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		sendmsg(w->xs[0], &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	_exit(0);
}

/*
 * A gosync mount of its own, in a child with a mount namespace (and, not
 * as root, a user namespace) of its own: valid and invalid options, a
 * read-only mount, max=1 counted exactly, a remount; then the child
 * exits with names in it, and maybe hands one fd to us first.
 */
static int op_fs_mount(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	pid_t pid, parent = getpid();
	int64_t end;
	int st;

	if (w->in_child || (!w->replay && now_ns() - w->last_mount < 2000000000LL))
		return 0;
	w->last_mount = now_ns();
	pid = fork_quiet(w);
	if (pid == 0)
		fs_mount_child(t, op, parent);
	if (pid < 0)
		return errno;
	end = now_ns() + 3000000000LL;
	while (waitpid(pid, &st, WNOHANG) != pid) {
		if (now_ns() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(1000);
	}
	return 0;
}

/* ---------------------------------------------------------- auto-close -- */

static int chan_closed(int fd)
{
	struct gosync_chan_info info;

	memset(&info, 0, sizeof(info));
	if (ioctl(fd, GOSYNC_CHAN_IOC_INFO, &info))
		return -errno;
	return !!(info.state & GOSYNC_CHAN_STATE_CLOSED);
}

static long xfer1(int fd, unsigned long cmd, void *buf, uint32_t count)
{
	struct gosync_chan_xfer x;

	memset(&x, 0, sizeof(x));
	x.elem = (uintptr_t)buf;
	x.count = count;
	x.deadline_ns = GOSYNC_DEADLINE_NONBLOCK;
	return xioctl(fd, cmd, &x);
}

/*
 * GOSYNC_CHAN_AUTOCLOSE, checked on channels of our own: the channel
 * closes when its last end that can send goes (an fd, a send-only end,
 * a mapping, a killed child's copy, a name's open file), not before, and
 * not at all without the flag; receivers drain what was sent, then see
 * it closed (a receive returns 0).  Run in a child of one thread, forked
 * by fork_quiet() (w->mm held as a writer): no other thread of ours can
 * copy an end (a fork, a dup(2) or F_DUPFD of a number it picked, an
 * SCM_RIGHTS message) while the check runs, which would rightly keep it
 * open.
 */
static void autoclose_body(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	int v = op->a % 6, rw = -1, r = -1, s2 = -1, c;
	uint32_t cap = (uint32_t)(op->b % 5), k = cap ? (uint32_t)(op->c % (cap + 1)) : 0;
	struct gosync_chan_create cc = { .elem_size = 8, .cap = cap };
	struct gosync_chan_dup dd = { .flags = GOSYNC_DUP_RECV_ONLY | GOSYNC_DUP_CLOEXEC };
	char *buf = t->arena + ARENA_STRUCTS;
	struct layout lay;
	void *map = MAP_FAILED;
	pid_t kid = -1;
	char name[32];
	long n;

	cc.flags = GOSYNC_CHAN_CLOEXEC | (v == 2 ? 0 : GOSYNC_CHAN_AUTOCLOSE);
	if (v == 5) {
		struct gosync_open req;

		if (g_fsroot < 0)
			goto out;
		/*
		 * This child's own name: two threads of a worker may run
		 * autoclose at once, and a name of the worker's alone let one
		 * child's unlink and create slip between the other's create
		 * and reopen, so that its r was an end of the other's
		 * channel, whose O_RDWR end was still open.
		 */
		snprintf(name, sizeof(name), "ac%d-%d", w->idx, (int)getpid());
		unlinkat(g_fsroot, name, 0);
		memset(&req, 0, sizeof(req));
		req.name = (uintptr_t)name;
		req.name_len = strlen(name);
		req.oflag = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC;
		req.mode = 0600;
		req.kind = GOSYNC_KIND_CHAN;
		req.elem_size = 8;
		req.cap = cap;
		req.flags = GOSYNC_OPEN_AUTOCLOSE;
		rw = xioctl(g_fsroot, GOSYNC_FS_IOC_OPEN, &req);
		if (rw >= 0)
			r = openat(g_fsroot, name, O_RDONLY | O_CLOEXEC);
		unlinkat(g_fsroot, name, 0);
	} else {
		rw = xioctl(dev_fd(t, op->d), GOSYNC_IOC_CHAN_CREATE, &cc);
		if (rw >= 0)
			r = xioctl(rw, GOSYNC_CHAN_IOC_DUP, &dd);
	}
	if (rw < 0 || r < 0)
		goto out;
	/*
	 * A signal (the fuzzer sends them) may cut a SEND short after some
	 * elements (uapi: "fewer when ... a signal came"): send the rest.
	 */
	for (uint32_t sent = 0, tries = 0; sent < k; tries++) {
		n = xfer1(rw, GOSYNC_CHAN_IOC_SEND, buf, k - sent);
		if (n > 0) {
			sent += n;
		} else if (n != -EINTR || tries >= 64) {
			fail(t, "auto-close check: SEND of %u to an empty channel of cap %u returned %ld after %u",
			     k - sent, cap, n, sent);
			goto out;
		}
	}
	if (v == 1) {
		dd.flags = GOSYNC_DUP_SEND_ONLY | GOSYNC_DUP_CLOEXEC;
		s2 = xioctl(rw, GOSYNC_CHAN_IOC_DUP, &dd);
	} else if (v == 3 && !chan_info(rw, &lay)) {
		map = mmap(NULL, lay.map_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			   rw, 0);
	} else if (v == 4) {
		pid_t me = getpid();

		kid = fork();
		if (kid == 0) {
			/* As op_autoclose's child: never an orphan that pauses. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != me)
				_exit(0);
			for (;;)
				pause();
		}
	}
	close(rw);
	rw = -1;
	c = chan_closed(r);
	if ((v == 1 && s2 >= 0) || (v == 3 && map != MAP_FAILED) ||
	    (v == 4 && kid > 0) || v == 2) {
		static const char *const why[] = {
			"", "a send-only end is open", "it was made without AUTOCLOSE",
			"a mapping of the fd is left", "a child holds a copy of the fd",
		};

		if (c)
			fail(t, "auto-close: the channel closed when its fd was closed though %s",
			     why[v]);
		if (v == 1)
			close(s2);
		if (v == 3)
			munmap(map, lay.map_size);
		if (v == 4) {
			kill(kid, SIGKILL);
			while (waitpid(kid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		c = chan_closed(r);
	}
	if (v == 2)
		goto out;
	if (c != 1) {
		fail(t, "auto-close (variant %d): the last end that can send is gone, the channel is not closed (INFO: %d)",
		     v, c);
		goto out;
	}
	/* A signal may cut a RECV short too (uapi): take the rest. */
	for (uint32_t got = 0, tries = 0; got < k; tries++) {
		n = xfer1(r, GOSYNC_CHAN_IOC_RECV, buf, k - got);
		if (n > 0) {
			got += n;
		} else if (n != -EINTR || tries >= 64) {
			fail(t, "auto-close: a receive of the %u elements sent before the close returned %ld after %u",
			     k - got, n, got);
			goto out;
		}
	}
	if ((n = xfer1(r, GOSYNC_CHAN_IOC_RECV, buf, 1)) != 0)
		fail(t, "auto-close: a receive from the drained, closed channel returned %ld, not 0",
		     n);
out:
	if (rw >= 0)
		close(rw);
	if (r >= 0)
		close(r);
}

static int op_autoclose(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	pid_t pid, parent = getpid();
	int st;

	if (w->in_child)
		return 0;
	pid = fork_quiet(w);
	if (pid == 0) {
		/*
		 * Dies with the worker; and if the worker died before the
		 * prctl, at once: an orphan would hold every fd it copied.
		 */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		w->in_child = 1;
		t->tid = gettid();	/* for reports */
		autoclose_body(t, op);
		_exit(0);
	}
	if (pid < 0)
		return errno;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/* ----------------------------------------------------------- contexts -- */

/*
 * Contexts (GOSYNC_FEAT_CTX): made with a parent of the worker's, the
 * pool's (every worker's children hang under those) or none, a deadline
 * that is FOREVER, past, or up to 200 ms ahead, now and then a value
 * (Go's WithValue) or invalid input; looked at, cancelled, their done
 * channels (receive-only ends: every channel operation runs on them),
 * their read-only pages mapped and read, their fds polled.  What every
 * look at one says must keep the rules of ctx_rules(), and agree with
 * what the worker's table saw of it before.
 */

/* What one look at a context said, and what its table entry knew before. */
struct ctxlook {
	struct gosync_ctx_info info;
	struct ctxseen was;
	int64_t before;			/* CLOCK_MONOTONIC before the call */
	int err;			/* -errno; -ESTALE: not looked at */
};

static int ctx_done_st(const struct ctxlook *l)
{
	return !l->err && l->info.state;
}

/*
 * The rules every answer about a context keeps (its INFO, its page):
 * the state is 0, ECANCELED or ETIMEDOUT; the cause 0 while live, a
 * positive errno once done (ETIMEDOUT for a deadline, which a context
 * only has passed); and the kernel's timer ends a live one whose
 * deadline passed, within a generous bound (--bound, less the guest's
 * stalls).  @before: CLOCK_MONOTONIC from before the call.
 */
static void ctx_rules(struct tctx *t, const char *what, uint32_t state,
		      int32_t cause, int64_t deadline, int64_t before)
{
	int64_t now = now_ns(), late;

	if (state && state != ECANCELED && state != ETIMEDOUT)
		fail(t, "%s: state %u, neither 0, ECANCELED nor ETIMEDOUT",
		     what, state);
	else if (!state && cause)
		fail(t, "%s: a live context with cause %d", what, cause);
	else if (state && (cause < 1 || cause > GOSYNC_CTX_CAUSE_MAX))
		fail(t, "%s: done (%s) with cause %d, not 1..%d", what,
		     strerror(state), cause, GOSYNC_CTX_CAUSE_MAX);
	else if (state == ETIMEDOUT && cause != ETIMEDOUT)
		fail(t, "%s: timed out with cause %d (%s), not ETIMEDOUT", what,
		     cause, strerror(cause));
	if (deadline < 0)
		fail(t, "%s: deadline %lld", what, (long long)deadline);
	else if (state == ETIMEDOUT && deadline > now)
		fail(t, "%s: timed out, yet its deadline is %s",
		     what, deadline == GOSYNC_DEADLINE_FOREVER ? "FOREVER" :
		     "still ahead");
	if (state || deadline == GOSYNC_DEADLINE_FOREVER || deadline < 0 ||
	    before - deadline <= O.bound_ns)
		return;
	late = before - deadline;
	if (late - stall_ns(deadline, before) <= O.bound_ns) {
		atomic_fetch_add(&SH->excused, 1);
		return;
	}
	fail(t, "%s: still live %.3f s after its deadline (bound %.1f s, longest guest stall meanwhile %.3f s)",
	     what, late / 1e9, O.bound_ns / 1e9, stall_ns(deadline, before) / 1e9);
}

/* INFO of table entry @k (table locked): remembered in the entry. */
static void ctx_look_locked(struct wctx *w, int k, struct ctxlook *l)
{
	struct ctxseen *cx = &w->objs[k].cx;

	l->was = *cx;
	l->before = now_ns();
	l->err = ctx_info(w->objs[k].fd, &l->info);
	if (l->err)
		return;
	if (!cx->known || !cx->state) {
		cx->state = l->info.state;
		cx->cause = l->info.cause;
	}
	cx->deadline = l->info.deadline_ns;
	cx->values_len = l->info.values_len;
	cx->known = 1;
}

/* @l's answer: the rules, and what its entry saw before. */
static void ctx_judge(struct tctx *t, const char *what, const struct ctxlook *l)
{
	const struct gosync_ctx_info *i = &l->info;

	if (l->err)
		return;
	if (i->flags || i->resv0 || i->resv1 ||
	    i->map_size != GOSYNC_SYNC_SIZE ||
	    i->off_words != GOSYNC_SYNC_OFF_WORDS ||
	    i->off_values != GOSYNC_CTX_OFF_VALUES ||
	    i->values_len > GOSYNC_CTX_VALUES_MAX)
		fail(t, "%s: INFO flags %#x resv0 %#x resv1 %#x, map_size %llu, off_words %llu, off_values %llu, values_len %u",
		     what, i->flags, i->resv0, i->resv1,
		     (unsigned long long)i->map_size,
		     (unsigned long long)i->off_words,
		     (unsigned long long)i->off_values, i->values_len);
	ctx_rules(t, what, i->state, i->cause, i->deadline_ns, l->before);
	if (!l->was.known)
		return;
	if (l->was.state && (i->state != l->was.state || i->cause != l->was.cause))
		fail(t, "%s: state %u cause %d, but it was seen done before with state %u cause %d",
		     what, i->state, i->cause, l->was.state, l->was.cause);
	if (i->deadline_ns != l->was.deadline ||
	    i->values_len != l->was.values_len)
		fail(t, "%s: deadline %lld values_len %u, but it was seen with deadline %lld values_len %u",
		     what, (long long)i->deadline_ns, i->values_len,
		     (long long)l->was.deadline, l->was.values_len);
}

/*
 * Look at the context in slot @s: under the table lock, so that the
 * entry holds the object and what two threads see is remembered in the
 * order they saw it.  *same: no table fd closed since @gen, so the fd
 * picked then (and used since) still names this object.  Returns l->err.
 */
static int ctx_look(struct tctx *t, int s, uint64_t gen, const char *what,
		    struct ctxlook *l, int *same)
{
	struct wctx *w = t->w;

	memset(l, 0, sizeof(*l));
	l->err = -ESTALE;
	*same = 0;
	if (s < 0)
		return l->err;
	pthread_mutex_lock(&w->tbl);
	if (w->objs[s].kind == K_CTX) {
		*same = tbl_same(w, gen);
		ctx_look_locked(w, s, l);
	}
	pthread_mutex_unlock(&w->tbl);
	ctx_judge(t, what, l);
	return l->err;
}

/*
 * Every context the table knows to descend from the one with @id is
 * done: a cancel reaches them all before it returns, and a context made
 * under a done one is born done.
 */
static void ctx_descendants(struct tctx *t, uint64_t id, const char *after)
{
	struct wctx *w = t->w;
	struct ctxlook l;
	int k, j, bad = -1, gen = 0;

	if (!id)
		return;
	pthread_mutex_lock(&w->tbl);
	for (k = 0; k < NOBJ_ALL && bad < 0; k++) {
		if (w->objs[k].kind != K_CTX)
			continue;
		for (j = 0; j < CTX_ANC && w->objs[k].cx.anc[j] != id; j++)
			;
		if (j == CTX_ANC)
			continue;
		ctx_look_locked(w, k, &l);
		if (!l.err && !l.info.state) {
			bad = k;
			gen = j + 1;
		}
	}
	pthread_mutex_unlock(&w->tbl);
	if (bad >= 0)
		fail(t, "after %s, a descendant of it (%d generation%s down, in slot %d) is still live",
		     after, gen, gen > 1 ? "s" : "", bad);
}

/*
 * Put context @fd (its INFO @ci) in slot @s, with a new id, and its
 * parent's and their ancestors' when its parent is the context of slot
 * @ps (-1: unknown or none) and no table fd closed since @gen (the
 * parent's number named it when the context was made).
 */
static void ctx_put(struct wctx *w, int s, int fd,
		    const struct gosync_ctx_info *ci, int ps, uint64_t gen)
{
	struct obj no;

	if (fd >= w->fdbase) {
		close(fd);
		return;
	}
	memset(&no, 0, sizeof(no));
	no.fd = fd;
	no.kind = K_CTX;
	no.cx.state = ci->state;
	no.cx.cause = ci->cause;
	no.cx.deadline = ci->deadline_ns;
	no.cx.values_len = ci->values_len;
	no.cx.known = 1;
	pthread_mutex_lock(&w->tbl);
	no.cx.id = ++w->ctx_ids;
	if (ps >= 0 && tbl_same(w, gen) && w->objs[ps].kind == K_CTX) {
		if (!w->objs[ps].cx.id)
			w->objs[ps].cx.id = ++w->ctx_ids;
		no.cx.anc[0] = w->objs[ps].cx.id;
		memcpy(&no.cx.anc[1], w->objs[ps].cx.anc,
		       (CTX_ANC - 1) * sizeof(no.cx.anc[0]));
	}
	pthread_mutex_unlock(&w->tbl);
	obj_put_as(w, s, &no);
}

/*
 * A context for an operation on one: from slot @sel on, as pick_obj()
 * has it; when the table has none at all (the pool's can be missing: a
 * limit said no to the supervisor, a program closed them), a new root
 * one in slot @sel.  *gen: the table's generation when it was picked.
 */
static int ctx_slot(struct tctx *t, uint8_t sel, struct obj *o, uint64_t *gen)
{
	struct gosync_ctx_create req = {
		.parent = -1, .deadline_ns = GOSYNC_DEADLINE_FOREVER,
	};
	struct wctx *w = t->w;
	struct gosync_ctx_info ci;
	int s = pick_obj(t, sel, K_CTX, o), fd;

	if (s >= 0 || o->fd != -1)
		return s;
	fd = ioctl(w->dev, GOSYNC_IOC_CTX_CREATE, &req);
	if (fd < 0)
		return -1;
	if (ctx_info(fd, &ci)) {
		close(fd);
		return -1;
	}
	ctx_put(w, sel % NOBJ, fd, &ci, -1, 0);
	*gen = atomic_load(&w->tbl_gen);
	s = sel % NOBJ;
	if (obj_get(w, s, o) < 0 || o->kind != K_CTX)
		return -1;
	return s;
}

/*
 * GOSYNC_IOC_CTX_CREATE: a parent (none, one of ours, the pool's, any
 * fd, a bad one), flags (now and then unknown bits or a reserved field
 * set), a deadline (FOREVER, past, 0, up to 200 ms ahead, negative), now
 * and then a value.  Invalid input fails with exactly its errno; a new
 * context's deadline is capped at its parent's; one made under a done
 * parent is born done with the parent's state and cause, one whose
 * deadline passed is born timed out, any other is born live.
 */
static int op_ctx_create(struct tctx *t, const struct op *op)
{
	static const uint32_t okflags[] = {
		0, GOSYNC_CTX_CLOEXEC, GOSYNC_CTX_CANCEL_ON_EXIT,
		GOSYNC_CTX_CLOEXEC | GOSYNC_CTX_CANCEL_ON_EXIT,
	};
	struct wctx *w = t->w;
	struct gosync_ctx_create req;
	struct ctxlook pl, pl2, nl;
	struct gosync_ctx_info ci;
	uint32_t a = op->a;
	uint64_t b = op->b, d = op->d, x = b >> 8, gen;
	int64_t now, before, want;
	struct obj po;
	int ps = -1, bad, same = 0, psame, fd, fdf, fl, err, ctxp, vfault = 0;
	int mine, named, wanterr, ppath = 0, own, pfl = 0, dev;
	char *key = t->arena + ARENA_STRUCTS - 4096;
	struct sptr s;
	long ret;

	memset(&req, 0, sizeof(req));
	memset(&po, 0, sizeof(po));
	po.fd = -1;
	gen = atomic_load(&w->tbl_gen);
	switch (a % 16) {
	case 0: case 1: case 2: case 3:
		req.parent = -1;
		break;
	case 12:		/* any fd of the table: not a context mostly */
		ps = pick_obj(t, op->o2, K_NONE, &po);
		req.parent = po.fd;
		break;
	case 13:
		req.parent = (a >> 12) % 2 ? -2 : INT32_MIN;
		break;
	case 14:		/* never open (RLIMIT_NOFILE is far less) */
		req.parent = (a >> 12) % 2 ? INT32_MAX : 100000;
		break;
	case 15:		/* the pool's: every worker's trees meet there */
		ps = pick_obj(t, NOBJ + NPOOL_LIB + NPOOL_NAMES +
			      op->o2 % NPOOL_CTX, K_CTX, &po);
		req.parent = po.fd;
		break;
	default:
		ps = pick_obj(t, op->o2, K_CTX, &po);
		req.parent = po.fd;
		break;
	}
	switch ((a >> 4) % 16) {
	case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7:
		req.flags = okflags[(a >> 8) % 4];
		break;
	case 8: req.flags = 1U << ((a >> 8) % 32); break;
	case 9: req.resv0 = 1 + (a >> 8); break;
	case 10: req.resv[(a >> 8) & 1] = b | 1; break;
	case 11: req.fd = -1; break;		/* output: ignored */
	default: req.flags = GOSYNC_CTX_CLOEXEC; break;
	}
	now = now_ns();
	switch (b % 16) {
	case 0: case 1: case 2: case 3: case 4:
		req.deadline_ns = GOSYNC_DEADLINE_FOREVER;
		break;
	case 5: case 6: case 7:
		req.deadline_ns = now - (int64_t)(x % 1000000000);
		if (req.deadline_ns < 0)
			req.deadline_ns = 0;
		break;
	case 8:
		req.deadline_ns = 0;
		break;
	case 14:
		req.deadline_ns = GOSYNC_DEADLINE_FOREVER - 1 - (int64_t)(x % 1000);
		break;
	case 15:
		req.deadline_ns = x % 4 == 0 ? -1 : x % 4 == 1 ? -2 :
				  x % 4 == 2 ? INT64_MIN : -(int64_t)(x % 1000000000) - 1;
		break;
	case 9: case 10:	/* soon: the timer fires while it is ours */
		req.deadline_ns = now + (int64_t)(x % 5000000);
		break;
	default:
		req.deadline_ns = now + (int64_t)(x % 200000000);
		break;
	}
	/* a value now and then: a key of a few, mostly well-formed */
	switch (d % 16) {
	case 12: case 13:
		memcpy(key, "kkkkkkkk", 8);
		key[0] = 'a' + (d >> 8) % 4;
		req.key = (uintptr_t)key;
		req.key_len = 1 + (d >> 10) % 8;
		req.val_len = (d >> 13) % 3 ? (d >> 16) % 64 :
			      (d >> 16) % (GOSYNC_CTX_VAL_MAX + 1);
		req.val = req.val_len ? (uintptr_t)(key + 256) : 0;
		break;
	case 14:
		req.key = (uintptr_t)key;
		switch ((d >> 8) % 5) {
		case 0: req.key_len = 0; break;
		case 1: req.key_len = GOSYNC_CTX_KEY_MAX + 1; break;
		case 2: req.key_len = 1; req.val_len = GOSYNC_CTX_VAL_MAX + 1;
			req.val = (uintptr_t)key; break;
		case 3: req.key_len = 1; req.val = (uintptr_t)key; break;
		default: req.key = 0; req.key_len = 1; break;
		}
		break;
	case 15:		/* a key that is not there */
		req.key = (d >> 8) % 2 ? (uintptr_t)w->bad : 8;
		req.key_len = 1 + (d >> 9) % 8;
		vfault = 1;
		break;
	default:
		break;
	}
	bad = (req.flags & ~GOSYNC_CTX_CREATE_FLAGS) || req.resv0 ||
	      req.resv[0] || req.resv[1] || req.deadline_ns < 0 ||
	      req.parent < -1 ||
	      (!req.key ? req.key_len || req.val_len || req.val :
	       !req.key_len || req.key_len > GOSYNC_CTX_KEY_MAX ||
	       req.val_len > GOSYNC_CTX_VAL_MAX || (!req.val_len && req.val));
	s = struct_ptr(t, op->c, sizeof(req), 1536);
	if (sfill(t, &s, &req, sizeof(req)))
		return EFAULT;
	/* the parent's state before: a child of a done one is born done */
	ctxp = ps >= 0 && po.kind == K_CTX;
	if (ctxp) {
		ctx_look(t, ps, gen, "CTX_CREATE's parent, before", &pl, &psame);
	} else if (ps >= 0) {
		pfl = fcntl(po.fd, F_GETFL);	/* an O_PATH fd is none */
		ppath = pfl >= 0 && (pfl & O_PATH);
	}
	/* (a root directory opened O_PATH takes no ioctl at all: EBADF) */
	dev = dev_fd(t, op->c >> 40);
	fl = dev == w->dev ? 0 : fcntl(dev, F_GETFL);
	before = now_ns();
	ret = xioctl(dev, GOSYNC_IOC_CTX_CREATE, s.p);
	err = ret < 0 ? -ret : 0;
	check_errno(t, "CTX_CREATE", err);
	limit_hit(ret);
	/*
	 * mine: the kernel read the struct we wrote; named: the parent's
	 * number named what we picked all along (no table fd closed).
	 */
	mine = s.fill && !s.shared && fl >= 0 && !(fl & O_PATH);
	named = req.parent < 0 || tbl_same(w, gen);
	wanterr = -1;			/* -1: success or a limit's */
	if (bad)
		wanterr = EINVAL;
	else if (req.parent >= 0 && ps < 0 && po.fd != w->fdbase - 1)
		wanterr = EBADF;
	else if (req.parent >= 0 && ps >= 0 && po.kind != K_CTX)
		wanterr = ppath ? EBADF : EMEDIUMTYPE;
	else if (req.parent >= 0 && ps < 0)
		named = 0;		/* (probably closed; who knows) */
	if (mine && named && wanterr > 0 && err != wanterr)
		fail(t, "CTX_CREATE(flags %#x, parent %d (%s: slot %d kind %d, file flags %#x), deadline %lld, resv0 %#x, key_len %u, val_len %u) returned %s, want %s",
		     req.flags, req.parent, ps < 0 ? "no table object" :
		     po.kind == K_CTX ? "a context" : "not a context", ps,
		     po.kind, pfl,
		     (long long)req.deadline_ns, req.resv0, req.key_len,
		     req.val_len, err ? strerror(err) : "success",
		     strerror(wanterr));
	else if (mine && named && wanterr < 0 && err && err != ENOMEM &&
		 err != EMFILE && err != ENFILE && !(err == E2BIG && req.key) &&
		 !(err == EFAULT && vfault))
		fail(t, "CTX_CREATE(flags %#x, parent %d, deadline %lld, key_len %u, val_len %u) failed: %s",
		     req.flags, req.parent, (long long)req.deadline_ns,
		     req.key_len, req.val_len, strerror(err));
	else if (mine && !err && vfault)
		fail(t, "CTX_CREATE with a key at %#llx (key_len %u), which is not there, succeeded",
		     (unsigned long long)req.key, req.key_len);
	if (ret < 0)
		return err;
	fd = ret;
	err = ctx_info(fd, &ci);
	if (err) {
		fail(t, "CTX_CREATE returned fd %d, which answers no CTX_IOC_INFO (%s)",
		     fd, strerror(-err));
		close(fd);
		return 0;
	}
	memset(&nl, 0, sizeof(nl));
	nl.info = ci;
	nl.before = before;
	ctx_judge(t, "a new context's INFO", &nl);
	if (s.fill && !s.shared) {
		fdf = fcntl(fd, F_GETFD);
		fl = fcntl(fd, F_GETFL);
		if (((struct gosync_ctx_create *)s.p)->fd != fd)
			fail(t, "CTX_CREATE returned fd %d but stored fd %d", fd,
			     ((struct gosync_ctx_create *)s.p)->fd);
		if (fdf < 0 || !(fdf & FD_CLOEXEC) != !(req.flags & GOSYNC_CTX_CLOEXEC) ||
		    fl < 0 || (fl & O_ACCMODE) != O_RDWR)
			fail(t, "CTX_CREATE(flags %#x): fd flags %#x, file flags %#x",
			     req.flags, fdf, fl);
	}
	/*
	 * What it was born as, against its parent as seen before and after.
	 * A deadline no sooner than the parent's is the parent's, with no
	 * timer of its own (own: it has one).
	 */
	psame = ctxp && !pl.err && tbl_same(w, gen);
	want = req.deadline_ns;
	if (psame && pl.info.deadline_ns < want)
		want = pl.info.deadline_ns;
	own = want != GOSYNC_DEADLINE_FOREVER &&
	      (req.parent < 0 || (psame && want < pl.info.deadline_ns));
	if (mine && named && (req.parent < 0 || psame)) {
		if (ci.deadline_ns != want)
			fail(t, "CTX_CREATE(deadline %lld) made a context of deadline %lld, want %lld (its parent's: %lld)",
			     (long long)req.deadline_ns, (long long)ci.deadline_ns,
			     (long long)want, psame ? (long long)pl.info.deadline_ns : -1LL);
		if (psame && pl.info.state) {
			if (ci.state != pl.info.state || ci.cause != pl.info.cause)
				fail(t, "CTX_CREATE under a done parent (state %u cause %d) made a context of state %u cause %d",
				     pl.info.state, pl.info.cause, ci.state, ci.cause);
		} else if (ci.state && !(own && ci.state == ETIMEDOUT &&
					 ci.cause == ETIMEDOUT)) {
			/* not its own deadline: its parent's end, since */
			if (!psame)
				fail(t, "CTX_CREATE made a root context born done: state %u cause %d",
				     ci.state, ci.cause);
			else if (!ctx_look(t, ps, gen, "CTX_CREATE's parent, after",
					   &pl2, &same) && same &&
				 (pl2.info.state != ci.state ||
				  pl2.info.cause != ci.cause))
				fail(t, "CTX_CREATE under a live parent made a context born done with state %u cause %d; the parent now: state %u cause %d",
				     ci.state, ci.cause, pl2.info.state, pl2.info.cause);
		} else if (!ci.state && own && want <= before) {
			fail(t, "CTX_CREATE with a deadline %.3f s past (asked %lld) made a live context",
			     (before - want) / 1e9, (long long)req.deadline_ns);
		}
	}
	/* into the table, with an id and its ancestors' for the cancel checks */
	ctx_put(w, op->o1 % NOBJ, fd, &ci, ctxp ? ps : -1, gen);
	return 0;
}

/* CTX_IOC_INFO, now and then with a flag or reserved field: EINVAL. */
static int ctx_op_info(struct tctx *t, const struct op *op, int s,
		       const struct obj *o, uint64_t gen)
{
	struct gosync_ctx_info info;
	struct ctxlook l;
	struct sptr sp;
	int bad, same;
	long ret;

	memset(&info, 0, sizeof(info));
	switch ((op->a >> 4) % 8) {
	case 0: info.flags = 1U << ((op->a >> 8) % 32); break;
	case 1:
		if ((op->a >> 8) & 1)
			info.resv1 = op->b | 1;
		else
			info.resv0 = op->b | 1;
		break;
	case 2:			/* outputs: ignored */
		info.state = op->b;
		info.cause = op->b >> 32;
		info.deadline_ns = op->b;
		info.values_len = op->b >> 16;
		break;
	default: break;
	}
	bad = info.flags || info.resv0 || info.resv1;
	sp = struct_ptr(t, op->c, sizeof(info), 0);
	if (sfill(t, &sp, &info, sizeof(info)))
		return EFAULT;
	memset(&l, 0, sizeof(l));
	l.before = now_ns();
	ret = xioctl(o->fd, GOSYNC_CTX_IOC_INFO, sp.p);
	if (is_gosync(o->kind))
		check_errno(t, "CTX_IOC_INFO", ret < 0 ? -ret : 0);
	if (o->kind == K_CTX && sp.fill && !sp.shared && tbl_same(t->w, gen)) {
		if (bad ? ret != -EINVAL : ret != 0)
			fail(t, "CTX_IOC_INFO(flags %#x, resv0 %#x, resv1 %#x) returned %s, want %s",
			     info.flags, info.resv0, info.resv1,
			     ret ? strerror(-ret) : "success",
			     bad ? "EINVAL" : "success");
		if (!ret) {
			l.info = *(struct gosync_ctx_info *)sp.p;
			ctx_judge(t, "CTX_IOC_INFO", &l);
		}
	}
	/* again under the table lock: against what was seen of it before */
	if (!bad && o->kind == K_CTX &&
	    !ctx_look(t, s, gen, "CTX_IOC_INFO", &l, &same) && l.info.state)
		ctx_descendants(t, l.was.id, "CTX_IOC_INFO said a context is done");
	return ret < 0 ? -ret : 0;
}

/*
 * CTX_IOC_CANCEL with a cause (mostly valid, now and then out of range,
 * a flag or a reserved field: EINVAL): 0 when this call cancelled it,
 * and then it is done with this cause and so is every descendant;
 * EALREADY when it was done; EBADF from a name opened O_RDONLY.
 */
static int ctx_op_cancel(struct tctx *t, const struct op *op, int s,
			 struct obj *o, uint64_t gen)
{
	struct gosync_ctx_cancel req;
	struct ctxlook l0, l1;
	uint64_t b = op->b, x = b >> 8;
	struct sptr sp;
	int bad, same0, same1, want;
	long ret;

	/* the pool's are everyone's: cancelled rarely */
	if (s >= NOBJ && (op->a >> 12) % 32) {
		gen = atomic_load(&t->w->tbl_gen);
		s = pick_obj(t, op->o1 % NOBJ, K_CTX, o);
		if (s >= NOBJ)
			return 0;
	}
	memset(&req, 0, sizeof(req));
	switch (b % 16) {
	case 0: case 1: case 2: req.cause = 0; break;
	case 12: req.cause = GOSYNC_CTX_CAUSE_MAX; break;
	case 13: req.cause = x % 3 == 0 ? -1 : x % 3 == 1 ? INT32_MIN :
			     GOSYNC_CTX_CAUSE_MAX + 1; break;
	case 14: req.cause = (int32_t)x; break;
	default: req.cause = 1 + x % 133; break;	/* ECANCELED, ETIMEDOUT too */
	}
	switch ((op->a >> 4) % 16) {
	case 0: req.flags = 1U << ((op->a >> 8) % 32); break;
	case 1: req.resv = b | 1; break;
	default: break;
	}
	bad = req.flags || req.resv || req.cause < 0 ||
	      req.cause > GOSYNC_CTX_CAUSE_MAX;
	sp = struct_ptr(t, op->c, sizeof(req), 0);
	if (sfill(t, &sp, &req, sizeof(req)))
		return EFAULT;
	ctx_look(t, s, gen, "CTX_IOC_CANCEL: before", &l0, &same0);
	ret = xioctl(o->fd, GOSYNC_CTX_IOC_CANCEL, sp.p);
	if (is_gosync(o->kind))
		check_errno(t, "CTX_IOC_CANCEL", ret < 0 ? -ret : 0);
	if (o->kind != K_CTX)
		return ret < 0 ? -ret : 0;
	ctx_look(t, s, gen, "CTX_IOC_CANCEL: after", &l1, &same1);
	if (!sp.fill || sp.shared || !same1)
		return ret < 0 ? -ret : 0;
	/* the fd we cancelled named this entry's object all along */
	want = bad ? -EINVAL : o->acc != O_RDWR && o->acc != O_WRONLY ? -EBADF :
	       ctx_done_st(&l0) ? -EALREADY : 1;
	if (want != 1 ? ret != want : ret != 0 && ret != -EALREADY)
		fail(t, "CTX_IOC_CANCEL(cause %d, flags %#x, resv %#llx) of a %s context (fd access %#x) returned %s, want %s",
		     req.cause, req.flags, (unsigned long long)req.resv,
		     ctx_done_st(&l0) ? "done" : "live", o->acc,
		     ret ? strerror(-ret) : "0",
		     want == 1 ? "0 or EALREADY" : strerror(-want));
	if (ret && ret != -EALREADY)
		return -ret;
	if (l1.err)
		return ret ? -ret : 0;
	if (!ret && (l1.info.state != ECANCELED ||
		     l1.info.cause != (req.cause ? req.cause : ECANCELED)))
		fail(t, "CTX_IOC_CANCEL(cause %d) returned 0, then INFO says state %u cause %d",
		     req.cause, l1.info.state, l1.info.cause);
	else if (ret && !l1.info.state)
		fail(t, "CTX_IOC_CANCEL returned EALREADY, then INFO says it is live");
	ctx_descendants(t, l1.was.id, ret ? "a cancel that found it done" :
			"a cancel returned 0");
	return ret ? -ret : 0;
}

/*
 * CTX_IOC_DONE: a new receive-only end of the done channel (now and then
 * an unknown flag or a reserved field: EINVAL).  It is a channel of
 * 0-byte elements, closed exactly when the context is done: a receive
 * returns 0 (closed) at once from a done context's, EAGAIN (NONBLOCK)
 * from a live one's.  Then it joins the table: every channel operation
 * (select, poll, io_uring, read, DUP) runs on it.
 */
static int ctx_op_done(struct tctx *t, const struct op *op, int s,
		       const struct obj *o, uint64_t gen)
{
	static const uint32_t fl[] = {
		0, 0, GOSYNC_CTX_CLOEXEC, GOSYNC_CTX_DONE_NONBLOCK,
		GOSYNC_CTX_CLOEXEC | GOSYNC_CTX_DONE_NONBLOCK, GOSYNC_CTX_CLOEXEC,
	};
	struct gosync_ctx_done req;
	struct gosync_chan_info ci;
	struct gosync_chan_xfer xf;
	struct ctxlook l0, l1;
	struct sptr sp;
	struct dl dl;
	int bad, same, fd, fdf, flg, closed, done0;
	long ret, r;

	memset(&req, 0, sizeof(req));
	req.flags = fl[(op->a >> 4) % NELEMS(fl)];
	switch ((op->a >> 8) % 16) {
	case 0: req.flags |= 1U << ((op->a >> 12) % 32); break;
	case 1: req.resv[(op->a >> 12) & 1] = op->b | 1; break;
	case 2: req.fd = -1; break;		/* output: ignored */
	default: break;
	}
	bad = (req.flags & ~GOSYNC_CTX_DONE_FLAGS) || req.resv[0] || req.resv[1];
	sp = struct_ptr(t, op->c, sizeof(req), 0);
	if (sfill(t, &sp, &req, sizeof(req)))
		return EFAULT;
	ctx_look(t, s, gen, "CTX_IOC_DONE: before", &l0, &same);
	ret = xioctl(o->fd, GOSYNC_CTX_IOC_DONE, sp.p);
	if (is_gosync(o->kind))
		check_errno(t, "CTX_IOC_DONE", ret < 0 ? -ret : 0);
	limit_hit(ret);
	same = o->kind == K_CTX && tbl_same(t->w, gen);
	if (same && sp.fill && !sp.shared &&
	    (bad ? ret != -EINVAL : ret < 0 && ret != -EMFILE &&
	     ret != -ENFILE && ret != -ENOMEM))
		fail(t, "CTX_IOC_DONE(flags %#x, resv %#llx %#llx) returned %s, want %s",
		     req.flags, (unsigned long long)req.resv[0],
		     (unsigned long long)req.resv[1],
		     ret < 0 ? strerror(-ret) : "an fd",
		     bad ? "EINVAL" : "an fd");
	if (ret < 0)
		return -ret;
	fd = ret;
	if (!same) {
		classify_put(t->w, op->o2 % NOBJ, fd);
		return 0;
	}
	fdf = fcntl(fd, F_GETFD);
	flg = fcntl(fd, F_GETFL);
	if ((sp.fill && !sp.shared && ((struct gosync_ctx_done *)sp.p)->fd != fd) ||
	    fdf < 0 || !(fdf & FD_CLOEXEC) != !(req.flags & GOSYNC_CTX_CLOEXEC) ||
	    flg < 0 || (flg & O_ACCMODE) != O_RDONLY ||
	    !(flg & O_NONBLOCK) != !(req.flags & GOSYNC_CTX_DONE_NONBLOCK))
		fail(t, "CTX_IOC_DONE(flags %#x) returned fd %d (stored %d): fd flags %#x, file flags %#x",
		     req.flags, fd, sp.fill && !sp.shared ?
		     ((struct gosync_ctx_done *)sp.p)->fd : fd, fdf, flg);
	memset(&ci, 0, sizeof(ci));
	if (ioctl(fd, GOSYNC_CHAN_IOC_INFO, &ci)) {
		fail(t, "CTX_IOC_DONE's fd %d answers no CHAN_IOC_INFO (%s)", fd,
		     strerror(errno));
		close(fd);
		return 0;
	}
	closed = !!(ci.state & GOSYNC_CHAN_STATE_CLOSED);
	if (ci.elem_size || ci.cap ||
	    (ci.state & ~GOSYNC_CHAN_STATE_CLOSED) != GOSYNC_CHAN_STATE_NOSEND)
		fail(t, "the done channel of a %s context: elem %u cap %u state %#x",
		     ctx_done_st(&l0) ? "done" : "live", ci.elem_size, ci.cap,
		     ci.state);
	/*
	 * One receive.  A done context's channel is closed (0), but its
	 * close comes just after the state a look may have seen: then it
	 * waits a second at most.  A live one's at once (NONBLOCK): EAGAIN,
	 * or closed if it is done since.
	 */
	done0 = ctx_done_st(&l0);
	memset(&xf, 0, sizeof(xf));
	xf.elem = (uintptr_t)t->arena;
	xf.count = 1;
	xf.deadline_ns = done0 ? now_ns() + 1000000000LL :
			 GOSYNC_DEADLINE_NONBLOCK;
	memset(&dl, 0, sizeof(dl));
	dl_begin_timeout(t, &dl, done0 ? 1000000000LL : 0, 0);
	r = xioctl(fd, GOSYNC_CHAN_IOC_RECV, &xf);
	dl_end(t, &dl, "a receive from a done channel", r, r < 0 ? -r : 0);
	if (done0 ? r != 0 && r != -EINTR : r != 0 && r != -EAGAIN)
		fail(t, "a %s receive from the done channel of a %s context returned %s, want %s",
		     done0 ? "1 s" : "NONBLOCK", done0 ? "done" : "live",
		     r < 0 ? strerror(-r) : r ? "elements" : "0 (closed)",
		     done0 ? "0 (closed)" : "EAGAIN or 0 (closed)");
	/* closed only once done: the state is set before the close */
	if ((closed || r == 0) && !ctx_look(t, s, gen, "CTX_IOC_DONE: after",
					    &l1, &same) && same &&
	    !l1.info.state)
		fail(t, "the done channel is %s, but the context is live",
		     closed ? "closed" : "closed to a receive");
	classify_put(t->w, op->o2 % NOBJ, fd);
	return 0;
}

/*
 * The page, mapped: read-only, shared (a mapping slot of the table, so
 * munmap, mremap, madvise, mprotect, fork and the probes run on it
 * too); now and then asked writable (EACCES), private or executable.
 */
static int ctx_op_mmap(struct tctx *t, const struct op *op, int s,
		       const struct obj *o)
{
	int prot = PROT_READ, flags = MAP_SHARED;

	switch ((op->a >> 4) % 8) {
	case 4: prot = PROT_READ | PROT_WRITE; break;
	case 5: prot = PROT_WRITE; break;
	case 6: prot = (op->a >> 8) % 2 ? PROT_NONE : PROT_READ | PROT_EXEC; break;
	case 7: flags = (op->a >> 8) % 2 ? MAP_PRIVATE : MAP_SHARED | MAP_POPULATE; break;
	default: break;
	}
	return map_obj(t, op->o2 % NMAPS, s, o, GOSYNC_SYNC_SIZE, prot, flags, 0);
}

/* The page as Err reads it (the acquire load [CTX-B]), and its values. */
static void ctx_page_read(const char *page, struct gosync_sync_header *h,
			  struct gosync_ctx_words *cw, char *values)
{
	const struct gosync_ctx_words *p =
		(const void *)(page + GOSYNC_SYNC_OFF_WORDS);

	memcpy(h, page, sizeof(*h));
	cw->state = __atomic_load_n(&p->state, __ATOMIC_ACQUIRE);
	cw->cause = __atomic_load_n(&p->cause, __ATOMIC_RELAXED);
	cw->deadline_ns = __atomic_load_n(&p->deadline_ns, __ATOMIC_RELAXED);
	cw->values_len = __atomic_load_n(&p->values_len, __ATOMIC_RELAXED);
	if (values && cw->values_len <= GOSYNC_CTX_VALUES_MAX)
		memcpy(values, page + GOSYNC_CTX_OFF_VALUES, cw->values_len);
}

/* The same, guarded: 1 when it faulted. */
static int __attribute__((noinline))
ctx_page_load(struct tctx *t, const char *page, struct gosync_sync_header *h,
	      struct gosync_ctx_words *cw, char *values)
{
	return GUARD(t, ctx_page_read(page, h, cw, values));
}

/* Value records: each a key and a value in bounds, padded, filling @len. */
static int ctx_values_ok(const char *v, uint32_t len)
{
	uint32_t off = 0;

	while (off + sizeof(struct gosync_ctx_value) <= len) {
		struct gosync_ctx_value rec;

		memcpy(&rec, v + off, sizeof(rec));
		if (!rec.key_len || rec.key_len > GOSYNC_CTX_KEY_MAX ||
		    rec.val_len > GOSYNC_CTX_VAL_MAX)
			return 0;
		off += (sizeof(rec) + rec.key_len + rec.val_len + 3) & ~3U;
	}
	return off == len;
}

/*
 * The words on a mapped page, INFO through the mapping's own fd, the
 * words again: the header is a context's, the deadline INFO's, and once
 * either says done the other agrees (the kernel writes the page before
 * INFO can see it done); the value records are well-formed.  Now and
 * then a store, which must fault: only the kernel writes the page.
 */
static int ctx_op_words(struct tctx *t, const struct op *op)
{
	struct wctx *w = t->w;
	struct gosync_sync_header h, h2;
	struct gosync_ctx_words w1, w2;
	struct ctxlook l;
	char *vals = t->arena + ARENA_STRUCTS - 8192;
	struct mapent m;
	int ms, f, wrote = 0;

	pthread_rwlock_rdlock(&w->mm);
	ms = pick_map(w, op->o2, MK(M_CTX), &m);
	if (ms < 0 || !(m.prot & PROT_READ) || m.fd < 0 || !map_current(w, &m)) {
		pthread_rwlock_unlock(&w->mm);
		return ENOENT;
	}
	memset(&l, 0, sizeof(l));
	l.before = now_ns();
	f = ctx_page_load(t, m.addr, &h, &w1, vals);
	if (!f) {
		l.err = ctx_info(m.fd, &l.info);
		f = ctx_page_load(t, m.addr, &h2, &w2, NULL);
	}
	if (!f && (op->a >> 4) % 4 == 0 && !(m.prot & PROT_WRITE))
		wrote = !store32(t, (uint32_t *)(m.addr + GOSYNC_SYNC_OFF_WORDS +
						 4 * ((op->a >> 6) % 4)), 0);
	pthread_rwlock_unlock(&w->mm);
	if (f) {
		atomic_fetch_add_explicit(&SH->faults, 1, memory_order_relaxed);
		return EFAULT;
	}
	if (wrote)
		fail(t, "a store to a context's read-only page at %p did not fault",
		     (void *)m.addr);
	if (h.magic != GOSYNC_SYNC_MAGIC || h.kind != GOSYNC_KIND_CTX ||
	    h.abi_version != GOSYNC_ABI_VERSION)
		fail(t, "a context's page: magic %#x kind %u abi %u", h.magic,
		     h.kind, h.abi_version);
	/* (the cause is written first: with the state 0 it says nothing) */
	ctx_rules(t, "a context's page", w1.state, w1.state ? w1.cause : 0,
		  w1.deadline_ns, l.before);
	if (w1.values_len > GOSYNC_CTX_VALUES_MAX ||
	    w1.values_len != w2.values_len || !ctx_values_ok(vals, w1.values_len))
		fail(t, "a context's page: values_len %u then %u, records %s",
		     w1.values_len, w2.values_len,
		     w1.values_len > GOSYNC_CTX_VALUES_MAX ? "beyond the page" :
		     ctx_values_ok(vals, w1.values_len) ? "well-formed" :
		     "malformed");
	if (w2.deadline_ns != w1.deadline_ns ||
	    (w1.state && (w2.state != w1.state || w2.cause != w1.cause)))
		fail(t, "a context's page said state %u cause %d deadline %lld, then state %u cause %d deadline %lld",
		     w1.state, w1.cause, (long long)w1.deadline_ns, w2.state,
		     w2.cause, (long long)w2.deadline_ns);
	if (l.err)
		return -l.err;
	ctx_judge(t, "CTX_IOC_INFO through a mapping's fd", &l);
	if (l.info.deadline_ns != w1.deadline_ns ||
	    (w1.state && (l.info.state != w1.state || l.info.cause != w1.cause)) ||
	    (l.info.state && (w2.state != l.info.state ||
			      w2.cause != l.info.cause)))
		fail(t, "a context's page said state %u cause %d deadline %lld, INFO then state %u cause %d deadline %lld, the page then state %u cause %d",
		     w1.state, w1.cause, (long long)w1.deadline_ns,
		     l.info.state, l.info.cause, (long long)l.info.deadline_ns,
		     w2.state, w2.cause);
	return 0;
}

/* poll(2) of the context's fd: POLLIN exactly once it is done. */
static int ctx_op_poll(struct tctx *t, const struct op *op, int s,
		       const struct obj *o, uint64_t gen)
{
	struct pollfd p = { .fd = o->fd, .events = POLLIN };
	struct ctxlook l0, l1;
	int same0, same1;
	long ret;

	ctx_look(t, s, gen, "poll: before", &l0, &same0);
	ret = sys_ret(poll(&p, 1, 0));
	(void)op;
	if (o->kind != K_CTX)
		return ret < 0 ? -ret : 0;
	ctx_look(t, s, gen, "poll: after", &l1, &same1);
	if (!same1 || ret < 0)
		return ret < 0 ? -ret : 0;
	if (ctx_done_st(&l0) && !(p.revents & POLLIN))
		fail(t, "poll of a done context's fd: revents %#x, no POLLIN",
		     p.revents);
	else if ((p.revents & POLLIN) && !l1.err && !l1.info.state)
		fail(t, "poll of a live context's fd: revents %#x", p.revents);
	return 0;
}

/*
 * Its /proc/self/fdinfo: a context's, its deadline INFO's, and once INFO
 * said it is done, the same error and cause (the kernel's copy, which
 * fdinfo shows, is written before the page INFO reads).
 */
static int ctx_op_fdinfo(struct tctx *t, int s, const struct obj *o,
			 uint64_t gen)
{
	char path[64], *buf = t->arena + 65536;
	const char *k, *e, *c, *d;
	long long dl = -1;
	int err = -1, cause = -1, same;
	struct ctxlook l0;
	long n;

	ctx_look(t, s, gen, "fdinfo: before", &l0, &same);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", o->fd);
	n = read_file(path, buf, 4095, 0);
	if (n < 0)
		return -n;
	buf[n < 4095 ? n : 4095] = 0;
	if (o->kind != K_CTX || !tbl_same(t->w, gen) || l0.err)
		return 0;
	k = strstr(buf, "gosync-kind:\t");
	e = strstr(buf, "gosync-err:\t");
	c = strstr(buf, "gosync-cause:\t");
	d = strstr(buf, "gosync-deadline:\t");
	if (!k || strncmp(k, "gosync-kind:\tctx\n", 17) || !e || !c || !d ||
	    sscanf(e, "gosync-err:\t%d", &err) != 1 ||
	    sscanf(c, "gosync-cause:\t%d", &cause) != 1 ||
	    sscanf(d, "gosync-deadline:\t%lld", &dl) != 1 ||
	    dl != l0.info.deadline_ns ||
	    (l0.info.state && (err != (int)l0.info.state ||
			       cause != l0.info.cause)))
		fail(t, "a context's fdinfo says err %d cause %d deadline %lld; INFO before: state %u cause %d deadline %lld (fdinfo: %.300s)",
		     err, cause, dl, l0.info.state, l0.info.cause,
		     (long long)l0.info.deadline_ns, buf);
	return 0;
}

/* One of the above on a context (mostly one of ours or the pool's). */
static int op_ctx(struct tctx *t, const struct op *op)
{
	uint64_t gen = atomic_load(&t->w->tbl_gen);
	struct obj o;
	int s = ctx_slot(t, op->o1, &o, &gen);

	switch (op->a % 16) {
	case 0: case 1: case 2: case 3:
		return ctx_op_info(t, op, s, &o, gen);
	case 4: case 5: case 6:
		return ctx_op_cancel(t, op, s, &o, gen);
	case 7: case 8: case 9:
		return ctx_op_done(t, op, s, &o, gen);
	case 10: case 11:
		return ctx_op_mmap(t, op, s, &o);
	case 12: case 13: case 14:
		return ctx_op_words(t, op);
	default:
		if ((op->a >> 4) % 4 == 3)
			return ctx_op_fdinfo(t, s, &o, gen);
		return ctx_op_poll(t, op, s, &o, gen);
	}
}

/* ------------------------------------------------------------ dispatch -- */

void op_exec(struct tctx *t, const struct op *op)
{
	int err;

	t->rng = splitmix(op->a ^ op->b * 3 ^ op->c * 5 ^ op->d * 7 ^
			  (uint64_t)op->o1 << 8 ^ (uint64_t)op->o2 << 16 ^ op->type);
	switch (op->type) {
	case OP_CHAN_CREATE: err = op_chan_create(t, op); break;
	case OP_SYNC_CREATE: err = op_sync_create(t, op); break;
	case OP_OPEN_DEV: err = op_open_dev(t, op); break;
	case OP_OPEN_OTHER: err = op_open_other(t, op); break;
	case OP_DUP: err = op_dup(t, op); break;
	case OP_CLOSE: err = op_close(t, op); break;
	case OP_DEV_IOCTL: err = op_dev_ioctl(t, op); break;
	case OP_DEV_INFO: err = op_dev_info(t, op); break;
	case OP_SELECT: err = op_select(t, op); break;
	case OP_CHAN_INFO: err = op_chan_info(t, op); break;
	case OP_CHAN_SEND: err = op_xfer(t, op, 1); break;
	case OP_CHAN_RECV: err = op_xfer(t, op, 0); break;
	case OP_CHAN_CLOSE: err = op_chan_close(t, op); break;
	case OP_CHAN_WAKE: err = op_chan_wake(t, op); break;
	case OP_MAP_IOCTL: err = op_map_ioctl(t, op); break;
	case OP_SYNC_INFO: err = op_sync_info(t, op); break;
	case OP_SYNC_WAKE: err = op_sync_wake(t, op); break;
	case OP_READ: err = op_rw(t, op, 0); break;
	case OP_WRITE: err = op_rw(t, op, 1); break;
	case OP_FCNTL: err = op_fcntl(t, op); break;
	case OP_POLL: err = op_poll(t, op); break;
	case OP_EPOLL_CTL: err = op_epoll_ctl(t, op); break;
	case OP_EPOLL_WAIT: err = op_epoll_wait(t, op); break;
	case OP_RING_SETUP: err = op_ring_setup(t, op); break;
	case OP_URING_CMD: err = op_uring_cmd(t, op); break;
	case OP_URING_POLL: err = op_uring_poll(t, op); break;
	case OP_URING_RW: err = op_uring_rw(t, op); break;
	case OP_URING_REAP: err = op_uring_reap(t, op); break;
	case OP_URING_CANCEL: err = op_uring_cancel(t, op); break;
	case OP_RING_CLOSE: err = op_ring_close(t, op); break;
	case OP_MMAP: err = op_mmap(t, op); break;
	case OP_MUNMAP: err = op_munmap(t, op); break;
	case OP_MREMAP: err = op_mremap(t, op); break;
	case OP_MADVISE: err = op_madvise(t, op); break;
	case OP_MPROTECT: err = op_mprotect(t, op); break;
	case OP_REMAP_FILE_PAGES: err = op_remap_file_pages(t, op); break;
	case OP_MSYNC: err = op_msync(t, op); break;
	case OP_TOUCH: err = op_touch(t, op); break;
	case OP_SYNC_WORDS: err = op_sync_words(t, op); break;
	case OP_SCRIBBLE: err = op_scribble(t, op); break;
	case OP_LIB: err = op_lib(t, op); break;
	case OP_FORK: err = op_fork(t, op); break;
	case OP_SEND_FD: err = op_send_fd(t, op); break;
	case OP_RECV_FD: err = op_recv_fd(t, op); break;
	case OP_SIGNAL: err = op_signal(t, op); break;
	case OP_RLIMIT: err = op_rlimit(t, op); break;
	case OP_LIMIT_BURST: err = op_limit_burst(t, op); break;
	case OP_PROCFS: err = op_procfs(t, op); break;
	case OP_SLEEP: err = op_sleep(t, op); break;
	case OP_CHAN_DUP: err = op_chan_dup(t, op); break;
	case OP_FS_OPEN: err = op_fs_open(t, op); break;
	case OP_FS_PATH: err = op_fs_path(t, op); break;
	case OP_FS_MOUNT: err = op_fs_mount(t, op); break;
	case OP_AUTOCLOSE: err = op_autoclose(t, op); break;
	case OP_CTX_CREATE: err = op_ctx_create(t, op); break;
	case OP_CTX: err = op_ctx(t, op); break;
	default: err = EINVAL; break;
	}
	t->last_err = err;
	count_result(t, err);
}

/*
 * After a program (every thread waits at the barrier): its children
 * killed, its rings reaped (deadlines checked) and closed with whatever
 * is still queued, its mappings and its own objects gone.
 */
void prog_cleanup(struct wctx *w)
{
	prog_cleanup_as(w, 0);
}

/* @all: everything goes (the end of a replay or of a worker). */
void prog_cleanup_as(struct wctx *w, int everything)
{
	struct tctx *t = &w->t[0];
	/* what survives into the next program: from the program alone */
	uint64_t r = splitmix(w->prog ? w->prog->id ^ 0xc1ea : 0);
	int i, all = rnd(&r) % 8 == 0 || everything;

	kids_reap(w, 1);
	rings_reap_all(t, 1);
	/*
	 * Rings cost milliseconds to make: they live on into the next
	 * program, and are closed (with whatever is queued) now and then,
	 * or when their table fills with commands that wait forever.
	 */
	for (i = 0; i < NRINGS; i++) {
		struct ringent *re = &w->rings[i];

		pthread_mutex_lock(&re->lock);
		if (re->live && (all || rnd(&r) % 8 == 0 || pend_slot(re) < 0 ||
				 pend_count(re) > NPEND / 2))
			ring_exit_locked(w, re);
		pthread_mutex_unlock(&re->lock);
	}
	pthread_rwlock_wrlock(&w->mm);
	pthread_mutex_lock(&w->tbl);
	for (i = 0; i < NMAPS; i++) {
		if (w->maps[i].kind == M_NONE || (!all && rnd(&r) % 2))
			continue;
		munmap(w->maps[i].addr, w->maps[i].len);
		if (w->maps[i].fd >= 0)
			close(w->maps[i].fd);
		w->maps[i].kind = M_NONE;
		w->maps[i].fd = -1;
		slot_reserve(w, i, NULL, 0);
	}
	pthread_mutex_unlock(&w->tbl);
	pthread_rwlock_unlock(&w->mm);
	for (i = 0; i < NOBJ; i++)
		if (all || rnd(&r) % 2)
			obj_close(w, i);
	if (w->rlimit_changed) {
		struct rlimit rl = { w->nofile.cur, w->nofile.max };

		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_MEMLOCK, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &rl);
		w->rlimit_changed = 0;
	}
}
