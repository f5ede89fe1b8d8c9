/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * gosync: the channel ring, compiled into both the module (kmod/ring.h)
 * and the library (lib/ring.h), so the kernel and userspace run one
 * algorithm on the same shared words.  The includer defines the accessors:
 *
 *   GOSYNC_LOAD(p)			one relaxed load (READ_ONCE)
 *   GOSYNC_LOAD_ACQUIRE(p)		load-acquire
 *   GOSYNC_STORE_RELEASE(p, v)		store-release
 *   GOSYNC_CAS(p, old, new)		fully ordered compare-and-swap, true
 *					when *p was old and is now new
 *   GOSYNC_COPY(dst, src, n)		memcpy
 *   GOSYNC_RING_STEP(step)		optional: a test build's hook between
 *					the shared-word updates of an
 *					operation (lib/hooks.h names them)
 *
 * The ring is a bounded MPMC queue of nslots slots in the shared mapping.
 * Every slot starts with a 64-bit word saying which ring position it holds
 * and in what state (uapi/linux/gosync.h draws the word and its state
 * machine); the element follows.  Producers and consumers claim a position
 * by a CAS on the slot word, which carries the claimer's owner id, so the
 * kernel can release the claims of a process that died in the middle of an
 * operation.  The tail and head words are hints that anyone helps forward;
 * the close bit lives in the tail, so close and send linearise on one word.
 *
 * Barriers (names used at every site, here and in the callers; tabled in
 * docs/memory-model.md):
 *
 *   producer: gosync_ring_try_send()         consumer: gosync_ring_try_recv()
 *   w = LOAD_ACQUIRE(slot word)   [B]        w = LOAD_ACQUIRE(slot word)   [C]
 *   CAS  FREE(p) -> WRITING(p)               CAS  FULL(p) -> READING(p)
 *   copy the element in                      copy the element out
 *   STORE_RELEASE FULL(p)         [A]        STORE_RELEASE FREE(p+n)       [D]
 *
 *   A pairs with C: a consumer that sees FULL sees the element's bytes.
 *   D pairs with B: a producer that sees FREE(p+n) writes the slot only
 *   after the consumer's copy-out has read it.
 *   The claim CASes are fully ordered, so the owner of a claim also sees
 *   every earlier state of that slot.
 *
 *   sync sender: gosync_ring_delivered()     consumer
 *   LOAD_ACQUIRE(slot word) != SYNC(p) [G]   CAS SYNC(p) -> READING(p)
 *   G pairs with the consumer's claim CAS: what the receiver did before
 *   taking the element happens before the sync send returns (Go: a
 *   receive from an unbuffered channel is synchronized before the send
 *   completes).
 *
 * The waker/waiter pairs (E, F) that keep wakeups from being lost are in
 * the callers' wait code; they order these slot-word stores against the
 * armed words of struct gosync_wait.
 *
 * Nothing read from the shared region is trusted: positions are only
 * compared and reduced modulo nslots (the caller's own copy), states
 * outside the machine are reported as -EIO, and every loop gives up after
 * GOSYNC_RING_TRIES rounds with -EBUSY (a peer can make a CAS fail forever).
 */
#ifndef GOSYNC_COMMON_RING_H
#define GOSYNC_COMMON_RING_H

#include <linux/gosync.h>

#ifndef GOSYNC_RING_STEP
#define GOSYNC_RING_STEP(step)	do { } while (0)
#endif

/* Rounds of a lock-free loop before giving up with -EBUSY. */
#define GOSYNC_RING_TRIES	1024

#define GOSYNC_POS_MASK		((1ULL << GOSYNC_SLOT_POS_BITS) - 1)

/*
 * The layout of a channel's shared region, computed the same way by the
 * kernel and by the library's standalone mode: the header, then the tail,
 * the head and each side's wait words on cache lines of their own (128
 * bytes: adjacent-line prefetch), then the slots.  Fills every field of
 * @hdr but magic and flags.  An element of 0 bytes (Go's struct{}) is
 * valid: its slot is the state word alone.  Return: 0, or -EINVAL for
 * sizes out of range.
 */
#define GOSYNC_CHAN_LINE	128

static inline int gosync_chan_layout(__u32 elem_size, __u32 cap,
				     __u32 page_size,
				     struct gosync_chan_header *hdr)
{
	__u64 size;

	if (elem_size > GOSYNC_CHAN_MAX_ELEM ||
	    cap > GOSYNC_CHAN_MAX_CAP)
		return -EINVAL;
	hdr->abi_version = GOSYNC_ABI_VERSION;
	hdr->elem_size = elem_size;
	hdr->cap = cap;
	hdr->nslots = cap ? cap : 1;
	hdr->slot_size = 8 + ((elem_size + 7) & ~7U);
	hdr->resv0 = 0;
	hdr->off_tail = 1 * GOSYNC_CHAN_LINE;
	hdr->off_head = 2 * GOSYNC_CHAN_LINE;
	hdr->off_recv_wait = 3 * GOSYNC_CHAN_LINE;
	hdr->off_send_wait = 4 * GOSYNC_CHAN_LINE;
	hdr->off_slots = 5 * GOSYNC_CHAN_LINE;
	size = hdr->off_slots + (__u64)hdr->nslots * hdr->slot_size;
	hdr->map_size = (size + page_size - 1) & ~((__u64)page_size - 1);
	return 0;
}

/**
 * struct gosync_ring - one side's view of a channel's ring
 * @tail:	the shared tail word
 * @head:	the shared head word
 * @slots:	slot 0 in this side's mapping
 * @nslots:	ring slots (this side's trusted copy)
 * @slot_size:	bytes per slot (trusted)
 * @elem_size:	bytes per element (trusted)
 * @owner:	owner id written into this side's claims
 */
struct gosync_ring {
	__u64 *tail;
	__u64 *head;
	unsigned char *slots;
	__u32 nslots;
	__u32 slot_size;
	__u32 elem_size;
	__u32 owner;
};

static inline __u64 gosync_slot_word(__u64 pos, __u32 owner, __u32 state)
{
	return (pos << GOSYNC_SLOT_POS_SHIFT) |
	       ((__u64)owner << GOSYNC_SLOT_STATE_BITS) | state;
}

static inline __u32 gosync_word_state(__u64 w)
{
	return w & ((1U << GOSYNC_SLOT_STATE_BITS) - 1);
}

static inline __u32 gosync_word_owner(__u64 w)
{
	return (w >> GOSYNC_SLOT_STATE_BITS) & GOSYNC_SLOT_OWNER_MAX;
}

/* The word's position, as stored: modulo 2^GOSYNC_SLOT_POS_BITS. */
static inline __u64 gosync_word_pos(__u64 w)
{
	return w >> GOSYNC_SLOT_POS_SHIFT;
}

/* Does the word refer to ring position @pos? */
static inline int gosync_word_at(__u64 w, __u64 pos)
{
	return gosync_word_pos(w) == (pos & GOSYNC_POS_MASK);
}

static inline __u64 *gosync_ring_word(const struct gosync_ring *r, __u64 pos)
{
	__u64 i = r->nslots & (r->nslots - 1) ? pos % r->nslots
					       : pos & (r->nslots - 1);

	return (__u64 *)(r->slots + i * r->slot_size);
}

static inline void *gosync_ring_elem(__u64 *word)
{
	return word + 1;
}

/* Set every slot FREE at its own index: the state of an empty ring. */
static inline void gosync_chan_init_slots(unsigned char *slots, __u32 nslots,
					  __u32 slot_size)
{
	__u32 i;

	for (i = 0; i < nslots; i++)
		*(__u64 *)(slots + (__u64)i * slot_size) =
			gosync_slot_word(i, 0, GOSYNC_SLOT_FREE);
}

/**
 * gosync_ring_try_send - put one element at the tail, without waiting
 * @r:		the ring
 * @elem:	the element (elem_size bytes; not touched when that is 0)
 * @state:	GOSYNC_SLOT_FULL, or GOSYNC_SLOT_SYNC when the sender will
 *		wait for a receiver and may withdraw the element
 * @posp:	out: the position the element took
 *
 * Return: 0 sent; -EAGAIN full; -EPIPE closed; -EBUSY contention or a
 * hostile peer kept every round from finishing.
 */
static inline int gosync_ring_try_send(const struct gosync_ring *r,
				       const void *elem, __u32 state,
				       __u64 *posp)
{
	unsigned int tries;

	for (tries = 0; tries < GOSYNC_RING_TRIES; tries++) {
		__u64 t = GOSYNC_LOAD_ACQUIRE(r->tail);
		__u64 p = t >> 1;
		__u64 *word = gosync_ring_word(r, p);
		__u64 w, claim;

		if (t & GOSYNC_TAIL_CLOSED)
			return -EPIPE;
		w = GOSYNC_LOAD_ACQUIRE(word);			/* B, matches D */
		if (!gosync_word_at(w, p)) {
			if (gosync_word_at(w, p - r->nslots))
				return -EAGAIN;	/* lap p - n still there: full */
			/* A later lap: p is long claimed; the tail is stale. */
			GOSYNC_CAS(r->tail, t, t + 2);
			continue;
		}
		if (gosync_word_state(w) != GOSYNC_SLOT_FREE) {
			/* Someone claimed p: help the tail past it. */
			GOSYNC_CAS(r->tail, t, t + 2);
			continue;
		}
		claim = gosync_slot_word(p, r->owner, GOSYNC_SLOT_WRITING);
		if (!GOSYNC_CAS(word, w, claim))
			continue;
		GOSYNC_RING_STEP(GOSYNC_STEP_SEND_CLAIMED);
		/*
		 * Move the tail past p.  If that fails because close set the
		 * bit while the tail still named p, the claim came after the
		 * close: undo it.  Any other failure means a helper already
		 * moved the tail past p, before any close.
		 */
		if (!GOSYNC_CAS(r->tail, t, t + 2) &&
		    GOSYNC_LOAD(r->tail) == (t | GOSYNC_TAIL_CLOSED)) {
			w = gosync_slot_word(p, 0, GOSYNC_SLOT_FREE);
			GOSYNC_STORE_RELEASE(word, w);
			return -EPIPE;
		}
		GOSYNC_RING_STEP(GOSYNC_STEP_SEND_TAIL);
		/* A 0-byte element has no bytes: @elem may be anything. */
		if (r->elem_size)
			GOSYNC_COPY(gosync_ring_elem(word), elem, r->elem_size);
		GOSYNC_RING_STEP(GOSYNC_STEP_SEND_COPIED);
		GOSYNC_STORE_RELEASE(word, gosync_slot_word(p, 0, state)); /* A, matches C */
		*posp = p;
		return 0;
	}
	return -EBUSY;
}

/*
 * Nothing to take at @h (free, being written, withdrawn but not passable,
 * or still the previous lap): tell empty, closed-and-drained and
 * "being written" apart by the tail.  -ESTALE means look again.
 */
static inline int gosync_ring_nothing_at(const struct gosync_ring *r,
					 __u64 h, __u64 w)
{
	__u64 t = GOSYNC_LOAD_ACQUIRE(r->tail);
	int writing = gosync_word_at(w, h) &&
		      gosync_word_state(w) == GOSYNC_SLOT_WRITING;

	if ((t >> 1) == h) {
		/* A claim at the closed tail is an undone one. */
		if (t & GOSYNC_TAIL_CLOSED)
			return 0;
		return writing ? -EINPROGRESS : -EAGAIN;
	}
	if ((t >> 1) < h)
		return -EIO;		/* head beyond tail */
	return writing ? -EINPROGRESS : -ESTALE;
}

/**
 * gosync_ring_try_recv - take one element from the head, without waiting
 * @r:		the ring
 * @elem:	out: the element (elem_size bytes; not touched when 0)
 * @freed:	out: set when a slot was freed (an element taken, or a
 *		withdrawn position passed): senders may be owed a wake,
 *		whatever the return value
 *
 * Return: 1 took an element; 0 closed and drained; -EAGAIN empty;
 * -EINPROGRESS the next element is being written (wait for it, even after
 * a close); -EIO the ring is corrupt; -EBUSY as for gosync_ring_try_send().
 */
static inline int gosync_ring_try_recv(const struct gosync_ring *r,
				       void *elem, int *freed)
{
	unsigned int tries;

	for (tries = 0; tries < GOSYNC_RING_TRIES; tries++) {
		__u64 h = GOSYNC_LOAD_ACQUIRE(r->head);
		__u64 *word = gosync_ring_word(r, h);
		__u64 w = GOSYNC_LOAD_ACQUIRE(word);		/* C, matches A */
		__u64 free_next = gosync_slot_word(h + r->nslots, 0,
						   GOSYNC_SLOT_FREE);
		__u64 claim;
		int ret;

		if (gosync_word_at(w, h)) {
			switch (gosync_word_state(w)) {
			case GOSYNC_SLOT_FULL:
			case GOSYNC_SLOT_SYNC:
				claim = gosync_slot_word(h, r->owner,
							 GOSYNC_SLOT_READING);
				if (!GOSYNC_CAS(word, w, claim))
					continue;
				GOSYNC_RING_STEP(GOSYNC_STEP_RECV_CLAIMED);
				GOSYNC_CAS(r->head, h, h + 1);
				GOSYNC_RING_STEP(GOSYNC_STEP_RECV_HEAD);
				if (r->elem_size)
					GOSYNC_COPY(elem, gosync_ring_elem(word),
						    r->elem_size);
				GOSYNC_RING_STEP(GOSYNC_STEP_RECV_COPIED);
				GOSYNC_STORE_RELEASE(word, free_next); /* D, matches B */
				*freed = 1;
				return 1;
			case GOSYNC_SLOT_READING:
				GOSYNC_CAS(r->head, h, h + 1);
				continue;
			case GOSYNC_SLOT_SKIP:
				/* Passable once the tail is beyond it. */
				if ((GOSYNC_LOAD_ACQUIRE(r->tail) >> 1) > h) {
					if (GOSYNC_CAS(word, w, free_next)) {
						*freed = 1;
						GOSYNC_CAS(r->head, h, h + 1);
					}
					continue;
				}
				break;
			case GOSYNC_SLOT_FREE:
			case GOSYNC_SLOT_WRITING:
				break;
			default:
				return -EIO;
			}
		} else if (!gosync_word_at(w, h - r->nslots)) {
			/*
			 * A later lap: h was passed, and the head hint not
			 * moved (its consumer died between claim and hint).
			 */
			GOSYNC_CAS(r->head, h, h + 1);
			continue;
		}
		ret = gosync_ring_nothing_at(r, h, w);
		if (ret != -ESTALE)
			return ret;
	}
	return -EBUSY;
}

/**
 * gosync_ring_withdraw - take back a SYNC element no receiver has taken
 * @r:		the ring
 * @pos:	the position gosync_ring_try_send() returned
 *
 * When the withdrawn position is the head, pass it at once as a consumer
 * would, so the slot is free for the next sender (on an unbuffered
 * channel it is the only slot).
 *
 * Return: 1 withdrawn (it will never be received); 0 a receiver took it.
 */
static inline int gosync_ring_withdraw(const struct gosync_ring *r, __u64 pos)
{
	__u64 *word = gosync_ring_word(r, pos);
	__u64 skip = gosync_slot_word(pos, 0, GOSYNC_SLOT_SKIP);

	if (!GOSYNC_CAS(word, gosync_slot_word(pos, 0, GOSYNC_SLOT_SYNC), skip))
		return 0;
	GOSYNC_RING_STEP(GOSYNC_STEP_WITHDRAWN);
	if (GOSYNC_LOAD_ACQUIRE(r->head) == pos &&
	    GOSYNC_CAS(word, skip, gosync_slot_word(pos + r->nslots, 0,
						    GOSYNC_SLOT_FREE)))
		GOSYNC_CAS(r->head, pos, pos + 1);
	return 1;
}

/* Has the SYNC element at @pos been taken (or withdrawn)? */
static inline int gosync_ring_delivered(const struct gosync_ring *r,
					__u64 pos)
{
	__u64 w = GOSYNC_LOAD_ACQUIRE(gosync_ring_word(r, pos)); /* G */

	return w != gosync_slot_word(pos, 0, GOSYNC_SLOT_SYNC);
}

/**
 * gosync_ring_close - set the close bit in the tail
 *
 * Return: 0 closed now; -EPIPE it was already closed; -EBUSY.
 */
static inline int gosync_ring_close(const struct gosync_ring *r)
{
	unsigned int tries;

	for (tries = 0; tries < GOSYNC_RING_TRIES; tries++) {
		__u64 t = GOSYNC_LOAD(r->tail);

		if (t & GOSYNC_TAIL_CLOSED)
			return -EPIPE;
		if (GOSYNC_CAS(r->tail, t, t | GOSYNC_TAIL_CLOSED))
			return 0;
	}
	return -EBUSY;
}

static inline int gosync_ring_closed(const struct gosync_ring *r)
{
	return GOSYNC_LOAD_ACQUIRE(r->tail) & GOSYNC_TAIL_CLOSED;
}

/* Positions claimed and not yet passed by a consumer, 0..nslots. */
static inline __u64 gosync_ring_len(const struct gosync_ring *r)
{
	__u64 h = GOSYNC_LOAD(r->head);
	__u64 t = GOSYNC_LOAD(r->tail) >> 1;

	if (t <= h)
		return 0;
	return t - h < r->nslots ? t - h : r->nslots;
}

/*
 * Would a receive not wait?  True when an element is ready at the first
 * position no consumer has claimed, or when the channel is closed and
 * drained.  Scans at most a few positions past claimed or withdrawn ones;
 * when in doubt it answers true (a poller then finds EAGAIN, which is
 * allowed; a missed readiness would not be).
 */
static inline int gosync_ring_readable(const struct gosync_ring *r)
{
	__u64 h = GOSYNC_LOAD_ACQUIRE(r->head);
	__u64 t = GOSYNC_LOAD_ACQUIRE(r->tail);
	unsigned int i;

	for (i = 0; i < 64 && i < r->nslots; i++, h++) {
		__u64 w = GOSYNC_LOAD_ACQUIRE(gosync_ring_word(r, h));

		if (h >= (t >> 1))
			return (t & GOSYNC_TAIL_CLOSED) != 0;
		if (!gosync_word_at(w, h))
			return !gosync_word_at(w, h - r->nslots);
		switch (gosync_word_state(w)) {
		case GOSYNC_SLOT_FULL:
		case GOSYNC_SLOT_SYNC:
			return 1;
		case GOSYNC_SLOT_READING:
		case GOSYNC_SLOT_SKIP:
			continue;
		default:
			return 0;	/* the next one is being written */
		}
	}
	return 1;
}

/* Would a send not wait?  True when the tail's slot is free, or closed. */
static inline int gosync_ring_writable(const struct gosync_ring *r)
{
	__u64 t = GOSYNC_LOAD_ACQUIRE(r->tail);
	__u64 w = GOSYNC_LOAD_ACQUIRE(gosync_ring_word(r, t >> 1));

	if (t & GOSYNC_TAIL_CLOSED)
		return 1;
	return !gosync_word_at(w, (t >> 1) - r->nslots);
}

/**
 * gosync_ring_release_owner - release the claims @owner made in slots
 * @first..@last
 *
 * For the kernel, once the mapping that used @owner is gone: an element
 * half written becomes a withdrawn position, one half read frees its slot
 * (that element is lost: it was the dead process's own).  A producer that
 * died between its claim and its tail CAS left the tail at its position:
 * move it on as that producer would have (a no-op if the tail moved or is
 * closed), or the withdrawn position would not be passable and a
 * receiver would wait at it while a sender counts the ring full.
 * Return: how many claims were released.
 */
static inline unsigned int gosync_ring_release_owner(const struct gosync_ring *r,
						     __u32 owner, __u32 first,
						     __u32 last)
{
	unsigned int released = 0;
	__u32 i;

	for (i = first; i <= last && i < r->nslots; i++) {
		__u64 *word = (__u64 *)(r->slots + (__u64)i * r->slot_size);
		__u64 w = GOSYNC_LOAD(word);
		__u64 pos = gosync_word_pos(w);
		__u32 state = gosync_word_state(w);
		__u64 to;

		if (gosync_word_owner(w) != owner)
			continue;
		if (state == GOSYNC_SLOT_WRITING)
			to = gosync_slot_word(pos, 0, GOSYNC_SLOT_SKIP);
		else if (state == GOSYNC_SLOT_READING)
			to = gosync_slot_word(pos + r->nslots, 0,
					      GOSYNC_SLOT_FREE);
		else
			continue;
		if (!GOSYNC_CAS(word, w, to))
			continue;
		released++;
		/* Positions are stored modulo 2^44: so is this comparison. */
		if (state == GOSYNC_SLOT_WRITING) {
			__u64 t = GOSYNC_LOAD(r->tail);

			if (!(t & GOSYNC_TAIL_CLOSED) &&
			    ((t >> 1) & GOSYNC_POS_MASK) == pos)
				GOSYNC_CAS(r->tail, t, t + 2);
		}
	}
	return released;
}

#endif /* GOSYNC_COMMON_RING_H */
