/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gosync: the kernel's instance of the channel ring (common/gosync_ring.h, whose
 * head comment draws the barrier pairs A-D and G).  The shared words are
 * reached through the module's vmap of the region; they are plain kernel
 * addresses, not __user, but every value read from them is untrusted.
 */
#ifndef _GOSYNC_RING_H
#define _GOSYNC_RING_H

#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/string.h>

static inline int gosync_cas64(__u64 *p, __u64 old, __u64 new)
{
	return try_cmpxchg64(p, &old, new);	/* fully ordered */
}

/* The barrier pairs these serve are drawn in common/gosync_ring.h. */
#define GOSYNC_LOAD(p)			READ_ONCE(*(p))
/* B and C: pair with D and A */
#define GOSYNC_LOAD_ACQUIRE(p)		smp_load_acquire(p)
/* A and D: pair with C and B */
#define GOSYNC_STORE_RELEASE(p, v)	smp_store_release((p), (v))
#define GOSYNC_CAS(p, old, new)		gosync_cas64((p), (old), (new))
#define GOSYNC_COPY(dst, src, n)	memcpy((dst), (src), (n))

#include "gosync_ring.h"

#endif /* _GOSYNC_RING_H */
