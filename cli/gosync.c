// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * gosync(1): list, inspect, make, feed, drain, close and remove named
 * gosync objects from a shell.
 *
 *   gosync [--standalone] COMMAND [OPTION...] [NAME] [VALUE...]
 *
 * This file: the command table, global options, help, and what every
 * command shares: names, numbers, deadlines and error messages that say
 * what went wrong ("gosync: send /jobs: the channel is closed (EPIPE)").
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#ifndef GOSYNC_CLI_VERSION
#define GOSYNC_CLI_VERSION "unknown"
#endif

#define SHM_DIR_DEFAULT "/dev/shm/gosync"

const char *cli_prog = "gosync";

struct cli_cmd {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
	const char *synopsis;
	const char *help;
};

static const struct cli_cmd cli_cmds[] = {
	{ "ls", cli_ls, "ls [-l]",
	  "List the names in the gosync filesystem ($GOSYNC_FS, else " GOSYNC_FS_DEFAULT ").\n"
	  "\n"
	  "  -l, --long   one line per name: mode, owner, group, kind, element\n"
	  "               size, length/capacity, blocked receivers and senders,\n"
	  "               open ends that can send, closed, auto-close.  A field\n"
	  "               that cannot be read (no read permission) is '?', one\n"
	  "               that has no meaning or that only the kernel knows '-'.\n" },
	{ "stat", cli_stat, "stat NAME",
	  "Print everything known of NAME, one \"key: value\" per line.\n" },
	{ "make", cli_make,
	  "make NAME --elem N --cap N [--mode M] [--autoclose] [--excl]\n"
	  "%sgosync make NAME --kind wg|mutex|rwmutex|once|cond|ctx [--mode M] [--excl]",
	  "Make a channel (or a sync object) named NAME; without --excl an\n"
	  "existing one of the same kind and shape is fine.\n"
	  "\n"
	  "  --elem N       element size in bytes (0 to 65535)\n"
	  "  --cap N        capacity in elements (0: unbuffered; at most 1048576)\n"
	  "  --kind KIND    chan (the default), wg, mutex, rwmutex, once, cond or\n"
	  "                 ctx (a root context: cancel, wait; kernel mode only)\n"
	  "  --mode M       permission bits, octal (default 0666, less the umask)\n"
	  "  --autoclose    the kernel closes the channel when its last end that\n"
	  "                 can send is gone (gosync(4); kernel mode only)\n"
	  "  --excl         fail if NAME exists (O_EXCL)\n" },
	{ "send", cli_send, "send NAME [--hex | --raw] [--timeout SEC] [--close] [--] [VALUE...]",
	  "Send each VALUE as one element, in order.\n"
	  "\n"
	  "  (default)      VALUE is text, zero padded to the element size\n"
	  "  --hex          VALUE is hex digits, exactly the element size in bytes\n"
	  "  --raw          no VALUE: send standard input, one element per\n"
	  "                 element-size bytes, until end of file\n"
	  "  --timeout SEC  give up after SEC seconds (exit status 3)\n"
	  "  --close        close the channel after sending\n" },
	{ "recv", cli_recv, "recv NAME [-n N] [--hex | --raw] [--timeout SEC]",
	  "Receive elements and print them: as text up to the first NUL byte,\n"
	  "one per line (default), as hex digits, one per line (--hex), or as\n"
	  "the bytes themselves (--raw).\n"
	  "\n"
	  "  -n, --count N  receive N elements (default: until closed and drained;\n"
	  "                 exit status 4 when it closes before N came)\n"
	  "  --timeout SEC  give up after SEC seconds (exit status 3)\n" },
	{ "close", cli_close, "close NAME",
	  "Close the channel: receivers drain what was sent, then see it closed.\n" },
	{ "rm", cli_rm, "rm NAME",
	  "Remove the name; the object lives on while anyone has it open.\n" },
	{ "cancel", cli_cancel, "cancel NAME [--cause ERRNO]",
	  "Cancel the context NAME and every context made under it, in every\n"
	  "process (kernel mode; needs read and write permission on NAME).\n"
	  "\n"
	  "  --cause ERRNO  the cause, by its first name (EPIPE, EAGAIN) or\n"
	  "                 number (default ECANCELED); the first cancel's\n"
	  "                 stays\n" },
	{ "wait", cli_wait, "wait NAME [--timeout SEC]",
	  "Wait until the context NAME is done, then print its error and cause.\n"
	  "\n"
	  "  --timeout SEC  give up after SEC seconds (exit status 3)\n" },
	{ "watch", cli_watch, "watch NAME [--interval SEC] [-n COUNT]",
	  "Show the channel's length and receive rate, refreshed in place on a\n"
	  "terminal (one line per sample otherwise), until it is closed and\n"
	  "drained.\n"
	  "\n"
	  "  --interval SEC  seconds between samples (default 1)\n"
	  "  -n, --count N   stop after N samples\n" },
};

