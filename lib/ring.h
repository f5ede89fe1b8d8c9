/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * libgosync: the library's instance of the channel ring
 * (common/gosync_ring.h, whose head comment draws the barrier pairs A-D
 * and G that these accessors implement on the userspace side).  C11
 * atomics on the words of the shared mapping; the kernel's side uses
 * smp_load_acquire()/smp_store_release()/cmpxchg() on the same words.
 */
#ifndef GOSYNC_LIB_RING_H
#define GOSYNC_LIB_RING_H

#include <errno.h>
#include <string.h>
#include <linux/types.h>

#include "hooks.h"

static inline int gosync_cas64(__u64 *p, __u64 old, __u64 new_val)
{
	/* Fully ordered, as the kernel's cmpxchg(). */
	return __atomic_compare_exchange_n(p, &old, new_val, 0,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

#define GOSYNC_LOAD(p)			__atomic_load_n((p), __ATOMIC_RELAXED)
/* B and C: pair with D and A */
#define GOSYNC_LOAD_ACQUIRE(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
/* A and D: pair with C and B */
#define GOSYNC_STORE_RELEASE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define GOSYNC_CAS(p, old, new)		gosync_cas64((p), (old), (new))
#define GOSYNC_COPY(dst, src, n)	memcpy((dst), (src), (n))
/* A test build's hook between shared-word updates (lib/hooks.h). */
#define GOSYNC_RING_STEP(step)		gosync_step(step)

#include "gosync_ring.h"

/*
 * The full barrier of the wake protocol (E and F in lib/chan.c).  TSan
 * rejects a bare seq_cst fence; its builds use a seq_cst RMW on a
 * thread-private word, a full barrier on x86 as well.
 */
static inline void gosync_smp_mb(void)
{
#ifdef __SANITIZE_THREAD__
	static __thread int gosync_mb_word;

	__atomic_fetch_add(&gosync_mb_word, 0, __ATOMIC_SEQ_CST);
#elif defined(__x86_64__)
	/* A locked RMW on the stack: as full as mfence, and cheaper (the
	 * kernel's smp_mb() on x86-64 is the same instruction). */
	__asm__ __volatile__("lock; addl $0,-4(%%rsp)" ::: "memory", "cc");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* A pause for spin loops. */
static inline void gosync_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

#endif /* GOSYNC_LIB_RING_H */
