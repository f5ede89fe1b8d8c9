// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The library reports errors as return values and leaves errno as it
 * found it (libgosync(7)): every exported call, on its success and on
 * its failure paths (bad arguments, EAGAIN, ETIMEDOUT, EINTR, EPIPE,
 * EBUSY, a fd that is no channel, fd cases of select), in every mode.  Also what a handle's
 * flags say, and what a channel's fd does in each mode.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/time.h>

#include "kselftest_harness.h"
#include "chan_test.h"

/* Not an errno value: whatever the library stores, it is not this. */
#define SENTINEL	4242

/* @expr run with errno = SENTINEL; errno must still be SENTINEL after. */
#define KEEPS(expr) ({							\
	__typeof__(expr) __v;						\
	int __e;							\
	errno = SENTINEL;						\
	__v = (expr);							\
	__e = errno;							\
	EXPECT_EQ(SENTINEL, __e) TH_LOG("%s set errno to %d", #expr, __e); \
	__v;								\
})

#define KEEPS_VOID(expr) do {						\
	int __e;							\
	errno = SENTINEL;						\
	expr;								\
	__e = errno;							\
	EXPECT_EQ(SENTINEL, __e) TH_LOG("%s set errno to %d", #expr, __e); \
} while (0)

FIXTURE(err) {
	struct gosync_chan *ch;
};

FIXTURE_VARIANT(err) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_MODES(err);

FIXTURE_SETUP(err)
{
	self->ch = NULL;
	GOSYNC_MAKE(&self->ch, sizeof(uint64_t), 2);
}

FIXTURE_TEARDOWN(err)
{
	gosync_chan_free(self->ch);
}

TEST_F(err, library_wide_calls)
{
	struct gosync_info info;
	int ret;

	EXPECT_NE(NULL, KEEPS(gosync_version()));
	ret = KEEPS(gosync_info(&info));
	if (variant->kernel) {
		EXPECT_EQ(0, ret);
	} else {
		EXPECT_TRUE(ret == 0 || ret == -ENODEV);
	}
	EXPECT_LT(0, KEEPS(gosync_now()));
	EXPECT_LT(0, KEEPS(gosync_after(1000)));
	EXPECT_EQ(GOSYNC_FOREVER, KEEPS(gosync_after(INT64_MAX)));
	EXPECT_EQ(-EINVAL, KEEPS(gosync_info(NULL)));
}

