/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * libgosync: named steps of the shared-memory protocols, where a test
 * build of the library (GOSYNC_TEST_HOOKS) calls the test's hook, so a
 * test can kill a process, or hold a thread, at exactly that point.
 * In the library that is installed these compile to nothing.
 *
 * The ring's steps (common/gosync_ring.h calls GOSYNC_RING_STEP) are the
 * points between the shared-word updates of one operation; the others
 * are the library's own, between a ring operation and its wake, and
 * inside the sync objects' waits.
 */
#ifndef GOSYNC_LIB_HOOKS_H
#define GOSYNC_LIB_HOOKS_H

enum gosync_step {
	/* common/gosync_ring.h */
	GOSYNC_STEP_SEND_CLAIMED,	/* slot WRITING(p), tail still p */
	GOSYNC_STEP_SEND_TAIL,		/* tail moved past p, element not copied */
	GOSYNC_STEP_SEND_COPIED,	/* element copied, not yet published */
	GOSYNC_STEP_RECV_CLAIMED,	/* slot READING(h), head still h */
	GOSYNC_STEP_RECV_HEAD,		/* head moved past h, not yet copied */
	GOSYNC_STEP_RECV_COPIED,	/* copied out, slot not yet freed */
	GOSYNC_STEP_WITHDRAWN,		/* SYNC(p) -> SKIP(p), head not passed */
	/* lib/chan.c */
	GOSYNC_STEP_SEND_DONE,		/* published, waiters not yet woken */
	GOSYNC_STEP_RECV_DONE,		/* slot freed, senders not yet woken */
	GOSYNC_STEP_ARMED,		/* a side armed (F), not yet retried */
	/* lib/mutex.c */
	GOSYNC_STEP_MUTEX_LOOP,		/* a blocked locker, before loading the state */
	GOSYNC_STEP_MUTEX_SLEEP,	/* a blocked locker, about to FUTEX_WAIT */
	GOSYNC_STEP_MUTEX_HANDOFF_MISSED, /* unlock's hand-off woke nobody */
	/* lib/wg.c */
	GOSYNC_STEP_WG_COUNTED,		/* a waiter counted in, not yet asleep */
	GOSYNC_STEP_WG_GIVING_UP,	/* a waiter's wait ended unreleased */
	GOSYNC_STEP_WG_ZEROED,		/* the counter reset, waiters not yet woken */
	/* lib/ctx.c */
	GOSYNC_STEP_CTX_CANCELLED,	/* a standalone cancel set its word, no wake yet */
	GOSYNC_STEP_MAX
};

#ifdef GOSYNC_TEST_HOOKS
/* Set by a test; called at every step, from every thread. */
extern void (*gosync_test_hook)(enum gosync_step step);

static inline void gosync_test_set_hook(void (*hook)(enum gosync_step step))
{
	__atomic_store_n(&gosync_test_hook, hook, __ATOMIC_SEQ_CST);
}

static inline void gosync_step(enum gosync_step step)
{
	void (*hook)(enum gosync_step) =
		__atomic_load_n(&gosync_test_hook, __ATOMIC_ACQUIRE);

	if (hook)
		hook(step);
}
#else
static inline void gosync_step(enum gosync_step step)
{
	(void)step;
}
#endif

#endif /* GOSYNC_LIB_HOOKS_H */
