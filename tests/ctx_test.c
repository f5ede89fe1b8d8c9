// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Contexts through the library (gosync_ctx_make(3), gosync_ctx_cancel(3)):
 * a cancel reaches every descendant and nothing above, the first cause
 * stays, a context made under a done parent is born done with its cause,
 * a child's deadline is capped at its parent's, a deadline fires by
 * itself while everyone sleeps, the done channel (closed at once once
 * done, a receive-only end nobody can send on or close, a select case
 * among others), a cancel in one process reaching a waiter in another,
 * GOSYNC_CTX_CANCEL_ON_EXIT when the maker is SIGKILLed, racing cancels,
 * and bad input.  In both modes, but for what needs the kernel
 * (CANCEL_ON_EXIT, names, polling the context's fd): standalone
 * contexts are a tree in a memfd whose words every process looks at
 * (models/ctxsa.pml), which is what runs on the host.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "chan_test.h"
#include "hooks.h"

#define MS	1000000LL
#define SEC	(1000 * MS)

FIXTURE(ctx) {
	struct gosync_ctx *root;	/* NULL: no contexts here */
};

FIXTURE_VARIANT(ctx) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_SYNC_MODES(ctx);

/* Does the loaded module make contexts? */
static bool ctx_module_has_contexts(void)
{
	struct gosync_info info;

	return !gosync_info(&info) && info.features & GOSYNC_FEAT_CTX;
}

FIXTURE_SETUP(ctx)
{
	int r;

	self->root = NULL;
	r = gosync_ctx_make(&self->root, NULL, variant->flags);
	/* No module, or one without contexts: the kernel tests skip. */
	if (r == -EOPNOTSUPP && variant->kernel && !ctx_module_has_contexts())
		return;
	ASSERT_EQ(0, r) TH_LOG("gosync_ctx_make: %s", strerror(-r));
}

FIXTURE_TEARDOWN(ctx)
{
	gosync_ctx_free(self->root);
}

/*
 * A SKIP in a fixture's setup does not stop the test (this harness), and
 * whatever failed before a SKIP is reported as skipped: each kernel test
 * skips here, first thing.
 */
#define CTX_ANY_MODE() do {						\
	if (!self->root)						\
		SKIP(return, "no module with GOSYNC_FEAT_CTX");		\
} while (0)

/* What needs the kernel: it skips in standalone mode too. */
#define CTX_KERNEL_ONLY() do {						\
	CTX_ANY_MODE();							\
	if (!variant->kernel)						\
		SKIP(return, "kernel mode only");			\
} while (0)

/* Both at once: err then cause, as one number (state << 16 | cause). */
#define CTX_STATE(c)	((-gosync_ctx_err(c)) << 16 | gosync_ctx_cause(c))
#define DONE(err, cause) ((err) << 16 | (cause))

/*
 * Bad arguments, found before anything else in either mode: NULL
 * handles, unknown flags, negative deadlines and fds, and errno left as
 * it was.
 */
TEST(ctx_bad_arguments)
{
	struct gosync_ctx *c = NULL;

	errno = 1234;
	EXPECT_EQ(-EINVAL, gosync_ctx_make(NULL, NULL, 0));
	EXPECT_EQ(-EINVAL, gosync_ctx_make(&c, NULL, GOSYNC_SEND_ONLY));
	EXPECT_EQ(-EINVAL, gosync_ctx_make(&c, NULL, 1U << 31));
	EXPECT_EQ(-EINVAL, gosync_ctx_with_deadline(NULL, NULL, 0, 0));
	EXPECT_EQ(-EINVAL, gosync_ctx_with_deadline(&c, NULL, -5, 0));
	EXPECT_EQ(-EINVAL, gosync_ctx_with_deadline(&c, NULL,
						    GOSYNC_NONBLOCK, 0));
	EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(NULL, 0, 0));
	EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(&c, 0, GOSYNC_NOMAP));
	EXPECT_EQ(-EBADF, gosync_ctx_from_fd(&c, -1, 0));
	EXPECT_EQ(-EBADF, gosync_ctx_from_fd(&c, INT_MAX, GOSYNC_CLOEXEC));
	EXPECT_EQ(-EINVAL, gosync_ctx_cancel(NULL, 0));
	EXPECT_EQ(-EINVAL, gosync_ctx_err(NULL));
	EXPECT_EQ(-EINVAL, gosync_ctx_cause(NULL));
	EXPECT_EQ(-EINVAL, gosync_ctx_deadline(NULL));
	EXPECT_EQ(-EINVAL, gosync_ctx_fd(NULL));
	EXPECT_EQ(NULL, gosync_ctx_done(NULL));
	gosync_ctx_free(NULL);
	EXPECT_EQ(NULL, c);
	EXPECT_EQ(1234, errno);
}

/*
 * What needs the kernel: GOSYNC_CTX_CANCEL_ON_EXIT and names are
 * -EOPNOTSUPP standalone; a child is in its parent's mode (a standalone
 * flag under a kernel parent is -EINVAL); a waitgroup wait bounded by a
 * standalone context, or a kernel channel's by one, is -EOPNOTSUPP.
 * Without the module (the standalone variant makes sure there is none
 * for this process: the harness runs each test in a process of its
 * own), a kernel-mode make is -EOPNOTSUPP and a standalone one works;
 * an fd that is no context is -EINVAL in every mode.
 */
TEST_F(ctx, what_needs_the_kernel)
{
	struct gosync_ctx *c = NULL, *s;
	struct gosync_wg *wg;
	int64_t v = 0;
	int memfd;

	CTX_ANY_MODE();
	if (!variant->kernel) {
		ASSERT_EQ(0, setenv("GOSYNC_DEVICE", "/nonexistent", 1));
	}
	EXPECT_EQ(-EOPNOTSUPP, gosync_ctx_make(&c, NULL, GOSYNC_STANDALONE |
					       GOSYNC_CTX_CANCEL_ON_EXIT));
	EXPECT_EQ(-EOPNOTSUPP, gosync_ctx_open(&c, "/ctx-test-sa", O_RDWR |
					       O_CREAT, 0600,
					       GOSYNC_STANDALONE));
	ASSERT_EQ(0, gosync_ctx_with_deadline(&s, NULL, test_ms(5000),
					      GOSYNC_STANDALONE));
	EXPECT_EQ(-EOPNOTSUPP, gosync_ctx_make(&c, s,
					       GOSYNC_CTX_CANCEL_ON_EXIT));
	ASSERT_EQ(0, gosync_wg_make(&wg, GOSYNC_STANDALONE));
	EXPECT_EQ(-EOPNOTSUPP, gosync_wg_wait_ctx(wg, s));
	memfd = memfd_create("ctx-test", MFD_CLOEXEC);
	ASSERT_LE(0, memfd);
	EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(&c, gosync_wg_fd(wg), 0));
	EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(&c, memfd, GOSYNC_STANDALONE));
	if (variant->kernel) {
		struct gosync_chan *kch;

		EXPECT_EQ(-EINVAL, gosync_ctx_make(&c, self->root,
						   GOSYNC_STANDALONE));
		ASSERT_EQ(0, gosync_chan_make(&kch, sizeof(v), 1, 0));
		EXPECT_EQ(-EOPNOTSUPP, gosync_chan_recv_ctx(kch, &v, s));
		EXPECT_EQ(-EOPNOTSUPP, gosync_chan_send_ctx(kch, &v, s));
		gosync_chan_free(kch);
	} else {
		EXPECT_EQ(-EOPNOTSUPP, gosync_ctx_make(&c, NULL, 0));
		EXPECT_EQ(-EOPNOTSUPP,
			  gosync_ctx_make(&c, NULL, GOSYNC_CTX_CANCEL_ON_EXIT));
		EXPECT_EQ(-EOPNOTSUPP,
			  gosync_ctx_with_deadline(&c, NULL, test_ms(50), 0));
	}
	/* Argument checks come first in every mode. */
	EXPECT_EQ(-EBADF, gosync_ctx_from_fd(&c, -1, 0));
	EXPECT_EQ(NULL, c);
	close(memfd);
	gosync_wg_free(wg);
	gosync_ctx_free(s);
}

/*
 * Cancelling a child cancels its subtree before the call returns, and
 * nothing above or beside it; a second cancel, or one of a descendant,
 * is 0 and changes nothing; the root's cancel then reaches the live
 * sibling and leaves the done child's cause alone.
 */
