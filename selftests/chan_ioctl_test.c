// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The channel ABI without the library: GOSYNC_IOC_CHAN_CREATE and every
 * channel ioctl with each kind of bad input and its exact errno, the rules
 * of mmap on a channel, and read(2)/write(2) of whole elements.
 */
#include <poll.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "gosync_test.h"

#define ELEM	8

FIXTURE(ioc) {
	int dev;
	int ch;
	struct gosync_chan_info info;
};

FIXTURE_SETUP(ioc)
{
	self->ch = -1;
	GOSYNC_OPEN_DEV(self->dev, O_RDWR);
	self->ch = gosync_test_chan_create(self->dev, ELEM, 4, GOSYNC_CHAN_CLOEXEC);
	ASSERT_LE(0, self->ch);
	memset(&self->info, 0, sizeof(self->info));
	ASSERT_EQ(0, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_INFO,
				       &self->info));
}

FIXTURE_TEARDOWN(ioc)
{
	if (self->ch >= 0)
		close(self->ch);
	if (self->dev >= 0)
		close(self->dev);
}

TEST_F(ioc, create_returns_fd_and_fills_it)
{
	struct gosync_chan_create req = { .elem_size = 1, .cap = 1 };
	int fd = gosync_test_ioctl(self->dev, GOSYNC_IOC_CHAN_CREATE, &req);

	ASSERT_LE(0, fd);
	EXPECT_EQ(fd, req.fd);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	fd = gosync_test_chan_create(self->dev, 1, 1, GOSYNC_CHAN_CLOEXEC | GOSYNC_CHAN_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
}

TEST_F(ioc, create_bad_input)
{
	struct gosync_chan_create req;

	for (int bit = 0; bit < 32; bit++) {
		if (GOSYNC_CHAN_CREATE_FLAGS & (1U << bit))
			continue;
		EXPECT_EQ(-EINVAL, gosync_test_chan_create(self->dev, 8, 1, 1U << bit))
			TH_LOG("flag bit %d", bit);
	}
	/* elem_size 0 is valid (chan_zero_ioctl_test.c); huge ones are not. */
	EXPECT_EQ(-EINVAL, gosync_test_chan_create(self->dev, UINT32_MAX, 1, 0));
	EXPECT_EQ(-EINVAL, gosync_test_chan_create(self->dev, GOSYNC_CHAN_MAX_ELEM + 1, 1, 0));
	EXPECT_EQ(-EINVAL, gosync_test_chan_create(self->dev, 8, GOSYNC_CHAN_MAX_CAP + 1, 0));
	EXPECT_EQ(-EINVAL, gosync_test_chan_create(self->dev, 8, UINT32_MAX, 0));
	/* Within range but over the 64 MiB per-object default. */
	EXPECT_EQ(-ENOMEM, gosync_test_chan_create(self->dev, GOSYNC_CHAN_MAX_ELEM,
						   GOSYNC_CHAN_MAX_CAP, 0));
	for (int i = 0; i < 2; i++) {
		memset(&req, 0, sizeof(req));
		req.elem_size = 8;
		req.resv[i] = 1;
		EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->dev,
					GOSYNC_IOC_CHAN_CREATE, &req));
	}
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->dev, GOSYNC_IOC_CHAN_CREATE,
					     NULL));
	/* Readable but not writable: the fd cannot be reported, no fd leaks. */
	void *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int before = dup(0);

	ASSERT_NE(MAP_FAILED, ro);
	memset(ro, 0, 4096);
	((struct gosync_chan_create *)ro)->elem_size = 8;
	ASSERT_EQ(0, mprotect(ro, 4096, PROT_READ));
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->dev, GOSYNC_IOC_CHAN_CREATE, ro));
	EXPECT_EQ(before + 1, dup(0));
	close(before);
	close(before + 1);
	munmap(ro, 4096);
}

