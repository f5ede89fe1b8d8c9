// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * gosync(1), the command-line tool, run as a user runs it: every command,
 * its output, its exit status and its message, in standalone mode (host
 * and guest) and kernel mode (guest: a gosync filesystem of the test's
 * own, mounted where GOSYNC_FS says).  The round trip of issue 12: a
 * channel made and fed by the tool (and by a shell redirection), received
 * here in C through gosync_chan_open() and read(2); the reverse, in text,
 * hex and raw; `gosync ls -l` showing the length and the receivers and
 * senders blocked on it; usage errors, missing names and timeouts with
 * their exit statuses.
 *
 * The tool: $GOSYNC_CLI, else cli/gosync of the build tree this test was
 * built in (../cli/gosync or ../../cli/gosync from the test program).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "kselftest_harness.h"
#include "chan_test.h"

struct cli_out {
	int status;		/* exit status, or 128 + signal */
	char out[16384];
	char err[4096];
	size_t outlen;
};

/* The tool: an absolute path, or "" when it cannot be found. */
static void cli_find(char *bin, size_t len)
{
	static const char *const rel[] = { "/../cli/gosync", "/../../cli/gosync" };
	const char *env = getenv("GOSYNC_CLI");
	char exe[PATH_MAX - 32];
	ssize_t n;

	bin[0] = '\0';
	if (env && *env) {
		snprintf(bin, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(bin, len, "%s%s", exe, rel[i]);
		if (!access(bin, X_OK))
			return;
	}
	bin[0] = '\0';
}

static int cli_memfd(const char *what, const void *data, size_t len)
{
	int fd = memfd_create(what, MFD_CLOEXEC);

	if (fd >= 0 && len && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	if (fd >= 0)
		lseek(fd, 0, SEEK_SET);
	return fd;
}

struct cli_job {
	pid_t pid;
	int out, err;
};

/*
 * Start BIN [--standalone] ARGV... with @in (@inlen bytes, or NULL: an
 * empty stdin) and its stdout and stderr in memfds.
 */
static int cli_start(struct cli_job *j, const char *bin, bool standalone,
		     const void *in, size_t inlen, const char *const *argv)
{
	const char *args[64];
	int in_fd, n = 0;

	args[n++] = "gosync";
	if (standalone)
		args[n++] = "--standalone";
	for (; *argv && n < 63; argv++)
		args[n++] = *argv;
	args[n] = NULL;
	in_fd = cli_memfd("in", in, inlen);
	j->out = cli_memfd("out", NULL, 0);
	j->err = cli_memfd("err", NULL, 0);
	if (in_fd < 0 || j->out < 0 || j->err < 0)
		return -1;
	j->pid = fork();
	if (j->pid == 0) {
		dup2(in_fd, 0);
		dup2(j->out, 1);
		dup2(j->err, 2);
		execv(bin, (char *const *)args);
		_exit(127);
	}
	close(in_fd);
	return j->pid < 0 ? -1 : 0;
}

static int cli_finish(struct cli_job *j, struct cli_out *r)
{
	int st;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	if (waitpid(j->pid, &st, 0) != j->pid)
		return -1;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	lseek(j->out, 0, SEEK_SET);
	lseek(j->err, 0, SEEK_SET);
	n = read(j->out, r->out, sizeof(r->out) - 1);
	r->outlen = n > 0 ? (size_t)n : 0;
	r->out[r->outlen] = '\0';
	n = read(j->err, r->err, sizeof(r->err) - 1);
	r->err[n > 0 ? n : 0] = '\0';
	close(j->out);
	close(j->err);
	return r->status;
}

static int cli_run(struct cli_out *r, const char *bin, bool standalone,
		   const void *in, size_t inlen, const char *const *argv)
{
	struct cli_job j;

	if (cli_start(&j, bin, standalone, in, inlen, argv))
		return -1;
	return cli_finish(&j, r);
}

/* Run the tool: RUN(&r, "send", "/a", "x") is its exit status. */
#define RUN(r, ...) cli_run((r), self->bin, !variant->kernel, NULL, 0,	\
			    (const char *const []){ __VA_ARGS__, NULL })
#define RUN_IN(r, in, inlen, ...) cli_run((r), self->bin, !variant->kernel, \
			    (in), (inlen), (const char *const []){ __VA_ARGS__, NULL })
#define START(j, ...) cli_start((j), self->bin, !variant->kernel, NULL, 0, \
			    (const char *const []){ __VA_ARGS__, NULL })

/*
 * The @col-th (0-based) field of `ls -l`'s line for @name ("/a"), into
 * @buf; false when there is no such line.
 */
static bool ls_field(const char *out, const char *name, int col, char *buf,
		     size_t len)
{
	char line[1024];
	const char *p = out, *nl;

	for (; *p; p = nl + 1) {
		char *save, *tok, *f[16];
		int n = 0;

		nl = strchrnul(p, '\n');
		snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
		for (tok = strtok_r(line, " ", &save); tok && n < 16;
		     tok = strtok_r(NULL, " ", &save))
			f[n++] = tok;
		if (n == 12 && !strcmp(f[11], name) && col < n) {
			snprintf(buf, len, "%s", f[col]);
			return true;
		}
		if (!*nl)
			break;
	}
	return false;
}