TEST_F(err, channel_calls_succeeding_and_failing)
{
	struct gosync_chan *c = NULL, *c2 = NULL;
	uint64_t v = 7, out[4] = { 0 }, in[4] = { 1, 2, 3, 4 };
	int fd;

	/* bad arguments */
	EXPECT_EQ(-EINVAL, KEEPS(gosync_chan_make(&c, 65536, 1, variant->flags)));
	EXPECT_EQ(-EINVAL, KEEPS(gosync_chan_make(NULL, 8, 1, variant->flags)));
	EXPECT_EQ(-EINVAL, KEEPS(gosync_chan_make(&c, 8, 1, 0x80)));
	EXPECT_EQ(NULL, c);
	EXPECT_EQ(-EINVAL, KEEPS(gosync_chan_from_fd(&c, -1, 0)));
	EXPECT_GT(0, KEEPS(gosync_chan_from_fd(&c, 0, variant->flags)));
	EXPECT_EQ(NULL, c);
	EXPECT_EQ(-EINVAL, KEEPS(gosync_chan_send(NULL, &v, 0)));
	EXPECT_EQ(-EINVAL, KEEPS(gosync_chan_recv(self->ch, &v, -2)));
	EXPECT_EQ(-EINVAL, KEEPS(gosync_chan_close(NULL)));
	EXPECT_EQ(-EINVAL, KEEPS(gosync_chan_fd(NULL)));
	EXPECT_EQ(0U, KEEPS(gosync_chan_flags(NULL)));
	EXPECT_EQ(0U, KEEPS(gosync_chan_len(NULL)));

	/* success: a make, the flags of a real handle */
	ASSERT_EQ(0, KEEPS(gosync_chan_make(&c, 8, 1, variant->flags)));
	EXPECT_EQ(variant->flags & (GOSYNC_STANDALONE | GOSYNC_NOMAP),
		  KEEPS(gosync_chan_flags(c)));
	KEEPS_VOID(gosync_chan_free(c));
	c = NULL;

	/* success, then the empty and full ends */
	EXPECT_EQ(-EAGAIN, KEEPS(gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK)));
	EXPECT_EQ(-ETIMEDOUT, KEEPS(gosync_chan_recv(self->ch, &v, test_ms(5))));
	EXPECT_EQ(0, KEEPS(gosync_chan_send(self->ch, &v, GOSYNC_FOREVER)));
	EXPECT_EQ(1, KEEPS(gosync_chan_send_n(self->ch, in, 4, GOSYNC_NONBLOCK)));
	EXPECT_EQ(-EAGAIN, KEEPS(gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK)));
	EXPECT_EQ(-ETIMEDOUT, KEEPS(gosync_chan_send(self->ch, &v, test_ms(5))));
	EXPECT_EQ(-EAGAIN, KEEPS(gosync_chan_send_n(self->ch, in, 4,
						    GOSYNC_NONBLOCK)));
	EXPECT_EQ(2U, KEEPS(gosync_chan_len(self->ch)));
	EXPECT_EQ(2U, KEEPS(gosync_chan_cap(self->ch)));
	EXPECT_EQ(8U, KEEPS(gosync_chan_elem_size(self->ch)));
	EXPECT_EQ(2, KEEPS(gosync_chan_recv_n(self->ch, out, 4, GOSYNC_NONBLOCK)));
	EXPECT_EQ(-EAGAIN, KEEPS(gosync_chan_recv_n(self->ch, out, 4,
						    GOSYNC_NONBLOCK)));
	EXPECT_EQ(-EAGAIN, KEEPS(gosync_chan_send_sync(self->ch, &v,
						       GOSYNC_NONBLOCK)));

	/* a second handle, the uring fd, close and after */
	fd = KEEPS(gosync_chan_fd(self->ch));
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, KEEPS(gosync_chan_from_fd(&c2, fd, variant->flags)));
	if (variant->kernel) {
		EXPECT_LE(0, KEEPS(gosync_chan_uring_fd(c2)));
	} else {
		EXPECT_EQ(-EOPNOTSUPP, KEEPS(gosync_chan_uring_fd(c2)));
	}
	EXPECT_EQ(0, KEEPS(gosync_chan_send(c2, &v, GOSYNC_NONBLOCK)));
	EXPECT_EQ(0, KEEPS(gosync_chan_close(self->ch)));
	EXPECT_EQ(-EPIPE, KEEPS(gosync_chan_send(c2, &v, GOSYNC_NONBLOCK)));
	EXPECT_EQ(-EPIPE, KEEPS(gosync_chan_send_n(c2, in, 2, GOSYNC_NONBLOCK)));
	EXPECT_EQ(1, KEEPS(gosync_chan_recv(c2, &v, GOSYNC_FOREVER)));
	EXPECT_EQ(0, KEEPS(gosync_chan_recv(c2, &v, GOSYNC_FOREVER)));
	EXPECT_EQ(0, KEEPS(gosync_chan_recv_n(c2, out, 4, GOSYNC_FOREVER)));
	KEEPS_VOID(gosync_chan_free(c2));
	KEEPS_VOID(gosync_chan_free(NULL));
}

