// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * What one user may pin, per the module parameters max_obj_bytes,
 * max_user_bytes and max_user_objects: exceeding a limit is ENOMEM or
 * EMFILE, freeing gives the room back, and one user's limit is not
 * another's.  Queued io_uring commands (each holds a copy of its element
 * in the kernel) are charged too, and given back when they complete.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "gosync_test.h"
#include "chan_test.h"
#include "gosync_uring.h"

#define PARAMS	"/sys/module/gosync/parameters/"

static long param_get(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int param_set(const char *name, long v)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ret = fprintf(f, "%ld\n", v) > 0 ? 0 : -1;
	return fclose(f) ? -1 : ret;
}

FIXTURE(lim) {
	long obj_bytes, user_bytes, user_objects;
};

FIXTURE_SETUP(lim)
{
	self->obj_bytes = param_get("max_obj_bytes");
	self->user_bytes = param_get("max_user_bytes");
	self->user_objects = param_get("max_user_objects");
	if (self->obj_bytes < 0)
		SKIP(return, "gosync.ko not loaded");
	ASSERT_LT(0, self->user_bytes);
	ASSERT_LT(0, self->user_objects);
}

FIXTURE_TEARDOWN(lim)
{
	if (self->obj_bytes < 0)
		return;
	param_set("max_obj_bytes", self->obj_bytes);
	param_set("max_user_bytes", self->user_bytes);
	param_set("max_user_objects", self->user_objects);
}

TEST_F(lim, documented_defaults)
{
	EXPECT_EQ(64L << 20, self->obj_bytes);
	EXPECT_EQ(256L << 20, self->user_bytes);
	EXPECT_EQ(1024, self->user_objects);
}

TEST_F(lim, objects_per_user_emfile)
{
	struct gosync_chan *c[4];

	ASSERT_EQ(0, param_set("max_user_objects", 3));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, gosync_chan_make(&c[i], 8, 1, 0));
	EXPECT_EQ(-EMFILE, gosync_chan_make(&c[3], 8, 1, 0));
	gosync_chan_free(c[0]);
	EXPECT_EQ(0, gosync_chan_make(&c[0], 8, 1, 0));
	EXPECT_EQ(-EMFILE, gosync_chan_make(&c[3], 8, 1, 0));
	for (int i = 0; i < 3; i++)
		gosync_chan_free(c[i]);
}

/* An object stays charged while only a mapping of it is left. */
TEST_F(lim, mapping_keeps_the_charge)
{
	struct gosync_chan *c, *d;

	ASSERT_EQ(0, param_set("max_user_objects", 1));
	ASSERT_EQ(0, gosync_chan_make(&c, 8, 1, 0));
	/* Free the handle but keep a raw mapping of it. */
	int fd = dup(gosync_chan_fd(c));
	void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);

	ASSERT_NE(MAP_FAILED, m);
	close(fd);
	gosync_chan_free(c);
	EXPECT_EQ(-EMFILE, gosync_chan_make(&d, 8, 1, 0));
	munmap(m, 4096);
	EXPECT_EQ(0, gosync_chan_make(&d, 8, 1, 0));
	gosync_chan_free(d);
}

TEST_F(lim, bytes_per_object_and_per_user_enomem)
{
	struct gosync_chan *a, *b, *c;

	ASSERT_EQ(0, param_set("max_obj_bytes", 64 << 10));
	/* 8-byte elements take 16-byte slots: 8192 of them pass 64 KiB. */
	EXPECT_EQ(-ENOMEM, gosync_chan_make(&a, 8, 8192, 0));
	ASSERT_EQ(0, gosync_chan_make(&a, 8, 2048, 0));	/* 36 KiB */

	ASSERT_EQ(0, param_set("max_user_bytes", 80 << 10));
	ASSERT_EQ(0, gosync_chan_make(&b, 8, 2048, 0));
	EXPECT_EQ(-ENOMEM, gosync_chan_make(&c, 8, 2048, 0));
	EXPECT_EQ(0, gosync_chan_make(&c, 8, 64, 0));	/* one page fits */
	gosync_chan_free(c);
	gosync_chan_free(a);
	EXPECT_EQ(0, gosync_chan_make(&c, 8, 2048, 0));
	gosync_chan_free(c);
	gosync_chan_free(b);
}