enum { LS_MODE, LS_OWNER, LS_GROUP, LS_KIND, LS_ELEM, LS_LEN, LS_RECVW,
       LS_SENDW, LS_SENDERS, LS_CLOSED, LS_AUTO, LS_NAME };

FIXTURE(cli) {
	char bin[PATH_MAX];
	char dir[64];
	struct cli_out r;
};

FIXTURE_VARIANT(cli) {
	unsigned int flags;
	bool kernel;
};

FIXTURE_VARIANT_ADD(cli, standalone) { .flags = GOSYNC_STANDALONE, .kernel = false };
#ifndef GOSYNC_TEST_HOST
FIXTURE_VARIANT_ADD(cli, kernel) { .flags = 0, .kernel = true };
#endif

FIXTURE_SETUP(cli)
{
	cli_find(self->bin, sizeof(self->bin));
	ASSERT_NE(0, self->bin[0]) TH_LOG("no gosync tool: build it (make cli) or set GOSYNC_CLI");
	umask(022);
	if (variant->kernel) {
		/*
		 * A mount namespace of the test's own: its mount goes with
		 * it, whatever way the test ends (the module can unload).
		 */
		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			SKIP(return, "no mount namespace of its own (not root)");
		snprintf(self->dir, sizeof(self->dir), "/tmp/cli_test.XXXXXX");
		ASSERT_NE(NULL, mkdtemp(self->dir));
		if (mount(GOSYNC_FS_TYPE, self->dir, GOSYNC_FS_TYPE, 0, NULL)) {
			int err = errno;

			rmdir(self->dir);
			self->dir[0] = '\0';
			if (err == ENODEV)
				SKIP(return, "no gosync filesystem (module not loaded, or older)");
			if (err == EPERM)
				SKIP(return, "cannot mount a gosync filesystem (not root)");
			ASSERT_EQ(0, err);
		}
		setenv("GOSYNC_FS", self->dir, 1);
	} else {
		snprintf(self->dir, sizeof(self->dir), "/dev/shm/cli_test.XXXXXX");
		ASSERT_NE(NULL, mkdtemp(self->dir));
		setenv("GOSYNC_SHM_DIR", self->dir, 1);
	}
}

FIXTURE_TEARDOWN(cli)
{
	DIR *d;
	struct dirent *de;

	if (!self->dir[0])
		return;
	if (variant->kernel) {
		umount2(self->dir, MNT_DETACH);
	} else if ((d = opendir(self->dir))) {
		while ((de = readdir(d)))
			unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	rmdir(self->dir);
}

/* A handle of the channel @name in the variant's mode. */
static int test_open(struct gosync_chan **ch, const char *name,
		     unsigned int flags)
{
	return gosync_chan_open(ch, name, O_RDWR, 0, 0, 0, flags);
}

TEST_F(cli, help_version_and_usage)
{
	struct cli_out *r = &self->r;

	ASSERT_EQ(0, RUN(r, "--help"));
	EXPECT_NE(NULL, strstr(r->out, "Usage: gosync"));
	EXPECT_NE(NULL, strstr(r->out, "gosync watch NAME"));
	ASSERT_EQ(0, RUN(r, "send", "--help"));
	EXPECT_NE(NULL, strstr(r->out, "Usage: gosync send NAME"));
	ASSERT_EQ(0, RUN(r, "help", "recv"));
	EXPECT_NE(NULL, strstr(r->out, "Usage: gosync recv NAME"));
	ASSERT_EQ(0, RUN(r, "make", "/x", "-h"));
	EXPECT_NE(NULL, strstr(r->out, "--autoclose"));
	ASSERT_EQ(0, RUN(r, "--version"));
	EXPECT_EQ(0, strncmp(r->out, "gosync ", 7));
	EXPECT_NE(NULL, strstr(r->out, "libgosync "));

	EXPECT_EQ(2, RUN(r, "frobnicate"));
	EXPECT_NE(NULL, strstr(r->err, "no command 'frobnicate'"));
	EXPECT_EQ(2, RUN(r, "ls", "--bogus"));
	EXPECT_NE(NULL, strstr(r->err, "'--bogus'"));
	EXPECT_EQ(2, RUN(r, "make", "/a", "--cap", "1"));
	EXPECT_NE(NULL, strstr(r->err, "--elem N and --cap N"));
	EXPECT_EQ(2, RUN(r, "make", "/a", "--elem", "65536", "--cap", "1"));
	EXPECT_EQ(2, RUN(r, "make", "/a", "--elem", "1", "--cap", "1048577"));
	EXPECT_EQ(2, RUN(r, "make", "/a", "--elem", "-1", "--cap", "1"));
	EXPECT_EQ(2, RUN(r, "make", "/a", "--elem", "1", "--cap", "1", "--mode", "0999"));
	EXPECT_EQ(2, RUN(r, "make", "/a", "--kind", "semaphore"));
	EXPECT_EQ(2, RUN(r, "make", "/a", "--kind", "wg", "--elem", "1"));
	EXPECT_EQ(2, RUN(r, "make", "/a", "/b", "--elem", "1", "--cap", "1"));
	EXPECT_EQ(2, RUN(r, "stat"));
	EXPECT_EQ(2, RUN(r, "recv", "/a", "-n", "many"));
	EXPECT_EQ(2, RUN(r, "recv", "/a", "--hex", "--raw"));
	EXPECT_EQ(2, RUN(r, "recv", "/a", "--timeout", "-1"));
	EXPECT_EQ(2, RUN(r, "send", "/a", "--timeout", "soon"));
	EXPECT_EQ(2, RUN(r, "send", "/a", "--raw", "x"));
	EXPECT_EQ(2, RUN(r, "watch", "/a", "--interval", "0"));
	EXPECT_EQ(2, RUN(r, "ls", "/a"));
	/* Nothing above made anything. */
	ASSERT_EQ(0, RUN(r, "ls"));
	EXPECT_STREQ("", r->out);
}

TEST_F(cli, bad_names_are_usage_errors)
{
	static const char *const bad[] = { "", "/", "/a/b", "a/b", ".", "/..", "//a" };
	struct cli_out *r = &self->r;
	char longname[GOSYNC_NAME_MAX + 3];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(2, RUN(r, "make", bad[i], "--elem", "1", "--cap", "1"))
			TH_LOG("make '%s'", bad[i]);
		EXPECT_NE(NULL, strstr(r->err, "NAME")) TH_LOG("%s", r->err);
		EXPECT_EQ(2, RUN(r, "stat", bad[i]));
		EXPECT_EQ(2, RUN(r, "rm", bad[i]));
	}
	longname[0] = '/';
	memset(longname + 1, 'n', GOSYNC_NAME_MAX + 1);
	longname[GOSYNC_NAME_MAX + 2] = '\0';
	EXPECT_EQ(2, RUN(r, "make", longname, "--elem", "1", "--cap", "1"));
	EXPECT_NE(NULL, strstr(r->err, "at most 255 bytes"));
	/* 255 is fine, and "name" is "/name". */
	longname[GOSYNC_NAME_MAX + 1] = '\0';
	EXPECT_EQ(0, RUN(r, "make", longname, "--elem", "1", "--cap", "1")) TH_LOG("%s", r->err);
	EXPECT_EQ(0, RUN(r, "make", "short", "--elem", "1", "--cap", "1"));
	ASSERT_EQ(0, RUN(r, "ls"));
	EXPECT_NE(NULL, strstr(r->out, "/short\n"));
	EXPECT_NE(NULL, strstr(r->out, longname));
}