TEST_F(ctx, cancel_tree_first_cause_stays)
{
	struct gosync_ctx *child, *grand, *sib;

	CTX_ANY_MODE();
	ASSERT_EQ(0, gosync_ctx_make(&child, self->root, 0));
	ASSERT_EQ(0, gosync_ctx_make(&grand, child, 0));
	ASSERT_EQ(0, gosync_ctx_make(&sib, self->root, 0));
	EXPECT_EQ(0, gosync_ctx_err(child));
	EXPECT_EQ(0, gosync_ctx_cause(child));
	EXPECT_EQ(0, gosync_ctx_err(grand));

	EXPECT_EQ(0, gosync_ctx_cancel(child, EPIPE));
	EXPECT_EQ(-ECANCELED, gosync_ctx_err(child));
	EXPECT_EQ(EPIPE, gosync_ctx_cause(child));
	EXPECT_EQ(-ECANCELED, gosync_ctx_err(grand));
	EXPECT_EQ(EPIPE, gosync_ctx_cause(grand));
	EXPECT_EQ(0, gosync_ctx_err(self->root));
	EXPECT_EQ(0, gosync_ctx_cause(self->root));
	EXPECT_EQ(0, gosync_ctx_err(sib));

	EXPECT_EQ(0, gosync_ctx_cancel(child, ECONNRESET));
	EXPECT_EQ(0, gosync_ctx_cancel(grand, 0));
	EXPECT_EQ(DONE(ECANCELED, EPIPE), CTX_STATE(child));
	EXPECT_EQ(DONE(ECANCELED, EPIPE), CTX_STATE(grand));
	EXPECT_EQ(0, gosync_ctx_err(self->root));

	EXPECT_EQ(0, gosync_ctx_cancel(self->root, 0));
	EXPECT_EQ(DONE(ECANCELED, ECANCELED), CTX_STATE(self->root));
	EXPECT_EQ(DONE(ECANCELED, ECANCELED), CTX_STATE(sib));
	EXPECT_EQ(DONE(ECANCELED, EPIPE), CTX_STATE(child));
	EXPECT_EQ(DONE(ECANCELED, EPIPE), CTX_STATE(grand));
	/* The deadlines of contexts made without one. */
	EXPECT_EQ(GOSYNC_FOREVER, gosync_ctx_deadline(self->root));
	EXPECT_EQ(GOSYNC_FOREVER, gosync_ctx_deadline(grand));
	gosync_ctx_free(grand);
	gosync_ctx_free(sib);
	gosync_ctx_free(child);
}

/*
 * Made under a done parent: born done, with the parent's error and
 * cause, whatever its own deadline; a deadline already past makes a
 * context done at once (ETIMEDOUT), and its children with it.
 */
TEST_F(ctx, born_done)
{
	struct gosync_ctx *child, *late, *later, *dl, *past, *pc;
	struct gosync_chan *done;

	CTX_ANY_MODE();
	ASSERT_EQ(0, gosync_ctx_make(&child, self->root, 0));
	ASSERT_EQ(0, gosync_ctx_cancel(child, ENOLINK));
	ASSERT_EQ(0, gosync_ctx_make(&late, child, 0));
	EXPECT_EQ(-ECANCELED, gosync_ctx_err(late));
	EXPECT_EQ(ENOLINK, gosync_ctx_cause(late));
	ASSERT_EQ(0, gosync_ctx_make(&later, late, variant->kernel ?
				     GOSYNC_CTX_CANCEL_ON_EXIT : 0));
	EXPECT_EQ(DONE(ECANCELED, ENOLINK), CTX_STATE(later));
	ASSERT_EQ(0, gosync_ctx_with_deadline(&dl, child,
					      gosync_after(10 * SEC), 0));
	EXPECT_EQ(DONE(ECANCELED, ENOLINK), CTX_STATE(dl));
	/* Born done: its done channel is closed from the start. */
	done = gosync_ctx_done(later);
	ASSERT_NE(NULL, done);
	EXPECT_EQ(0, gosync_chan_recv(done, NULL, GOSYNC_NONBLOCK));

	ASSERT_EQ(0, gosync_ctx_with_deadline(&past, self->root, 0, 0));
	EXPECT_EQ(DONE(ETIMEDOUT, ETIMEDOUT), CTX_STATE(past));
	EXPECT_EQ(0, gosync_ctx_deadline(past));
	ASSERT_EQ(0, gosync_ctx_make(&pc, past, 0));
	EXPECT_EQ(DONE(ETIMEDOUT, ETIMEDOUT), CTX_STATE(pc));
	EXPECT_EQ(0, gosync_ctx_deadline(pc));
	/* A cancel of a context done by its deadline: 0, nothing changes. */
	EXPECT_EQ(0, gosync_ctx_cancel(past, EPIPE));
	EXPECT_EQ(DONE(ETIMEDOUT, ETIMEDOUT), CTX_STATE(past));
	EXPECT_EQ(0, gosync_ctx_err(self->root));
	gosync_ctx_free(pc);
	gosync_ctx_free(past);
	gosync_ctx_free(dl);
	gosync_ctx_free(later);
	gosync_ctx_free(late);
	gosync_ctx_free(child);
}

/*
 * The done channel: one per handle, 0-byte elements, a receive-only end
 * (no send, no close), unmapped and close-on-exec; a receive on it waits
 * while the context lives and says "closed" (0) at once, every time,
 * once it is done.  The context's fd polls readable once done.
 */
TEST_F(ctx, done_channel)
{
	struct pollfd pfd = { .events = POLLIN };
	struct gosync_chan *done;
	struct gosync_ctx *child;
	unsigned int fl;
	int64_t t0;

	CTX_ANY_MODE();
	ASSERT_EQ(0, gosync_ctx_make(&child, self->root, 0));
	done = gosync_ctx_done(child);
	ASSERT_NE(NULL, done);
	EXPECT_EQ(done, gosync_ctx_done(child));
	EXPECT_EQ(0, gosync_chan_elem_size(done));
	EXPECT_EQ(0, gosync_chan_cap(done));
	fl = gosync_chan_flags(done);
	EXPECT_TRUE(fl & GOSYNC_RECV_ONLY) TH_LOG("flags %#x", fl);
	/* Kernel mode: the module's end; standalone: a private channel. */
	EXPECT_EQ(variant->kernel, !!(fl & GOSYNC_NOMAP)) TH_LOG("flags %#x", fl);
	EXPECT_TRUE(fl & GOSYNC_CLOEXEC) TH_LOG("flags %#x", fl);
	EXPECT_EQ(!variant->kernel, !!(fl & GOSYNC_STANDALONE))
		TH_LOG("flags %#x", fl);
	EXPECT_EQ(-EBADF, gosync_chan_send(done, NULL, GOSYNC_NONBLOCK));
	EXPECT_EQ(-EBADF, gosync_chan_close(done));

	EXPECT_EQ(-EAGAIN, gosync_chan_recv(done, NULL, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_recv(done, NULL, test_ms(50)));
	pfd.fd = gosync_ctx_fd(child);
	if (variant->kernel)
		EXPECT_EQ(0, poll(&pfd, 1, 0));

	EXPECT_EQ(0, gosync_ctx_cancel(child, 0));
	t0 = gosync_now();
	EXPECT_EQ(0, gosync_chan_recv(done, NULL, gosync_after(5 * SEC)));
	EXPECT_EQ(0, gosync_chan_recv(done, NULL, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, gosync_chan_recv(done, NULL, 0));
	EXPECT_GT(SEC, gosync_now() - t0);
	if (variant->kernel) {
		EXPECT_EQ(1, poll(&pfd, 1, 0));
		EXPECT_TRUE(pfd.revents & POLLIN);
	}
	EXPECT_EQ(DONE(ECANCELED, ECANCELED), CTX_STATE(child));
	/* The root's is another channel, still open. */
	ASSERT_NE(NULL, gosync_ctx_done(self->root));
	EXPECT_NE(done, gosync_ctx_done(self->root));
	EXPECT_EQ(-EAGAIN, gosync_chan_recv(gosync_ctx_done(self->root), NULL,
					    GOSYNC_NONBLOCK));
	gosync_ctx_free(child);
}

struct done_racer {
	struct gosync_ctx *ctx;
	int *go;
	struct gosync_chan *done;
};

static void *done_racer_run(void *arg)
{
	struct done_racer *r = arg;

	while (!__atomic_load_n(r->go, __ATOMIC_ACQUIRE))
		sched_yield();
	r->done = gosync_ctx_done(r->ctx);
	return NULL;
}

/* First calls of gosync_ctx_done() racing in four threads agree on one. */
TEST_F(ctx, done_made_once_by_racing_threads)
{
	struct done_racer r[4];
	struct gosync_ctx *c;
	pthread_t t[4];
	int go = 0;

	CTX_ANY_MODE();
	ASSERT_EQ(0, gosync_ctx_make(&c, self->root, 0));
	for (int i = 0; i < 4; i++) {
		r[i] = (struct done_racer){ .ctx = c, .go = &go };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, done_racer_run,
					    &r[i]));
	}
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	ASSERT_NE(NULL, r[0].done);
	for (int i = 1; i < 4; i++)
		EXPECT_EQ(r[0].done, r[i].done);
	EXPECT_EQ(r[0].done, gosync_ctx_done(c));
	EXPECT_EQ(0, gosync_ctx_cancel(c, 0));
	EXPECT_EQ(0, gosync_chan_recv(r[0].done, NULL, GOSYNC_NONBLOCK));
	gosync_ctx_free(c);
}