TEST_F(err, select_calls)
{
	struct gosync_chan *full = NULL;
	uint64_t v = 1, r = 0;
	struct gosync_case cs[2] = {
		{ .ch = self->ch, .op = GOSYNC_RECV, .elem = &r },
		{ .ch = NULL, .op = GOSYNC_SEND, .elem = &v },
	};

	struct gosync_case fc[2] = {
		{ .ch = self->ch, .op = GOSYNC_RECV, .elem = &r },
		{ .op = GOSYNC_FDREADY, .fd = -1, .events = POLLOUT },
	};
	int p[2];

	/* Fd cases: kernel mode only; a bad fd; a pipe's write end. */
	ASSERT_EQ(0, pipe(p));
	if (variant->kernel) {
		EXPECT_EQ(-EAGAIN, KEEPS(gosync_select(fc, 2, GOSYNC_NONBLOCK)));
		fc[1].fd = p[1];
		EXPECT_EQ(1, KEEPS(gosync_select(fc, 2, GOSYNC_NONBLOCK)));
		EXPECT_TRUE(fc[1].ok & POLLOUT);
		fc[1].fd = -2;
		EXPECT_EQ(-EBADF, KEEPS(gosync_select(fc, 2, GOSYNC_NONBLOCK)));
		fc[1].fd = p[0];
		fc[1].events = POLLIN;
		EXPECT_EQ(-ETIMEDOUT, KEEPS(gosync_select(fc, 2, test_ms(5))));
	} else {
		EXPECT_EQ(-EOPNOTSUPP,
			  KEEPS(gosync_select(fc, 2, GOSYNC_NONBLOCK)));
		EXPECT_EQ(-EOPNOTSUPP, KEEPS(gosync_select(fc, 2, test_ms(5))));
	}
	close(p[0]);
	close(p[1]);
	EXPECT_EQ(-EAGAIN, KEEPS(gosync_select(cs, 2, GOSYNC_NONBLOCK)));
	EXPECT_EQ(-ETIMEDOUT, KEEPS(gosync_select(cs, 2, test_ms(5))));
	EXPECT_EQ(-EINVAL, KEEPS(gosync_select(NULL, 2, GOSYNC_NONBLOCK)));
	ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, KEEPS(gosync_select(cs, 2, GOSYNC_FOREVER)));
	EXPECT_EQ(1, cs[0].ok);
	GOSYNC_MAKE(&full, 8, 1);
	ASSERT_EQ(0, gosync_chan_close(full));
	cs[1].ch = full;
	EXPECT_EQ(-EPIPE, KEEPS(gosync_select(cs, 2, GOSYNC_NONBLOCK)));
	gosync_chan_free(full);
}

static void *unlock_later(void *arg)
{
	test_sleep_ms(20);
	gosync_mutex_unlock(arg);
	return NULL;
}

static void once_fn(void *arg)
{
	errno = 99;		/* the user's function may set it: theirs */
	(*(int *)arg)++;
}