TEST_F(cli, missing_names)
{
	static const char *const cmds[][3] = {
		{ "send", "/nope", "x" }, { "recv", "/nope", "-n1" },
		{ "stat", "/nope", NULL }, { "close", "/nope", NULL },
		{ "rm", "/nope", NULL }, { "watch", "/nope", NULL },
	};
	struct cli_out *r = &self->r;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		EXPECT_EQ(1, RUN(r, cmds[i][0], cmds[i][1], cmds[i][2]))
			TH_LOG("%s: %s", cmds[i][0], r->err);
		EXPECT_NE(NULL, strstr(r->err, "/nope")) TH_LOG("%s", r->err);
		EXPECT_NE(NULL, strstr(r->err, "(ENOENT)")) TH_LOG("%s", r->err);
	}
}

TEST_F(cli, make_ls_stat)
{
	struct cli_out *r = &self->r;
	char f[64];

	ASSERT_EQ(0, RUN(r, "make", "/a", "--elem", "8", "--cap", "4", "--mode", "0640"))
		TH_LOG("%s", r->err);
	ASSERT_EQ(0, RUN(r, "ls"));
	EXPECT_STREQ("/a\n", r->out);
	ASSERT_EQ(0, RUN(r, "ls", "-l"));
	EXPECT_EQ(0, strncmp(r->out, "MODE ", 5));
	ASSERT_TRUE(ls_field(r->out, "/a", LS_MODE, f, sizeof(f))) TH_LOG("%s", r->out);
	EXPECT_STREQ("-rw-r-----", f);
	ls_field(r->out, "/a", LS_KIND, f, sizeof(f));
	EXPECT_STREQ("chan", f);
	ls_field(r->out, "/a", LS_ELEM, f, sizeof(f));
	EXPECT_STREQ("8", f);
	ls_field(r->out, "/a", LS_LEN, f, sizeof(f));
	EXPECT_STREQ("0/4", f);
	ls_field(r->out, "/a", LS_CLOSED, f, sizeof(f));
	EXPECT_STREQ(variant->kernel ? "no" : "-", f);

	ASSERT_EQ(0, RUN(r, "stat", "a"));
	EXPECT_NE(NULL, strstr(r->out, "name: /a\n"));
	EXPECT_NE(NULL, strstr(r->out, "mode: 0640 (-rw-r-----)\n"));
	EXPECT_NE(NULL, strstr(r->out, "kind: chan\n"));
	EXPECT_NE(NULL, strstr(r->out, "elem-size: 8\n"));
	EXPECT_NE(NULL, strstr(r->out, "cap: 4\n"));
	EXPECT_NE(NULL, strstr(r->out, "len: 0\n"));
	EXPECT_NE(NULL, strstr(r->out, "inode: "));
	EXPECT_NE(NULL, strstr(r->out, "modify: "));
	EXPECT_NE(NULL, strstr(r->out, variant->kernel ? "send-ends: 0\n" : "send-ends: -\n"));

	/* Again: the same shape is fine, another is not, --excl never. */
	EXPECT_EQ(0, RUN(r, "make", "/a", "--elem", "8", "--cap", "4"));
	EXPECT_EQ(1, RUN(r, "make", "/a", "--elem", "4", "--cap", "4"));
	EXPECT_NE(NULL, strstr(r->err, "another shape (--elem 8 --cap 4) (EINVAL)")) TH_LOG("%s", r->err);
	EXPECT_EQ(1, RUN(r, "make", "/a", "--elem", "8", "--cap", "4", "--excl"));
	EXPECT_NE(NULL, strstr(r->err, "make /a: the name exists")) TH_LOG("%s", r->err);
	EXPECT_NE(NULL, strstr(r->err, "(EEXIST)"));
}

