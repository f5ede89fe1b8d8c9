// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * What a process can do to its mapping of a channel, and what it must not
 * be able to do with it.  After every madvise(2) advice, mprotect(2),
 * mremap(2) and remap_file_pages(2) variant, whether the call succeeds or
 * not, the process and the kernel still work on the same pages (an
 * element the kernel path publishes shows in the mapping, one published
 * through the mapping reaches read(2)); a mapping never becomes
 * executable, inherited by fork() without MADV_DOFORK, or a way to keep
 * the ring's pages after the channel is gone (the charge stays while any
 * mapping does).  And munmap() costs what the mapping touched, not the
 * ring's size times the number of mappings.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "gosync_test.h"
#include "chan_test.h"
#include "ring.h"

#define ELEM	8

FIXTURE(mm) {
	int dev, ch;
	struct gosync_chan_info info;
	long page;
};

static int chan_create(int dev, __u32 elem, __u32 cap)
{
	struct gosync_chan_create req = { .elem_size = elem, .cap = cap };
	int fd = ioctl(dev, GOSYNC_IOC_CHAN_CREATE, &req);

	return fd < 0 ? -errno : fd;
}

FIXTURE_SETUP(mm)
{
	self->ch = -1;
	self->page = sysconf(_SC_PAGESIZE);
	GOSYNC_OPEN_DEV(self->dev, O_RDWR);
	/* Several pages: slots on pages other than the header's. */
	self->ch = chan_create(self->dev, ELEM, 1024);
	ASSERT_LE(0, self->ch);
	ASSERT_EQ(0, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_INFO,
				       &self->info));
	ASSERT_LT(2 * self->page, self->info.map_size);
}

FIXTURE_TEARDOWN(mm)
{
	if (self->ch >= 0)
		close(self->ch);
	close(self->dev);
}

static void *map(int fd, size_t size)
{
	void *a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return a == MAP_FAILED ? NULL : a;
}

/*
 * Do the kernel and the mapping @a see the same ring?  Publish through
 * the kernel (write(2)) until the ring's slots on every page have been
 * used, checking each element shows in the mapping; then publish through
 * the mapping (the library's ring on it) and check read(2) gets it.
 */
static bool coherent(int fd, const struct gosync_chan_info *info, void *a,
		     __u32 owner)
{
	struct gosync_ring r = {
		.tail = (__u64 *)((char *)a + info->off_tail),
		.head = (__u64 *)((char *)a + info->off_head),
		.slots = (unsigned char *)a + info->off_slots,
		.nslots = info->nslots, .slot_size = info->slot_size,
		.elem_size = info->elem_size, .owner = owner,
	};

	for (__u32 i = 0; i < info->nslots; i++) {
		uint64_t v = 0x5eed0000ULL + i, got = 0;
		int freed = 0;

		/* Kernel -> mapping. */
		if (write(fd, &v, ELEM) != ELEM)
			return false;
		if (gosync_ring_try_recv(&r, &got, &freed) != 1 || got != v)
			return false;
		/* Mapping -> kernel. */
		__u64 pos;

		if (gosync_ring_try_send(&r, &v, GOSYNC_SLOT_FULL, &pos))
			return false;
		got = 0;
		if (read(fd, &got, ELEM) != ELEM || got != v)
			return false;
	}
	return true;
}

static __u32 owner_of(int fd, void *a)
{
	struct gosync_chan_map m = { .addr = (uintptr_t)a };

	return gosync_test_ioctl(fd, GOSYNC_CHAN_IOC_MAP, &m) ? 0 : m.owner;
}