/*
 * A deadline 50 ms away fires by itself (a kernel timer): the test
 * thread asleep in a receive on the done channel is woken with
 * "closed", never before the deadline, and Err, which only reads the
 * page, changes by itself too.  The parent stays live.
 */
TEST_F(ctx, deadline_fires_while_asleep)
{
	int64_t deadline = gosync_after(50 * MS), t;
	struct gosync_ctx *c, *d;
	struct gosync_chan *done;
	int e;

	CTX_ANY_MODE();
	ASSERT_EQ(0, gosync_ctx_with_deadline(&c, self->root, deadline, 0));
	EXPECT_EQ(deadline, gosync_ctx_deadline(c));
	e = gosync_ctx_err(c);
	/* Read before the deadline: a timer never fires early. */
	if (gosync_now() < deadline) {
		EXPECT_EQ(0, e);
	}
	done = gosync_ctx_done(c);
	ASSERT_NE(NULL, done);
	EXPECT_EQ(0, gosync_chan_recv(done, NULL, gosync_after(5 * SEC)));
	t = gosync_now();
	EXPECT_LE(deadline, t);
	EXPECT_EQ(-ETIMEDOUT, gosync_ctx_err(c));
	EXPECT_EQ(ETIMEDOUT, gosync_ctx_cause(c));
	EXPECT_EQ(0, gosync_ctx_cancel(c, EPIPE));
	EXPECT_EQ(DONE(ETIMEDOUT, ETIMEDOUT), CTX_STATE(c));
	EXPECT_EQ(0, gosync_ctx_err(self->root));

	/* Err alone, polled from the page with no system call of ours. */
	deadline = gosync_after(50 * MS);
	ASSERT_EQ(0, gosync_ctx_with_deadline(&d, self->root, deadline, 0));
	while (!gosync_ctx_err(d) && gosync_now() < deadline + 5 * SEC)
		test_sleep_ms(1);
	EXPECT_EQ(-ETIMEDOUT, gosync_ctx_err(d));
	EXPECT_EQ(ETIMEDOUT, gosync_ctx_cause(d));
	EXPECT_LE(deadline, gosync_now());
	gosync_ctx_free(d);
	gosync_ctx_free(c);
}

/*
 * A child's deadline is never later than its parent's: asking for a
 * later one (or none) gives the parent's, an earlier one is kept.
 */
TEST_F(ctx, deadline_capped_at_parent)
{
	int64_t pd = gosync_after(10 * SEC);
	struct gosync_ctx *p, *later, *earlier, *plain, *forever, *g;

	CTX_ANY_MODE();
	ASSERT_EQ(0, gosync_ctx_with_deadline(&p, self->root, pd, 0));
	EXPECT_EQ(pd, gosync_ctx_deadline(p));
	ASSERT_EQ(0, gosync_ctx_with_deadline(&later, p, pd + 10 * SEC, 0));
	EXPECT_EQ(pd, gosync_ctx_deadline(later));
	ASSERT_EQ(0, gosync_ctx_with_deadline(&forever, p, GOSYNC_FOREVER, 0));
	EXPECT_EQ(pd, gosync_ctx_deadline(forever));
	ASSERT_EQ(0, gosync_ctx_make(&plain, p, 0));
	EXPECT_EQ(pd, gosync_ctx_deadline(plain));
	ASSERT_EQ(0, gosync_ctx_with_deadline(&earlier, p, pd - 5 * SEC, 0));
	EXPECT_EQ(pd - 5 * SEC, gosync_ctx_deadline(earlier));
	ASSERT_EQ(0, gosync_ctx_make(&g, earlier, 0));
	EXPECT_EQ(pd - 5 * SEC, gosync_ctx_deadline(g));
	EXPECT_EQ(GOSYNC_FOREVER, gosync_ctx_deadline(self->root));
	EXPECT_EQ(0, gosync_ctx_err(later));
	EXPECT_EQ(0, gosync_ctx_err(g));
	gosync_ctx_free(g);
	gosync_ctx_free(earlier);
	gosync_ctx_free(plain);
	gosync_ctx_free(forever);
	gosync_ctx_free(later);
	gosync_ctx_free(p);
}

/*
 * Handles from the fd share the context: their own fd, the same
 * deadline, a cancel through one seen through the other, each freed on
 * its own.
 */
TEST_F(ctx, from_fd_shares_the_context)
{
	int64_t deadline = gosync_after(60 * SEC);
	struct gosync_ctx *c, *h;
	int fl;

	CTX_ANY_MODE();
	ASSERT_EQ(0, gosync_ctx_with_deadline(&c, self->root, deadline, 0));
	ASSERT_EQ(0, gosync_ctx_from_fd(&h, gosync_ctx_fd(c), GOSYNC_CLOEXEC));
	EXPECT_NE(gosync_ctx_fd(c), gosync_ctx_fd(h));
	fl = fcntl(gosync_ctx_fd(h), F_GETFD);
	EXPECT_TRUE(fl >= 0 && (fl & FD_CLOEXEC));
	fl = fcntl(gosync_ctx_fd(c), F_GETFD);
	EXPECT_TRUE(fl >= 0 && !(fl & FD_CLOEXEC));
	EXPECT_EQ(deadline, gosync_ctx_deadline(h));
	ASSERT_NE(NULL, gosync_ctx_done(h));
	EXPECT_EQ(0, gosync_ctx_cancel(h, ENOBUFS));
	EXPECT_EQ(DONE(ECANCELED, ENOBUFS), CTX_STATE(c));
	gosync_ctx_free(c);
	EXPECT_EQ(DONE(ECANCELED, ENOBUFS), CTX_STATE(h));
	EXPECT_EQ(0, gosync_chan_recv(gosync_ctx_done(h), NULL,
				      GOSYNC_NONBLOCK));
	gosync_ctx_free(h);
}

/*
 * Across processes: a forked child reads the context through the handle
 * it inherited (mapped again there) and through its own from the fd,
 * makes a context of its own under it and sleeps on that one's done
 * channel; the parent's cancel reaches it before returning, with the
 * cause.
 */
