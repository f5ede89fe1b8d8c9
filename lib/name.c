// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libgosync: named objects, what every kind shares (gosync_chan_open(3)).
 *
 * Kernel mode: a name is a file of the gosync filesystem mounted at
 * $GOSYNC_FS (default GOSYNC_FS_DEFAULT); GOSYNC_FS_IOC_OPEN on its root
 * directory looks it up or makes it, atomically, and the kernel checks
 * permissions, kind and shape.
 *
 * Standalone mode: a name is a file of a tmpfs directory, $GOSYNC_SHM_DIR
 * (default /dev/shm/gosync, made 01777 on first use like /dev/shm).  A new
 * object is written into a file of a unique temporary name first, made
 * O_CREAT | O_EXCL with the final mode (open(2) applies the umask), and
 * only then linked to its name: link(2) fails with EEXIST when the name
 * exists, so of racing makers exactly one names its file, and no opener
 * ever sees a file that is not fully written.  A named file cannot be
 * sealed, so a peer that may write it may also truncate it: standalone
 * mode trusts whomever the file's permissions let in (a truncated file
 * makes its users fault with SIGBUS, as a truncated POSIX shared-memory
 * object does).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "internal.h"

#define GOSYNC_SHM_DEFAULT	"/dev/shm/gosync"
#define GOSYNC_TMPFS_MAGIC	0x01021994
/* What oflag may hold beside the access mode (O_EXCL alone: ignored). */
#define GOSYNC_OFLAGS		(O_CREAT | O_EXCL | O_CLOEXEC)
/* Tries of open-or-make while another process makes and unlinks it. */
#define GOSYNC_OPEN_TRIES	64

/* ------------------------------------------------- shared-memory files -- */

int gosync_shm_size(int fd, off_t size)
{
	int seals;

	if (ftruncate(fd, size) < 0)
		return -errno;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return -errno;
	/* A named file cannot be sealed (F_SEAL_SEAL): nothing to add. */
	if (seals & F_SEAL_SEAL)
		return 0;
	/* Sealed at its size: no peer can shrink it under the others. */
	if (fcntl(fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	return 0;
}

bool gosync_shm_seals_ok(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0)
		return false;	/* not a tmpfs file */
	/*
	 * A memfd sealed at its size, or a file that cannot be sealed at
	 * all (a named one).  An unsealed memfd (0) is refused: whoever made
	 * it meant to seal it and has not, or never will.
	 */
	return (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) ==
	       (F_SEAL_SHRINK | F_SEAL_GROW) || seals == F_SEAL_SEAL;
}

/* ------------------------------------------------------ names, oflags -- */

/* "/name": one component, 1..GOSYNC_NAME_MAX bytes, not "." or "..". */
static int gosync_name_check(const char *name, size_t *len)
{
	const char *base;

	if (!name || name[0] != '/')
		return -EINVAL;
	base = name + 1;
	*len = strlen(base);
	if (!*len || memchr(base, '/', *len) || !strcmp(base, ".") ||
	    !strcmp(base, ".."))
		return -EINVAL;
	return *len > GOSYNC_NAME_MAX ? -ENAMETOOLONG : 0;
}

static int gosync_oflag_check(int oflag, mode_t mode)
{
	int acc = oflag & O_ACCMODE;

	if (acc != O_RDONLY && acc != O_WRONLY && acc != O_RDWR)
		return -EINVAL;
	if (oflag & ~(O_ACCMODE | GOSYNC_OFLAGS))
		return -EINVAL;
	/* As open(2): the mode matters only to O_CREAT. */
	if (oflag & O_CREAT && mode & ~(mode_t)07777)
		return -EINVAL;
	return 0;
}

/* --------------------------------------------------------- kernel mode -- */

/*
 * The root directory of the gosync filesystem: its fd, or -ENODEV when
 * $GOSYNC_FS (or GOSYNC_FS_DEFAULT) is missing or not a gosync mount.
 */
int gosync_fs_root(void)
{
	const char *path = getenv("GOSYNC_FS");
	struct statfs sfs;
	int fd;

	if (!path || !*path)
		path = GOSYNC_FS_DEFAULT;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? -ENODEV : -errno;
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != GOSYNC_FS_MAGIC) {
		close(fd);
		return -ENODEV;
	}
	return fd;
}

static int gosync_fs_open(const struct gosync_name_req *req, size_t len)
{
	struct gosync_open op;
	int root = gosync_fs_root(), fd;

	if (root < 0)
		return root;
	memset(&op, 0, sizeof(op));
	op.name = (uintptr_t)(req->name + 1);
	op.name_len = len;
	op.oflag = req->oflag;
	op.mode = req->oflag & O_CREAT ? req->mode : 0;
	op.kind = req->kind;
	op.elem_size = req->elem_size;
	op.cap = req->cap;
	op.flags = req->flags & GOSYNC_AUTOCLOSE ? GOSYNC_OPEN_AUTOCLOSE : 0;
	fd = ioctl(root, GOSYNC_FS_IOC_OPEN, &op);
	fd = fd < 0 ? -errno : fd;
	close(root);
	return fd;
}

/* ----------------------------------------------------- standalone mode -- */

/*
 * The standalone directory: its fd.  With @make, a missing one is made
 * (01777, whatever the umask, like /dev/shm); a symlink or a
 * non-directory there is refused (-ENOTDIR), so is a directory that is
 * not on tmpfs (-EINVAL: its files could not be shared memory).
 */
