// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The sync-object ABI without the library: GOSYNC_IOC_SYNC_CREATE and the
 * object's ioctls with each kind of bad input, the page's header as the
 * kernel writes it, mmap's rules, and poll on kinds that have no readiness.
 */
#include <poll.h>
#include <stdint.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "gosync_test.h"

static int sync_create(int dev, __u32 kind, __u32 flags)
{
	struct gosync_sync_create req = { .flags = flags, .kind = kind };
	int fd = ioctl(dev, GOSYNC_IOC_SYNC_CREATE, &req);

	return fd < 0 ? -errno : fd;
}

FIXTURE(so) {
	int dev;
};

FIXTURE_SETUP(so)
{
	GOSYNC_OPEN_DEV(self->dev, O_RDWR);
}

FIXTURE_TEARDOWN(so)
{
	close(self->dev);
}

TEST_F(so, create_bad_input)
{
	struct gosync_sync_create req;

	EXPECT_EQ(-EINVAL, sync_create(self->dev, 0, 0));
	EXPECT_EQ(-EINVAL, sync_create(self->dev, GOSYNC_SYNC_COND + 1, 0));
	for (int bit = 1; bit < 32; bit++) {
		EXPECT_EQ(-EINVAL, sync_create(self->dev, GOSYNC_SYNC_WG, 1U << bit))
			TH_LOG("flag bit %d", bit);
	}
	memset(&req, 0, sizeof(req));
	req.kind = GOSYNC_SYNC_WG;
	req.resv0 = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->dev, GOSYNC_IOC_SYNC_CREATE, &req));
	req.resv0 = 0;
	req.resv[1] = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->dev, GOSYNC_IOC_SYNC_CREATE, &req));
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->dev, GOSYNC_IOC_SYNC_CREATE, NULL));
}

TEST_F(so, every_kind_its_page)
{
	for (__u32 kind = GOSYNC_SYNC_WG; kind <= GOSYNC_SYNC_COND; kind++) {
		struct gosync_sync_info info = { 0 };
		struct gosync_sync_header *hdr;
		int fd = sync_create(self->dev, kind, GOSYNC_SYNC_CLOEXEC);

		ASSERT_LE(0, fd);
		EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
		ASSERT_EQ(0, gosync_test_ioctl(fd, GOSYNC_SYNC_IOC_INFO, &info));
		EXPECT_EQ(kind, info.kind);
		EXPECT_EQ(GOSYNC_SYNC_SIZE, info.map_size);
		EXPECT_EQ(GOSYNC_SYNC_OFF_WORDS, info.off_words);
		hdr = mmap(NULL, GOSYNC_SYNC_SIZE, PROT_READ, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, hdr);
		EXPECT_EQ(GOSYNC_SYNC_MAGIC, hdr->magic);
		EXPECT_EQ(kind, hdr->kind);
		EXPECT_EQ(GOSYNC_ABI_VERSION, hdr->abi_version);
		EXPECT_EQ(0, hdr->flags);
		munmap(hdr, GOSYNC_SYNC_SIZE);
		close(fd);
	}
}