#define CLI_NCMDS (sizeof(cli_cmds) / sizeof(cli_cmds[0]))

static void cli_help_all(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: gosync [--standalone] COMMAND [OPTION...] [NAME] [VALUE...]\n"
		"\n"
		"Named gosync channels and sync objects from the shell.  NAME is\n"
		"\"/name\" (or \"name\"): one component of at most %d bytes.\n"
		"\nCommands:\n", GOSYNC_NAME_MAX);
	for (i = 0; i < CLI_NCMDS; i++) {
		fprintf(out, "  gosync ");
		fprintf(out, cli_cmds[i].synopsis, "  ");
		fputc('\n', out);
	}
	fprintf(out, "\n"
		"Options:\n"
		"  --standalone   no module: names in $GOSYNC_SHM_DIR, else %s\n"
		"  -h, --help     this help; 'gosync COMMAND --help' for a command's\n"
		"  --version      the tool's and the library's versions\n"
		"\n"
		"Exit status: 0 done, 1 the operation failed, 2 usage error,\n"
		"3 timeout, 4 closed before recv -n N elements came.\n"
		"See gosync(1).\n", SHM_DIR_DEFAULT);
}

static void cli_help_cmd(const struct cli_cmd *cmd)
{
	printf("Usage: gosync ");
	printf(cmd->synopsis, "       ");
	printf("\n\n%s", cmd->help);
	printf("  --standalone   no module: names in $GOSYNC_SHM_DIR, else %s\n"
	       "  -h, --help     this help\n", SHM_DIR_DEFAULT);
}

/* -h or --help among a command's arguments (before a "--"). */
bool cli_want_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	}
	return false;
}

static void cli_version(void)
{
	struct gosync_info info;
	int ret;

	printf("gosync %s\nlibgosync %s\n", GOSYNC_CLI_VERSION, gosync_version());
	ret = gosync_info(&info);
	if (ret < 0)
		printf("module: not loaded (%s)\n", cli_errname(-ret));
	else
		printf("module: ABI %u, features 0x%llx\n", info.abi_version,
		       (unsigned long long)info.features);
}

/* ------------------------------------------------------------ messages -- */

static void cli_prefix(const struct cli *c)
{
	fprintf(stderr, "%s: ", cli_prog);
	if (c && c->cmd)
		fprintf(stderr, "%s%s%s: ", c->cmd, c->name ? " " : "",
			c->name ? c->name : "");
}

int cli_usage(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	cli_prefix(c);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (c && c->cmd)
		fprintf(stderr, "\nTry '%s %s --help'.\n", cli_prog, c->cmd);
	else
		fprintf(stderr, "\nTry '%s --help'.\n", cli_prog);
	return CLI_USAGE;
}

/* An option getopt_long() did not take (opterr is 0: the message is ours). */
int cli_bad_option(const struct cli *c, char **argv)
{
	return cli_usage(c, "unknown option, or an option without its value: '%s'",
			 argv[optind - 1]);
}

const char *cli_errname(int err)
{
	const char *s = strerrorname_np(err);

	return s ? s : "unknown errno";
}

/* "gosync: CMD NAME: <what> (ENAME)"; the exit code for @err. */
int cli_error(const struct cli *c, int err, const char *fmt, ...)
{
	va_list ap;

	cli_prefix(c);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, " (%s)", cli_errname(err));
	fputc('\n', stderr);
	return err == ETIMEDOUT ? CLI_TIMEOUT : CLI_FAILED;
}

static bool cli_is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/*
 * The message for a failed operation on c->name: what the errno means
 * for this command, with what can be found out about why.
 */
