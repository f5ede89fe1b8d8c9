// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * trinity-fds: make a few gosync objects (channels of assorted shapes, one
 * sync object of each kind), map some of them, leave their fds open at
 * low numbers (no O_CLOEXEC), then exec the rest of the command line:
 * fuzz/trinity runs trinity under it, so every trinity child inherits
 * channel and sync fds that its random fd numbers can hit.
 *   trinity-fds COMMAND [ARG...]
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/gosync.h>

int main(int argc, char **argv)
{
	static const struct { unsigned int elem, cap; } chans[] = {
		{ 8, 0 }, { 8, 1 }, { 8, 64 }, { 1, 3 }, { 4096, 2 }, { 65535, 1 },
	};
	int dev = open("/dev/" GOSYNC_DEVICE_NAME, O_RDWR), n = 0;
	unsigned int i;

	if (dev < 0 || argc < 2) {
		fprintf(stderr, "usage: trinity-fds COMMAND [ARG...] (with gosync.ko loaded)\n");
		return 2;
	}
	for (i = 0; i < sizeof(chans) / sizeof(chans[0]); i++) {
		struct gosync_chan_create c = { .elem_size = chans[i].elem,
						.cap = chans[i].cap };
		struct gosync_chan_info info = { 0 };
		int fd = ioctl(dev, GOSYNC_IOC_CHAN_CREATE, &c);

		if (fd < 0)
			continue;
		n++;
		if (i % 2 == 0 && !ioctl(fd, GOSYNC_CHAN_IOC_INFO, &info))
			mmap(NULL, info.map_size, PROT_READ | PROT_WRITE,
			     MAP_SHARED, fd, 0);
	}
	for (i = GOSYNC_SYNC_WG; i <= GOSYNC_SYNC_COND; i++) {
		struct gosync_sync_create c = { .kind = i };
		int fd = ioctl(dev, GOSYNC_IOC_SYNC_CREATE, &c);

		if (fd < 0)
			continue;
		n++;
		if (i % 2)
			mmap(NULL, GOSYNC_SYNC_SIZE, PROT_READ | PROT_WRITE,
			     MAP_SHARED, fd, 0);
	}
	fprintf(stderr, "trinity-fds: %d gosync objects open at fds %d..%d\n", n,
		dev + 1, dev + n);
	execvp(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