TEST_F(cli, sync_kinds)
{
	static const char *const kinds[] = { "wg", "mutex", "rwmutex", "once", "cond" };
	struct cli_out *r = &self->r;
	char name[16], f[64];

	for (size_t i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "/k%s", kinds[i]);
		ASSERT_EQ(0, RUN(r, "make", name, "--kind", kinds[i])) TH_LOG("%s", r->err);
	}
	ASSERT_EQ(0, RUN(r, "ls", "-l"));
	for (size_t i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "/k%s", kinds[i]);
		ASSERT_TRUE(ls_field(r->out, name, LS_KIND, f, sizeof(f))) TH_LOG("%s", r->out);
		EXPECT_STREQ(kinds[i], f);
		ls_field(r->out, name, LS_LEN, f, sizeof(f));
		EXPECT_STREQ("-", f);
	}
	ASSERT_EQ(0, RUN(r, "stat", "/kwg"));
	EXPECT_NE(NULL, strstr(r->out, "kind: wg\n"));
	EXPECT_NE(NULL, strstr(r->out, "state: "));
	EXPECT_EQ(1, RUN(r, "recv", "/kwg", "-n", "1"));
	EXPECT_NE(NULL, strstr(r->err, "recv /kwg: the name is a wg, not a channel (EMEDIUMTYPE)"))
		TH_LOG("%s", r->err);
	EXPECT_EQ(1, RUN(r, "make", "/kwg", "--kind", "mutex"));
	EXPECT_NE(NULL, strstr(r->err, "(EMEDIUMTYPE)"));
}