int cli_fail(const struct cli *c, int err)
{
	bool send = !strcmp(c->cmd, "send"), make = !strcmp(c->cmd, "make");
	struct cli_facts f;

	switch (err) {
	case ENOENT:
		if (!cli_is_dir(c->dir) && c->standalone)
			return cli_error(c, err, "no such name (no directory %s)", c->dir);
		if (!cli_is_dir(c->dir))
			return cli_error(c, err,
					 "no gosync filesystem at %s (is gosync.ko loaded and "
					 "the filesystem mounted? GOSYNC_FS names another "
					 "mount; --standalone works without the module)",
					 c->dir);
		return cli_error(c, err, "no such name in %s", c->dir);
	case ENODEV:
		/* The library's word for "no gosync filesystem there". */
		return cli_error(c, err, "no gosync filesystem at %s (is gosync.ko "
				 "loaded and the filesystem mounted? GOSYNC_FS names "
				 "another mount; --standalone works without the module)",
				 c->dir);
	case ENOTTY:
		return cli_error(c, err, "%s is not a gosync filesystem", c->dir);
	case EACCES:
	case EPERM:
		cli_facts_get(c, c->base, &f);
		if (!f.stat_err) {
			char mode[11];

			cli_fmt_mode(mode, f.st.st_mode);
			return cli_error(c, err, "permission denied (%s, uid %u, gid %u)",
					 mode, (unsigned int)f.st.st_uid,
					 (unsigned int)f.st.st_gid);
		}
		return cli_error(c, err, "permission denied in %s", c->dir);
	case EEXIST:
		return cli_error(c, err, "the name exists (--excl)");
	case EMEDIUMTYPE:
		cli_facts_get(c, c->base, &f);
		if (f.kind != CLI_KIND_NONE)
			return cli_error(c, err, "the name is a %s, not a %s",
					 cli_kind_name(f.kind),
					 make ? "the kind asked for" : "channel");
		return cli_error(c, err, "the name is an object of another kind");
	case EINVAL:
		if (make) {
			cli_facts_get(c, c->base, &f);
			if (f.kind == CLI_KIND_CHAN && f.elem_size >= 0)
				return cli_error(c, err, "the channel exists with another "
						 "shape (--elem %lld --cap %lld)",
						 f.elem_size, f.cap);
		}
		return cli_error(c, err, "invalid argument");
	case EPIPE:
		return cli_error(c, err, send ? "the channel is closed" :
				 "the channel is already closed");
	case EBADF:
		return cli_error(c, err, "this end of the channel cannot %s", c->cmd);
	case ENOSPC:
		return cli_error(c, err, "the mount's object limit (max=) is reached");
	case EMFILE:
		return cli_error(c, err, "too many objects or files (the per-user "
				 "limit of gosync objects, or this process's fds)");
	case ENOMEM:
		return cli_error(c, err, "out of memory, or over the per-user "
				 "gosync memory limit");
	case EOPNOTSUPP:
		return cli_error(c, err, "not supported %s",
				 c->standalone ? "in standalone mode" :
				 "by the loaded module");
	case ETIMEDOUT:
		return cli_error(c, err, "timed out");
	case ENAMETOOLONG:
		return cli_error(c, err, "the name is longer than %d bytes",
				 GOSYNC_NAME_MAX);
	case EIO:
		return cli_error(c, err, "the channel's shared ring is corrupt");
	default:
		return cli_error(c, err, "%s", strerrordesc_np(err) ?
				 strerrordesc_np(err) : "failed");
	}
}

/* --------------------------------------------------- names and numbers -- */

/*
 * NAME as gosync_chan_open() takes it: "/name", or "name" for short.
 * Checked here, before anything is opened, so that a bad name is a usage
 * error whatever the command does with it.
 */
int cli_set_name(struct cli *c, const char *arg)
{
	static char buf[GOSYNC_NAME_MAX + 2];
	const char *base = arg[0] == '/' ? arg + 1 : arg;
	size_t len = strlen(base);

	c->name = arg;
	if (!len || !strcmp(base, ".") || !strcmp(base, "..") || strchr(base, '/'))
		return cli_usage(c, "a NAME is \"/name\": one component, not empty, "
				 "\".\" or \"..\", with no other '/'");
	if (len > GOSYNC_NAME_MAX)
		return cli_usage(c, "a NAME is at most %d bytes after the '/'",
				 GOSYNC_NAME_MAX);
	buf[0] = '/';
	memcpy(buf + 1, base, len + 1);
	c->name = buf;
	c->base = buf + 1;
	return 0;
}