TEST_F(ctx, cancel_reaches_another_process)
{
	struct gosync_ctx *c;
	int *ready;
	pid_t pid;

	CTX_ANY_MODE();
	ready = test_shared(4096);
	ASSERT_NE(NULL, ready);
	ASSERT_EQ(0, gosync_ctx_make(&c, self->root, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct gosync_ctx *mine, *g;
		struct gosync_chan *done;

		if (gosync_ctx_err(c) || gosync_ctx_cause(c))
			_exit(1);
		if (gosync_ctx_from_fd(&mine, gosync_ctx_fd(c), 0))
			_exit(2);
		if (gosync_ctx_err(mine) ||
		    gosync_ctx_deadline(mine) != GOSYNC_FOREVER)
			_exit(3);
		if (gosync_ctx_make(&g, mine, 0))
			_exit(4);
		done = gosync_ctx_done(g);
		if (!done)
			_exit(5);
		__atomic_store_n(ready, 1, __ATOMIC_RELEASE);
		if (gosync_chan_recv(done, NULL, gosync_after(10 * SEC)) != 0)
			_exit(6);
		if (CTX_STATE(g) != DONE(ECANCELED, EPIPE) ||
		    CTX_STATE(mine) != DONE(ECANCELED, EPIPE) ||
		    CTX_STATE(c) != DONE(ECANCELED, EPIPE))
			_exit(7);
		gosync_ctx_free(g);
		gosync_ctx_free(mine);
		_exit(0);
	}
	EXPECT_TRUE(test_wait_flag(ready, 5000));
	/* Asleep in the receive (or not: the cancel must reach it anyway). */
	test_proc_asleep(pid, 5000);
	EXPECT_EQ(0, gosync_ctx_cancel(c, EPIPE));
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(0, gosync_ctx_err(self->root));
	gosync_ctx_free(c);
	munmap(ready, 4096);
}

/*
 * A tree three levels deep across four processes: the root R and a
 * child B here, A under R made by process 1, G under A made by process
 * 2 from A's fd (passed over SCM_RIGHTS), B watched by process 3.  A
 * cancel of A from here reaches A and G, asleep in two processes; B's
 * watcher sees nothing, R stays live; then a cancel of R reaches B.
 */
TEST_F(ctx, tree_across_four_processes)
{
	struct gosync_ctx *b, *a;
	int sv[2], *sh, afd;
	pid_t p1, p2, p3;

	CTX_ANY_MODE();
	sh = test_shared(4096);	/* [0..2] ready, [5] A cancelled, [3] B seen live, [4] go */
	ASSERT_NE(NULL, sh);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(0, gosync_ctx_make(&b, self->root, 0));
	p1 = fork();
	ASSERT_LE(0, p1);
	if (p1 == 0) {
		struct gosync_ctx *mine;

		if (gosync_ctx_make(&mine, self->root, 0) ||
		    test_send_fd(sv[1], gosync_ctx_fd(mine)) ||
		    !gosync_ctx_done(mine))
			_exit(1);
		__atomic_store_n(&sh[0], 1, __ATOMIC_RELEASE);
		if (gosync_chan_recv(gosync_ctx_done(mine), NULL,
				     gosync_after(20 * SEC)))
			_exit(2);
		_exit(CTX_STATE(mine) == DONE(ECANCELED, ENOLINK) ? 0 : 3);
	}
	afd = test_recv_fd(sv[0]);
	ASSERT_LE(0, afd);
	ASSERT_EQ(0, gosync_ctx_from_fd(&a, afd, GOSYNC_CLOEXEC));
	p2 = fork();
	ASSERT_LE(0, p2);
	if (p2 == 0) {
		struct gosync_ctx *g;

		if (gosync_ctx_make(&g, a, 0) || !gosync_ctx_done(g))
			_exit(1);
		__atomic_store_n(&sh[1], 1, __ATOMIC_RELEASE);
		if (gosync_chan_recv(gosync_ctx_done(g), NULL,
				     gosync_after(20 * SEC)))
			_exit(2);
		_exit(CTX_STATE(g) == DONE(ECANCELED, ENOLINK) ? 0 : 3);
	}
	p3 = fork();
	ASSERT_LE(0, p3);
	if (p3 == 0) {
		struct gosync_chan *done = gosync_ctx_done(b);

		if (!done)
			_exit(1);
		__atomic_store_n(&sh[2], 1, __ATOMIC_RELEASE);
		/* A's cancel has returned (all of it done): nothing for B */
		if (!test_wait_flag(&sh[5], 20000) ||
		    gosync_chan_recv(done, NULL, GOSYNC_NONBLOCK) != -EAGAIN)
			_exit(2);
		__atomic_store_n(&sh[3], 1, __ATOMIC_RELEASE);
		if (!test_wait_flag(&sh[4], 20000) ||
		    gosync_chan_recv(done, NULL, gosync_after(20 * SEC)))
			_exit(3);
		_exit(CTX_STATE(b) == DONE(ECANCELED, ECONNRESET) ? 0 : 4);
	}
	for (int i = 0; i < 3; i++)
		EXPECT_TRUE(test_wait_flag(&sh[i], 10000));
	test_proc_asleep(p1, 5000);
	test_proc_asleep(p2, 5000);
	EXPECT_EQ(0, gosync_ctx_cancel(a, ENOLINK));
	__atomic_store_n(&sh[5], 1, __ATOMIC_RELEASE);
	EXPECT_EQ(0, test_wait(p1));
	EXPECT_EQ(0, test_wait(p2));
	EXPECT_EQ(0, gosync_ctx_err(self->root));
	EXPECT_EQ(0, gosync_ctx_err(b));
	EXPECT_TRUE(test_wait_flag(&sh[3], 10000));
	EXPECT_EQ(0, gosync_ctx_cancel(self->root, ECONNRESET));
	__atomic_store_n(&sh[4], 1, __ATOMIC_RELEASE);
	EXPECT_EQ(0, test_wait(p3));
	/* A was done first: the root's cancel left its cause */
	EXPECT_EQ(DONE(ECANCELED, ENOLINK), CTX_STATE(a));
	gosync_ctx_free(a);
	close(afd);
	gosync_ctx_free(b);
	close(sv[0]);
	close(sv[1]);
	munmap(sh, 4096);
}

/*
 * GOSYNC_CTX_CANCEL_ON_EXIT: a process makes two contexts, one with it,
 * passes their fds here over SCM_RIGHTS and is SIGKILLed.  The one with
 * it is cancelled, cause ESRCH, waking this process asleep on its done
 * channel within 5 s; the one without stays live; a context made under
 * the cancelled one is born done with ESRCH.
 */
TEST_F(ctx, cancel_on_exit_of_a_killed_maker)
{
	struct gosync_ctx *watched, *plain, *k;
	struct gosync_chan *done;
	int sv[2], fd1, fd2;
	pid_t pid;

	CTX_KERNEL_ONLY();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct gosync_ctx *a, *b;

		close(sv[0]);
		if (gosync_ctx_make(&a, NULL, GOSYNC_CTX_CANCEL_ON_EXIT))
			_exit(1);
		if (gosync_ctx_make(&b, NULL, 0))
			_exit(2);
		if (test_send_fd(sv[1], gosync_ctx_fd(a)) ||
		    test_send_fd(sv[1], gosync_ctx_fd(b)))
			_exit(3);
		/* Killed long before (bounded, should the test fail first). */
		test_sleep_ms(30000);
		_exit(4);
	}
	close(sv[1]);
	fd1 = test_recv_fd(sv[0]);
	fd2 = test_recv_fd(sv[0]);
	close(sv[0]);
	ASSERT_LE(0, fd1);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, gosync_ctx_from_fd(&watched, fd1, 0));
	ASSERT_EQ(0, gosync_ctx_from_fd(&plain, fd2, 0));
	close(fd1);
	close(fd2);
	done = gosync_ctx_done(watched);
	ASSERT_NE(NULL, done);
	/* The maker lives: nothing yet. */
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_recv(done, NULL, test_ms(50)));
	EXPECT_EQ(0, gosync_ctx_err(watched));

	ASSERT_EQ(0, kill(pid, SIGKILL));
	EXPECT_EQ(0, gosync_chan_recv(done, NULL, gosync_after(5 * SEC)));
	EXPECT_EQ(DONE(ECANCELED, ESRCH), CTX_STATE(watched));
	EXPECT_EQ(128 + SIGKILL, test_wait(pid));
	EXPECT_EQ(0, gosync_ctx_err(plain));
	EXPECT_EQ(0, gosync_ctx_cause(plain));
	ASSERT_EQ(0, gosync_ctx_make(&k, watched, 0));
	EXPECT_EQ(DONE(ECANCELED, ESRCH), CTX_STATE(k));
	gosync_ctx_free(k);
	gosync_ctx_free(plain);
	gosync_ctx_free(watched);
}

struct canceller {
	struct gosync_ctx *ctx;
	int cause;
	long after_ms;
	int *go;
	int ret;
};

static void *canceller_run(void *arg)
{
	struct canceller *cl = arg;

	if (cl->go)
		while (!__atomic_load_n(cl->go, __ATOMIC_ACQUIRE))
			sched_yield();
	if (cl->after_ms)
		test_sleep_ms(cl->after_ms);
	cl->ret = gosync_ctx_cancel(cl->ctx, cl->cause);
	return NULL;
}

/*
 * The done channel as a receive case of a select among other channels'
 * cases: not ready while live (a value elsewhere fires instead); a
 * cancel from another thread, while the select sleeps, fires it with
 * "closed" (ok 0), and it stays ready.
 */