TEST_F(so, object_ioctls_bad_input)
{
	int fd = sync_create(self->dev, GOSYNC_SYNC_MUTEX, 0);
	struct gosync_sync_info info = { 0 };
	struct gosync_chan_map m = { 0 };
	struct pollfd p = { .events = POLLIN };

	ASSERT_LE(0, fd);
	info.flags = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(fd, GOSYNC_SYNC_IOC_INFO, &info));
	info.flags = 0;
	info.resv[2] = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(fd, GOSYNC_SYNC_IOC_INFO, &info));
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(fd, GOSYNC_SYNC_IOC_INFO, NULL));
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(fd, GOSYNC_SYNC_IOC_WAKE, (void *)1));
	EXPECT_EQ(0, gosync_test_ioctl(fd, GOSYNC_SYNC_IOC_WAKE, NULL));
	m.addr = (uintptr_t)&m;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(fd, GOSYNC_SYNC_IOC_MAP, &m));
	m.flags = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(fd, GOSYNC_SYNC_IOC_MAP, &m));
	EXPECT_EQ(-ENOTTY, gosync_test_ioctl(fd, GOSYNC_CHAN_IOC_CLOSE, NULL));
	EXPECT_EQ(-ENOTTY, gosync_test_ioctl(fd, GOSYNC_IOC_INFO, &info));
	/* mmap: whole page, shared, not executable. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * GOSYNC_SYNC_SIZE, PROT_READ,
				   MAP_SHARED, fd, 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, GOSYNC_SYNC_SIZE, PROT_READ,
				   MAP_PRIVATE, fd, 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, GOSYNC_SYNC_SIZE, PROT_READ | PROT_EXEC,
				   MAP_SHARED, fd, 0));
	EXPECT_EQ(EPERM, errno);
	/* Only a waitgroup has readiness. */
	p.fd = fd;
	EXPECT_EQ(0, poll(&p, 1, 0));
	/* read/write are not defined on sync objects. */
	char b[8];

	EXPECT_EQ(-1, read(fd, b, sizeof(b)));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

static long wg_owned(int fd, unsigned long cmd, struct gosync_wg_owned *req)
{
	return gosync_test_ioctl(fd, cmd, req);
}

/*
 * The owned-count ioctls: every bad input is EINVAL and changes nothing;
 * an ADD is paid by a DONE once, or by the kernel when the mapping it
 * was made through goes away; a DONE with nothing owned is paid = 0.
 */