TEST_F(mm, every_madvise_keeps_the_ring_shared)
{
	static const struct { int advice; const char *name; } adv[] = {
		{ MADV_NORMAL, "NORMAL" }, { MADV_RANDOM, "RANDOM" },
		{ MADV_SEQUENTIAL, "SEQUENTIAL" }, { MADV_WILLNEED, "WILLNEED" },
		{ MADV_DONTNEED, "DONTNEED" }, { MADV_FREE, "FREE" },
		{ MADV_REMOVE, "REMOVE" }, { MADV_DONTFORK, "DONTFORK" },
		{ MADV_DOFORK, "DOFORK" }, { MADV_MERGEABLE, "MERGEABLE" },
		{ MADV_UNMERGEABLE, "UNMERGEABLE" }, { MADV_HUGEPAGE, "HUGEPAGE" },
		{ MADV_NOHUGEPAGE, "NOHUGEPAGE" }, { MADV_DONTDUMP, "DONTDUMP" },
		{ MADV_DODUMP, "DODUMP" }, { MADV_WIPEONFORK, "WIPEONFORK" },
		{ MADV_KEEPONFORK, "KEEPONFORK" }, { MADV_COLD, "COLD" },
		{ MADV_PAGEOUT, "PAGEOUT" },
		{ MADV_POPULATE_READ, "POPULATE_READ" },
		{ MADV_POPULATE_WRITE, "POPULATE_WRITE" },
	};
	size_t size = self->info.map_size;

	for (size_t i = 0; i < sizeof(adv) / sizeof(adv[0]); i++) {
		void *a = map(self->ch, size);
		int ret, err;

		ASSERT_NE(NULL, a);
		/* Fault everything in first, so there is something to drop. */
		ASSERT_TRUE(coherent(self->ch, &self->info, a, owner_of(self->ch, a)));
		ret = madvise(a, size, adv[i].advice);
		err = errno;
		/* One page in the middle, too: it must not split the mapping. */
		madvise((char *)a + self->page, self->page, adv[i].advice);
		EXPECT_TRUE(coherent(self->ch, &self->info, a,
				     owner_of(self->ch, a)))
			TH_LOG("MADV_%s (returned %d, %s): the mapping and the kernel no longer share the ring",
			       adv[i].name, ret, ret ? strerror(err) : "ok");
		EXPECT_EQ(0, munmap(a, size));
	}
}

TEST_F(mm, mprotect_never_exec_never_split)
{
	size_t size = self->info.map_size;
	void *a = map(self->ch, size);

	ASSERT_NE(NULL, a);
	EXPECT_EQ(-1, mprotect(a, size, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mprotect(a, size, PROT_READ | PROT_WRITE | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	/* Part of it: a split, refused. */
	EXPECT_EQ(-1, mprotect(a, self->page, PROT_READ));
	EXPECT_EQ(EINVAL, errno);
	/* All of it, and back: allowed, and nothing is lost. */
	EXPECT_EQ(0, mprotect(a, size, PROT_NONE));
	EXPECT_EQ(0, mprotect(a, size, PROT_READ | PROT_WRITE));
	EXPECT_TRUE(coherent(self->ch, &self->info, a, owner_of(self->ch, a)));
	EXPECT_EQ(0, munmap(a, size));
}

TEST_F(mm, mremap_moves_but_never_grows_or_shrinks)
{
	size_t size = self->info.map_size;
	void *a = map(self->ch, size), *b, *hole;
	__u32 owner;

	ASSERT_NE(NULL, a);
	owner = owner_of(self->ch, a);
	ASSERT_NE(0, owner);
	EXPECT_EQ(MAP_FAILED, mremap(a, size, size + self->page, 0));
	EXPECT_EQ(MAP_FAILED, mremap(a, size, size + self->page, MREMAP_MAYMOVE));
	EXPECT_EQ(MAP_FAILED, mremap(a, size, size - self->page, 0));
	EXPECT_TRUE(coherent(self->ch, &self->info, a, owner));
	/* Moved whole: the same mapping (owner id) at its new address. */
	hole = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	b = mremap(a, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, hole);
	if (b != MAP_FAILED) {
		EXPECT_EQ(hole, b);
		EXPECT_EQ(owner, owner_of(self->ch, b));
		EXPECT_TRUE(coherent(self->ch, &self->info, b, owner));
		a = b;
	} else {
		munmap(hole, size);
	}
	EXPECT_EQ(0, munmap(a, size));
}

/*
 * remap_file_pages(2) re-mmaps the vma's file: whatever it does, it must
 * go through the channel's rules (the result is one of our mappings, or
 * the call fails), never around them.
 */
TEST_F(mm, remap_file_pages_cannot_bypass_the_rules)
{
	size_t size = self->info.map_size;
	unsigned long objs, before, during, after;
	void *a = map(self->ch, size);
	int ret, st;
	pid_t pid;

	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, gosync_test_charged(&objs, &before));
	/* A page of it elsewhere: a partial, offset mapping: refused. */
	EXPECT_EQ(-1, remap_file_pages((char *)a, self->page, 0, 1, 0));
	EXPECT_TRUE(coherent(self->ch, &self->info, a, owner_of(self->ch, a)));
	/* All of it, in place. */
	ret = remap_file_pages(a, size, 0, 0, 0);
	TH_LOG("remap_file_pages of the whole mapping: %s",
	       ret ? strerror(errno) : "done");
	EXPECT_EQ(-1, mprotect(a, size, PROT_READ | PROT_EXEC));
	EXPECT_NE(0, owner_of(self->ch, a));
	EXPECT_TRUE(coherent(self->ch, &self->info, a, owner_of(self->ch, a)));
	/* Still not inherited by a child. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(msync(a, size, MS_ASYNC) == -1 && errno == ENOMEM ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("a forked child inherited the remapped mapping");
	/* The mapping keeps the channel, and its charge, alive. */
	close(self->ch);
	self->ch = -1;
	ASSERT_EQ(0, gosync_test_charged(&objs, &during));
	EXPECT_EQ(before, during)
		TH_LOG("the channel was uncharged while a mapping still holds its pages");
	EXPECT_EQ(0, munmap(a, size));
	for (int i = 0; i < 100; i++) {
		ASSERT_EQ(0, gosync_test_charged(&objs, &after));
		if (after < before)
			break;
		test_sleep_ms(20);
	}
	EXPECT_EQ(before - self->info.map_size, after);
}

/*
 * /proc/PID/map_files/START-END opens the file behind a mapping (for
 * CAP_SYS_ADMIN).  That must be the channel itself, never the memory
 * file under it: punching a hole in that file or truncating it would
 * leave the kernel on its pinned pages and every new mapping on fresh
 * zero pages (found by the fuzzer: a fresh mapping read magic 0).
 * Whatever the open and the calls return, the mappings and the kernel
 * still share the ring afterwards.
 */
TEST_F(mm, map_files_reach_no_file_under_the_ring)
{
	size_t size = self->info.map_size;
	void *a = map(self->ch, size), *b;
	char path[128];
	int fd, ret;

	if (geteuid())
		SKIP(return, "map_files needs CAP_SYS_ADMIN");
	ASSERT_NE(NULL, a);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)a, (unsigned long)a + size);
	for (int truncate_it = 0; truncate_it < 2; truncate_it++) {
		fd = open(path, O_RDWR);
		if (fd < 0) {
			/* The channel's own file: it cannot be opened again. */
			EXPECT_EQ(ENXIO, errno)
				TH_LOG("open %s: %s", path, strerror(errno));
			continue;
		}
		ret = truncate_it ? ftruncate(fd, 0) :
		      fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				0, self->page);
		TH_LOG("%s through map_files: %s",
		       truncate_it ? "ftruncate" : "punch a hole",
		       ret ? strerror(errno) : "done");
		EXPECT_EQ(-1, ret);
		close(fd);
	}
	EXPECT_TRUE(coherent(self->ch, &self->info, a, owner_of(self->ch, a)));
	b = map(self->ch, size);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(GOSYNC_CHAN_MAGIC, *(volatile __u32 *)b);
	EXPECT_TRUE(coherent(self->ch, &self->info, b, owner_of(self->ch, b)));
	munmap(b, size);
	munmap(a, size);
}