TEST_F(ctx, select_on_done)
{
	struct canceller cl = { .cause = ETIME, .after_ms = 50 };
	struct gosync_chan *a, *b, *done;
	int64_t va = 0, vb = 0, v = 7;
	struct gosync_ctx *c;
	pthread_t t;

	CTX_ANY_MODE();
	ASSERT_EQ(0, gosync_ctx_make(&c, self->root, 0));
	done = gosync_ctx_done(c);
	ASSERT_NE(NULL, done);
	ASSERT_EQ(0, gosync_chan_make(&a, sizeof(va), 1, variant->flags));
	ASSERT_EQ(0, gosync_chan_make(&b, sizeof(vb), 0, variant->flags));
	struct gosync_case cases[3] = {
		{ .ch = a, .op = GOSYNC_RECV, .elem = &va },
		{ .ch = b, .op = GOSYNC_RECV, .elem = &vb },
		{ .ch = done, .op = GOSYNC_RECV, .elem = NULL, .ok = -1 },
	};

	EXPECT_EQ(-EAGAIN, gosync_select(cases, 3, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_select(cases, 3, test_ms(30)));
	ASSERT_EQ(0, gosync_chan_send(a, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, gosync_select(cases, 3, test_ms(1000)));
	EXPECT_EQ(1, cases[0].ok);
	EXPECT_EQ(7, va);

	cl.ctx = c;
	ASSERT_EQ(0, pthread_create(&t, NULL, canceller_run, &cl));
	EXPECT_EQ(2, gosync_select(cases, 3, gosync_after(5 * SEC)));
	EXPECT_EQ(0, cases[2].ok);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, cl.ret);
	EXPECT_EQ(DONE(ECANCELED, ETIME), CTX_STATE(c));
	cases[2].ok = -1;
	EXPECT_EQ(2, gosync_select(cases, 3, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, cases[2].ok);
	EXPECT_EQ(0, gosync_ctx_err(self->root));
	gosync_chan_free(b);
	gosync_chan_free(a);
	gosync_ctx_free(c);
}

/*
 * Cancels racing from four threads, each through a handle of its own:
 * all return 0, and one cause (one of theirs) is what the context, every
 * handle and a descendant have.
 */
TEST_F(ctx, racing_cancels_one_cause)
{
	struct canceller cl[4];
	struct gosync_ctx *c, *g;
	pthread_t t[4];
	int go = 0, cause;

	CTX_ANY_MODE();
	ASSERT_EQ(0, gosync_ctx_make(&c, self->root, 0));
	ASSERT_EQ(0, gosync_ctx_make(&g, c, 0));
	for (int i = 0; i < 4; i++) {
		cl[i] = (struct canceller){ .cause = 100 + i, .go = &go };
		ASSERT_EQ(0, gosync_ctx_from_fd(&cl[i].ctx, gosync_ctx_fd(c),
						0));
		ASSERT_EQ(0, pthread_create(&t[i], NULL, canceller_run,
					    &cl[i]));
	}
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	cause = gosync_ctx_cause(c);
	EXPECT_TRUE(cause >= 100 && cause < 104) TH_LOG("cause %d", cause);
	for (int i = 0; i < 4; i++) {
		EXPECT_EQ(0, cl[i].ret);
		EXPECT_EQ(DONE(ECANCELED, cause), CTX_STATE(cl[i].ctx));
		gosync_ctx_free(cl[i].ctx);
	}
	EXPECT_EQ(DONE(ECANCELED, cause), CTX_STATE(g));
	gosync_ctx_free(g);
	gosync_ctx_free(c);
}

/*
 * Bad input with the module: causes out of 1..4095 (nothing changes;
 * 4095 and 1 are causes), and fds of other kinds: a channel, a done
 * channel's receive-only end, a waitgroup, a pipe, a memfd (all
 * -EINVAL, the other kinds' from_fd errno); a closed fd (-EBADF).
 */
TEST_F(ctx, bad_input)
{
	struct gosync_ctx *c = NULL, *k1, *k2;
	struct gosync_chan *ch;
	struct gosync_wg *wg;
	int fds[2], memfd;

	CTX_ANY_MODE();
	EXPECT_EQ(-EINVAL, gosync_ctx_cancel(self->root, -1));
	EXPECT_EQ(-EINVAL, gosync_ctx_cancel(self->root, 4096));
	EXPECT_EQ(-EINVAL, gosync_ctx_cancel(self->root, INT_MIN));
	EXPECT_EQ(-EINVAL, gosync_ctx_cancel(self->root, INT_MAX));
	EXPECT_EQ(0, gosync_ctx_err(self->root));
	ASSERT_EQ(0, gosync_ctx_make(&k1, self->root, 0));
	ASSERT_EQ(0, gosync_ctx_make(&k2, self->root, 0));
	EXPECT_EQ(0, gosync_ctx_cancel(k1, 4095));
	EXPECT_EQ(DONE(ECANCELED, 4095), CTX_STATE(k1));
	EXPECT_EQ(0, gosync_ctx_cancel(k2, 1));
	EXPECT_EQ(DONE(ECANCELED, 1), CTX_STATE(k2));
	EXPECT_EQ(0, gosync_ctx_err(self->root));

	ASSERT_EQ(0, gosync_chan_make(&ch, 8, 1, variant->flags));
	EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(&c, gosync_chan_fd(ch), 0));
	ASSERT_NE(NULL, gosync_ctx_done(k1));
	EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(&c,
			gosync_chan_fd(gosync_ctx_done(k1)), 0));
	ASSERT_EQ(0, gosync_wg_make(&wg, variant->flags));
	EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(&c, gosync_wg_fd(wg), 0));
	ASSERT_EQ(0, pipe2(fds, O_CLOEXEC));
	EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(&c, fds[0], 0));
	memfd = memfd_create("ctx-test", MFD_CLOEXEC);
	ASSERT_LE(0, memfd);
	EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(&c, memfd, 0));
	close(memfd);
	close(fds[1]);
	close(fds[0]);
	EXPECT_EQ(-EBADF, gosync_ctx_from_fd(&c, fds[0], 0));
	EXPECT_EQ(-EBADF, gosync_ctx_from_fd(&c, -1, 0));
	EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(&c, gosync_ctx_fd(k1),
					      GOSYNC_NOMAP));
	EXPECT_EQ(-EINVAL, gosync_ctx_make(&c, self->root, GOSYNC_AUTOCLOSE));
	EXPECT_EQ(-EINVAL, gosync_ctx_with_deadline(&c, self->root, -5, 0));
	EXPECT_EQ(NULL, c);
	gosync_wg_free(wg);
	gosync_chan_free(ch);
	gosync_ctx_free(k2);
	gosync_ctx_free(k1);
}

/*
 * Values (gosync_ctx_with_value): inherited, shadowed by a child, absent
 * keys, a buffer too small, an empty value, read in another process that
 * got only the fd; and the limits.
 */
TEST_F(ctx, values)
{
	static char big[GOSYNC_CTX_VAL_MAX + 1];
	struct gosync_ctx *a, *b, *c, *plain, *full;
	char buf[16], key[GOSYNC_CTX_KEY_MAX + 2];
	size_t len;
	int st;
	pid_t pid;

	CTX_ANY_MODE();
	ASSERT_EQ(0, gosync_ctx_with_value(&a, self->root, "request-id", "r-1", 3));
	ASSERT_EQ(0, gosync_ctx_make(&plain, a, 0));
	ASSERT_EQ(0, gosync_ctx_with_value(&b, plain, "trace", "tt", 2));
	ASSERT_EQ(0, gosync_ctx_with_value(&c, b, "request-id", "r-22", 4));
	len = sizeof(buf);
	EXPECT_EQ(-ENOENT, gosync_ctx_value(self->root, "request-id", buf, &len));
	len = sizeof(buf);
	ASSERT_EQ(0, gosync_ctx_value(plain, "request-id", buf, &len));
	EXPECT_EQ(3, len);
	EXPECT_EQ(0, memcmp(buf, "r-1", 3));
	len = sizeof(buf);
	ASSERT_EQ(0, gosync_ctx_value(c, "request-id", buf, &len));
	EXPECT_EQ(4, len);
	EXPECT_EQ(0, memcmp(buf, "r-22", 4));
	len = 2;
	EXPECT_EQ(-ERANGE, gosync_ctx_value(c, "request-id", buf, &len));
	EXPECT_EQ(4, len);
	len = sizeof(buf);
	EXPECT_EQ(-ENOENT, gosync_ctx_value(c, "request", buf, &len));
	EXPECT_EQ(-ENOENT, gosync_ctx_value(a, "trace", buf, &len));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct gosync_ctx *h;

		/* a handle of our own from the fd, and the inherited one */
		if (gosync_ctx_from_fd(&h, gosync_ctx_fd(c), 0))
			_exit(1);
		len = sizeof(buf);
		if (gosync_ctx_value(h, "trace", buf, &len) || len != 2 ||
		    memcmp(buf, "tt", 2))
			_exit(2);
		len = sizeof(buf);
		if (gosync_ctx_value(c, "request-id", buf, &len) || len != 4)
			_exit(3);
		gosync_ctx_free(h);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, st);
	/* bad input */
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = 0;
	EXPECT_EQ(-EINVAL, gosync_ctx_with_value(&full, a, key, "v", 1));
	EXPECT_EQ(-EINVAL, gosync_ctx_with_value(&full, a, "", "v", 1));
	EXPECT_EQ(-EINVAL, gosync_ctx_with_value(&full, a, NULL, "v", 1));
	EXPECT_EQ(-EINVAL, gosync_ctx_with_value(&full, NULL, "k", "v", 1));
	EXPECT_EQ(-EINVAL, gosync_ctx_with_value(&full, a, "k", NULL, 1));
	EXPECT_EQ(-EINVAL, gosync_ctx_with_value(&full, a, "k", big, sizeof(big)));
	EXPECT_EQ(-EINVAL, gosync_ctx_value(a, "k", buf, NULL));
	EXPECT_EQ(-EINVAL, gosync_ctx_value(a, "", buf, &len));
	/* an empty value is a value; the page fills */
	ASSERT_EQ(0, gosync_ctx_with_value(&full, c, "empty", NULL, 0));
	len = 0;
	EXPECT_EQ(0, gosync_ctx_value(full, "empty", NULL, &len));
	EXPECT_EQ(0, len);
	gosync_ctx_free(full);
	ASSERT_EQ(0, gosync_ctx_with_value(&full, c, "big", big, GOSYNC_CTX_VAL_MAX));
	EXPECT_EQ(-E2BIG, gosync_ctx_with_value(&plain, full, "big2", big,
						GOSYNC_CTX_VAL_MAX));
	gosync_ctx_free(full);
	gosync_ctx_free(c);
	gosync_ctx_free(b);
	gosync_ctx_free(plain);
	gosync_ctx_free(a);
}

