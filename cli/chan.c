// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * gosync make, send, recv, close, rm: the commands that change things,
 * each through the library's named-object calls (gosync_chan_open(3)).
 *
 * In kernel mode every command opens the end it needs and no more: make
 * and recv a receive-only end, send and close a send-only end.  So make
 * and recv never count as a sender of an auto-close channel, and send
 * counts as one exactly while it runs.  Standalone mode has no
 * directional ends (-EOPNOTSUPP): there every open is O_RDWR.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define CLI_OPT_HEX		0x101
#define CLI_OPT_RAW		0x102
#define CLI_OPT_TIMEOUT		0x103
#define CLI_OPT_CLOSE		0x104
#define CLI_OPT_ELEM		0x105
#define CLI_OPT_CAP		0x106
#define CLI_OPT_KIND		0x107
#define CLI_OPT_MODE		0x108
#define CLI_OPT_AUTOCLOSE	0x109
#define CLI_OPT_EXCL		0x10a

#define CLI_ELEM_MAX		65535
#define CLI_CAP_MAX		(1U << 20)
/* Bytes moved per batch in send --raw and recv. */
#define CLI_BATCH		65536

/* The end a command needs: @dir O_RDONLY or O_WRONLY in kernel mode. */
static int cli_oflag(const struct cli *c, int dir)
{
	return (c->standalone ? O_RDWR : dir) | O_CLOEXEC;
}

static int cli_open_chan(struct cli *c, struct gosync_chan **ch, int dir)
{
	int ret = gosync_chan_open(ch, c->name, cli_oflag(c, dir), 0, 0, 0,
				   c->flags);

	return ret < 0 ? cli_fail(c, -ret) : 0;
}

/* ---------------------------------------------------------------- make -- */

static int cli_make_sync(struct cli *c, enum cli_kind kind, int oflag,
			 mode_t mode)
{
	union {
		struct gosync_wg *wg;
		struct gosync_mutex *m;
		struct gosync_rwmutex *rw;
		struct gosync_once *once;
		struct gosync_cond *cond;
		struct gosync_ctx *ctx;
	} u;
	int ret = -EINVAL;

	switch (kind) {
	case CLI_KIND_WG:
		ret = gosync_wg_open(&u.wg, c->name, oflag, mode, c->flags);
		if (!ret)
			gosync_wg_free(u.wg);
		break;
	case CLI_KIND_MUTEX:
		ret = gosync_mutex_open(&u.m, c->name, oflag, mode, c->flags);
		if (!ret)
			gosync_mutex_free(u.m);
		break;
	case CLI_KIND_RWMUTEX:
		ret = gosync_rwmutex_open(&u.rw, c->name, oflag, mode, c->flags);
		if (!ret)
			gosync_rwmutex_free(u.rw);
		break;
	case CLI_KIND_ONCE:
		ret = gosync_once_open(&u.once, c->name, oflag, mode, c->flags);
		if (!ret)
			gosync_once_free(u.once);
		break;
	case CLI_KIND_COND:
		ret = gosync_cond_open(&u.cond, c->name, oflag, mode, c->flags);
		if (!ret)
			gosync_cond_free(u.cond);
		break;
	case CLI_KIND_CTX:
		ret = gosync_ctx_open(&u.ctx, c->name, oflag, mode,
				      c->flags & GOSYNC_STANDALONE);
		if (!ret)
			gosync_ctx_free(u.ctx);
		break;
	default:
		break;
	}
	return ret < 0 ? cli_fail(c, -ret) : CLI_OK;
}

