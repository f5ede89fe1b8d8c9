// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * RWMutex in both modes: readers together, a writer alone, a waiting
 * writer keeps new readers out (Go's writer preference), EPERM for an
 * unlock of what is not held, deadlines, and readers and writers in
 * several processes keeping a shared invariant.  In kernel mode, a writer
 * that dies holding it: readers blocked with no deadline are told
 * (EOWNERDEAD, not holding it) instead of waiting for ever, and the next
 * writer recovers it.
 */
#include <sched.h>

#include "kselftest_harness.h"
#include "chan_test.h"

FIXTURE(rw) {
	struct gosync_rwmutex *rw;
	long *shared;
};

FIXTURE_VARIANT(rw) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_SYNC_MODES(rw);

FIXTURE_SETUP(rw)
{
	self->rw = NULL;
	self->shared = test_shared(4096);
	ASSERT_NE(NULL, self->shared);
	GOSYNC_MAKE_SYNC(gosync_rwmutex_make, &self->rw);
}

FIXTURE_TEARDOWN(rw)
{
	gosync_rwmutex_free(self->rw);
	munmap(self->shared, 4096);
}

TEST_F(rw, readers_together_writer_alone)
{
	EXPECT_EQ(-EPERM, gosync_rwmutex_runlock(self->rw));
	EXPECT_EQ(-EPERM, gosync_rwmutex_unlock(self->rw));
	EXPECT_EQ(0, gosync_rwmutex_rlock(self->rw, GOSYNC_FOREVER));
	EXPECT_EQ(0, gosync_rwmutex_tryrlock(self->rw));
	EXPECT_EQ(-EBUSY, gosync_rwmutex_trylock(self->rw));
	EXPECT_EQ(-ETIMEDOUT, gosync_rwmutex_lock(self->rw, test_ms(30)));
	/* The failed writer let readers in again. */
	EXPECT_EQ(0, gosync_rwmutex_tryrlock(self->rw));
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(0, gosync_rwmutex_runlock(self->rw));
	EXPECT_EQ(-EPERM, gosync_rwmutex_runlock(self->rw));
	EXPECT_EQ(0, gosync_rwmutex_lock(self->rw, GOSYNC_FOREVER));
	EXPECT_EQ(-EBUSY, gosync_rwmutex_tryrlock(self->rw));
	EXPECT_EQ(-EBUSY, gosync_rwmutex_trylock(self->rw));
	EXPECT_EQ(-ETIMEDOUT, gosync_rwmutex_rlock(self->rw, test_ms(30)));
	EXPECT_EQ(0, gosync_rwmutex_unlock(self->rw));
	EXPECT_EQ(-EPERM, gosync_rwmutex_unlock(self->rw));
	EXPECT_EQ(0, gosync_rwmutex_trylock(self->rw));
	EXPECT_EQ(0, gosync_rwmutex_unlock(self->rw));
}

/* A writer waiting for readers keeps new readers out, then gets in. */
TEST_F(rw, waiting_writer_blocks_new_readers)
{
	long *in = &self->shared[0];
	pid_t writer;

	ASSERT_EQ(0, gosync_rwmutex_rlock(self->rw, GOSYNC_FOREVER));
	writer = fork();
	ASSERT_LE(0, writer);
	if (writer == 0) {
		if (gosync_rwmutex_lock(self->rw, test_ms(20000)))
			_exit(1);
		__atomic_store_n(in, 1, __ATOMIC_SEQ_CST);
		test_sleep_ms(50);
		__atomic_store_n(in, 2, __ATOMIC_SEQ_CST);
		_exit(gosync_rwmutex_unlock(self->rw) ? 2 : 0);
	}
	test_sleep_ms(100);
	/* The writer waits on us; a new reader must not slip in. */
	EXPECT_EQ(-EBUSY, gosync_rwmutex_tryrlock(self->rw));
	EXPECT_EQ(0, __atomic_load_n(in, __ATOMIC_SEQ_CST));
	EXPECT_EQ(0, gosync_rwmutex_runlock(self->rw));
	/* Now a reader waits for the writer to finish. */
	EXPECT_EQ(0, gosync_rwmutex_rlock(self->rw, test_ms(20000)));
	EXPECT_EQ(2, __atomic_load_n(in, __ATOMIC_SEQ_CST));
	EXPECT_EQ(0, gosync_rwmutex_runlock(self->rw));
	EXPECT_EQ(0, test_wait(writer));
}

/* Writers keep a == b under the lock; readers never see them differ. */
TEST_F_TIMEOUT(rw, invariant_across_processes, 300)
{
	volatile long *a = &self->shared[0], *b = &self->shared[1];
	long *torn = &self->shared[2];
	pid_t pid[6];

	for (int p = 0; p < 6; p++) {
		pid[p] = fork();
		ASSERT_LE(0, pid[p]);
		if (pid[p] == 0) {
			for (int i = 0; i < 500; i++) {
				if (p < 2) {
					if (gosync_rwmutex_lock(self->rw, test_ms(60000)))
						_exit(1);
					*a = *a + 1;
					if (i % 8 == 0)
						sched_yield();
					*b = *b + 1;
					if (gosync_rwmutex_unlock(self->rw))
						_exit(2);
				} else {
					if (gosync_rwmutex_rlock(self->rw, test_ms(60000)))
						_exit(3);
					if (*a != *b)
						__atomic_add_fetch(torn, 1, __ATOMIC_SEQ_CST);
					if (gosync_rwmutex_runlock(self->rw))
						_exit(4);
				}
			}
			_exit(0);
		}
	}
	for (int p = 0; p < 6; p++)
		EXPECT_EQ(0, test_wait(pid[p]));
	EXPECT_EQ(0, *torn);
	EXPECT_EQ(1000, *a);
	EXPECT_EQ(1000, *b);
}

#ifndef GOSYNC_TEST_HOST
TEST_F_TIMEOUT(rw, writer_dies_readers_are_told, 60)
{
	int *r = (int *)self->shared;
	pid_t writer, reader;

	if (!variant->kernel)
		SKIP(return, "owner death needs the module");
	writer = fork();
	ASSERT_LE(0, writer);
	if (writer == 0) {
		if (gosync_rwmutex_lock(self->rw, GOSYNC_FOREVER))
			_exit(1);
		test_sleep_ms(300);
		_exit(0);	/* dies holding it */
	}
	test_sleep_ms(100);
	reader = fork();
	ASSERT_LE(0, reader);
	if (reader == 0) {
		int64_t start = gosync_now();

		r[0] = gosync_rwmutex_rlock(self->rw, GOSYNC_FOREVER);
		r[1] = (gosync_now() - start) / 1000000;
		_exit(0);
	}
	EXPECT_EQ(0, test_wait(writer));
	/* Blocked with no deadline: it must come back by itself. */
	for (int i = 0; i < 500 && waitpid(reader, NULL, WNOHANG) == 0; i++)
		test_sleep_ms(10);
	if (kill(reader, 0) == 0) {
		kill(reader, SIGKILL);
		waitpid(reader, NULL, 0);
		EXPECT_TRUE(false) TH_LOG("a reader still waits for a dead writer");
	} else {
		EXPECT_EQ(-EOWNERDEAD, r[0]);
	}
	/* Not held by the reader: tryrlock says the same; a writer recovers. */
	EXPECT_EQ(-EOWNERDEAD, gosync_rwmutex_tryrlock(self->rw));
	EXPECT_EQ(-EOWNERDEAD, gosync_rwmutex_lock(self->rw, test_ms(5000)));
	EXPECT_EQ(0, gosync_rwmutex_consistent(self->rw));
	EXPECT_EQ(0, gosync_rwmutex_unlock(self->rw));
	EXPECT_EQ(0, gosync_rwmutex_rlock(self->rw, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, gosync_rwmutex_runlock(self->rw));

	/* Once more, and now unlocked unrepaired: nobody gets in again. */
	writer = fork();
	ASSERT_LE(0, writer);
	if (writer == 0)
		_exit(gosync_rwmutex_lock(self->rw, GOSYNC_FOREVER) ? 1 : 0);
	EXPECT_EQ(0, test_wait(writer));
	EXPECT_EQ(-EOWNERDEAD, gosync_rwmutex_lock(self->rw, test_ms(5000)));
	EXPECT_EQ(0, gosync_rwmutex_unlock(self->rw));
	EXPECT_EQ(-ENOTRECOVERABLE, gosync_rwmutex_tryrlock(self->rw));
	EXPECT_EQ(-ENOTRECOVERABLE, gosync_rwmutex_rlock(self->rw, test_ms(100)));
	EXPECT_EQ(-ENOTRECOVERABLE, gosync_rwmutex_lock(self->rw, test_ms(100)));
}
#endif

TEST_HARNESS_MAIN