TEST_F(err, sync_object_calls)
{
	struct gosync_wg *wg = NULL, *wg2 = NULL;
	struct gosync_mutex *m = NULL, *m2 = NULL;
	struct gosync_rwmutex *rw = NULL, *rw2 = NULL;
	struct gosync_once *once = NULL, *once2 = NULL;
	struct gosync_cond *c = NULL, *c2 = NULL;
	unsigned int sflags = variant->flags & ~GOSYNC_NOMAP;
	pthread_t th;
	int ran = 0;

	ASSERT_EQ(0, KEEPS(gosync_wg_make(&wg, sflags)));
	EXPECT_EQ(-EINVAL, KEEPS(gosync_wg_make(NULL, sflags)));
	EXPECT_GT(0, KEEPS(gosync_wg_from_fd(&wg2, 0, sflags)));
	ASSERT_EQ(0, KEEPS(gosync_wg_from_fd(&wg2, gosync_wg_fd(wg), sflags)));
	EXPECT_LE(0, KEEPS(gosync_wg_fd(wg2)));
	EXPECT_EQ(0, KEEPS(gosync_wg_add(wg, 1)));
	EXPECT_EQ(-ETIMEDOUT, KEEPS(gosync_wg_wait(wg2, test_ms(5))));
	EXPECT_EQ(-EAGAIN, KEEPS(gosync_wg_wait(wg2, GOSYNC_NONBLOCK)));
	EXPECT_EQ(0, KEEPS(gosync_wg_done(wg2)));
	EXPECT_GT(0, KEEPS(gosync_wg_done(wg2)));	/* negative counter */
	EXPECT_EQ(0, KEEPS(gosync_wg_wait(wg, GOSYNC_FOREVER)));
	/* Owned counts: kernel mode only, their Done a system call. */
	if (variant->kernel) {
		EXPECT_EQ(0, KEEPS(gosync_wg_add_owned(wg, 1)));
		EXPECT_EQ(-EINVAL, KEEPS(gosync_wg_add_owned(wg, 0)));
		EXPECT_EQ(0, KEEPS(gosync_wg_done(wg2)));
		EXPECT_EQ(0, KEEPS(gosync_wg_wait(wg, GOSYNC_NONBLOCK)));
	} else {
		EXPECT_EQ(-EOPNOTSUPP, KEEPS(gosync_wg_add_owned(wg, 1)));
	}
	KEEPS_VOID(gosync_wg_free(wg2));
	KEEPS_VOID(gosync_wg_free(wg));

	ASSERT_EQ(0, KEEPS(gosync_mutex_make(&m, sflags)));
	EXPECT_LE(0, KEEPS(gosync_mutex_fd(m)));
	EXPECT_GT(0, KEEPS(gosync_mutex_from_fd(&m2, 0, sflags)));
	ASSERT_EQ(0, KEEPS(gosync_mutex_from_fd(&m2, gosync_mutex_fd(m), sflags)));
	EXPECT_EQ(0, KEEPS(gosync_mutex_lock(m, GOSYNC_FOREVER)));
	EXPECT_EQ(-EBUSY, KEEPS(gosync_mutex_trylock(m2)));
	EXPECT_EQ(-ETIMEDOUT, KEEPS(gosync_mutex_lock(m2, test_ms(5))));
	EXPECT_GT(0, KEEPS(gosync_mutex_consistent(m)));
	ASSERT_EQ(0, pthread_create(&th, NULL, unlock_later, m));
	EXPECT_EQ(0, KEEPS(gosync_mutex_lock(m2, GOSYNC_FOREVER)));
	pthread_join(th, NULL);
	EXPECT_EQ(0, KEEPS(gosync_mutex_unlock(m2)));
	EXPECT_GT(0, KEEPS(gosync_mutex_unlock(m2)));	/* not locked */

	ASSERT_EQ(0, KEEPS(gosync_cond_make(&c, sflags)));
	EXPECT_LE(0, KEEPS(gosync_cond_fd(c)));
	EXPECT_GT(0, KEEPS(gosync_cond_from_fd(&c2, 0, sflags)));
	ASSERT_EQ(0, KEEPS(gosync_cond_from_fd(&c2, gosync_cond_fd(c), sflags)));
	ASSERT_EQ(0, gosync_mutex_lock(m, GOSYNC_FOREVER));
	EXPECT_EQ(-ETIMEDOUT, KEEPS(gosync_cond_wait(c2, m, test_ms(5))));
	EXPECT_EQ(0, gosync_mutex_unlock(m));
	EXPECT_LE(0, KEEPS(gosync_cond_signal(c)));
	EXPECT_LE(0, KEEPS(gosync_cond_broadcast(c2)));
	KEEPS_VOID(gosync_cond_free(c2));
	KEEPS_VOID(gosync_cond_free(c));
	KEEPS_VOID(gosync_mutex_free(m2));
	KEEPS_VOID(gosync_mutex_free(m));

	ASSERT_EQ(0, KEEPS(gosync_rwmutex_make(&rw, sflags)));
	EXPECT_LE(0, KEEPS(gosync_rwmutex_fd(rw)));
	EXPECT_GT(0, KEEPS(gosync_rwmutex_from_fd(&rw2, 0, sflags)));
	ASSERT_EQ(0, KEEPS(gosync_rwmutex_from_fd(&rw2, gosync_rwmutex_fd(rw),
						  sflags)));
	EXPECT_EQ(0, KEEPS(gosync_rwmutex_rlock(rw, GOSYNC_FOREVER)));
	EXPECT_EQ(0, KEEPS(gosync_rwmutex_tryrlock(rw2)));
	EXPECT_EQ(-EBUSY, KEEPS(gosync_rwmutex_trylock(rw2)));
	EXPECT_EQ(-ETIMEDOUT, KEEPS(gosync_rwmutex_lock(rw2, test_ms(5))));
	EXPECT_EQ(0, KEEPS(gosync_rwmutex_runlock(rw2)));
	EXPECT_EQ(0, KEEPS(gosync_rwmutex_runlock(rw)));
	EXPECT_GT(0, KEEPS(gosync_rwmutex_runlock(rw)));
	EXPECT_EQ(0, KEEPS(gosync_rwmutex_lock(rw, GOSYNC_FOREVER)));
	EXPECT_EQ(-EBUSY, KEEPS(gosync_rwmutex_tryrlock(rw2)));
	EXPECT_EQ(-ETIMEDOUT, KEEPS(gosync_rwmutex_rlock(rw2, test_ms(5))));
	EXPECT_GT(0, KEEPS(gosync_rwmutex_consistent(rw)));
	EXPECT_EQ(0, KEEPS(gosync_rwmutex_unlock(rw)));
	EXPECT_GT(0, KEEPS(gosync_rwmutex_unlock(rw)));
	KEEPS_VOID(gosync_rwmutex_free(rw2));
	KEEPS_VOID(gosync_rwmutex_free(rw));

	ASSERT_EQ(0, KEEPS(gosync_once_make(&once, sflags)));
	EXPECT_LE(0, KEEPS(gosync_once_fd(once)));
	EXPECT_GT(0, KEEPS(gosync_once_from_fd(&once2, 0, sflags)));
	ASSERT_EQ(0, KEEPS(gosync_once_from_fd(&once2, gosync_once_fd(once),
					       sflags)));
	/* what fn does to errno is the caller's; the library adds nothing */
	errno = SENTINEL;
	EXPECT_EQ(1, gosync_once_do(once, once_fn, &ran));
	EXPECT_EQ(99, errno);
	EXPECT_EQ(0, KEEPS(gosync_once_do(once2, once_fn, &ran)));
	EXPECT_EQ(1, ran);
	EXPECT_EQ(-EINVAL, KEEPS(gosync_once_do(once, NULL, NULL)));
	KEEPS_VOID(gosync_once_free(once2));
	KEEPS_VOID(gosync_once_free(once));
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A wait a signal ends: -EINTR, and errno is what it was before the call. */
TEST_F(err, interrupted_wait)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct itimerval it = { .it_value = { 0, 20000 } };
	uint64_t v;

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, &old));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_EQ(-EINTR, KEEPS(gosync_chan_recv(self->ch, &v, test_ms(5000))));
	sigaction(SIGALRM, &old, NULL);
}