int cli_make(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "elem", required_argument, NULL, CLI_OPT_ELEM },
		{ "cap", required_argument, NULL, CLI_OPT_CAP },
		{ "kind", required_argument, NULL, CLI_OPT_KIND },
		{ "mode", required_argument, NULL, CLI_OPT_MODE },
		{ "autoclose", no_argument, NULL, CLI_OPT_AUTOCLOSE },
		{ "excl", no_argument, NULL, CLI_OPT_EXCL },
		{ "standalone", no_argument, NULL, CLI_OPT_STANDALONE },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t elem = 0, cap = 0, mode = 0666;
	bool have_elem = false, have_cap = false, autoclose = false, excl = false;
	enum cli_kind kind = CLI_KIND_CHAN;
	struct gosync_chan *ch;
	char *end;
	int opt, ret, oflag;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case CLI_OPT_ELEM:
			if (cli_parse_u64(optarg, CLI_ELEM_MAX, &elem))
				return cli_usage(c, "--elem: a size in bytes, 0 to %d",
						 CLI_ELEM_MAX);
			have_elem = true;
			break;
		case CLI_OPT_CAP:
			if (cli_parse_u64(optarg, CLI_CAP_MAX, &cap))
				return cli_usage(c, "--cap: a number of elements, 0 to %u",
						 CLI_CAP_MAX);
			have_cap = true;
			break;
		case CLI_OPT_KIND:
			kind = cli_kind_parse(optarg);
			if (kind == CLI_KIND_NONE)
				return cli_usage(c, "--kind: chan, wg, mutex, rwmutex, "
						 "once, cond or ctx, not '%s'", optarg);
			break;
		case CLI_OPT_MODE:
			errno = 0;
			mode = strtoull(optarg, &end, 8);
			if (!*optarg || *end || errno || mode > 07777 || *optarg == '-')
				return cli_usage(c, "--mode: octal permission bits, at "
						 "most 07777, not '%s'", optarg);
			break;
		case CLI_OPT_AUTOCLOSE:
			autoclose = true;
			break;
		case CLI_OPT_EXCL:
			excl = true;
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
	oflag = O_CREAT | (excl ? O_EXCL : 0);
	if (kind != CLI_KIND_CHAN) {
		if (have_elem || have_cap || autoclose)
			return cli_usage(c, "--elem, --cap and --autoclose are for "
					 "channels, not --kind %s", cli_kind_name(kind));
		return cli_make_sync(c, kind, oflag | O_RDWR | O_CLOEXEC,
				     (mode_t)mode);
	}
	if (!have_elem || !have_cap)
		return cli_usage(c, "a channel needs --elem N and --cap N");
	/*
	 * A receive-only end: the maker must not be the first end that can
	 * send of an auto-close channel, whose exit would close it.
	 */
	ret = gosync_chan_open(&ch, c->name, oflag | cli_oflag(c, O_RDONLY),
			       (mode_t)mode, elem, cap,
			       c->flags | (autoclose ? GOSYNC_AUTOCLOSE : 0));
	if (ret < 0)
		return cli_fail(c, -ret);
	gosync_chan_free(ch);
	return CLI_OK;
}

/* ---------------------------------------------------------------- send -- */