TEST_F(ioc, info_layout)
{
	struct gosync_chan_info *i = &self->info;
	long page = sysconf(_SC_PAGESIZE);

	EXPECT_EQ(ELEM, i->elem_size);
	EXPECT_EQ(4, i->cap);
	EXPECT_EQ(4, i->nslots);
	EXPECT_LE(8 + ELEM, i->slot_size);
	EXPECT_EQ(0, i->map_size % page);
	EXPECT_LE(i->off_slots + (__u64)i->nslots * i->slot_size, i->map_size);
	EXPECT_GT(i->off_slots, i->off_tail);
	EXPECT_NE(i->off_tail, i->off_head);
	EXPECT_NE(i->off_recv_wait, i->off_send_wait);
	EXPECT_EQ(0, i->state);
	EXPECT_EQ(0, i->len);
}

TEST_F(ioc, info_bad_input)
{
	struct gosync_chan_info info;

	memset(&info, 0, sizeof(info));
	info.flags = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_INFO, &info));
	for (int r = 0; r < 3; r++) {
		memset(&info, 0, sizeof(info));
		info.resv[r] = 1;
		EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->ch,
					GOSYNC_CHAN_IOC_INFO, &info));
	}
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_INFO, NULL));
}

TEST_F(ioc, xfer_bad_input)
{
	struct gosync_chan_xfer x;
	uint64_t v = 1;

	EXPECT_EQ(-EINVAL, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, &v, 1, -1, 2));
	EXPECT_EQ(-EINVAL, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, &v, 1, -1,
					    GOSYNC_SEND_SYNC));
	EXPECT_EQ(-EINVAL, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, &v, 0, -1, 0));
	EXPECT_EQ(-EINVAL, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, &v, 0, -1, 0));
	EXPECT_EQ(-EINVAL, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, &v, 0x40000000,
					    -1, 0));
	EXPECT_EQ(-EINVAL, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, &v, 1, -2, 0));
	EXPECT_EQ(-EINVAL, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, &v, 1, INT64_MIN, 0));
	for (int r = 0; r < 2; r++) {
		memset(&x, 0, sizeof(x));
		x.elem = (uintptr_t)&v;
		x.count = 1;
		x.deadline_ns = GOSYNC_DEADLINE_NONBLOCK;
		x.resv[r] = 1;
		EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->ch,
					GOSYNC_CHAN_IOC_SEND, &x));
	}
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_SEND, NULL));
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_RECV, NULL));

	/* A bad element pointer sends nothing and takes nothing. */
	EXPECT_EQ(-EFAULT, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, NULL, 1, -1, 0));
	EXPECT_EQ(-EAGAIN, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, &v, 1, -1, 0));
	v = 11;
	EXPECT_EQ(1, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, &v, 1, -1, 0));
	EXPECT_EQ(-EFAULT, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, NULL, 1, -1, 0));
	EXPECT_EQ(-EFAULT, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV,
					    (void *)0xffffffff81000000UL, 1, -1, 0));
	v = 0;
	EXPECT_EQ(1, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, &v, 1, -1, 0));
	EXPECT_EQ(11, v);
}

TEST_F(ioc, xfer_counts)
{
	uint64_t in[6] = { 1, 2, 3, 4, 5, 6 }, out[6] = { 0 };

	/* Room for 4: a non-waiting batch sends 4. */
	EXPECT_EQ(4, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, in, 6, -1, 0));
	EXPECT_EQ(-EAGAIN, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, in, 1, -1, 0));
	EXPECT_EQ(-ETIMEDOUT, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, in, 1, 0, 0));
	EXPECT_EQ(3, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, out, 3, -1, 0));
	EXPECT_EQ(1, out[0]);
	EXPECT_EQ(3, out[2]);
	EXPECT_EQ(1, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, out, 6, -1, 0));
	EXPECT_EQ(4, out[0]);
	EXPECT_EQ(-EAGAIN, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, out, 6, -1, 0));
	EXPECT_EQ(-ETIMEDOUT, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, out, 6, 0, 0));
}

