// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * repro-madv-remove: the shmem file under a gosync mapping can be punched
 * or truncated while the module keeps its own (pinned, vmapped) pages:
 * from then on every new mapping of the object, in every process, gets a
 * fresh zero page that the kernel never looks at.  The header's magic
 * reads 0, and the kernel and the mappings no longer share the ring (or a
 * sync object's words).  Two routes:
 *   1. madvise(MADV_REMOVE) on the mapping (any user who can map it);
 *   2. open("/proc/self/map_files/START-END") (CAP_SYS_ADMIN) gives the
 *      shmem file itself (vma->vm_file): fallocate(PUNCH_HOLE) or
 *      ftruncate() it.  Truncation also makes every process's fast path
 *      take SIGBUS on the pages beyond the new size.
 *
 * Related to the known bug "remap_file_pages/MADV_REMOVE bypassing the
 * module's mmap rules"; route 1 is fixed in the current module, route 2
 * is not.  Found by gosync-fuzz (a worker's fresh mapping of a pool
 * object read magic 0 after another worker punched the file; the library
 * peer died of SIGBUS after a truncation).
 *
 * Exit status: 0 the kernel refused or the page stayed shared, 1 the bug.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/gosync.h>

/* Punch the first page of the file under @a through map_files; 0 done. */
static int punch(void *a, size_t size, int truncate_it)
{
	char path[128];
	int fd, ret;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)a, (unsigned long)a + size);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		printf("  open %s: %s\n", path, strerror(errno));
		return -1;
	}
	ret = truncate_it ? ftruncate(fd, 0) :
	      fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096);
	if (ret)
		printf("  %s: %s\n", truncate_it ? "ftruncate" : "fallocate",
		       strerror(errno));
	close(fd);
	return ret;
}

static int check(const char *what, int dev, int chan, int route)
{
	int fd, bad = 0;
	size_t size;
	uint32_t magic = chan ? GOSYNC_CHAN_MAGIC : GOSYNC_SYNC_MAGIC;
	void *a, *b;

	if (chan) {
		struct gosync_chan_create c = { .elem_size = 8, .cap = 4 };
		struct gosync_chan_info info = { 0 };

		fd = ioctl(dev, GOSYNC_IOC_CHAN_CREATE, &c);
		if (fd < 0 || ioctl(fd, GOSYNC_CHAN_IOC_INFO, &info))
			return perror("create"), 2;
		size = info.map_size;
	} else {
		struct gosync_sync_create c = { .kind = GOSYNC_SYNC_WG };

		fd = ioctl(dev, GOSYNC_IOC_SYNC_CREATE, &c);
		if (fd < 0)
			return perror("create"), 2;
		size = GOSYNC_SYNC_SIZE;
	}
	a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED)
		return perror("mmap"), 2;
	printf("%s, %s: magic before: %#x\n", what, route == 0 ? "MADV_REMOVE" :
	       route == 1 ? "map_files + fallocate(PUNCH_HOLE)" :
	       "map_files + ftruncate", *(volatile uint32_t *)a);
	if (route == 0 ? madvise(a, size, MADV_REMOVE) : punch(a, size, route == 2)) {
		printf("  refused: %s (fine)\n", strerror(errno));
		munmap(a, size);
		close(fd);
		return 0;
	}
	printf("  it succeeded\n");
	if (route == 2) {
		/* the file is empty now: the old mapping would SIGBUS */
		printf("  (the old mapping now faults with SIGBUS: not touched)\n");
	} else {
		printf("  magic through the old mapping: %#x\n",
		       *(volatile uint32_t *)a);
	}
	if (route == 2) {
		/* a new mapping of the empty file: its first touch is SIGBUS */
		struct gosync_chan_info info = { 0 };

		printf("  the object still answers: %s\n",
		       !chan || !ioctl(fd, GOSYNC_CHAN_IOC_INFO, &info) ? "yes" : "no");
		printf("  BUG: the object's file was truncated under the module\n");
		munmap(a, size);
		close(fd);
		return 1;
	}
	b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b == MAP_FAILED)
		return perror("mmap 2"), 2;
	printf("  magic through a new mapping: %#x (the kernel wrote %#x)\n",
	       *(volatile uint32_t *)b, magic);
	if (*(volatile uint32_t *)b != magic) {
		printf("  BUG: new mappings no longer share the kernel's page\n");
		bad = 1;
	}
	munmap(a, size);
	munmap(b, size);
	close(fd);
	return bad;
}

int main(void)
{
	int dev = open("/dev/gosync", O_RDWR), route, bad = 0, r;

	if (dev < 0)
		return perror("/dev/gosync"), 2;
	for (route = 0; route < 3; route++) {
		r = check("channel", dev, 1, route);
		if (r == 2)
			return 2;
		bad |= r;
		r = check("waitgroup", dev, 0, route);
		if (r == 2)
			return 2;
		bad |= r;
	}
	return bad;
}
