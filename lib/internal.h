/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * libgosync: declarations shared by the library's files, not exported.
 * The tests include it too, to reach the ring below the public API.
 */
#ifndef GOSYNC_INTERNAL_H
#define GOSYNC_INTERNAL_H

#include <stdbool.h>

#include "gosync.h"
#include "ring.h"

#define GOSYNC_XSTR(x)	#x
#define GOSYNC_STR(x)	GOSYNC_XSTR(x)

/* The largest standalone ring, as the module's default max_obj_bytes. */
#define GOSYNC_STANDALONE_MAX_BYTES	(64UL << 20)

/* ---- device.c ---- */

/* The process-wide fd of /dev/gosync, opened on first use; or -errno. */
int gosync_dev_fd(void);

/* ---- wait.c: time, futexes, fork ---- */

bool gosync_deadline_valid(int64_t deadline_ns);
bool gosync_deadline_passed(int64_t deadline_ns);

/*
 * Sleep while *@word == @val, until woken, @deadline_ns (absolute
 * CLOCK_MONOTONIC) or a signal.  Non-private: the word is shared.
 * Return: 0 (woken, or the word changed), -ETIMEDOUT, -EINTR.
 */
int gosync_futex_wait(uint32_t *word, uint32_t val, int64_t deadline_ns);
void gosync_futex_wake_all(uint32_t *word);

/*
 * Bumped in the child of every fork(): kernel-mode mappings are not
 * inherited (VM_DONTCOPY), so a channel mapped under an older generation
 * must be mapped again before use.
 */
unsigned long gosync_fork_generation(void);
void gosync_fork_watch(void);

/* ---- chan.c ---- */

/**
 * struct gosync_chan_view - a channel's mapping in this process
 * @base:	start of the mapping (NULL: not mapped)
 * @ring:	the ring's words in it, with this mapping's owner id
 * @recv:	receivers' wait words
 * @send:	senders' wait words
 */
struct gosync_chan_view {
	void *base;
	struct gosync_ring ring;
	struct gosync_wait *recv;
	struct gosync_wait *send;
};

/**
 * struct gosync_chan - the library's handle on a channel
 * @fd:		the channel (kernel mode) or the memfd (standalone)
 * @flags:	GOSYNC_STANDALONE, GOSYNC_NOMAP
 * @layout:	sizes and offsets (from the kernel, or the memfd's header)
 * @map:	the mapping, valid while @gen is the fork generation
 * @gen:	fork generation @map was made in (0: being remapped)
 */
struct gosync_chan {
	int fd;
	unsigned int flags;
	struct gosync_chan_header layout;
	struct gosync_chan_view map;
	unsigned long gen;
};

/*
 * The mapping to use now: maps the channel again after a fork.
 * NULL with *@err set when that fails.
 */
struct gosync_chan_view *gosync_chan_mapping(struct gosync_chan *ch, int *err);

/* For select.c: one-shot case attempts and the cases' wait words. */
bool gosync_chan_is_standalone(const struct gosync_chan *ch);
int gosync_chan_select_try(struct gosync_chan *ch, int op, void *elem,
			   uint32_t self, int *ok);
struct gosync_wait *gosync_chan_select_side(struct gosync_chan *ch, int op);
void gosync_chan_select_arm(struct gosync_wait *w);
void gosync_chan_select_receiving(struct gosync_chan *ch, int delta);

#endif /* GOSYNC_INTERNAL_H */
