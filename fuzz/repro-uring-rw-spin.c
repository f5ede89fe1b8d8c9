// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * repro-uring-rw-spin: IORING_OP_READ / IORING_OP_WRITE on channel fds
 * leave the submitter spinning in io_uring task work for ever: it burns a
 * CPU in the kernel, never returns to user space, and ignores SIGKILL;
 * its objects stay charged, the module stays referenced (rmmod fails).
 *
 * Found by gosync-fuzz ("worker did not die 30 s after SIGKILL", then
 * unbalanced limit counters and a failed rmmod); minimised from a fuzz
 * run to these five requests by delta debugging.
 *
 * Mechanism, from an ftrace of the spinning task: the request is issued
 * in task work with IO_URING_F_NONBLOCK; the channel's file has no
 * FMODE_NOWAIT (and ->read/->write ignore IOCB_NOWAIT), so io_write() /
 * io_read() punt with -EAGAIN at once; io_queue_async() arms io_uring's
 * poll, gosync_chan_poll() reports the channel ready, IO_APOLL_READY
 * queues the same task work again, and so on: io_arm_poll_handler() in
 * this 6.1 has no "already polled once" check that would send the
 * request to io-wq.  The loop (io_write -> io_queue_async ->
 * io_arm_poll_handler -> gosync_chan_poll -> __io_req_task_work_add)
 * runs inside task_work_run(), so a fatal signal is never acted on.
 * The module's fix: the channel file is FMODE_NOWAIT with ->read_iter/
 * ->write_iter, which refuse an asynchronous kiocb with EINVAL at its
 * first issue (EOPNOTSUPP was not enough: io_uring turns it into EAGAIN
 * on a non-blocking issue and polls again).  ur.plain_read_write_ops_refused
 * tests every form.
 *
 * Exit status: 0 the child died, 1 the bug (the child is left spinning:
 * the guest's rmmod then fails, as in the fuzz run).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <liburing.h>
#include <linux/gosync.h>

static long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	p = strrchr(buf, ')');
	/* after ")": state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld",
			 &ut, &st) != 2)
		return -1;
	return ut + st;
}

static void show(pid_t pid)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = 0;
			printf("%s", buf);
		}
		close(fd);
	}
}

int main(void)
{
	static char buf[8][8];
	/* channel capacity and request, in order: the minimised sequence */
	static const struct { int cap, write, async; } req[] = {
		{ 2, 0, 0 }, { 2, 0, 1 }, { 2, 1, 1 }, { 0, 1, 1 }, { 2, 1, 0 },
	};
	int dev = open("/dev/gosync", O_RDWR), round, i, st;
	long t0, t1;

	if (dev < 0) {
		perror("/dev/gosync");
		return 2;
	}
	for (round = 0; round < 20; round++) {
		pid_t pid = fork();

		if (pid == 0) {
			struct gosync_chan_create c = { .elem_size = 8 };
			struct io_uring ring;
			int ch[3];

			for (i = 0; i < 3; i++) {
				c.cap = i;
				ch[i] = ioctl(dev, GOSYNC_IOC_CHAN_CREATE, &c);
			}
			if (io_uring_queue_init(16, &ring, 0))
				_exit(2);
			for (i = 0; i < 5; i++) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
				int fd = ch[req[i].cap];

				if (req[i].write)
					io_uring_prep_write(sqe, fd, buf[i], 8, 0);
				else
					io_uring_prep_read(sqe, fd, buf[i], 8, 0);
				if (req[i].async)
					sqe->flags |= IOSQE_ASYNC;
				io_uring_submit(&ring);
			}
			pause();
			_exit(0);
		}
		usleep(300000);
		t0 = cpu_ticks(pid);
		usleep(1000000);
		t1 = cpu_ticks(pid);
		kill(pid, SIGKILL);
		for (i = 0; i < 300; i++) {
			if (waitpid(pid, &st, WNOHANG) == pid)
				break;
			usleep(10000);
		}
		if (i < 300)
			continue;
		printf("round %d: the child (pid %d) is still alive 3 s after SIGKILL\n",
		       round, pid);
		printf("  before the kill it used %ld of the last %ld clock ticks (it should sleep in pause())\n",
		       t1 - t0, sysconf(_SC_CLK_TCK));
		printf("  kernel stack:\n");
		show(pid);
		printf("BUG: io_uring read/write on gosync channels leave the submitter spinning in task work, unkillable\n");
		return 1;
	}
	printf("20 rounds: the child always died\n");
	return 0;
}
