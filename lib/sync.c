// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libgosync: what every sync object (waitgroup, mutex, rwmutex, once,
 * cond) shares: one page of words, made by the module (an fd) or in a
 * memfd (GOSYNC_STANDALONE), mapped into each process that uses it, and
 * mapped again in a forked child in kernel mode (the mapping is not
 * inherited: each process gets its own owner id).
 *
 * The kinds' operations are in wg.c, mutex.c, rwmutex.c, once.c and
 * cond.c; they work on the words through gosync_sync_words().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define GOSYNC_SYNC_FLAGS	(GOSYNC_STANDALONE | GOSYNC_CLOEXEC)

static bool gosync_sync_standalone(const struct gosync_sync *so)
{
	return so->flags & GOSYNC_STANDALONE;
}

/* Map a kernel object and learn this mapping's owner id. */
static int gosync_sync_map_kernel(void *arg)
{
	struct gosync_sync *so = arg;
	struct gosync_chan_map req;
	void *base;

	base = mmap(NULL, GOSYNC_SYNC_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    so->fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	memset(&req, 0, sizeof(req));
	req.addr = (uintptr_t)base;
	if (ioctl(so->fd, GOSYNC_SYNC_IOC_MAP, &req) < 0) {
		int err = -errno;

		munmap(base, GOSYNC_SYNC_SIZE);
		return err;
	}
	so->base = base;
	so->owner = req.owner;
	return 0;
}

/* Map a standalone memfd (sealed at GOSYNC_SYNC_SIZE). */
static int gosync_sync_map_standalone(struct gosync_sync *so)
{
	void *base = mmap(NULL, GOSYNC_SYNC_SIZE, PROT_READ | PROT_WRITE,
			  MAP_SHARED, so->fd, 0);

	if (base == MAP_FAILED)
		return -errno;
	so->base = base;
	return 0;
}

/* Start using a kernel object: map it now, and again after each fork. */
static int gosync_sync_attach_kernel(struct gosync_sync *so)
{
	gosync_fork_watch();
	return gosync_fork_remap(&so->gen, gosync_sync_map_kernel, so);
}

void *gosync_sync_words_slow(struct gosync_sync *so, int *err)
{
	if (!gosync_sync_standalone(so)) {
		*err = gosync_fork_remap(&so->gen, gosync_sync_map_kernel, so);
		if (*err)
			return NULL;
	}
	return (unsigned char *)so->base + GOSYNC_SYNC_OFF_WORDS;
}

bool gosync_sync_kernel(const struct gosync_sync *so)
{
	return !gosync_sync_standalone(so);
}

int64_t gosync_sync_slice(const struct gosync_sync *so, int64_t deadline)
{
	int64_t slice;

	if (gosync_sync_standalone(so))
		return deadline;
	slice = gosync_after(GOSYNC_SYNC_POLL_NS);
	return slice < deadline ? slice : deadline;
}

/* Check and map a standalone object's memfd. */
static int gosync_sync_adopt_memfd(struct gosync_sync *so, uint32_t kind)
{
	struct gosync_sync_header *hdr;
	struct stat st;
	int ret;

	if (fstat(so->fd, &st) < 0)
		return -errno;
	/* Sealed at its size, or a named file (name.c: trusted). */
	if (!S_ISREG(st.st_mode) || st.st_size != GOSYNC_SYNC_SIZE ||
	    !gosync_shm_seals_ok(so->fd))
		return -EINVAL;
	ret = gosync_sync_map_standalone(so);
	if (ret)
		return ret;
	hdr = so->base;
	/* magic: acquire, pairs with the creator's release. */
	if (__atomic_load_n(&hdr->magic, __ATOMIC_ACQUIRE) != GOSYNC_SYNC_MAGIC ||
	    hdr->abi_version != GOSYNC_ABI_VERSION || hdr->kind != kind ||
	    !(hdr->flags & GOSYNC_SYNC_HDR_STANDALONE))
		return -EINVAL;
	return 0;
}

static int gosync_sync_make_standalone(struct gosync_sync *so, uint32_t kind)
{
	struct gosync_sync_header *hdr;
	int ret;

	ret = gosync_shm_size(so->fd, GOSYNC_SYNC_SIZE);
	if (ret)
		return ret;
	ret = gosync_sync_map_standalone(so);
	if (ret)
		return ret;
	hdr = so->base;
	hdr->abi_version = GOSYNC_ABI_VERSION;
	hdr->kind = kind;
	hdr->flags = GOSYNC_SYNC_HDR_STANDALONE;
	/* The magic last: a peer that sees it sees the rest. */
	__atomic_store_n(&hdr->magic, GOSYNC_SYNC_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

static int gosync_sync_new(struct gosync_sync **sop, int fd, unsigned int flags)
{
	struct gosync_sync *so = calloc(1, sizeof(*so));

	if (!so) {
		close(fd);
		return -ENOMEM;
	}
	so->fd = fd;
	so->flags = flags;
	/* No generation yet: the first gosync_fork_remap() maps it. */
	so->gen = ~0UL;
	*sop = so;
	return 0;
}

void gosync_sync_free(struct gosync_sync *so)
{
	if (!so)
		return;
	/* A kernel mapping from before a fork is not in this process. */
	if (so->base && (gosync_sync_standalone(so) ||
			 so->gen == gosync_fork_generation()))
		munmap(so->base, GOSYNC_SYNC_SIZE);
	close(so->fd);
	free(so);
}

int gosync_sync_make(struct gosync_sync **sop, uint32_t kind,
		     unsigned int flags)
{
	struct gosync_sync *so = NULL;
	int fd, ret;

	if (!sop || flags & ~GOSYNC_SYNC_FLAGS)
		return -EINVAL;
	if (flags & GOSYNC_STANDALONE) {
		fd = memfd_create("gosync-sync", MFD_ALLOW_SEALING |
				  (flags & GOSYNC_CLOEXEC ? MFD_CLOEXEC : 0));
	} else {
		struct gosync_sync_create req;
		int dev = gosync_dev_fd();

		if (dev < 0)
			return dev;
		memset(&req, 0, sizeof(req));
		req.kind = kind;
		req.flags = flags & GOSYNC_CLOEXEC ? GOSYNC_SYNC_CLOEXEC : 0;
		fd = ioctl(dev, GOSYNC_IOC_SYNC_CREATE, &req);
	}
	if (fd < 0)
		return -errno;
	ret = gosync_sync_new(&so, fd, flags);
	if (ret)
		return ret;
	ret = flags & GOSYNC_STANDALONE ? gosync_sync_make_standalone(so, kind) :
					  gosync_sync_attach_kernel(so);
	if (ret) {
		gosync_sync_free(so);
		return ret;
	}
	*sop = so;
	return 0;
}

/*
 * Make a handle of @own, which it then owns (closed on failure): a kernel
 * object of @kind (it answers INFO), or a standalone page of @kind.
 */
static int gosync_sync_adopt(struct gosync_sync **sop, uint32_t kind, int own,
			     unsigned int flags)
{
	struct gosync_sync_info info;
	struct gosync_sync *so;
	int ret;

	memset(&info, 0, sizeof(info));
	ret = ioctl(own, GOSYNC_SYNC_IOC_INFO, &info) < 0 ? -errno : 0;
	if (!ret && info.kind != kind) {
		close(own);
		return -EINVAL;
	}
	if (ret && ret != -ENOTTY) {
		close(own);
		return ret;
	}
	flags = ret ? flags | GOSYNC_STANDALONE : flags & ~GOSYNC_STANDALONE;
	ret = gosync_sync_new(&so, own, flags);
	if (ret)
		return ret;
	ret = flags & GOSYNC_STANDALONE ? gosync_sync_adopt_memfd(so, kind) :
					  gosync_sync_attach_kernel(so);
	if (ret) {
		gosync_sync_free(so);
		return ret;
	}
	*sop = so;
	return 0;
}

int gosync_sync_from_fd(struct gosync_sync **sop, uint32_t kind, int fd,
			unsigned int flags)
{
	int own;

	if (!sop || fd < 0 || flags & ~GOSYNC_SYNC_FLAGS)
		return -EINVAL;
	own = fcntl(fd, flags & GOSYNC_CLOEXEC ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	if (own < 0)
		return -errno;
	return gosync_sync_adopt(sop, kind, own, flags);
}

/* Standalone: write a new page of @req's kind into @fd, as _make does. */
static int gosync_sync_init_named(int fd, const struct gosync_name_req *req)
{
	struct gosync_sync so = { .fd = fd, .flags = GOSYNC_STANDALONE };
	int ret = gosync_sync_make_standalone(&so, req->kind);

	if (so.base)
		munmap(so.base, GOSYNC_SYNC_SIZE);
	return ret;
}

/*
 * By name (gosync_wg_open(3)): a sync object is used through its mapping,
 * so only O_RDWR opens one.
 */
int gosync_sync_open(struct gosync_sync **sop, uint32_t kind, const char *name,
		     int oflag, mode_t mode, unsigned int flags)
{
	struct gosync_name_req req = {
		.name = name, .oflag = oflag, .mode = mode, .kind = kind,
		.flags = flags, .init = gosync_sync_init_named,
	};
	int fd;

	if (!sop || flags & ~GOSYNC_SYNC_FLAGS ||
	    (oflag & O_ACCMODE) != O_RDWR)
		return -EINVAL;
	if (flags & GOSYNC_CLOEXEC)
		req.oflag |= O_CLOEXEC;
	fd = gosync_name_open(&req);
	if (fd < 0)
		return fd;
	return gosync_sync_adopt(sop, kind, fd, flags);
}

int gosync_sync_fd(const struct gosync_sync *so)
{
	return so ? so->fd : -EINVAL;
}

/*
 * The kinds' make / from_fd / open / fd / free: each public type is a struct
 * gosync_sync of its kind.
 */
#define GOSYNC_SYNC_KIND(name, KIND)					\
int gosync_##name##_make(struct gosync_##name **p, unsigned int flags)	\
{									\
	GOSYNC_KEEP_ERRNO;						\
								\
	return gosync_sync_make((struct gosync_sync **)p, KIND, flags);	\
}									\
int gosync_##name##_from_fd(struct gosync_##name **p, int fd,		\
			    unsigned int flags)				\
{									\
	GOSYNC_KEEP_ERRNO;						\
								\
	return gosync_sync_from_fd((struct gosync_sync **)p, KIND, fd,	\
				   flags);				\
}									\
int gosync_##name##_open(struct gosync_##name **p, const char *nm,	\
			 int oflag, mode_t mode, unsigned int flags)	\
{									\
	GOSYNC_KEEP_ERRNO;						\
								\
	return gosync_sync_open((struct gosync_sync **)p, KIND, nm,	\
				oflag, mode, flags);			\
}									\
int gosync_##name##_fd(const struct gosync_##name *p)			\
{									\
	GOSYNC_KEEP_ERRNO;						\
								\
	return gosync_sync_fd((const struct gosync_sync *)p);		\
}									\
void gosync_##name##_free(struct gosync_##name *p)			\
{									\
	GOSYNC_KEEP_ERRNO;						\
								\
	gosync_sync_free((struct gosync_sync *)p);			\
}

GOSYNC_SYNC_KIND(wg, GOSYNC_SYNC_WG)
GOSYNC_SYNC_KIND(mutex, GOSYNC_SYNC_MUTEX)
GOSYNC_SYNC_KIND(rwmutex, GOSYNC_SYNC_RWMUTEX)
GOSYNC_SYNC_KIND(once, GOSYNC_SYNC_ONCE)
GOSYNC_SYNC_KIND(cond, GOSYNC_SYNC_COND)