/* A named root: made, opened read-only elsewhere (watches, cannot cancel). */
TEST_F(ctx, open_by_name)
{
	struct gosync_ctx *mk, *ro, *kid;
	char name[64];
	int r, st;
	pid_t pid;

	CTX_KERNEL_ONLY();
	snprintf(name, sizeof(name), "/ctx-test.%d", getpid());
	r = gosync_ctx_open(&mk, name, O_RDWR | O_CREAT | O_EXCL, 0600,
			    GOSYNC_CLOEXEC);
	if (r == -ENODEV)
		SKIP(return, "no gosync filesystem at $GOSYNC_FS or "
		     GOSYNC_FS_DEFAULT);
	ASSERT_EQ(0, r);
	EXPECT_EQ(FD_CLOEXEC, fcntl(gosync_ctx_fd(mk), F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(GOSYNC_FOREVER, gosync_ctx_deadline(mk));
	EXPECT_EQ(-EEXIST, gosync_ctx_open(&ro, name, O_RDWR | O_CREAT | O_EXCL,
					   0600, 0));
	EXPECT_EQ(-EINVAL, gosync_ctx_open(&ro, name, O_RDONLY, 0,
					   GOSYNC_NOMAP));
	EXPECT_EQ(-EINVAL, gosync_ctx_open(&ro, name, O_WRONLY, 0, 0));
	EXPECT_EQ(-EOPNOTSUPP, gosync_ctx_open(&ro, name, O_RDONLY, 0,
					       GOSYNC_STANDALONE));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct gosync_chan *done;

		if (gosync_ctx_open(&ro, name, O_RDONLY, 0, 0))
			_exit(1);
		if (gosync_ctx_cancel(ro, 0) != -EBADF)
			_exit(2);
		if (gosync_ctx_make(&kid, ro, 0))
			_exit(3);
		done = gosync_ctx_done(kid);
		if (!done || gosync_chan_recv(done, NULL, gosync_after(20 * SEC)))
			_exit(4);
		_exit(CTX_STATE(kid) == DONE(ECANCELED, ENOTCONN) &&
		      CTX_STATE(ro) == DONE(ECANCELED, ENOTCONN) ? 0 : 5);
	}
	usleep(100 * 1000);
	EXPECT_EQ(0, gosync_ctx_cancel(mk, ENOTCONN));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, st) TH_LOG("child status %#x", st);
	EXPECT_EQ(0, gosync_unlink(name));
	EXPECT_EQ(-ENOENT, gosync_ctx_open(&ro, name, O_RDONLY, 0, 0));
	gosync_ctx_free(mk);
}

/* GOSYNC_CLOEXEC: the made context's fd; without it, not. */
TEST_F(ctx, cloexec_flag)
{
	struct gosync_ctx *a, *b;

	CTX_ANY_MODE();
	ASSERT_EQ(0, gosync_ctx_make(&a, self->root, GOSYNC_CLOEXEC));
	ASSERT_EQ(0, gosync_ctx_with_deadline(&b, self->root, gosync_after(SEC), 0));
	EXPECT_EQ(FD_CLOEXEC, fcntl(gosync_ctx_fd(a), F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, fcntl(gosync_ctx_fd(b), F_GETFD) & FD_CLOEXEC);
	gosync_ctx_free(b);
	gosync_ctx_free(a);
}

/* ------------------------------------------------ standalone, adversarial -- */

/* The whole tree file, mapped here as a peer that writes anything would. */
static unsigned char *sa_map_tree(struct __test_metadata *_metadata,
				  struct gosync_ctx *c, size_t *size)
{
	struct stat st;
	void *p;

	EXPECT_EQ(0, fstat(gosync_ctx_fd(c), &st));
	*size = st.st_size;
	p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 gosync_ctx_fd(c), 0);
	EXPECT_NE(MAP_FAILED, p);
	return p == MAP_FAILED ? NULL : p;
}

/* The layout lib/ctx.c writes (struct gosync_ctxs_tree, _node). */
#define SA_OFF_NODES	4096
#define SA_NODE_SIZE	128
#define SA_NODE(base, i) ((base) + SA_OFF_NODES + (size_t)(i) * SA_NODE_SIZE)
#define SA_TREE_NODES_USED	24	/* after the header's 16, max, values_max */
#define SA_TREE_VALUES_USED	28

/* This node's index in its tree: its fd's offset. */
static long sa_index(struct gosync_ctx *c)
{
	return (lseek(gosync_ctx_fd(c), 0, SEEK_CUR) - SA_OFF_NODES) /
	       SA_NODE_SIZE;
}

/* At the step: the cancel's word is set, its wake not done; die there. */
static void die_after_cancel_cas(enum gosync_step step)
{
	if (step == GOSYNC_STEP_CTX_CANCELLED)
		raise(SIGKILL);
}

/*
 * A canceller SIGKILLed between its CAS and its wake (the model's
 * DIE_CP): a process asleep in a select on the done channel of a
 * grandchild still returns, within the 100 ms look, and sees the cause;
 * a receive on the done channel too.
 */
TEST_F(ctx, standalone_canceller_killed_before_its_wake)
{
	struct gosync_ctx *a, *g;
	struct gosync_chan *done;
	pid_t waiter, killer;
	int64_t t0;
	int *ready;

	CTX_ANY_MODE();
	if (variant->kernel)
		SKIP(return, "standalone only: the kernel's cancel is one ioctl");
	ready = test_shared(4096);
	ASSERT_NE(NULL, ready);
	ASSERT_EQ(0, gosync_ctx_make(&a, self->root, 0));
	ASSERT_EQ(0, gosync_ctx_make(&g, a, 0));
	waiter = fork();
	ASSERT_LE(0, waiter);
	if (waiter == 0) {
		int64_t v;
		struct gosync_chan *ch;

		if (gosync_chan_make(&ch, sizeof(v), 0, GOSYNC_STANDALONE))
			_exit(1);
		__atomic_store_n(ready, 1, __ATOMIC_RELEASE);
		/* asleep in a select of the never-ready ch and the done one */
		if (gosync_chan_recv_ctx(ch, &v, g) != -ECANCELED)
			_exit(2);
		done = gosync_ctx_done(g);
		if (!done || gosync_chan_recv(done, NULL, GOSYNC_NONBLOCK) != 0)
			_exit(3);
		_exit(gosync_ctx_cause(g) == ENOTCONN ? 0 : 4);
	}
	EXPECT_TRUE(test_wait_flag(ready, 5000));
	EXPECT_TRUE(test_proc_asleep(waiter, 5000));
	killer = fork();
	ASSERT_LE(0, killer);
	if (killer == 0) {
		gosync_test_set_hook(die_after_cancel_cas);
		gosync_ctx_cancel(self->root, ENOTCONN);
		_exit(9);	/* the hook did not run */
	}
	t0 = gosync_now();
	EXPECT_EQ(128 + SIGKILL, test_wait(killer));
	EXPECT_EQ(0, test_wait(waiter));
	EXPECT_GT(5 * SEC, gosync_now() - t0);
	EXPECT_EQ(DONE(ECANCELED, ENOTCONN), CTX_STATE(g));
	EXPECT_EQ(DONE(ECANCELED, ENOTCONN), CTX_STATE(a));
	gosync_ctx_free(g);
	gosync_ctx_free(a);
	munmap(ready, 4096);
}

