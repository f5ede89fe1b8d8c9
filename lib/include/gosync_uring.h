/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * libgosync: channel sends and receives on an io_uring, in the style of
 * liburing's prep helpers.  Needs liburing (-luring) and the module:
 * the commands are IORING_OP_URING_CMD on the channel's fd.
 *
 *   struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
 *   gosync_prep_recv(sqe, ch, &elem, GOSYNC_FOREVER);
 *   io_uring_sqe_set_data(sqe, ctx);
 *   io_uring_submit(&ring);
 *   ... the CQE's res: 1 (a value), 0 (closed and drained), or -errno
 *
 * The element is copied from or into @elem when the operation happens,
 * which may be after the submit returned: it must stay valid until the
 * CQE arrives.  A queued command completes when it can, or when the
 * channel is closed, its deadline passes (-ETIMEDOUT) or the submitting
 * task exits (-ECANCELED).  See gosync_prep_send(3).
 */
#ifndef GOSYNC_URING_H
#define GOSYNC_URING_H

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <liburing.h>

#include "gosync.h"

#ifdef __cplusplus
extern "C" {
#endif

static inline int gosync_prep_chan_cmd(struct io_uring_sqe *sqe,
				       struct gosync_chan *ch, __u32 op,
				       const void *elem, int64_t deadline_ns)
{
	struct gosync_uring_cmd cmd;
	int fd = gosync_chan_uring_fd(ch);

	if (fd < 0)
		return fd;
	/* A channel of 0-byte elements takes any pointer, NULL too. */
	if (!sqe || (!elem && gosync_chan_elem_size(ch)))
		return -EINVAL;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = op;
	cmd.elem = (__u64)(uintptr_t)elem;
	cmd.deadline_ns = deadline_ns;
	/* A 64-byte SQE has 16 bytes of command. */
	memcpy(sqe->cmd, &cmd, sizeof(cmd));
	return 0;
}

/* Send one element (0, or -EINVAL, -EOPNOTSUPP for a standalone channel). */
static inline int gosync_prep_send(struct io_uring_sqe *sqe,
				   struct gosync_chan *ch, const void *elem,
				   int64_t deadline_ns)
{
	return gosync_prep_chan_cmd(sqe, ch, GOSYNC_URING_SEND, elem,
				    deadline_ns);
}

/* Receive one element into @elem. */
static inline int gosync_prep_recv(struct io_uring_sqe *sqe,
				   struct gosync_chan *ch, void *elem,
				   int64_t deadline_ns)
{
	return gosync_prep_chan_cmd(sqe, ch, GOSYNC_URING_RECV, elem,
				    deadline_ns);
}

/*
 * Receive up to @n elements into @elems: the command waits for one, then
 * takes what is there, up to @n, without waiting more; the CQE's res is
 * how many (or 0: closed and drained; or -errno).  @x is the caller's
 * storage for the command's arguments: like @elems it must stay valid
 * until the CQE arrives.  Needs GOSYNC_FEAT_URING_RECV_N (an older module
 * completes it with -EINVAL); @n is 1..GOSYNC_URING_RECV_N_MAX, and @n
 * elements at most MAX_RW_COUNT (2 GiB less a page) bytes.  Slots of
 * @elems past the CQE's res may have been written to.
 */
static inline int gosync_prep_recv_n(struct io_uring_sqe *sqe,
				     struct gosync_chan *ch, void *elems,
				     size_t n, int64_t deadline_ns,
				     struct gosync_chan_xfer *x)
{
	size_t size;
	int ret;

	if (!x || !n || n > GOSYNC_URING_RECV_N_MAX)
		return -EINVAL;
	if (gosync_chan_uring_fd(ch) < 0)
		return gosync_chan_uring_fd(ch);
	/* The kernel's bound for one call: MAX_RW_COUNT bytes. */
	size = gosync_chan_elem_size(ch);
	if ((!elems && size) ||
	    n * (size ? size : 1) > ((size_t)INT_MAX &
				     ~((size_t)sysconf(_SC_PAGESIZE) - 1)))
		return -EINVAL;
	ret = gosync_prep_chan_cmd(sqe, ch, GOSYNC_URING_RECV_N, x, 0);
	if (ret)
		return ret;
	memset(x, 0, sizeof(*x));
	x->elem = (__u64)(uintptr_t)elems;
	x->deadline_ns = deadline_ns;
	x->count = (__u32)n;
	return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* GOSYNC_URING_H */