TEST_F(ioc, close_wake_map_bad_input)
{
	struct gosync_chan_wake w = { 0 };
	struct gosync_chan_map m = { 0 };

	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_CLOSE,
					     (void *)1));
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_WAKE, &w));
	w.flags = 4;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_WAKE, &w));
	w.flags = GOSYNC_WAKE_RECV;
	w.resv = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_WAKE, &w));
	w.resv = 0;
	EXPECT_EQ(0, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_WAKE, &w));
	w.flags = GOSYNC_WAKE_FLAGS;
	EXPECT_EQ(0, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_WAKE, &w));
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_WAKE, NULL));

	/* Nothing is mapped at the address. */
	m.addr = (uintptr_t)&m;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_MAP, &m));
	m.addr = 0;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_MAP, &m));
	m.flags = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_MAP, &m));
	m.flags = 0;
	m.resv = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_MAP, &m));
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_MAP, NULL));

	EXPECT_EQ(0, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_CLOSE, NULL));
	EXPECT_EQ(-EPIPE, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_CLOSE, NULL));
}

/* Every ioctl belongs to one kind of fd. */
TEST_F(ioc, ioctls_of_the_wrong_fd_enotty)
{
	struct gosync_info info = { 0 };
	struct gosync_chan_info ci = { 0 };
	struct gosync_chan_create cc = { .elem_size = 8 };

	EXPECT_EQ(-ENOTTY, gosync_test_ioctl(self->ch, GOSYNC_IOC_INFO, &info));
	EXPECT_EQ(-ENOTTY, gosync_test_ioctl(self->ch, GOSYNC_IOC_CHAN_CREATE, &cc));
	EXPECT_EQ(-ENOTTY, gosync_test_ioctl(self->dev, GOSYNC_CHAN_IOC_INFO, &ci));
	EXPECT_EQ(-ENOTTY, gosync_test_ioctl(self->dev, GOSYNC_CHAN_IOC_CLOSE, NULL));
	EXPECT_EQ(-ENOTTY, gosync_test_ioctl(self->ch, _IO(GOSYNC_IOC_MAGIC, 0x3f), NULL));
	EXPECT_EQ(-ENOTTY, gosync_test_ioctl(self->ch,
			_IOR(GOSYNC_IOC_MAGIC, 0x20, struct gosync_chan_info), &ci));
}

TEST_F(ioc, mmap_rules)
{
	long page = sysconf(_SC_PAGESIZE);
	struct gosync_chan_map m1 = { 0 }, m2 = { 0 };
	struct gosync_chan_info info = { 0 };
	size_t size;
	void *a, *b;

	/* A channel of several pages, so that a split is possible. */
	close(self->ch);
	self->ch = gosync_test_chan_create(self->dev, ELEM, 1024, 0);
	ASSERT_LE(0, self->ch);
	ASSERT_EQ(0, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_INFO, &info));
	size = info.map_size;
	ASSERT_LT(page, size);

	EXPECT_EQ(MAP_FAILED, mmap(NULL, size, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE, self->ch, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, size + page, PROT_READ | PROT_WRITE,
				   MAP_SHARED, self->ch, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page, PROT_READ, MAP_SHARED,
				   self->ch, page));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, size, PROT_READ | PROT_EXEC,
				   MAP_SHARED, self->ch, 0));
	EXPECT_EQ(EPERM, errno);

	a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, self->ch, 0);
	ASSERT_NE(MAP_FAILED, a);
	b = mmap(NULL, size, PROT_READ, MAP_SHARED, self->ch, 0);
	ASSERT_NE(MAP_FAILED, b);
	/* Each mapping has its own owner id. */
	m1.addr = (uintptr_t)a;
	m2.addr = (uintptr_t)b;
	ASSERT_EQ(0, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_MAP, &m1));
	ASSERT_EQ(0, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_MAP, &m2));
	EXPECT_LE(1, m1.owner);
	EXPECT_LE(1, m2.owner);
	EXPECT_NE(m1.owner, m2.owner);
	/* Inside a mapping is not its start. */
	m1.addr += page;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_MAP, &m1));
	/* Both see the same header, written by the kernel. */
	EXPECT_EQ(GOSYNC_CHAN_MAGIC, ((struct gosync_chan_header *)b)->magic);
	EXPECT_EQ(0, memcmp(a, b, sizeof(struct gosync_chan_header)));

	/* Not executable, ever; not splittable; not growable. */
	EXPECT_EQ(-1, mprotect(a, size, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, munmap((char *)a + page, page));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mremap(a, size, size + page, 0));

	/* A forked child does not inherit the mapping. */
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(msync(a, size, MS_ASYNC) == -1 && errno == ENOMEM ? 0 : 1);
	int st;

	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	EXPECT_EQ(0, munmap(a, size));
	EXPECT_EQ(0, munmap(b, size));
	/* The ids are free again; a new mapping still works. */
	a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, self->ch, 0);
	ASSERT_NE(MAP_FAILED, a);
	EXPECT_EQ(0, munmap(a, size));
}