/*
 * A select asleep on a done channel whose context only has a deadline
 * (nobody cancels, nobody wakes anyone): it returns at the deadline,
 * with the context's error, in both modes.
 */
TEST_F(ctx, select_wakes_at_the_deadline_alone)
{
	struct gosync_ctx *c;
	struct gosync_chan *ch;
	int64_t v, t0, dl;

	CTX_ANY_MODE();
	dl = test_ms(80);
	ASSERT_EQ(0, gosync_ctx_with_deadline(&c, self->root, dl, 0));
	ASSERT_EQ(0, gosync_chan_make(&ch, sizeof(v), 0, variant->flags));
	t0 = gosync_now();
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_recv_ctx(ch, &v, c));
	EXPECT_LE(dl, gosync_now());
	EXPECT_GT(5 * SEC, gosync_now() - t0);
	EXPECT_EQ(DONE(ETIMEDOUT, ETIMEDOUT), CTX_STATE(c));
	EXPECT_EQ(0, gosync_ctx_err(self->root));
	gosync_chan_free(ch);
	gosync_ctx_free(c);
}

/*
 * A peer that writes anything into the tree file: a parent link that
 * points at itself or forward, garbage state words, value records that
 * run past the file, a depth past the limit, the claim counters at
 * their ends, a node that is not ready.  Nothing crashes or loops; err
 * is one of its three answers; a broken link ends the walk (the node
 * is a root); making more is -ENOSPC or -E2BIG; a handle on an
 * unready node or at a bad offset is -EINVAL.
 */
TEST_F(ctx, standalone_scribbled_tree)
{
	struct gosync_ctx *a, *b, *c, *h;
	unsigned char *t, *na, *nb;
	uint64_t garbage = 0xffffffffffffffffULL;
	char buf[8];
	size_t size, len;
	int err, fd;

	CTX_ANY_MODE();
	if (variant->kernel)
		SKIP(return, "standalone only: a kernel context's page is read-only");
	ASSERT_EQ(0, gosync_ctx_with_value(&a, self->root, "k", "va", 2));
	ASSERT_EQ(0, gosync_ctx_with_value(&b, a, "j", "vb", 2));
	t = sa_map_tree(_metadata, self->root, &size);
	ASSERT_NE(NULL, t);
	na = SA_NODE(t, sa_index(a));
	nb = SA_NODE(t, sa_index(b));

	/* parent links: itself, forward, out of range: b is a root */
	for (uint32_t p = sa_index(b) + 1; p < sa_index(b) + 3; p++) {
		memcpy(nb + 16, &p, 4);
		EXPECT_EQ(0, gosync_ctx_err(b));
		len = sizeof(buf);
		EXPECT_EQ(-ENOENT, gosync_ctx_value(b, "k", buf, &len));
	}
	memcpy(nb + 16, &(uint32_t){ 0xffffffff }, 4);
	EXPECT_EQ(0, gosync_ctx_err(b));
	/* a root's cancel no longer reaches it; put the link back */
	memcpy(nb + 16, &(uint32_t){ sa_index(a) + 1 }, 4);
	len = sizeof(buf);
	EXPECT_EQ(0, gosync_ctx_value(b, "k", buf, &len));
	EXPECT_EQ(2, len);

	/* value records past the end, and longer than their node says */
	memcpy(na + 24, &(uint32_t){ 0xfffffff0 }, 4);
	len = sizeof(buf);
	EXPECT_EQ(-ENOENT, gosync_ctx_value(b, "k", buf, &len));
	memcpy(na + 24, &(uint32_t){ 0 }, 4);
	memcpy(na + 28, &(uint32_t){ 0xffffffff }, 4);
	len = sizeof(buf);
	EXPECT_EQ(-ENOENT, gosync_ctx_value(b, "k", buf, &len));

	/* garbage state in an ancestor: b is done, with a valid answer */
	memcpy(na, &garbage, 8);
	err = gosync_ctx_err(b);
	EXPECT_TRUE(err == -ECANCELED || err == -ETIMEDOUT) TH_LOG("err %d", err);
	EXPECT_LT(0, gosync_ctx_cause(b));
	EXPECT_GE(GOSYNC_CTX_CAUSE_MAX, gosync_ctx_cause(b));
	EXPECT_EQ(err, gosync_ctx_err(b));
	EXPECT_EQ(0, gosync_ctx_err(self->root));

	/* depth and value chain at their limits: -E2BIG */
	memcpy(nb + 36, &(uint32_t){ 0xffffffff }, 4);
	EXPECT_EQ(-E2BIG, gosync_ctx_make(&c, b, 0));
	memcpy(nb + 36, &(uint32_t){ 2 }, 4);
	memcpy(nb + 32, &(uint32_t){ 0xffffff00 }, 4);
	EXPECT_EQ(-E2BIG, gosync_ctx_with_value(&c, b, "x", "y", 1));
	/*
	 * The claim counters at their ends: a long value record has no
	 * room (-ENOSPC, the node it took free again), a short one is in
	 * its node; fresh nodes used up, nodes are reused.
	 */
	memcpy(t + SA_TREE_VALUES_USED, &(uint32_t){ 0xfffffffe }, 4);
	memcpy(nb + 32, &(uint32_t){ 0 }, 4);
	{
		static char longval[200];

		EXPECT_EQ(-ENOSPC, gosync_ctx_with_value(&c, self->root, "x",
							 longval,
							 sizeof(longval)));
	}
	ASSERT_EQ(0, gosync_ctx_with_value(&c, self->root, "x", "y", 1));
	len = sizeof(buf);
	EXPECT_EQ(0, gosync_ctx_value(c, "x", buf, &len));
	gosync_ctx_free(c);
	memcpy(t + SA_TREE_NODES_USED, &(uint32_t){ 65536 }, 4);
	ASSERT_EQ(0, gosync_ctx_make(&c, self->root, 0));
	gosync_ctx_free(c);
	memcpy(t + SA_TREE_NODES_USED, &(uint32_t){ 0xffffffff }, 4);
	ASSERT_EQ(0, gosync_ctx_make(&c, self->root, 0));
	gosync_ctx_free(c);

	/* a node not ready, an offset between nodes or past them: -EINVAL */
	memcpy(nb + 20, &(uint32_t){ 0 }, 4);
	EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(&h, gosync_ctx_fd(b), 0));
	fd = dup(gosync_ctx_fd(self->root));
	ASSERT_LE(0, fd);
	EXPECT_EQ(SA_OFF_NODES + 1, lseek(fd, SA_OFF_NODES + 1, SEEK_SET));
	EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(&h, fd, 0));
	lseek(fd, SA_OFF_NODES + 65536L * SA_NODE_SIZE, SEEK_SET);
	EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(&h, fd, 0));
	lseek(fd, 0, SEEK_SET);
	EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(&h, fd, 0));
	/* the root's own offset again: it works */
	lseek(fd, SA_OFF_NODES, SEEK_SET);
	EXPECT_EQ(0, gosync_ctx_from_fd(&h, fd, 0));
	gosync_ctx_free(h);
	close(fd);
	/* a broken header: not a tree any more */
	memcpy(t, &(uint32_t){ 0 }, 4);
	EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(&h, gosync_ctx_fd(a), 0));
	memcpy(t, &(uint32_t){ GOSYNC_SYNC_MAGIC }, 4);
	/* a cancel still works for the handles made before */
	EXPECT_EQ(0, gosync_ctx_cancel(self->root, EPIPE));
	EXPECT_EQ(DONE(ECANCELED, EPIPE), CTX_STATE(self->root));
	munmap(t, size);
	gosync_ctx_free(b);
	gosync_ctx_free(a);
}

/* F_OFD_GETLK: does a description other than @fd's hold node @i? */
static bool sa_node_held(int fd, long i)
{
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			   .l_start = SA_OFF_NODES + i * SA_NODE_SIZE,
			   .l_len = 1 };

	return !fcntl(fd, F_OFD_GETLK, &l) && l.l_type != F_UNLCK;
}

/*
 * Nodes are reused, and only when nothing can reach them: not while a
 * handle, a raw copy of a freed handle's fd, a child (whose chain walks
 * through it) or a forked process's inherited handle holds one; at once
 * after its holder was SIGKILLed.  With every node held, -ENOSPC; more
 * children than the tree has nodes, made and freed one after another,
 * all succeed.
 */