/*
 * Releasing what a dead mapping claimed must cost what that mapping could
 * have claimed, not the whole ring: a thousand mappings of a 16 MiB ring
 * that never touched it go away at the cost of a thousand munmaps.  (On
 * the unfixed module each munmap scanned all 2^20 slot words: tens of
 * seconds in the guest, holding the mmap lock, no scheduling point.)
 */
TEST_F_TIMEOUT(mm, munmap_costs_what_the_mapping_touched, 300)
{
	enum { N = 1000 };
	struct gosync_chan_info info = { 0 };
	void **maps = calloc(N, sizeof(*maps));
	int big = chan_create(self->dev, ELEM, GOSYNC_CHAN_MAX_CAP);
	int64_t start, took;

	ASSERT_NE(NULL, maps);
	ASSERT_LE(0, big);
	ASSERT_EQ(0, gosync_test_ioctl(big, GOSYNC_CHAN_IOC_INFO, &info));
	for (int i = 0; i < N; i++) {
		maps[i] = map(big, info.map_size);
		ASSERT_NE(NULL, maps[i]);
	}
	start = gosync_now();
	for (int i = 0; i < N; i++)
		ASSERT_EQ(0, munmap(maps[i], info.map_size));
	took = gosync_now() - start;
	TH_LOG("%d munmaps of an untouched %llu MiB ring: %lld ms", N,
	       (unsigned long long)(info.map_size >> 20),
	       (long long)(took / 1000000));
	EXPECT_GT(3000000000LL, took);
	/* One mapping that touched every page: one scan of the ring. */
	maps[0] = map(big, info.map_size);
	ASSERT_NE(NULL, maps[0]);
	for (size_t off = 0; off < info.map_size; off += self->page)
		((volatile char *)maps[0])[off] = ((volatile char *)maps[0])[off];
	start = gosync_now();
	ASSERT_EQ(0, munmap(maps[0], info.map_size));
	TH_LOG("munmap after touching every page: %lld ms",
	       (long long)((gosync_now() - start) / 1000000));
	close(big);
	free(maps);
}

TEST_HARNESS_MAIN