/* The mapping outlives the fd, and keeps the channel alive. */
TEST_F(ioc, mapping_outlives_fd)
{
	size_t size = self->info.map_size;
	uint64_t v = 5;
	void *a;
	int fd2;

	a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, self->ch, 0);
	ASSERT_NE(MAP_FAILED, a);
	fd2 = dup(self->ch);
	ASSERT_EQ(1, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, &v, 1, -1, 0));
	close(self->ch);
	self->ch = -1;
	/* The header is still readable through the mapping. */
	EXPECT_EQ(GOSYNC_CHAN_MAGIC, ((struct gosync_chan_header *)a)->magic);
	v = 0;
	EXPECT_EQ(1, gosync_test_xfer(fd2, GOSYNC_CHAN_IOC_RECV, &v, 1, -1, 0));
	EXPECT_EQ(5, v);
	close(fd2);
	EXPECT_EQ(GOSYNC_CHAN_MAGIC, ((struct gosync_chan_header *)a)->magic);
	EXPECT_EQ(0, munmap(a, size));
}

TEST_F(ioc, read_write_whole_elements)
{
	uint64_t in[3] = { 7, 8, 9 }, out[4] = { 0 };
	char small[ELEM + 3];

	EXPECT_EQ(-1, write(self->ch, small, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(self->ch, small, ELEM - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(self->ch, small, ELEM + 3));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, read(self->ch, small, ELEM + 3));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, read(self->ch, small, 0));
	EXPECT_EQ(EINVAL, errno);

	EXPECT_EQ(sizeof(in), write(self->ch, in, sizeof(in)));
	/* A read takes what is there, up to its size, without waiting more. */
	EXPECT_EQ(sizeof(in), read(self->ch, out, sizeof(out)));
	EXPECT_EQ(0, memcmp(in, out, sizeof(in)));
	EXPECT_EQ(-1, pread(self->ch, out, ELEM, 0));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, lseek(self->ch, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);

	/* O_NONBLOCK: EAGAIN instead of waiting; partial writes when full. */
	ASSERT_EQ(0, fcntl(self->ch, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-1, read(self->ch, out, ELEM));
	EXPECT_EQ(EAGAIN, errno);
	uint64_t six[6] = { 1, 2, 3, 4, 5, 6 };

	EXPECT_EQ(4 * ELEM, write(self->ch, six, sizeof(six)));
	EXPECT_EQ(-1, write(self->ch, six, ELEM));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, fcntl(self->ch, F_SETFL, 0));

	/* Close: drain, then EOF; writes fail with EPIPE. */
	EXPECT_EQ(0, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_CLOSE, NULL));
	EXPECT_EQ(-1, write(self->ch, six, ELEM));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(4 * ELEM, read(self->ch, out, sizeof(out)));
	EXPECT_EQ(4, out[3]);
	EXPECT_EQ(0, read(self->ch, out, ELEM));
}

/*
 * read(2) and write(2) while another process flips O_NONBLOCK on the same
 * open file: each call is either blocking or not, and here never has to
 * wait, so each moves its element.  (The module reads f_flags once, marked:
 * the KCSAN kernel reported the plain read racing fcntl's store.)
 */