TEST_F(ctx, standalone_nodes_reused_only_when_unreachable)
{
	struct gosync_ctx *a, *b, *c, *g;
	long ia, ib, ig;
	int raw, probe, *sh;
	pid_t pid;

	CTX_ANY_MODE();
	if (variant->kernel)
		SKIP(return, "standalone only: kernel contexts are kernel objects");
	sh = test_shared(4096);
	ASSERT_NE(NULL, sh);
	{
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d",
			 gosync_ctx_fd(self->root));
		probe = open(path, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, probe);
	}
	ASSERT_EQ(0, gosync_ctx_make(&a, self->root, 0));
	ASSERT_EQ(0, gosync_ctx_make(&b, self->root, 0));
	ASSERT_EQ(0, gosync_ctx_make(&g, a, 0));
	ia = sa_index(a);
	ib = sa_index(b);
	ig = sa_index(g);
	EXPECT_TRUE(sa_node_held(probe, ia));
	EXPECT_TRUE(sa_node_held(probe, 0));

	/*
	 * A raw fd of a freed handle keeps b's node (its lock); a's child
	 * keeps a's (a's children count, with a's lock gone): with the
	 * fresh nodes used up, hundreds of children made and freed (every
	 * one a reuse) never get either node.
	 */
	raw = dup(gosync_ctx_fd(b));
	ASSERT_LE(0, raw);
	gosync_ctx_free(b);
	gosync_ctx_free(a);
	EXPECT_TRUE(sa_node_held(probe, ib));
	EXPECT_FALSE(sa_node_held(probe, ia));
	{
		size_t size;
		unsigned char *t = sa_map_tree(_metadata, self->root, &size);
		uint32_t kids;

		ASSERT_NE(NULL, t);
		memcpy(&kids, SA_NODE(t, ia) + 40, 4);
		EXPECT_EQ(1, kids);
		memcpy(t + SA_TREE_NODES_USED, &(uint32_t){ 65536 }, 4);
		munmap(t, size);
	}
	for (int k = 0; k < 300; k++) {
		ASSERT_EQ(0, gosync_ctx_make(&c, self->root, 0));
		EXPECT_NE(ia, sa_index(c));
		EXPECT_NE(ib, sa_index(c));
		EXPECT_NE(ig, sa_index(c));
		gosync_ctx_free(c);
	}
	EXPECT_EQ(0, gosync_ctx_err(g));
	close(raw);
	EXPECT_FALSE(sa_node_held(probe, ib));
	gosync_ctx_free(g);
	EXPECT_FALSE(sa_node_held(probe, ig));

	/* a forked process's inherited handle holds; its death frees */
	ASSERT_EQ(0, gosync_ctx_make(&c, self->root, 0));
	ia = sa_index(c);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__atomic_store_n(sh, 1, __ATOMIC_RELEASE);
		pause();
		_exit(0);
	}
	EXPECT_TRUE(test_wait_flag(sh, 5000));
	gosync_ctx_free(c);
	EXPECT_TRUE(sa_node_held(probe, ia));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, test_wait(pid));
	EXPECT_FALSE(sa_node_held(probe, ia));

	/*
	 * A long run of held nodes (5000, past any bound a scan might
	 * have) with free ones after it: a make finds one, and a failed
	 * from_fd leaves no lock behind on the caller's fd.
	 */
	{
		struct flock l = { .l_type = F_RDLCK, .l_whence = SEEK_SET,
				   .l_start = SA_OFF_NODES,
				   .l_len = 5000L * SA_NODE_SIZE };
		size_t size;
		unsigned char *t = sa_map_tree(_metadata, self->root, &size);
		int run, moved;

		ASSERT_NE(NULL, t);
		run = dup(probe);
		ASSERT_LE(0, run);
		close(probe);
		{
			char path[64];

			snprintf(path, sizeof(path), "/proc/self/fd/%d", run);
			probe = open(path, O_RDWR | O_CLOEXEC);
			ASSERT_LE(0, probe);
		}
		memcpy(t + SA_TREE_NODES_USED, &(uint32_t){ 65536 }, 4);
		memcpy(t + 48, &(uint32_t){ 0 }, 4);	/* the scan cursor */
		ASSERT_EQ(0, fcntl(run, F_OFD_SETLK, &l));
		ASSERT_EQ(0, gosync_ctx_make(&c, self->root, 0));
		EXPECT_LE(5000, sa_index(c));
		gosync_ctx_free(c);
		close(run);
		/* an fd moved to a node not ready: -EINVAL, and no lock left */
		moved = dup(gosync_ctx_fd(self->root));
		ASSERT_LE(0, moved);
		lseek(moved, SA_OFF_NODES + 60000L * SA_NODE_SIZE, SEEK_SET);
		EXPECT_EQ(-EINVAL, gosync_ctx_from_fd(&c, moved, 0));
		EXPECT_FALSE(sa_node_held(probe, 60000));
		close(moved);
		munmap(t, size);
	}

	/* every node held (one lock over them all): -ENOSPC */
	{
		struct flock l = { .l_type = F_RDLCK, .l_whence = SEEK_SET,
				   .l_start = SA_OFF_NODES,
				   .l_len = 65536L * SA_NODE_SIZE };
		int all = dup(probe);

		ASSERT_LE(0, all);
		close(probe);
		{
			char path[64];

			snprintf(path, sizeof(path), "/proc/self/fd/%d", all);
			probe = open(path, O_RDWR | O_CLOEXEC);
		}
		ASSERT_EQ(0, fcntl(all, F_OFD_SETLK, &l));
		EXPECT_EQ(-ENOSPC, gosync_ctx_make(&c, self->root, 0));
		close(all);
	}
	/*
	 * More children than nodes, one after another: all made.  The
	 * fresh ones are mostly used up first (a peer's write, as any of
	 * them could make), so the loop is short and crosses the end.
	 */
	{
		size_t size;
		unsigned char *t = sa_map_tree(_metadata, self->root, &size);

		ASSERT_NE(NULL, t);
		memcpy(t + SA_TREE_NODES_USED, &(uint32_t){ 65536 - 50 }, 4);
		munmap(t, size);
	}
	for (long k = 0; k < 500; k++) {
		int r = gosync_ctx_make(&c, self->root, 0);

		ASSERT_EQ(0, r) TH_LOG("child %ld: %s", k, strerror(-r));
		gosync_ctx_free(c);
	}
	close(probe);
	munmap(sh, 4096);
}

/*
 * Threads racing on one standalone tree: 4 threads each make, look at
 * and free children under one parent while the main thread cancels the
 * parent; every child made before the cancel returned reports the
 * parent's cause, none made after is live, and nothing leaks an fd.
 */
/* Open fds of this process. */
static int test_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

struct sa_racer {
	struct gosync_ctx *parent;
	int *stop;
	int bad;
	long made;
};

static void *sa_race(void *arg)
{
	struct sa_racer *r = arg;

	while (!__atomic_load_n(r->stop, __ATOMIC_ACQUIRE)) {
		struct gosync_ctx *c;
		bool was_done = gosync_ctx_err(r->parent) != 0;

		if (gosync_ctx_make(&c, r->parent, 0)) {
			r->bad++;
			break;
		}
		r->made++;
		if (was_done && gosync_ctx_cause(c) != EPIPE)
			r->bad++;
		gosync_ctx_free(c);
	}
	return NULL;
}

TEST_F(ctx, standalone_racing_makes_and_a_cancel)
{
	struct sa_racer r[4];
	struct gosync_ctx *p;
	pthread_t t[4];
	int stop = 0, fds_before, fds_after;

	CTX_ANY_MODE();
	fds_before = test_count_fds();
	ASSERT_EQ(0, gosync_ctx_make(&p, self->root, 0));
	for (int i = 0; i < 4; i++) {
		r[i] = (struct sa_racer){ .parent = p, .stop = &stop };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, sa_race, &r[i]));
	}
	test_sleep_ms(30);
	EXPECT_EQ(0, gosync_ctx_cancel(p, EPIPE));
	test_sleep_ms(30);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(t[i], NULL));
		EXPECT_EQ(0, r[i].bad);
		EXPECT_LT(0, r[i].made);
	}
	EXPECT_EQ(DONE(ECANCELED, EPIPE), CTX_STATE(p));
	EXPECT_EQ(0, gosync_ctx_err(self->root));
	gosync_ctx_free(p);
	fds_after = test_count_fds();
	EXPECT_EQ(fds_before, fds_after);
}

TEST_HARNESS_MAIN