TEST_F(so, wg_owned_ioctls)
{
	int fd = sync_create(self->dev, GOSYNC_SYNC_WG, 0);
	int mfd = sync_create(self->dev, GOSYNC_SYNC_MUTEX, 0);
	struct gosync_wg_owned req;
	struct gosync_wg_words *w, *w2;
	void *base, *base2, *mbase;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, mfd);
	base = mmap(NULL, GOSYNC_SYNC_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	base2 = mmap(NULL, GOSYNC_SYNC_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	mbase = mmap(NULL, GOSYNC_SYNC_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, base);
	ASSERT_NE(MAP_FAILED, base2);
	ASSERT_NE(MAP_FAILED, mbase);
	w = (void *)((char *)base + GOSYNC_SYNC_OFF_WORDS);
	w2 = (void *)((char *)base2 + GOSYNC_SYNC_OFF_WORDS);

#define GOOD_ADD() (memset(&req, 0, sizeof(req)), req.addr = (uintptr_t)base, req.delta = 1)
	GOOD_ADD();
	req.flags = 1;
	EXPECT_EQ(-EINVAL, wg_owned(fd, GOSYNC_SYNC_IOC_WG_ADD_OWNED, &req));
	GOOD_ADD();
	req.resv0 = 1;
	EXPECT_EQ(-EINVAL, wg_owned(fd, GOSYNC_SYNC_IOC_WG_ADD_OWNED, &req));
	GOOD_ADD();
	req.resv[1] = 1;
	EXPECT_EQ(-EINVAL, wg_owned(fd, GOSYNC_SYNC_IOC_WG_ADD_OWNED, &req));
	GOOD_ADD();
	req.paid = 1;
	EXPECT_EQ(-EINVAL, wg_owned(fd, GOSYNC_SYNC_IOC_WG_ADD_OWNED, &req));
	GOOD_ADD();
	req.state = 1;
	EXPECT_EQ(-EINVAL, wg_owned(fd, GOSYNC_SYNC_IOC_WG_ADD_OWNED, &req));
	GOOD_ADD();
	req.delta = 0;
	EXPECT_EQ(-EINVAL, wg_owned(fd, GOSYNC_SYNC_IOC_WG_ADD_OWNED, &req));
	req.delta = -1;
	EXPECT_EQ(-EINVAL, wg_owned(fd, GOSYNC_SYNC_IOC_WG_ADD_OWNED, &req));
	GOOD_ADD();
	req.addr = (uintptr_t)base + 4096;	/* not a mapping's start */
	EXPECT_EQ(-EINVAL, wg_owned(fd, GOSYNC_SYNC_IOC_WG_ADD_OWNED, &req));
	req.addr = (uintptr_t)mbase;		/* another object's mapping */
	EXPECT_EQ(-EINVAL, wg_owned(fd, GOSYNC_SYNC_IOC_WG_ADD_OWNED, &req));
	req.addr = (uintptr_t)mbase;		/* not a waitgroup */
	EXPECT_EQ(-EINVAL, wg_owned(mfd, GOSYNC_SYNC_IOC_WG_ADD_OWNED, &req));
	EXPECT_EQ(-EFAULT, wg_owned(fd, GOSYNC_SYNC_IOC_WG_ADD_OWNED, NULL));
	EXPECT_EQ(0ULL, __atomic_load_n(&w->state, __ATOMIC_SEQ_CST));

	/* DONE: delta 1, addr 0; nothing owned: paid 0, nothing changed. */
	memset(&req, 0, sizeof(req));
	req.delta = 2;
	EXPECT_EQ(-EINVAL, wg_owned(fd, GOSYNC_SYNC_IOC_WG_DONE_OWNED, &req));
	req.delta = 1;
	req.addr = (uintptr_t)base;
	EXPECT_EQ(-EINVAL, wg_owned(fd, GOSYNC_SYNC_IOC_WG_DONE_OWNED, &req));
	req.addr = 0;
	EXPECT_EQ(0, wg_owned(fd, GOSYNC_SYNC_IOC_WG_DONE_OWNED, &req));
	EXPECT_EQ(0U, req.paid);

	/* ADD 3 through base; a DONE pays one; munmap pays the rest. */
	GOOD_ADD();
	req.delta = 3;
	ASSERT_EQ(0, wg_owned(fd, GOSYNC_SYNC_IOC_WG_ADD_OWNED, &req));
	EXPECT_EQ(3ULL << 32, __atomic_load_n(&w2->state, __ATOMIC_SEQ_CST));
	memset(&req, 0, sizeof(req));
	req.delta = 1;
	ASSERT_EQ(0, wg_owned(fd, GOSYNC_SYNC_IOC_WG_DONE_OWNED, &req));
	EXPECT_EQ(1U, req.paid);
	EXPECT_EQ(3ULL << 32, req.state);
	EXPECT_EQ(2ULL << 32, __atomic_load_n(&w2->state, __ATOMIC_SEQ_CST));
	/* Too many: the counter or the owned counts would pass 2^31 - 1. */
	GOOD_ADD();
	req.delta = INT32_MAX;
	EXPECT_EQ(-EOVERFLOW, wg_owned(fd, GOSYNC_SYNC_IOC_WG_ADD_OWNED, &req));
	EXPECT_EQ(2ULL << 32, __atomic_load_n(&w2->state, __ATOMIC_SEQ_CST));
	/* A scribbled (negative) counter: EIO, nothing changed. */
	__atomic_store_n(&w2->state, 0x80000000ULL << 32, __ATOMIC_SEQ_CST);
	GOOD_ADD();
	EXPECT_EQ(-EIO, wg_owned(fd, GOSYNC_SYNC_IOC_WG_ADD_OWNED, &req));
	__atomic_store_n(&w2->state, 2ULL << 32, __ATOMIC_SEQ_CST);
	munmap(base, GOSYNC_SYNC_SIZE);
	EXPECT_EQ(0ULL, __atomic_load_n(&w2->state, __ATOMIC_SEQ_CST));
	/* Nothing owned any more. */
	memset(&req, 0, sizeof(req));
	req.delta = 1;
	EXPECT_EQ(0, wg_owned(fd, GOSYNC_SYNC_IOC_WG_DONE_OWNED, &req));
	EXPECT_EQ(0U, req.paid);
#undef GOOD_ADD
	munmap(base2, GOSYNC_SYNC_SIZE);
	munmap(mbase, GOSYNC_SYNC_SIZE);
	close(mfd);
	close(fd);
}

TEST_HARNESS_MAIN
