/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Helpers of the channel tests that run in every mode: on the host as
 * library tests (standalone mode only: built with GOSYNC_TEST_HOST), and
 * in the guest as selftests against the module (kernel mode with the fast
 * path, kernel mode with no mapping, and standalone).
 * Include after kselftest_harness.h.
 */
#ifndef GOSYNC_CHAN_TEST_H
#define GOSYNC_CHAN_TEST_H

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gosync.h>

/*
 * The modes a fixture runs in: FIXTURE_VARIANT(f) must be
 * struct { unsigned int flags; bool kernel; }; GOSYNC_MODES(f) adds them.
 */
#define GOSYNC_MODE_STANDALONE(f)					\
	FIXTURE_VARIANT_ADD(f, standalone) {				\
		.flags = GOSYNC_STANDALONE, .kernel = false,		\
	}
#ifdef GOSYNC_TEST_HOST
#define GOSYNC_MODES(f) GOSYNC_MODE_STANDALONE(f)
#else
#define GOSYNC_MODES(f)							\
	FIXTURE_VARIANT_ADD(f, kernel) { .flags = 0, .kernel = true };	\
	FIXTURE_VARIANT_ADD(f, kernel_nomap) {				\
		.flags = GOSYNC_NOMAP, .kernel = true,			\
	};								\
	GOSYNC_MODE_STANDALONE(f)
#endif

/* Sync objects have no "no mapping" mode. */
#ifdef GOSYNC_TEST_HOST
#define GOSYNC_SYNC_MODES(f) GOSYNC_MODE_STANDALONE(f)
#else
#define GOSYNC_SYNC_MODES(f)						\
	FIXTURE_VARIANT_ADD(f, kernel) { .flags = 0, .kernel = true };	\
	GOSYNC_MODE_STANDALONE(f)
#endif

/* Make *@p with @make in the variant's mode; SKIP kernel mode without the module. */
#define GOSYNC_MAKE_SYNC(make, p) do {					\
	int __r = make((p), variant->flags);				\
	if (__r == -ENODEV && variant->kernel)				\
		SKIP(return, "gosync.ko not loaded");			\
	ASSERT_EQ(0, __r) TH_LOG(#make ": %s", strerror(-__r));	\
} while (0)

/* Make *@chp in the variant's mode; SKIP kernel modes without the module. */
#define GOSYNC_MAKE(chp, elem, cap) do {				\
	int __r = gosync_chan_make((chp), (elem), (cap), variant->flags); \
	if (__r == -ENODEV && variant->kernel)				\
		SKIP(return, "gosync.ko not loaded");			\
	ASSERT_EQ(0, __r) TH_LOG("gosync_chan_make: %s", strerror(-__r)); \
} while (0)

static inline int64_t test_ms(int64_t ms)
{
	return gosync_after(ms * 1000000);
}

static inline void test_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Shared anonymous memory a test's processes can count in. */
static inline void *test_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Wait for @pid; its exit status, or 128 + signal. */
static inline int test_wait(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run the calling thread on CPU @cpu only: 0, or -errno. */
static inline int gosync_test_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/*
 * The state letter of thread @tid of this process (R, S, D, T, ...) and,
 * in *@syscall, the system call it is in (-1: none, running in user
 * space); '?' when it cannot be read.
 */
static inline char gosync_test_task_state(pid_t pid, pid_t tid, long *syscall)
{
	char path[80], buf[512], *p;
	FILE *f;
	char st = '?';

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')');
		if (p && p[1] == ' ')
			st = p[2];
	}
	fclose(f);
	if (syscall) {
		*syscall = -2;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
		f = fopen(path, "r");
		if (f) {
			if (fgets(buf, sizeof(buf), f))
				*syscall = strncmp(buf, "running", 7) ?
					   strtol(buf, NULL, 10) : -1;
			fclose(f);
		}
	}
	return st;
}

/* The same for thread @tid of this process. */
static inline char gosync_test_thread_state(pid_t tid, long *syscall)
{
	return gosync_test_task_state(getpid(), tid, syscall);
}

/* Wait (up to @ms) until process @pid's main thread sleeps in a system call. */
static inline bool test_proc_asleep(pid_t pid, long ms)
{
	for (long waited = 0; waited <= ms; waited++) {
		long sc;

		if (gosync_test_task_state(pid, pid, &sc) == 'S' && sc >= 0)
			return true;
		test_sleep_ms(1);
	}
	return false;
}

/* The system call every futex wait of the library sleeps in. */
#ifdef SYS_futex_waitv
#define GOSYNC_TEST_SYS_WAIT	SYS_futex_waitv
#else
#define GOSYNC_TEST_SYS_WAIT	449
#endif

/*
 * Wait (up to @ms) until thread @tid of this process sleeps in system call
 * @nr (e.g. GOSYNC_TEST_SYS_WAIT): true if it does.
 */
static inline bool test_wait_asleep_in(pid_t tid, long nr, long ms)
{
	for (long waited = 0; waited <= ms; waited++) {
		long sc;

		if (gosync_test_thread_state(tid, &sc) == 'S' && sc == nr)
			return true;
		test_sleep_ms(1);
	}
	return false;
}

/* Wait (up to @ms) until thread @tid sleeps in some system call. */
static inline bool test_wait_asleep(pid_t tid, long ms)
{
	for (long waited = 0; waited <= ms; waited++) {
		long sc;

		if (gosync_test_thread_state(tid, &sc) == 'S' && sc >= 0)
			return true;
		test_sleep_ms(1);
	}
	return false;
}

/* Spin (up to @ms) until *@flag is non-zero: true if it became so. */
static inline bool test_wait_flag(int *flag, long ms)
{
	for (long waited = 0; waited <= ms * 10; waited++) {
		if (__atomic_load_n(flag, __ATOMIC_ACQUIRE))
			return true;
		usleep(100);
	}
	return false;
}

/* Pass @fd over the UNIX socket @sock (SCM_RIGHTS, one byte): 0 or -1. */
static inline int test_send_fd(int sock, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* The fd test_send_fd() passed (close-on-exec here), or -1. */
static inline int test_recv_fd(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

#endif /* GOSYNC_CHAN_TEST_H */