/* root at its limit does not stop another user. */
TEST_F(lim, limits_are_per_user)
{
	struct gosync_chan *c;
	pid_t pid;

	ASSERT_EQ(0, param_set("max_user_objects", 1));
	ASSERT_EQ(0, gosync_chan_make(&c, 8, 1, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct gosync_chan *mine, *more;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		if (gosync_chan_make(&mine, 8, 1, 0))
			_exit(3);
		_exit(gosync_chan_make(&more, 8, 1, 0) == -EMFILE ? 0 : 4);
	}
	EXPECT_EQ(0, test_wait(pid));
	gosync_chan_free(c);
}

/* Parameters are root's: another user cannot raise them. */
TEST_F(lim, parameters_are_root_only)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(param_set("max_user_objects", 100000) ? 0 : 1);
	}
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(self->user_objects, param_get("max_user_objects"));
}

/*
 * 64 queued receives of 60 KiB elements hold 3.75 MiB of kernel memory: the
 * user is charged for it while they are queued, a command that would pass
 * max_user_bytes fails with ENOMEM, and completing them gives it back.
 */
TEST_F_TIMEOUT(lim, queued_uring_commands_are_charged, 120)
{
	enum { N = 64, ELEM = 60 << 10 };
	unsigned long objs, base, queued, after;
	struct gosync_chan *c;
	struct io_uring ring;
	struct __kernel_timespec ts = { .tv_sec = 10 };
	struct io_uring_cqe *cqe;
	char *buf = malloc((size_t)(N + 8) * ELEM);
	int enomem = 0;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, gosync_chan_make(&c, ELEM, 1, 0));
	ASSERT_EQ(0, io_uring_queue_init(2 * N, &ring, 0));
	if (gosync_test_charged(&objs, &base))
		SKIP(return, "no debugfs gosync/limits");
	for (int i = 0; i < N; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		ASSERT_EQ(0, gosync_prep_recv(sqe, c, buf + (size_t)i * ELEM,
					      GOSYNC_FOREVER));
		io_uring_sqe_set_data64(sqe, i);
	}
	ASSERT_EQ(N, io_uring_submit(&ring));
	ASSERT_EQ(0, gosync_test_charged(&objs, &queued));
	EXPECT_LE(base + (unsigned long)N * ELEM, queued)
		TH_LOG("%d queued 60 KiB receives charged %lu bytes", N,
		       queued - base);
	/* No room for more than a few: the next commands fail, ENOMEM. */
	ASSERT_EQ(0, param_set("max_user_bytes", queued + 2 * ELEM + 4096));
	for (int i = 0; i < 8; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		ASSERT_EQ(0, gosync_prep_recv(sqe, c, buf + (size_t)(N + i) * ELEM,
					      GOSYNC_FOREVER));
		io_uring_sqe_set_data64(sqe, N + i);
	}
	ASSERT_EQ(8, io_uring_submit(&ring));
	while (io_uring_wait_cqe_timeout(&ring, &cqe,
					 &(struct __kernel_timespec){ .tv_nsec = 200000000 }) == 0) {
		if (cqe->res == -ENOMEM)
			enomem++;
		io_uring_cqe_seen(&ring, cqe);
	}
	EXPECT_LE(6, enomem);
	/* Closing completes them all; the charge comes back. */
	ASSERT_EQ(0, gosync_chan_close(c));
	for (int i = 0; i < N + 8 - enomem; i++) {
		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
		EXPECT_EQ(0, cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
	ASSERT_EQ(0, gosync_test_charged(&objs, &after));
	EXPECT_EQ(base, after);
	gosync_chan_free(c);
	free(buf);
}

TEST_HARNESS_MAIN