/* A decimal (or 0x hex) number in [0, @max]; -EINVAL otherwise. */
int cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Seconds, fractions allowed, not negative. */
int cli_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 || v > 1e9)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The absolute deadline @seconds from now, or GOSYNC_FOREVER. */
int64_t cli_deadline(double seconds, bool set)
{
	if (!set)
		return GOSYNC_FOREVER;
	return gosync_after((int64_t)(seconds * 1e9));
}

static const char *const cli_kinds[] = {
	[CLI_KIND_CHAN] = "chan",
	[CLI_KIND_WG] = "wg",
	[CLI_KIND_MUTEX] = "mutex",
	[CLI_KIND_RWMUTEX] = "rwmutex",
	[CLI_KIND_ONCE] = "once",
	[CLI_KIND_COND] = "cond",
	[CLI_KIND_CTX] = "ctx",
};

const char *cli_kind_name(enum cli_kind kind)
{
	if (kind <= CLI_KIND_NONE || kind > CLI_KIND_CTX)
		return "?";
	return cli_kinds[kind];
}

enum cli_kind cli_kind_parse(const char *s)
{
	int k;

	for (k = CLI_KIND_CHAN; k <= CLI_KIND_CTX; k++)
		if (!strcmp(s, cli_kinds[k]))
			return k;
	if (!strcmp(s, "waitgroup") || !strcmp(s, "channel"))
		return !strcmp(s, "waitgroup") ? CLI_KIND_WG : CLI_KIND_CHAN;
	return CLI_KIND_NONE;
}

/* ---------------------------------------------------------------- main -- */

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "standalone", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli c = { 0 };
	const char *env;
	size_t i;
	int opt;

	opterr = 0;
	/* Options before COMMAND only; COMMAND parses its own. */
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'S':
			c.standalone = true;
			break;
		case 'h':
			cli_help_all(stdout);
			return CLI_OK;
		case 'V':
			cli_version();
			return CLI_OK;
		default:
			return cli_bad_option(NULL, argv);
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no command\n", cli_prog);
		cli_help_all(stderr);
		return CLI_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (!strcmp(argv[0], "help")) {
		if (argc < 2) {
			cli_help_all(stdout);
			return CLI_OK;
		}
		argv++;
		argc--;
		for (i = 0; i < CLI_NCMDS; i++)
			if (!strcmp(argv[0], cli_cmds[i].name)) {
				cli_help_cmd(&cli_cmds[i]);
				return CLI_OK;
			}
		fprintf(stderr, "%s: help: no command '%s'\n", cli_prog, argv[0]);
		return CLI_USAGE;
	}
	for (i = 0; i < CLI_NCMDS; i++)
		if (!strcmp(argv[0], cli_cmds[i].name))
			break;
	if (i == CLI_NCMDS) {
		fprintf(stderr, "%s: no command '%s'\nTry '%s --help'.\n",
			cli_prog, argv[0], cli_prog);
		return CLI_USAGE;
	}
	if (cli_want_help(argc, argv)) {
		cli_help_cmd(&cli_cmds[i]);
		return CLI_OK;
	}
	/* --standalone may come after COMMAND too. */
	for (opt = 1; opt < argc; opt++) {
		if (!strcmp(argv[opt], "--"))
			break;
		if (!strcmp(argv[opt], "--standalone"))
			c.standalone = true;
	}
	c.cmd = cli_cmds[i].name;
	c.flags = c.standalone ? GOSYNC_STANDALONE : 0;
	env = getenv(c.standalone ? "GOSYNC_SHM_DIR" : "GOSYNC_FS");
	c.dir = env && *env ? env : c.standalone ? SHM_DIR_DEFAULT : GOSYNC_FS_DEFAULT;
	optind = 0;	/* glibc: start over, and forget the "+" above */
	return cli_cmds[i].run(&c, argc, argv);
}
