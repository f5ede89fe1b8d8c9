// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * A program whose own functions and variables carry names the library
 * uses inside (gosync_futex_wait, gosync_dev_fd, gosync_fork_gen, ...),
 * with other types, linked statically against the installed libgosync.a
 * by scripts/install-test.  It must link, its names must be its own, and
 * the library must go on calling its own: channel waits that sleep and
 * time out, a WaitGroup and a Mutex across fork, the device.  An archive
 * whose internals are global fails to link ("multiple definition"), or
 * binds the library's calls to these.  Built in every mode (for the
 * guest) and standalone only (GOSYNC_TEST_HOST, for the host), like the
 * library tests, but not named as one (tests/NAME_test.c): the Makefile
 * links those against the library's objects, where these names would
 * clash by design.
 */
#include "kselftest_harness.h"
#include "chan_test.h"

/*
 * Every call of the functions below; only the_names_are_the_programs
 * makes any, so a test of the library that sees one has been given them.
 */
static int own_calls;

long gosync_futex_wait(const char *why);
long gosync_futex_wake(long n);
double gosync_dev_fd(double x);
int gosync_sync_kernel(int a, int b);
bool gosync_deadline_passed(void);

long gosync_futex_wait(const char *why)
{
	own_calls++;
	return (long)strlen(why);
}

long gosync_futex_wake(long n)
{
	own_calls++;
	return -n;
}

double gosync_dev_fd(double x)
{
	own_calls++;
	return x / 2;
}

int gosync_sync_kernel(int a, int b)
{
	own_calls++;
	return a * b;
}

bool gosync_deadline_passed(void)
{
	own_calls++;
	return true;
}

/* Variables where the library has a variable, or a function, of the name. */
const char *gosync_fork_gen = "the program's";
int gosync_spin_iters[4] = { 1, 2, 3, 4 };

TEST(the_names_are_the_programs)
{
	EXPECT_EQ(5, gosync_futex_wait("sleep"));
	EXPECT_EQ(-3, gosync_futex_wake(3));
	EXPECT_TRUE(gosync_dev_fd(3.0) == 1.5);
	EXPECT_EQ(42, gosync_sync_kernel(6, 7));
	EXPECT_TRUE(gosync_deadline_passed());
	EXPECT_STREQ("the program's", gosync_fork_gen);
	EXPECT_EQ(10, gosync_spin_iters[0] + gosync_spin_iters[1] +
		      gosync_spin_iters[2] + gosync_spin_iters[3]);
	EXPECT_EQ(5, own_calls);
}

FIXTURE(chan) {
	struct gosync_chan *ch;
};

FIXTURE_VARIANT(chan) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_MODES(chan);

FIXTURE_SETUP(chan)
{
	own_calls = 0;
	self->ch = NULL;
	GOSYNC_MAKE(&self->ch, sizeof(uint64_t), 1);
}

FIXTURE_TEARDOWN(chan)
{
	gosync_chan_free(self->ch);
}

/* Each wait sleeps (futex or kernel), until its deadline or a sender. */
TEST_F(chan, waits_are_the_librarys)
{
	uint64_t v = 0;
	pid_t pid;

	EXPECT_EQ(-ETIMEDOUT, gosync_chan_recv(self->ch, &v, test_ms(20)));
	ASSERT_EQ(0, gosync_chan_send(self->ch, &(uint64_t){ 7 }, GOSYNC_FOREVER));
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_send(self->ch, &v, test_ms(20)));
	ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_FOREVER));
	EXPECT_EQ(7, v);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		test_sleep_ms(20);
		_exit(gosync_chan_send(self->ch, &(uint64_t){ 8 },
				       test_ms(5000)) ? 1 : 0);
	}
	EXPECT_EQ(1, gosync_chan_recv(self->ch, &v, test_ms(5000)));
	EXPECT_EQ(8, v);
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(0, own_calls);
}

FIXTURE(sync) {
	struct gosync_wg *wg;
	struct gosync_mutex *m;
};

FIXTURE_VARIANT(sync) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_SYNC_MODES(sync);

FIXTURE_SETUP(sync)
{
	own_calls = 0;
	self->wg = NULL;
	self->m = NULL;
	GOSYNC_MAKE_SYNC(gosync_wg_make, &self->wg);
	GOSYNC_MAKE_SYNC(gosync_mutex_make, &self->m);
}

FIXTURE_TEARDOWN(sync)
{
	gosync_mutex_free(self->m);
	gosync_wg_free(self->wg);
}

TEST_F(sync, waits_are_the_librarys)
{
	pid_t pid;

	ASSERT_EQ(0, gosync_wg_add(self->wg, 1));
	ASSERT_EQ(0, gosync_mutex_lock(self->m, GOSYNC_FOREVER));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Waits on the parent's lock, then lets the parent's Wait go. */
		if (gosync_mutex_lock(self->m, test_ms(5000)) ||
		    gosync_mutex_unlock(self->m) || gosync_wg_done(self->wg))
			_exit(1);
		_exit(0);
	}
	EXPECT_EQ(-ETIMEDOUT, gosync_wg_wait(self->wg, test_ms(20)));
	EXPECT_EQ(0, gosync_mutex_unlock(self->m));
	EXPECT_EQ(0, gosync_wg_wait(self->wg, test_ms(5000)));
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(0, own_calls);
}

/* The device: the library's own handle; in kernel mode, the module's answer. */
TEST_F(sync, the_device_is_the_librarys)
{
	struct gosync_info info;
	int ret = gosync_info(&info);

	if (variant->kernel) {
		EXPECT_EQ(0, ret);
	} else {
		EXPECT_TRUE(ret == 0 || ret == -ENODEV) TH_LOG("gosync_info: %d", ret);
	}
	EXPECT_EQ(0, own_calls);
}

TEST_HARNESS_MAIN
