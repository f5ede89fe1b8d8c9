// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * uring-many: one thread drives a thousand channels through one io_uring.
 *
 * A receive is queued on every channel at once; two producer processes
 * send into the channels in their own order; each completion is checked
 * and the receive on that channel queued again, until every producer has
 * closed its channels.  One thread, one ring, no thread per channel and
 * no poll loop.  Needs the module.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gosync.h>
#include <gosync_uring.h>

#define CHANS	1000
#define ROUNDS	5

static struct gosync_chan *ch[CHANS];
static int64_t slot[CHANS];

static void producer(int half)
{
	for (int r = 0; r < ROUNDS; r++)
		for (int i = half; i < CHANS; i += 2) {
			int64_t v = (int64_t)r * CHANS + i;

			if (gosync_chan_send(ch[i], &v, GOSYNC_FOREVER))
				_exit(1);
		}
	for (int i = half; i < CHANS; i += 2)
		gosync_chan_close(ch[i]);
	_exit(0);
}

static int queue_recv(struct io_uring *ring, int i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe || gosync_prep_recv(sqe, ch[i], &slot[i], GOSYNC_FOREVER))
		return -1;
	io_uring_sqe_set_data64(sqe, i);
	return 0;
}

int main(void)
{
	struct io_uring ring;
	int open = CHANS, bad = 0, ret;
	long received = 0;
	int64_t start;

	ret = gosync_chan_make(&ch[0], sizeof(int64_t), 1, 0);
	if (ret == -ENODEV) {
		printf("uring-many: needs the gosync module\n");
		return 0;
	}
	for (int i = 1; i < CHANS && !ret; i++)
		ret = gosync_chan_make(&ch[i], sizeof(int64_t), 1, 0);
	if (ret || io_uring_queue_init(CHANS, &ring, 0))
		return 1;
	for (int i = 0; i < CHANS; i++)
		if (queue_recv(&ring, i))
			return 1;
	io_uring_submit(&ring);

	start = gosync_now();
	if (fork() == 0)
		producer(0);
	if (fork() == 0)
		producer(1);
	while (open) {
		struct io_uring_cqe *cqe;
		int i;

		if (io_uring_wait_cqe(&ring, &cqe))
			return 1;
		i = io_uring_cqe_get_data64(cqe);
		ret = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		if (ret == 1) {
			received++;
			bad += slot[i] % CHANS != i;
			if (queue_recv(&ring, i))
				return 1;
			io_uring_submit(&ring);
		} else {
			bad += ret != 0;	/* 0: closed and drained */
			open--;
		}
	}
	while (wait(NULL) > 0)
		;
	printf("one thread, one ring, %d channels: %ld elements received in "
	       "%.3f s, %d wrong\n", CHANS, received,
	       (gosync_now() - start) / 1e9, bad);
	io_uring_queue_exit(&ring);
	for (int i = 0; i < CHANS; i++)
		gosync_chan_free(ch[i]);
	return received == (long)CHANS * ROUNDS && !bad ? 0 : 1;
}