/* The round trip: made and fed by the tool, received in C. */
TEST_F(cli, shell_send_c_recv)
{
	struct cli_out *r = &self->r;
	struct gosync_chan *ch;
	char e[8], path[128];
	int fd;

	ASSERT_EQ(0, RUN(r, "make", "/jobs", "--elem", "8", "--cap", "16"));
	ASSERT_EQ(0, RUN(r, "send", "/jobs", "hello", "world", "12345678")) TH_LOG("%s", r->err);
	ASSERT_EQ(0, RUN(r, "send", "--hex", "jobs", "00ff00ff00ff00ff"));
	ASSERT_EQ(0, test_open(&ch, "/jobs", variant->flags));
	EXPECT_EQ(4, gosync_chan_len(ch));
	ASSERT_EQ(1, gosync_chan_recv(ch, e, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, memcmp(e, "hello\0\0\0", 8));
	ASSERT_EQ(1, gosync_chan_recv(ch, e, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, memcmp(e, "world\0\0\0", 8));
	if (variant->kernel) {
		/* A program that knows nothing of gosync: open(2), read(2). */
		snprintf(path, sizeof(path), "%s/jobs", self->dir);
		fd = open(path, O_RDONLY);
		ASSERT_LE(0, fd);
		ASSERT_EQ(8, read(fd, e, 8));
		EXPECT_EQ(0, memcmp(e, "12345678", 8));
		ASSERT_EQ(8, read(fd, e, 8));
		EXPECT_EQ(0, memcmp(e, "\0\xff\0\xff\0\xff\0\xff", 8));
		close(fd);
	} else {
		ASSERT_EQ(1, gosync_chan_recv(ch, e, GOSYNC_NONBLOCK));
		EXPECT_EQ(0, memcmp(e, "12345678", 8));
		ASSERT_EQ(1, gosync_chan_recv(ch, e, GOSYNC_NONBLOCK));
		EXPECT_EQ(0, memcmp(e, "\0\xff\0\xff\0\xff\0\xff", 8));
	}
	/* --raw: standard input, in whole elements. */
	ASSERT_EQ(0, RUN_IN(r, "aaaaaaaabbbbbbbb", 16, "send", "/jobs", "--raw"));
	ASSERT_EQ(1, gosync_chan_recv(ch, e, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, memcmp(e, "aaaaaaaa", 8));
	ASSERT_EQ(1, gosync_chan_recv(ch, e, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, memcmp(e, "bbbbbbbb", 8));
	EXPECT_EQ(1, RUN_IN(r, "ccccccccdd", 10, "send", "/jobs", "--raw"));
	EXPECT_NE(NULL, strstr(r->err, "ended 2 bytes into an element of 8 (1 sent)")) TH_LOG("%s", r->err);
	ASSERT_EQ(1, gosync_chan_recv(ch, e, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, memcmp(e, "cccccccc", 8));
	EXPECT_EQ(-EAGAIN, gosync_chan_recv(ch, e, GOSYNC_NONBLOCK));

	/* A VALUE that does not fit: exit 2, and nothing was sent. */
	EXPECT_EQ(2, RUN(r, "send", "/jobs", "ok", "123456789"));
	EXPECT_NE(NULL, strstr(r->err, "VALUE 2 is 9 bytes, more than the element size (8)"))
		TH_LOG("%s", r->err);
	EXPECT_EQ(2, RUN(r, "send", "/jobs", "--hex", "00ff"));
	EXPECT_EQ(2, RUN(r, "send", "/jobs", "--hex", "00ff00ff00ff00fg"));
	EXPECT_EQ(0, gosync_chan_len(ch));
	/* A VALUE that starts with '-' goes after "--". */
	ASSERT_EQ(0, RUN(r, "send", "/jobs", "--", "-5"));
	ASSERT_EQ(1, gosync_chan_recv(ch, e, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, memcmp(e, "-5\0\0\0\0\0\0", 8));
	gosync_chan_free(ch);
}

/* A shell redirection is a sender too (kernel mode: open(2) + write(2)). */
TEST_F(cli, shell_redirection)
{
	struct cli_out *r = &self->r;
	char cmd[256];

	if (!variant->kernel)
		SKIP(return, "a standalone name is not a channel to write(2)");
	ASSERT_EQ(0, RUN(r, "make", "/ticks", "--elem", "8", "--cap", "4"));
	snprintf(cmd, sizeof(cmd), "printf 'tick\\0\\0\\0\\0tock\\0\\0\\0\\0' > %s/ticks",
		 self->dir);
	ASSERT_EQ(0, system(cmd));
	ASSERT_EQ(0, RUN(r, "recv", "/ticks", "-n", "2"));
	EXPECT_STREQ("tick\ntock\n", r->out);
}

/* Sent in C, received by the tool: text, hex, raw. */
TEST_F(cli, c_send_shell_recv)
{
	static const char bin[8] = { 'h', 'i', 0, 'x', 1, 2, (char)0xfe, (char)0xff };
	struct cli_out *r = &self->r;
	struct gosync_chan *ch;

	ASSERT_EQ(0, RUN(r, "make", "/out", "--elem", "8", "--cap", "8"));
	ASSERT_EQ(0, test_open(&ch, "/out", variant->flags));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, gosync_chan_send(ch, bin, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, gosync_chan_send(ch, "12345678", GOSYNC_NONBLOCK));
	ASSERT_EQ(0, RUN(r, "recv", "/out", "-n", "1"));
	EXPECT_STREQ("hi\n", r->out);
	ASSERT_EQ(0, RUN(r, "recv", "/out", "-n", "1", "--hex"));
	EXPECT_STREQ("686900780102feff\n", r->out);
	ASSERT_EQ(0, RUN(r, "recv", "/out", "--count", "1", "--raw"));
	ASSERT_EQ(8, r->outlen);
	EXPECT_EQ(0, memcmp(r->out, bin, 8));
	/* An element with no NUL is printed whole. */
	ASSERT_EQ(0, RUN(r, "recv", "/out", "-n", "1"));
	EXPECT_STREQ("12345678\n", r->out);

	/* Until closed and drained: exit 0; -n N that cannot be met: 4. */
	ASSERT_EQ(0, gosync_chan_send(ch, "a\0\0\0\0\0\0", GOSYNC_NONBLOCK));
	ASSERT_EQ(0, gosync_chan_send(ch, "b\0\0\0\0\0\0", GOSYNC_NONBLOCK));
	ASSERT_EQ(0, gosync_chan_close(ch));
	ASSERT_EQ(4, RUN(r, "recv", "/out", "-n", "3"));
	EXPECT_STREQ("a\nb\n", r->out);
	EXPECT_NE(NULL, strstr(r->err, "closed and drained after 2 of 3")) TH_LOG("%s", r->err);
	ASSERT_EQ(0, RUN(r, "recv", "/out"));
	EXPECT_STREQ("", r->out);
	gosync_chan_free(ch);
}

TEST_F(cli, close_and_closed)
{
	struct cli_out *r = &self->r;

	ASSERT_EQ(0, RUN(r, "make", "/c", "--elem", "4", "--cap", "4"));
	ASSERT_EQ(0, RUN(r, "send", "/c", "x", "y", "--close"));
	ASSERT_EQ(0, RUN(r, "recv", "/c"));
	EXPECT_STREQ("x\ny\n", r->out);
	EXPECT_EQ(1, RUN(r, "send", "/c", "z"));
	EXPECT_STREQ("gosync: send /c: the channel is closed (EPIPE)\n", r->err);
	EXPECT_EQ(1, RUN(r, "close", "/c"));
	EXPECT_STREQ("gosync: close /c: the channel is already closed (EPIPE)\n", r->err);
	ASSERT_EQ(0, RUN(r, "make", "/d", "--elem", "4", "--cap", "4"));
	ASSERT_EQ(0, RUN(r, "close", "d"));
	ASSERT_EQ(0, RUN(r, "stat", "/d"));
	EXPECT_NE(NULL, strstr(r->out, variant->kernel ? "closed: yes\n" : "closed: -\n"));
}

TEST_F(cli, timeouts)
{
	struct cli_out *r = &self->r;
	int64_t t0;

	ASSERT_EQ(0, RUN(r, "make", "/t", "--elem", "4", "--cap", "1"));
	t0 = gosync_now();
	EXPECT_EQ(3, RUN(r, "recv", "/t", "--timeout", "0.2"));
	EXPECT_LE(200000000, gosync_now() - t0);
	EXPECT_STREQ("gosync: recv /t: timed out (ETIMEDOUT)\n", r->err);
	EXPECT_EQ(3, RUN(r, "send", "/t", "a", "b", "--timeout", "0.2"));
	EXPECT_NE(NULL, strstr(r->err, "send /t: timed out (ETIMEDOUT)")) TH_LOG("%s", r->err);
	EXPECT_NE(NULL, strstr(r->err, "1 element was sent before that")) TH_LOG("%s", r->err);
	EXPECT_EQ(3, RUN(r, "recv", "/t", "-n", "2", "--timeout", "0.1"));
	EXPECT_STREQ("a\n", r->out);
	EXPECT_NE(NULL, strstr(r->err, "1 element was received before that")) TH_LOG("%s", r->err);
	/* 0: what can be done without waiting. */
	EXPECT_EQ(0, RUN(r, "send", "/t", "c", "--timeout", "0"));
	EXPECT_EQ(0, RUN(r, "recv", "/t", "-n", "1", "--timeout", "0"));
	EXPECT_STREQ("c\n", r->out);
}

/* A name that is unlinked while in use, and made again. */
TEST_F(cli, rm_while_in_use)
{
	struct cli_out *r = &self->r;
	struct gosync_chan *old;
	char e[4];

	ASSERT_EQ(0, RUN(r, "make", "/u", "--elem", "4", "--cap", "2"));
	ASSERT_EQ(0, test_open(&old, "/u", variant->flags));
	ASSERT_EQ(0, RUN(r, "rm", "/u"));
	ASSERT_EQ(0, RUN(r, "ls"));
	EXPECT_STREQ("", r->out);
	EXPECT_EQ(1, RUN(r, "rm", "/u"));
	EXPECT_NE(NULL, strstr(r->err, "(ENOENT)"));
	ASSERT_EQ(0, RUN(r, "make", "/u", "--elem", "4", "--cap", "2", "--excl"));
	ASSERT_EQ(0, RUN(r, "send", "/u", "new"));
	/* The old object still works, and is another one. */
	ASSERT_EQ(0, gosync_chan_send(old, "old", GOSYNC_NONBLOCK));
	EXPECT_EQ(1, gosync_chan_len(old));
	ASSERT_EQ(0, RUN(r, "recv", "/u", "-n", "1", "--timeout", "0"));
	EXPECT_STREQ("new\n", r->out);
	ASSERT_EQ(1, gosync_chan_recv(old, e, GOSYNC_NONBLOCK));
	EXPECT_STREQ("old", e);
	gosync_chan_free(old);
}

/* Wait until `ls -l` shows @want in column @col of @name (10 s at most). */
static bool ls_until(struct cli_out *r, const char *bin, bool standalone,
		     const char *name, int col, const char *want)
{
	int64_t end = gosync_after(10000000000LL);
	char f[64];

	while (gosync_now() < end) {
		if (cli_run(r, bin, standalone, NULL, 0,
			    (const char *const []){ "ls", "-l", NULL }) == 0 &&
		    ls_field(r->out, name, col, f, sizeof(f)) && !strcmp(f, want))
			return true;
		test_sleep_ms(10);
	}
	return false;
}

/*
 * The issue's `gosync ls -l`: the length, and who is blocked on each
 * side.  (Under TCG one run of the tool takes up to a few tenths of a
 * second: more time than the harness's default.)
 */
TEST_F_TIMEOUT(cli, ls_shows_length_and_waiters, 120)
{
	struct cli_out *r = &self->r, rr;
	struct cli_job recv, send;
	char f[64];

	ASSERT_EQ(0, RUN(r, "make", "/w", "--elem", "4", "--cap", "1"));
	if (!variant->kernel) {
		ASSERT_EQ(0, RUN(r, "send", "/w", "x"));
		ASSERT_EQ(0, RUN(r, "ls", "-l"));
		ls_field(r->out, "/w", LS_LEN, f, sizeof(f));
		EXPECT_STREQ("1/1", f);
		/* Only the kernel knows these. */
		for (int col = LS_RECVW; col <= LS_AUTO; col++) {
			ls_field(r->out, "/w", col, f, sizeof(f));
			EXPECT_STREQ("-", f);
		}
		return;
	}
	/* A receiver blocked on the empty channel. */
	ASSERT_EQ(0, START(&recv, "recv", "/w", "-n", "1"));
	ASSERT_TRUE(ls_until(r, self->bin, false, "/w", LS_RECVW, "1"))
		TH_LOG("no blocked receiver: %s", r->out);
	ls_field(r->out, "/w", LS_LEN, f, sizeof(f));
	EXPECT_STREQ("0/1", f);
	ls_field(r->out, "/w", LS_SENDW, f, sizeof(f));
	EXPECT_STREQ("0", f);
	ASSERT_EQ(0, RUN(r, "send", "/w", "one"));
	ASSERT_EQ(0, cli_finish(&recv, &rr));
	EXPECT_STREQ("one\n", rr.out);

	/* Full, and a sender blocked on it: open, can send. */
	ASSERT_EQ(0, RUN(r, "send", "/w", "two"));
	ASSERT_EQ(0, START(&send, "send", "/w", "3rd"));
	ASSERT_TRUE(ls_until(r, self->bin, false, "/w", LS_SENDW, "1"))
		TH_LOG("no blocked sender: %s", r->out);
	ls_field(r->out, "/w", LS_LEN, f, sizeof(f));
	EXPECT_STREQ("1/1", f);
	ls_field(r->out, "/w", LS_RECVW, f, sizeof(f));
	EXPECT_STREQ("0", f);
	ls_field(r->out, "/w", LS_SENDERS, f, sizeof(f));
	EXPECT_STREQ("1", f);
	ASSERT_EQ(0, RUN(r, "stat", "/w"));
	EXPECT_NE(NULL, strstr(r->out, "waiting-senders: 1\n"));
	EXPECT_NE(NULL, strstr(r->out, "len: 1\n"));
	ASSERT_EQ(0, RUN(r, "recv", "/w", "-n", "2"));
	EXPECT_STREQ("two\n3rd\n", r->out);
	ASSERT_EQ(0, cli_finish(&send, &rr));
	ASSERT_EQ(0, RUN(r, "stat", "/w"));
	EXPECT_NE(NULL, strstr(r->out, "sent: 3\n"));
	EXPECT_NE(NULL, strstr(r->out, "received: 3\n"));
	EXPECT_NE(NULL, strstr(r->out, "send-ends: 0\n"));
}

static int test_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

TEST_F(cli, watch)
{
	struct cli_out *r = &self->r;
	const char *second;

	ASSERT_EQ(0, RUN(r, "make", "/v", "--elem", "1", "--cap", "4"));
	ASSERT_EQ(0, RUN(r, "send", "/v", "a", "b"));
	/* Not a terminal: one line per sample. */
	ASSERT_EQ(0, RUN(r, "watch", "/v", "-n", "2", "--interval", "0.05"));
	EXPECT_EQ(0, strncmp(r->out, "/v len 2/4", 10)) TH_LOG("%s", r->out);
	second = strchr(r->out, '\n');
	ASSERT_NE(NULL, second);
	EXPECT_EQ(0, strncmp(second + 1, "/v len 2/4", 10)) TH_LOG("%s", r->out);
	EXPECT_EQ(2, test_lines(r->out)) TH_LOG("%s", r->out);
	if (variant->kernel) {
		EXPECT_NE(NULL, strstr(second, "recv 0.0/s send 0.0/s")) TH_LOG("%s", r->out);
		/* Closed and drained: it stops by itself. */
		ASSERT_EQ(0, RUN(r, "send", "/v", "--close"));
		ASSERT_EQ(0, RUN(r, "recv", "/v"));
		ASSERT_EQ(0, RUN(r, "watch", "/v", "-n", "100", "--interval", "0.05"));
		EXPECT_NE(NULL, strstr(r->out, "len 0/4")) TH_LOG("%s", r->out);
		EXPECT_NE(NULL, strstr(r->out, "closed\n"));
		EXPECT_EQ(1, test_lines(r->out)) TH_LOG("%s", r->out);
	}
	ASSERT_EQ(0, RUN(r, "make", "/kw", "--kind", "wg"));
	EXPECT_EQ(1, RUN(r, "watch", "/kw", "-n", "1"));
	EXPECT_NE(NULL, strstr(r->err, "(EMEDIUMTYPE)")) TH_LOG("%s", r->err);
}

/* Channels of 0-byte elements: each "" is one event. */
TEST_F(cli, zero_size_elements)
{
	struct cli_out *r = &self->r;
	char f[64];

	ASSERT_EQ(0, RUN(r, "make", "/ev", "--elem", "0", "--cap", "4"));
	ASSERT_EQ(0, RUN(r, "send", "/ev", "", ""));
	EXPECT_EQ(2, RUN(r, "send", "/ev", "x"));
	EXPECT_EQ(2, RUN(r, "send", "/ev", "--raw"));
	ASSERT_EQ(0, RUN(r, "ls", "-l"));
	ls_field(r->out, "/ev", LS_LEN, f, sizeof(f));
	EXPECT_STREQ("2/4", f);
	ASSERT_EQ(0, RUN(r, "recv", "/ev", "-n", "2"));
	EXPECT_STREQ("\n\n", r->out);
}

TEST_F(cli, autoclose)
{
	struct cli_out *r = &self->r;
	char f[64];

	if (!variant->kernel) {
		EXPECT_EQ(1, RUN(r, "make", "/ac", "--elem", "1", "--cap", "8", "--autoclose"));
		EXPECT_NE(NULL, strstr(r->err, "not supported in standalone mode (EOPNOTSUPP)"))
			TH_LOG("%s", r->err);
		return;
	}
	ASSERT_EQ(0, RUN(r, "make", "/ac", "--elem", "1", "--cap", "8", "--autoclose"));
	/* Neither making nor looking was a sender that came and went. */
	ASSERT_EQ(0, RUN(r, "ls", "-l"));
	ASSERT_EQ(0, RUN(r, "stat", "/ac"));
	ASSERT_EQ(0, RUN(r, "ls", "-l"));
	ls_field(r->out, "/ac", LS_AUTO, f, sizeof(f));
	EXPECT_STREQ("yes", f);
	ls_field(r->out, "/ac", LS_CLOSED, f, sizeof(f));
	EXPECT_STREQ("no", f);
	/* The last sender's exit closes it: recv drains, then ends, 0. */
	ASSERT_EQ(0, RUN_IN(r, "abc", 3, "send", "/ac", "--raw"));
	ASSERT_EQ(0, RUN(r, "recv", "/ac", "--timeout", "10"));
	EXPECT_STREQ("a\nb\nc\n", r->out);
}

/* A context by name: made, listed, waited for, cancelled with a cause. */
TEST_F(cli, contexts)
{
	struct cli_out *r = &self->r;
	struct cli_job j;
	char f[64];

	if (!variant->kernel) {
		EXPECT_EQ(1, RUN(r, "make", "/job", "--kind", "ctx"));
		EXPECT_NE(NULL, strstr(r->err, "(EOPNOTSUPP)")) TH_LOG("%s", r->err);
		return;
	}
	ASSERT_EQ(0, RUN(r, "make", "/job", "--kind", "ctx", "--mode", "0640"))
		TH_LOG("%s", r->err);
	EXPECT_EQ(2, RUN(r, "make", "/x", "--kind", "ctx", "--elem", "8"));
	ASSERT_EQ(0, RUN(r, "ls", "-l"));
	ASSERT_TRUE(ls_field(r->out, "/job", LS_KIND, f, sizeof(f))) TH_LOG("%s", r->out);
	EXPECT_STREQ("ctx", f);
	ASSERT_EQ(0, RUN(r, "stat", "/job"));
	EXPECT_NE(NULL, strstr(r->out, "kind: ctx\n")) TH_LOG("%s", r->out);
	EXPECT_NE(NULL, strstr(r->out, "state: live\n")) TH_LOG("%s", r->out);
	EXPECT_EQ(3, RUN(r, "wait", "/job", "--timeout", "0.1"));
	/* a waiter asleep, then the cancel from another command */
	ASSERT_EQ(0, START(&j, "wait", "/job", "--timeout", "20"));
	EXPECT_EQ(2, RUN(r, "cancel", "/job", "--cause", "ENOSUCH"));
	EXPECT_EQ(2, RUN(r, "cancel", "/job", "--cause", "4096"));
	ASSERT_EQ(0, RUN(r, "cancel", "/job", "--cause", "EPIPE")) TH_LOG("%s", r->err);
	EXPECT_EQ(0, cli_finish(&j, r));
	EXPECT_STREQ("ECANCELED (cause EPIPE)\n", r->out);
	/* the first cause stays; a done context is waited for at once */
	ASSERT_EQ(0, RUN(r, "cancel", "/job", "--cause", "5"));
	ASSERT_EQ(0, RUN(r, "wait", "/job"));
	EXPECT_STREQ("ECANCELED (cause EPIPE)\n", r->out);
	ASSERT_EQ(0, RUN(r, "stat", "/job"));
	EXPECT_NE(NULL, strstr(r->out, "state: ECANCELED:EPIPE\n")) TH_LOG("%s", r->out);
	EXPECT_EQ(1, RUN(r, "cancel", "/nosuch"));
	EXPECT_NE(NULL, strstr(r->err, "(ENOENT)")) TH_LOG("%s", r->err);
	ASSERT_EQ(0, RUN(r, "rm", "/job"));
}

/* Kernel mode, as root: what another user may not open shows as '?'. */
TEST_F(cli, unreadable_fields)
{
	struct cli_out *r = &self->r;
	char f[64];
	pid_t pid;
	int st;

	if (!variant->kernel || geteuid() != 0)
		SKIP(return, "needs kernel mode and root (to become another user)");
	ASSERT_EQ(0, RUN(r, "make", "/secret", "--elem", "4", "--cap", "2", "--mode", "0600"));
	ASSERT_EQ(0, RUN(r, "make", "/open", "--elem", "4", "--cap", "2", "--mode", "0666"));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		if (cli_run(r, self->bin, false, NULL, 0,
			    (const char *const []){ "ls", "-l", NULL }) != 0)
			_exit(11);
		if (!ls_field(r->out, "/secret", LS_LEN, f, sizeof(f)) || strcmp(f, "?/?"))
			_exit(12);
		if (!ls_field(r->out, "/secret", LS_MODE, f, sizeof(f)) || strcmp(f, "-rw-------"))
			_exit(13);
		if (!ls_field(r->out, "/open", LS_LEN, f, sizeof(f)) || strcmp(f, "0/2"))
			_exit(14);
		if (cli_run(r, self->bin, false, NULL, 0,
			    (const char *const []){ "send", "/secret", "x", NULL }) != 1 ||
		    !strstr(r->err, "send /secret: permission denied (-rw-------, uid 0, gid 0) (EACCES)"))
			_exit(15);
		if (cli_run(r, self->bin, false, NULL, 0,
			    (const char *const []){ "stat", "/secret", NULL }) != 0 ||
		    !strstr(r->out, "len: ?\n") || !strstr(r->out, "unknown: no read permission (EACCES)"))
			_exit(16);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
}

TEST_HARNESS_MAIN