TEST_F(ioc, read_write_racing_fcntl_setfl)
{
	uint64_t v = 0, got;
	pid_t kid = fork();
	int st;

	ASSERT_LE(0, kid);
	if (kid == 0) {
		for (int i = 0; i < 20000; i++) {
			fcntl(self->ch, F_SETFL, O_NONBLOCK);
			fcntl(self->ch, F_SETFL, 0);
		}
		_exit(0);
	}
	for (int i = 0; i < 20000; i++) {
		v = i;
		ASSERT_EQ(ELEM, write(self->ch, &v, ELEM));
		ASSERT_EQ(ELEM, read(self->ch, &got, ELEM));
		ASSERT_EQ(v, got);
	}
	ASSERT_EQ(kid, waitpid(kid, &st, 0));
	EXPECT_EQ(0, st);
}

/* read(2) is restarted under SA_RESTART, and ends with EINTR without it. */
static void on_usr1(int sig)
{
	(void)sig;
}

TEST_F(ioc, read_and_signals)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	uint64_t v;
	pid_t pid;

	sigaction(SIGUSR1, &sa, NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		usleep(100000);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	EXPECT_EQ(-1, read(self->ch, &v, sizeof(v)));
	EXPECT_EQ(EINTR, errno);
	waitpid(pid, NULL, 0);

	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t x = 31;

		usleep(100000);
		kill(getppid(), SIGUSR1);
		usleep(100000);
		_exit(write(self->ch, &x, sizeof(x)) == sizeof(x) ? 0 : 1);
	}
	EXPECT_EQ(sizeof(v), read(self->ch, &v, sizeof(v)));
	EXPECT_EQ(31, v);
	waitpid(pid, NULL, 0);
}

/* After MADV_DOFORK a forked child's copy of a mapping has its own id. */
TEST_F(ioc, madv_dofork_gives_the_child_its_own_owner)
{
	size_t size = self->info.map_size;
	struct gosync_chan_map m = { 0 };
	__u32 mine;
	void *a;
	pid_t pid;
	int st;

	a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, self->ch, 0);
	ASSERT_NE(MAP_FAILED, a);
	m.addr = (uintptr_t)a;
	ASSERT_EQ(0, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_MAP, &m));
	mine = m.owner;
	ASSERT_EQ(0, madvise(a, size, MADV_DOFORK));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_MAP, &m))
			_exit(1);
		_exit(m.owner && m.owner != mine ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* Ours is unchanged. */
	ASSERT_EQ(0, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_MAP, &m));
	EXPECT_EQ(mine, m.owner);
	EXPECT_EQ(0, munmap(a, size));
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * A write of a huge batch that never has to wait (a consumer drains as
 * fast as it fills) still stops at a signal, with a partial count.
 */
TEST_F_TIMEOUT(ioc, long_write_stops_at_a_signal, 120)
{
	const size_t bytes = 1UL << 30;		/* 2^30 one-byte elements */
	struct sigaction sa = { .sa_handler = on_alarm };
	int ch = gosync_test_chan_create(self->dev, 1, 4096, 0);
	char *zeros, buf[4096];
	ssize_t n;
	pid_t pid;

	ASSERT_LE(0, ch);
	zeros = mmap(NULL, bytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		     MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, zeros);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		while (read(ch, buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	n = write(ch, zeros, bytes);
	alarm(0);
	EXPECT_LT(0, n);
	EXPECT_GT((ssize_t)bytes, n);
	EXPECT_EQ(0, gosync_test_ioctl(ch, GOSYNC_CHAN_IOC_CLOSE, NULL));
	EXPECT_EQ(pid, waitpid(pid, NULL, 0));
	munmap(zeros, bytes);
	close(ch);
}

TEST_F(ioc, fdinfo)
{
	char path[64], buf[1024];
	uint64_t v = 3;
	ssize_t n;
	int fd;

	ASSERT_EQ(1, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, &v, 1, -1, 0));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", self->ch);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, buf, sizeof(buf) - 1);
	ASSERT_LT(0, n);
	buf[n] = 0;
	close(fd);
	EXPECT_NE(NULL, strstr(buf, "gosync-elem-size:\t8\n"));
	EXPECT_NE(NULL, strstr(buf, "gosync-cap:\t4\n"));
	EXPECT_NE(NULL, strstr(buf, "gosync-len:\t1\n"));
	EXPECT_NE(NULL, strstr(buf, "gosync-closed:\t0\n"));
}

TEST_HARNESS_MAIN