TEST_F(err, flags_say_the_mode)
{
	struct gosync_chan *c = NULL, *c2 = NULL;
	unsigned int want = variant->flags & (GOSYNC_STANDALONE | GOSYNC_NOMAP);
	int fd = gosync_chan_fd(self->ch);

	EXPECT_EQ(want, gosync_chan_flags(self->ch));
	GOSYNC_MAKE(&c, 8, 0);
	gosync_chan_free(c);
	ASSERT_EQ(0, gosync_chan_make(&c, 8, 1, variant->flags | GOSYNC_CLOEXEC));
	EXPECT_EQ(want | GOSYNC_CLOEXEC, gosync_chan_flags(c));
	/* FD_CLOEXEC as the fd has it now */
	ASSERT_EQ(0, fcntl(gosync_chan_fd(c), F_SETFD, 0));
	EXPECT_EQ(want, gosync_chan_flags(c));
	gosync_chan_free(c);
	/* from_fd: the mode the fd turned out to be */
	ASSERT_EQ(0, gosync_chan_from_fd(&c2, fd, variant->flags &
					 GOSYNC_NOMAP));
	EXPECT_EQ(want, gosync_chan_flags(c2));
	gosync_chan_free(c2);
}

/*
 * What the fd does: pollable in kernel mode; in standalone mode a plain
 * memfd, which epoll refuses and a write(2) corrupts (from_fd: EBADMSG,
 * while handles already made go on).
 */
TEST_F(err, the_fd_in_each_mode)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct gosync_chan *c2 = NULL;
	char junk[64];
	uint64_t v = 5;
	int ep = epoll_create1(EPOLL_CLOEXEC), fd = gosync_chan_fd(self->ch);

	ASSERT_LE(0, ep);
	if (variant->kernel) {
		EXPECT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
		close(ep);
		return;
	}
	EXPECT_EQ(-1, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	EXPECT_EQ(EPERM, errno);
	close(ep);
	EXPECT_EQ(-1, ftruncate(fd, 0));
	memset(junk, 0x5a, sizeof(junk));
	ASSERT_EQ((ssize_t)sizeof(junk), pwrite(fd, junk, sizeof(junk), 0));
	EXPECT_EQ(-EBADMSG, KEEPS(gosync_chan_from_fd(&c2, fd, 0)));
	EXPECT_EQ(NULL, c2);
	/* a sync object's memfd is the wrong kind, not a corrupt ring */
	{
		struct gosync_mutex *m = NULL;

		ASSERT_EQ(0, gosync_mutex_make(&m, GOSYNC_STANDALONE));
		EXPECT_EQ(-EINVAL, gosync_chan_from_fd(&c2, gosync_mutex_fd(m), 0));
		gosync_mutex_free(m);
	}
	EXPECT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	v = 0;
	EXPECT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(5U, v);
}

TEST_HARNESS_MAIN