static int cli_hexdigit(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* VALUE @i (1-based, for messages) into @out, @elem bytes. */
static int cli_value(const struct cli *c, const char *v, size_t i, bool hex,
		     unsigned char *out, size_t elem)
{
	size_t len = strlen(v), k;
	int hi, lo;

	if (!hex) {
		if (len > elem)
			return cli_usage(c, "VALUE %zu is %zu bytes, more than the "
					 "element size (%zu)", i, len, elem);
		memset(out, 0, elem);
		memcpy(out, v, len);
		return 0;
	}
	if (len != 2 * elem)
		return cli_usage(c, "VALUE %zu is %zu hex digits; an element of %zu "
				 "bytes is %zu", i, len, elem, 2 * elem);
	for (k = 0; k < elem; k++) {
		hi = cli_hexdigit(v[2 * k]);
		lo = cli_hexdigit(v[2 * k + 1]);
		if (hi < 0 || lo < 0)
			return cli_usage(c, "VALUE %zu: '%.2s' is not a hex byte",
					 i, v + 2 * k);
		out[k] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/*
 * Send @n elements from @buf; *@sent counts them.  0, or the exit code
 * (the message printed).
 */
static int cli_send_all(struct cli *c, struct gosync_chan *ch,
			const unsigned char *buf, size_t n, size_t elem,
			int64_t deadline, size_t *sent)
{
	int ret;

	while (n) {
		ret = gosync_chan_send_n(ch, elem ? buf : NULL, n, deadline);
		if (ret == -EINTR)
			continue;
		if (ret < 0) {
			ret = cli_fail(c, -ret);
			if (*sent)
				fprintf(stderr, "%s: send %s: %zu element%s sent before that\n",
					cli_prog, c->name, *sent, *sent == 1 ? " was" : "s were");
			return ret;
		}
		*sent += (size_t)ret;
		n -= (size_t)ret;
		buf += (size_t)ret * elem;
	}
	return 0;
}

/* --raw: standard input in whole elements, until end of file. */
static int cli_send_raw(struct cli *c, struct gosync_chan *ch, size_t elem,
			int64_t deadline, size_t *sent)
{
	size_t per = elem < CLI_BATCH ? CLI_BATCH / elem : 1, have = 0;
	unsigned char *buf = malloc(per * elem);
	ssize_t r;
	int ret = 0;

	if (!buf)
		return cli_error(c, ENOMEM, "no memory for a batch");
	for (;;) {
		r = read(STDIN_FILENO, buf + have, per * elem - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = cli_error(c, errno, "cannot read standard input");
			break;
		}
		have += (size_t)r;
		if (r && have < per * elem)
			continue;
		ret = cli_send_all(c, ch, buf, have / elem, elem, deadline, sent);
		if (ret)
			break;
		memmove(buf, buf + have / elem * elem, have % elem);
		have %= elem;
		if (!r) {
			if (have)
				ret = cli_error(c, 0, "standard input ended %zu bytes into "
						"an element of %zu (%zu sent)",
						have, elem, *sent);
			break;
		}
	}
	free(buf);
	return ret;
}

int cli_send(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hex", no_argument, NULL, CLI_OPT_HEX },
		{ "raw", no_argument, NULL, CLI_OPT_RAW },
		{ "timeout", required_argument, NULL, CLI_OPT_TIMEOUT },
		{ "close", no_argument, NULL, CLI_OPT_CLOSE },
		{ "standalone", no_argument, NULL, CLI_OPT_STANDALONE },
		{ NULL, 0, NULL, 0 },
	};
	bool hex = false, raw = false, close_after = false, have_timeout = false;
	struct gosync_chan *ch;
	unsigned char *buf = NULL;
	size_t elem, n, i, sent = 0;
	double timeout = 0;
	int64_t deadline;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case CLI_OPT_HEX:
			hex = true;
			break;
		case CLI_OPT_RAW:
			raw = true;
			break;
		case CLI_OPT_TIMEOUT:
			if (cli_parse_seconds(optarg, &timeout))
				return cli_usage(c, "--timeout: seconds, not '%s'", optarg);
			have_timeout = true;
			break;
		case CLI_OPT_CLOSE:
			close_after = true;
			break;
		case CLI_OPT_STANDALONE:
			break;
		default:
			return cli_bad_option(c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage(c, "takes a NAME");
	ret = cli_set_name(c, argv[optind++]);
	if (ret)
		return ret;
	n = (size_t)(argc - optind);
	if (hex && raw)
		return cli_usage(c, "--hex or --raw, not both");
	if (raw && n)
		return cli_usage(c, "--raw sends standard input: no VALUE");
	deadline = cli_deadline(timeout, have_timeout);
	ret = cli_open_chan(c, &ch, O_WRONLY);
	if (ret)
		return ret;
	elem = gosync_chan_elem_size(ch);
	if (raw && !elem) {
		ret = cli_usage(c, "--raw needs elements of at least one byte");
		goto out;
	}
	/* Every VALUE is checked before the first is sent. */
	if (n) {
		buf = calloc(n, elem ? elem : 1);
		if (!buf) {
			ret = cli_error(c, ENOMEM, "no memory for %zu elements", n);
			goto out;
		}
		for (i = 0; i < n; i++) {
			ret = cli_value(c, argv[optind + i], i + 1, hex,
					buf + i * elem, elem);
			if (ret)
				goto out;
		}
	}
	if (raw)
		ret = cli_send_raw(c, ch, elem, deadline, &sent);
	else
		ret = cli_send_all(c, ch, buf, n, elem, deadline, &sent);
	if (!ret && close_after) {
		ret = gosync_chan_close(ch);
		if (ret < 0)
			ret = cli_fail(c, -ret);
	}
out:
	free(buf);
	gosync_chan_free(ch);
	return ret;
}

/* ---------------------------------------------------------------- recv -- */

enum cli_format { CLI_TEXT, CLI_HEX, CLI_RAW };

static void cli_print_elem(const unsigned char *e, size_t elem,
			   enum cli_format fmt)
{
	size_t k;

	switch (fmt) {
	case CLI_TEXT:
		fwrite(e, 1, strnlen((const char *)e, elem), stdout);
		putchar('\n');
		break;
	case CLI_HEX:
		for (k = 0; k < elem; k++)
			printf("%02x", e[k]);
		putchar('\n');
		break;
	case CLI_RAW:
		fwrite(e, 1, elem, stdout);
		break;
	}
}

int cli_recv(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "hex", no_argument, NULL, CLI_OPT_HEX },
		{ "raw", no_argument, NULL, CLI_OPT_RAW },
		{ "timeout", required_argument, NULL, CLI_OPT_TIMEOUT },
		{ "standalone", no_argument, NULL, CLI_OPT_STANDALONE },
		{ NULL, 0, NULL, 0 },
	};
	enum cli_format fmt = CLI_TEXT;
	bool have_count = false, have_timeout = false, closed = false;
	uint64_t count = 0, got = 0;
	struct gosync_chan *ch;
	unsigned char *e;
	double timeout = 0;
	int64_t deadline;
	size_t elem;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (cli_parse_u64(optarg, UINT64_MAX, &count))
				return cli_usage(c, "-n: a number of elements, not '%s'",
						 optarg);
			have_count = true;
			break;
		case CLI_OPT_HEX:
		case CLI_OPT_RAW:
			if (fmt != CLI_TEXT)
				return cli_usage(c, "--hex or --raw, not both");
			fmt = opt == CLI_OPT_HEX ? CLI_HEX : CLI_RAW;
			break;
		case CLI_OPT_TIMEOUT:
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
	deadline = cli_deadline(timeout, have_timeout);
	ret = cli_open_chan(c, &ch, O_RDONLY);
	if (ret)
		return ret;
	elem = gosync_chan_elem_size(ch);
	e = malloc(elem ? elem : 1);
	if (!e) {
		ret = cli_error(c, ENOMEM, "no memory for an element");
		goto out;
	}
	while (!have_count || got < count) {
		/* What is there now goes out in one write; before waiting,
		 * what was printed reaches the reader. */
		ret = gosync_chan_recv(ch, elem ? e : NULL, GOSYNC_NONBLOCK);
		if (ret == -EAGAIN) {
			fflush(stdout);
			ret = gosync_chan_recv(ch, elem ? e : NULL, deadline);
		}
		if (ret == -EINTR)
			continue;
		if (ret < 0) {
			fflush(stdout);
			ret = cli_fail(c, -ret);
			if (got)
				fprintf(stderr, "%s: recv %s: %llu element%s received "
					"before that\n", cli_prog, c->name,
					(unsigned long long)got, got == 1 ? " was" : "s were");
			goto out;
		}
		if (!ret) {
			closed = true;
			break;
		}
		got++;
		cli_print_elem(e, elem, fmt);
	}
	ret = CLI_OK;
	if (fflush(stdout) || ferror(stdout))
		ret = cli_error(c, errno, "cannot write the elements");
	else if (have_count && closed)
	{
		cli_error(c, 0, "the channel is closed and drained after %llu of %llu "
			  "elements", (unsigned long long)got,
			  (unsigned long long)count);
		ret = CLI_CLOSED;
	}
out:
	free(e);
	gosync_chan_free(ch);
	return ret;
}

/* ---------------------------------------------------------- close, rm -- */

static int cli_name_only(struct cli *c, int argc, char **argv)
{
	int ret = cli_no_options(c, argc, argv);

	if (ret)
		return ret;
	if (argc - optind != 1)
		return cli_usage(c, "takes one NAME");
	return cli_set_name(c, argv[optind]);
}

int cli_close(struct cli *c, int argc, char **argv)
{
	struct gosync_chan *ch;
	int ret = cli_name_only(c, argc, argv);

	if (ret)
		return ret;
	/* Only an end that can send may close (Go's rule, gosync(4)). */
	ret = cli_open_chan(c, &ch, O_WRONLY);
	if (ret)
		return ret;
	ret = gosync_chan_close(ch);
	gosync_chan_free(ch);
	return ret < 0 ? cli_fail(c, -ret) : CLI_OK;
}

int cli_rm(struct cli *c, int argc, char **argv)
{
	int ret = cli_name_only(c, argc, argv);

	if (ret)
		return ret;
	ret = gosync_unlink_flags(c->name, c->flags);
	return ret < 0 ? cli_fail(c, -ret) : CLI_OK;
}
