// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * gosync(1): contexts by name: cancel one, wait for one to be done.
 * Making one is "make NAME --kind ctx" (chan.c); ls and stat show its
 * state (facts.c).  Kernel mode only, as contexts are.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CLI_OPT_CAUSE		0x201
#define CLI_OPT_CTX_TIMEOUT	0x202

/* An errno by number (1..GOSYNC_CTX_CAUSE_MAX) or by name ("EPIPE"). */
static int cli_parse_errno(const char *s)
{
	uint64_t v;

	if (!cli_parse_u64(s, GOSYNC_CTX_CAUSE_MAX, &v))
		return v ? (int)v : -1;
	for (int e = 1; e <= GOSYNC_CTX_CAUSE_MAX; e++) {
		const char *n = strerrorname_np(e);

		if (n && !strcmp(n, s))
			return e;
	}
	return -1;
}

/* "ECANCELED (cause EPIPE)", "live": what a context says. */
static void cli_ctx_print(struct gosync_ctx *ctx)
{
	int err = gosync_ctx_err(ctx);

	if (!err)
		printf("live\n");
	else
		printf("%s (cause %s)\n", cli_errname(-err),
		       cli_errname(gosync_ctx_cause(ctx)));
}

int cli_cancel(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cause", required_argument, NULL, CLI_OPT_CAUSE },
		{ "standalone", no_argument, NULL, CLI_OPT_STANDALONE },
		{ NULL, 0, NULL, 0 },
	};
	struct gosync_ctx *ctx;
	int opt, ret, cause = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case CLI_OPT_CAUSE:
			cause = cli_parse_errno(optarg);
			if (cause < 0)
				return cli_usage(c, "--cause: an errno, by number "
						 "(1 to %d) or name, not '%s'",
						 GOSYNC_CTX_CAUSE_MAX, optarg);
			break;
		case CLI_OPT_STANDALONE:
			break;
		default:
			return cli_bad_option(c, argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage(c, "takes one NAME");
	ret = cli_set_name(c, argv[optind]);
	if (ret)
		return ret;
	/* Cancelling needs write access to the name (gosync(4)), a handle read. */
	ret = gosync_ctx_open(&ctx, c->name, O_RDWR | O_CLOEXEC, 0, c->flags);
	if (ret)
		return cli_fail(c, -ret);
	ret = gosync_ctx_cancel(ctx, cause);
	gosync_ctx_free(ctx);
	return ret ? cli_fail(c, -ret) : CLI_OK;
}

int cli_wait(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, CLI_OPT_CTX_TIMEOUT },
		{ "standalone", no_argument, NULL, CLI_OPT_STANDALONE },
		{ NULL, 0, NULL, 0 },
	};
	struct gosync_ctx *ctx;
	struct gosync_chan *done;
	bool have_timeout = false;
	double timeout = 0;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case CLI_OPT_CTX_TIMEOUT:
			if (cli_parse_seconds(optarg, &timeout))
				return cli_usage(c, "--timeout: seconds, not '%s'", optarg);
			have_timeout = true;
			break;
		case CLI_OPT_STANDALONE:
			break;
		default:
			return cli_bad_option(c, argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage(c, "takes one NAME");
	ret = cli_set_name(c, argv[optind]);
	if (ret)
		return ret;
	ret = gosync_ctx_open(&ctx, c->name, O_RDONLY | O_CLOEXEC, 0, c->flags);
	if (ret)
		return cli_fail(c, -ret);
	done = gosync_ctx_done(ctx);
	ret = done ? gosync_chan_recv(done, NULL, cli_deadline(timeout, have_timeout)) :
		     -ENOMEM;
	if (!ret)
		cli_ctx_print(ctx);
	gosync_ctx_free(ctx);
	if (ret == -ETIMEDOUT)
		return CLI_TIMEOUT;
	return ret ? cli_fail(c, -ret) : CLI_OK;
}