static int gosync_shm_dir(bool make)
{
	const char *path = getenv("GOSYNC_SHM_DIR");
	const int oflag = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	bool made = false;
	struct statfs sfs;
	int fd;

	if (!path || !*path)
		path = GOSYNC_SHM_DEFAULT;
	fd = open(path, oflag);
	if (fd < 0 && errno == ENOENT && make) {
		made = !mkdir(path, 01777);
		if (!made && errno != EEXIST)
			return -errno;
		fd = open(path, oflag);
	}
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	/* mkdir(2) applied the umask: give the directory its mode. */
	if ((made && fchmod(fd, 01777) < 0) || fstatfs(fd, &sfs) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (sfs.f_type != GOSYNC_TMPFS_MAGIC) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/*
 * The kind of the standalone object in @fd, from its header: a
 * GOSYNC_SYNC_* kind, GOSYNC_KIND_CHAN, or 0 (not an object).
 */
static uint32_t gosync_shm_kind(int fd)
{
	struct gosync_sync_header hdr;
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    pread(fd, &hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		return 0;
	if (hdr.magic == GOSYNC_CHAN_MAGIC)
		return GOSYNC_KIND_CHAN;
	if (hdr.magic == GOSYNC_SYNC_MAGIC && hdr.kind &&
	    hdr.kind < GOSYNC_KIND_CHAN)
		return hdr.kind;
	return 0;
}

/* Open an existing name: its fd, checked to be an object of @kind. */
static int gosync_shm_open_existing(int dir, const char *base, uint32_t kind,
				    int cloexec)
{
	uint32_t has;
	int fd;

	/* O_NONBLOCK: a FIFO someone made there must not hang us. */
	fd = openat(dir, base, O_RDWR | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK |
		    cloexec);
	if (fd < 0)
		return -errno;
	has = gosync_shm_kind(fd);
	if (has != kind || fcntl(fd, F_SETFL, 0) < 0) {
		close(fd);
		return has ? -EMEDIUMTYPE : -EINVAL;
	}
	return fd;
}

/*
 * Make the object under a temporary name, then link it to @base: its fd,
 * or -EEXIST when @base exists by then, or another -errno.
 */
static int gosync_shm_make(int dir, const char *base,
			   const struct gosync_name_req *req, int cloexec)
{
	static unsigned long seq;
	char tmp[64];
	int fd, ret;

	do {
		snprintf(tmp, sizeof(tmp), ".gosync-tmp.%d.%lu", (int)getpid(),
			 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
		fd = openat(dir, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
			    cloexec, req->mode);
	} while (fd < 0 && errno == EEXIST);
	if (fd < 0)
		return -errno;
	ret = req->init(fd, req);
	if (!ret && linkat(dir, tmp, dir, base, 0) < 0)
		ret = -errno;
	unlinkat(dir, tmp, 0);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static int gosync_shm_open(const struct gosync_name_req *req)
{
	const char *base = req->name + 1;
	int cloexec = req->oflag & O_CLOEXEC;
	bool excl = (req->oflag & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
	int dir, fd = -ENOENT;

	dir = gosync_shm_dir(req->oflag & O_CREAT);
	if (dir < 0)
		return dir == -ENOENT && !(req->oflag & O_CREAT) ? -ENOENT : dir;
	for (int i = 0; i < GOSYNC_OPEN_TRIES; i++) {
		if (!excl) {
			fd = gosync_shm_open_existing(dir, base, req->kind,
						      cloexec);
			if (fd != -ENOENT || !(req->oflag & O_CREAT))
				break;
		}
		fd = gosync_shm_make(dir, base, req, cloexec);
		/* Made by another meanwhile: open theirs (unless O_EXCL). */
		if (fd != -EEXIST || excl)
			break;
	}
	close(dir);
	return fd;
}

int gosync_name_open(const struct gosync_name_req *req)
{
	size_t len;
	int ret = gosync_name_check(req->name, &len);

	if (!ret)
		ret = gosync_oflag_check(req->oflag, req->mode);
	if (ret)
		return ret;
	if (!(req->flags & GOSYNC_STANDALONE))
		return gosync_fs_open(req, len);
	/* What only the kernel can enforce. */
	if ((req->oflag & O_ACCMODE) != O_RDWR ||
	    req->flags & (GOSYNC_AUTOCLOSE | GOSYNC_NOMAP))
		return -EOPNOTSUPP;
	return gosync_shm_open(req);
}

/* ------------------------------------------------------------ unlink -- */

int gosync_unlink_flags(const char *name, unsigned int flags)
{
	GOSYNC_KEEP_ERRNO;
	size_t len;
	int dir, ret;

	if (flags & ~GOSYNC_STANDALONE)
		return -EINVAL;
	ret = gosync_name_check(name, &len);
	if (ret)
		return ret;
	dir = flags & GOSYNC_STANDALONE ? gosync_shm_dir(false) :
					  gosync_fs_root();
	if (dir < 0)
		return dir;
	ret = unlinkat(dir, name + 1, 0) < 0 ? -errno : 0;
	close(dir);
	return ret;
}

int gosync_unlink(const char *name)
{
	GOSYNC_KEEP_ERRNO;
	int root;

	/* The kernel's names where its filesystem is mounted, else ours. */
	root = gosync_fs_root();
	if (root >= 0)
		close(root);
	return gosync_unlink_flags(name, root >= 0 ? 0 : GOSYNC_STANDALONE);
}
