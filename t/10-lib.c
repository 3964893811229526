/* lib/ without PAM: hook names and modes, the hook directory scan, the
 * trusted walk, the hooks' environment, the parsers and running a child.
 * Runs as root and non-root: the temp dir and its files belong to the
 * running user, whom every call here trusts (geteuid()). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "env.h"
#include "fsutil.h"
#include "hookdir.h"
#include "log.h"
#include "spawn.h"
#include "util.h"
#include "tap.h"
#include "testlog.h"
#include "tfs.h"

static uid_t me;

/* "<dir>/name"; each call gets its own slot, so paths outlive fmt(). */
static const char *in_dir(const char *name)
{
	static char paths[128][PATH_MAX];
	static int n;
	int w;

	if (n == 128) {
		fprintf(stderr, "in_dir: out of slots\n");
		exit(2);
	}
	w = snprintf(paths[n], sizeof paths[n], "%s/%s", dir, name);
	if (w < 0 || (size_t)w >= sizeof paths[n]) {
		fprintf(stderr, "in_dir: path too long\n");
		exit(2);
	}
	return paths[n++];
}


/* A name as a test description can carry it: no newline, no raw bytes. */
static const char *vis(const char *s)
{
	static char bufs[4][256];
	static int i;
	char *b = bufs[i++ % 4];
	size_t n = 0;

	for (; *s && n < sizeof bufs[0] - 5; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f || c == '#' || c == '\\')
			n += (size_t)snprintf(b + n, 5, "\\x%02x", c);
		else
			b[n++] = (char)c;
	}
	b[n] = '\0';
	return b;
}


static void put_script(const char *path, const char *body, mode_t mode)
{
	put_file(path, fmt("#!/bin/sh\n%s\n", body), mode);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	must(d != NULL, "/proc/self/fd");
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}


/* ------------------------------------------------------------------ */

static void test_skip_reason(void)
{
	static const char *const valid[] = { "10W-x", "20-foo", "a_b.c-d",
					     "99D-y", "B", "_z", "x.dpkg" };
	static const char *const invalid[] = { "", ".hidden", "a b", "a/b",
					       "x~", "\xc3\xa9", ".", "..",
					       "a\nb", "a:b" };
	static const char *const leftover[] = {
		"x.dpkg-old", "x.dpkg-new", "x.dpkg-dist", "x.dpkg-tmp",
		"x.rpmsave", "x.rpmnew", "x.rpmorig", "x.ucf-dist",
		"x.ucf-old", "x.swp", "x.bak", "x.orig",
	};
	char longname[257];
	size_t i;

	for (i = 0; i < sizeof valid / sizeof *valid; i++)
		is_str(polo_hook_skip_reason(valid[i]), NULL,
		       fmt("'%s' is a hook name", valid[i]));
	for (i = 0; i < sizeof invalid / sizeof *invalid; i++)
		ok(polo_hook_skip_reason(invalid[i]) != NULL,
		   fmt("'%s' is skipped (invalid)", vis(invalid[i])));
	for (i = 0; i < sizeof leftover / sizeof *leftover; i++)
		like(polo_hook_skip_reason(leftover[i]), "leftover",
		     fmt("'%s' is skipped as a leftover", leftover[i]));

	memset(longname, 'a', 256);
	longname[256] = '\0';
	ok(polo_hook_skip_reason(longname) != NULL, "a 256-byte name is skipped");
	longname[255] = '\0';
	is_str(polo_hook_skip_reason(longname), NULL,
	       "a 255-byte name (NAME_MAX) is a hook name");
}

static void test_mode(void)
{
	static const struct { const char *name; enum polo_mode m; } t[] = {
		{ "10W-a", POLO_MODE_WAIT },	{ "1D-a", POLO_MODE_DETACH },
		{ "10W", POLO_MODE_BATCH },	{ "W-a", POLO_MODE_BATCH },
		{ "10w-a", POLO_MODE_BATCH },	{ "10X-a", POLO_MODE_BATCH },
		{ "007D-x", POLO_MODE_DETACH },	{ "10-a", POLO_MODE_BATCH },
		{ "10D", POLO_MODE_BATCH },	{ "a10W-x", POLO_MODE_BATCH },
		{ "10WW-a", POLO_MODE_BATCH },	{ "0W-", POLO_MODE_WAIT },
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof *t; i++)
		is_int(polo_hook_mode(t[i].name), t[i].m,
		       fmt("mode of '%s' is %c", t[i].name,
			   polo_mode_letter(t[i].m)));
	is_int(polo_mode_letter(POLO_MODE_WAIT), 'W', "letter W");
	is_int(polo_mode_letter(POLO_MODE_DETACH), 'D', "letter D");
	is_int(polo_mode_letter(POLO_MODE_BATCH), 'B', "letter B");
}

static const struct polo_hook *find_hook(const struct polo_hooklist *l,
					 const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

static void test_scan(void)
{
	/* byte order; a locale would put b/B together and _z first */
	static const char *const want[] = { "10W-a", "20W-gw", "40-link",
					    "9W-a", "B", "_z", "b" };
	static const enum polo_mode want_mode[] = {
		POLO_MODE_WAIT, POLO_MODE_WAIT, POLO_MODE_BATCH, POLO_MODE_WAIT,
		POLO_MODE_BATCH, POLO_MODE_BATCH, POLO_MODE_BATCH,
	};
	static const char *const made[] = { "b", "B", "_z", "10W-a", "9W-a",
					    "a.dpkg-old", ".hidden" };
	const char *added = in_dir("hooks/added");
	struct polo_hooklist l;
	const struct polo_hook *h;
	size_t i;
	int r;

	put_dir(in_dir("hooks"), 0755);
	put_dir(added, 0755);
	put_dir(in_dir("hooks/scripts"), 0755);
	put_dir(in_dir("hooks/scripts/start"), 0755);
	put_dir(in_dir("hooks/gw"), 0775);
	for (i = 0; i < sizeof made / sizeof *made; i++)
		put_script(fmt("%s/%s", added, made[i]), "exit 0", 0755);
	put_script(in_dir("hooks/added/off"), "exit 0", 0644);
	put_script(in_dir("hooks/added/20W-gw"), "exit 0", 0775);
	put_script(in_dir("hooks/added/30-gwbatch"), "exit 0", 0775);
	put_script(in_dir("hooks/scripts/start/x"), "exit 0", 0755);
	put_link("../scripts/start/x", in_dir("hooks/added/40-link"));
	put_script(in_dir("hooks/gw/y"), "exit 0", 0755);
	put_link("../gw/y", in_dir("hooks/added/50-gwlink"));

	cap_reset();
	r = polo_hooks_scan(added, me, &l, &lg);
	is_int(r, 0, "scan: 0");
	is_int(l.n, sizeof want / sizeof *want, "scan: exactly the expected hooks");
	for (i = 0; i < l.n && i < sizeof want / sizeof *want; i++) {
		is_str(l.v[i].name, want[i], fmt("scan: hook %zu is %s", i, want[i]));
		is_int(l.v[i].mode, want_mode[i], fmt("scan: mode of %s", want[i]));
	}
	for (i = 1; i < l.n; i++)
		ok(strcmp(l.v[i - 1].name, l.v[i].name) < 0,
		   fmt("scan: %s < %s in strcmp order", l.v[i - 1].name,
		       l.v[i].name));
	h = find_hook(&l, "b");
	is_str(h ? h->path : NULL, in_dir("hooks/added/b"),
	       "scan: .path of a plain hook is its canonical path");
	ok(h && !h->unsafe, "scan: a plain hook is not unsafe");
	h = find_hook(&l, "40-link");
	is_str(h ? h->path : NULL, in_dir("hooks/scripts/start/x"),
	       "scan: .path of a symlinked hook is the canonical target");
	ok(h && !h->unsafe, "scan: a symlink into scripts/start is safe");
	h = find_hook(&l, "20W-gw");
	ok(h && h->unsafe, "scan: a group-writable W hook is listed, unsafe");
	for (i = 0; i < l.n; i++)
		if (strcmp(l.v[i].name, "20W-gw") != 0)
			ok(!l.v[i].unsafe, fmt("scan: %s is not unsafe",
					       l.v[i].name));
	ok(!find_hook(&l, "off"), "scan: a 0644 hook is disabled");
	ok(!find_hook(&l, "30-gwbatch"), "scan: a group-writable batch hook is dropped");
	ok(!find_hook(&l, "50-gwlink"),
	   "scan: a symlink into a group-writable directory is refused");
	ok(!find_hook(&l, "a.dpkg-old") && !find_hook(&l, ".hidden"),
	   "scan: skipped names are not listed");
	is_int(cap.n, 3, "scan: three errors logged (not debug: debug is off)");
	like(cap.buf, fmt("<%d>%s: not running unsafe hook '20W-gw': %s/20W-gw "
			  "is writable by group or others (mode 0775)\n",
			  LOG_ERR, added, added),
	     "scan: the unsafe W hook is logged at LOG_ERR with the reason");
	like(cap.buf, fmt("<%d>%s: not running unsafe hook '30-gwbatch': "
			  "%s/30-gwbatch is writable by group or others",
			  LOG_ERR, added, added),
	     "scan: the unsafe batch hook is logged at LOG_ERR");
	like(cap.buf, fmt("<%d>%s: not running unsafe hook '50-gwlink': %s is "
			  "writable by group or others (mode 0775)\n",
			  LOG_ERR, added, in_dir("hooks/gw")),
	     "scan: the symlink into hooks/gw is logged, naming that directory");
	polo_hooks_free(&l);
	ok(l.v == NULL && l.n == 0, "polo_hooks_free empties the list");

	/* with debug on, what is skipped is said */
	cap_reset();
	lg.debug = true;
	r = polo_hooks_scan(added, me, &l, &lg);
	is_int(r, 0, "scan with debug: 0");
	like(cap.buf, fmt("<%d>%s: skipping '.hidden': ", LOG_DEBUG, added),
	     "scan with debug: .hidden is logged as skipped");
	like(cap.buf, fmt("<%d>%s: skipping 'a.dpkg-old': ", LOG_DEBUG, added),
	     "scan with debug: a.dpkg-old is logged as skipped");
	like(cap.buf, fmt("<%d>%s: skipping 'off': %s/off is not executable\n",
			  LOG_DEBUG, added, added),
	     "scan with debug: the 0644 hook is logged as not executable");
	polo_hooks_free(&l);

	cap_reset();
	l.n = 99;
	r = polo_hooks_scan(in_dir("hooks/nope"), me, &l, &lg);
	is_int(r, 0, "scan of a missing directory: 0");
	ok(l.n == 0 && l.v == NULL, "scan of a missing directory: empty list");
	is_int(cap.n, 0, "scan of a missing directory: nothing logged at LOG_ERR");

	cap_reset();
	l.n = 99;
	r = polo_hooks_scan(in_dir("hooks/gw"), me, &l, &lg);
	is_int(r, -EPERM, "scan of a group-writable directory: -EPERM");
	ok(l.n == 0 && l.v == NULL, "scan of a group-writable directory: empty list");
	like(cap.buf, fmt("<%d>hook directory %s refused: %s is writable by group",
			  LOG_ERR, in_dir("hooks/gw"), in_dir("hooks/gw")),
	     "scan of a group-writable directory: logged at LOG_ERR");
}

static void test_hook_check(void)
{
	char canon[PATH_MAX], why[512];
	int r;

	r = polo_hook_check(in_dir("hooks/added/b"), me, canon, sizeof canon,
			    why, sizeof why);
	is_int(r, 0, "hook_check: a 0755 script is fine");
	is_str(canon, in_dir("hooks/added/b"), "hook_check: canonical path");
	r = polo_hook_check(in_dir("hooks/added/off"), me, canon, sizeof canon,
			    why, sizeof why);
	is_int(r, 1, "hook_check: a 0644 file is 1 (disabled, not unsafe)");
	is_str(why, fmt("%s is not executable", in_dir("hooks/added/off")),
	       "hook_check: why for a 0644 file");
	r = polo_hook_check(fmt("%s/", in_dir("hooks/added/b")), me, canon,
			    sizeof canon, why, sizeof why);
	is_int(r, -ENOTDIR, "hook_check: 'file/' is not a directory");
	r = polo_hook_check(in_dir("hooks/scripts"), me, canon, sizeof canon,
			    why, sizeof why);
	is_int(r, -EINVAL, "hook_check: a directory is -EINVAL");
	is_str(why, fmt("%s is not a regular file", in_dir("hooks/scripts")),
	       "hook_check: why for a directory");
}

static void test_open_trusted(void)
{
	char canon[PATH_MAX], why[512];
	struct stat st;
	int fd, r;

	put_dir(in_dir("ot"), 0755);
	put_dir(in_dir("ot/a"), 0755);
	put_file(in_dir("ot/b"), "b\n", 0644);
	put_dir(in_dir("ot/gw"), 0770);
	put_dir(in_dir("ot/gw/sub"), 0755);
	put_file(in_dir("ot/gw/sub/f"), "f\n", 0644);
	put_link("loop2", in_dir("ot/loop1"));
	put_link("loop1", in_dir("ot/loop2"));
	put_link(in_dir("ot/b"), in_dir("ot/abs"));

	r = polo_open_trusted(in_dir("ot/gw/sub/f"), O_RDONLY, me, &fd, canon,
			      sizeof canon, why, sizeof why);
	is_int(r, -EPERM, "open_trusted: through a group-writable dir: -EPERM");
	is_int(fd, -1, "open_trusted: no fd on failure");
	is_str(why, fmt("%s is writable by group or others (mode 0770)",
			in_dir("ot/gw")),
	       "open_trusted: why names the group-writable directory");

	r = polo_open_trusted(in_dir("ot/loop1"), O_RDONLY, me, &fd, canon,
			      sizeof canon, why, sizeof why);
	is_int(r, -ELOOP, "open_trusted: a symlink loop is -ELOOP");
	like(why, "too many levels of symlinks", "open_trusted: why for a loop");

	r = polo_open_trusted(fmt("%s/a/../b", in_dir("ot")), O_RDONLY, me, &fd,
			      canon, sizeof canon, why, sizeof why);
	is_int(r, 0, "open_trusted: a/../b resolves");
	is_str(canon, in_dir("ot/b"), "open_trusted: a/../b is canonical");
	ok(fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode),
	   "open_trusted: a/../b gives the file");
	ok(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC),
	   "open_trusted: the fd is close-on-exec");
	if (fd >= 0)
		close(fd);

	r = polo_open_trusted(fmt("%s//./abs", in_dir("ot")), O_RDONLY, me,
			      &fd, canon, sizeof canon, why, sizeof why);
	is_int(r, 0, "open_trusted: an absolute symlink with // and . resolves");
	is_str(canon, in_dir("ot/b"), "open_trusted: ... to the canonical target");
	if (fd >= 0)
		close(fd);

	r = polo_open_trusted("tmp/x", O_RDONLY, me, &fd, canon, sizeof canon,
			      why, sizeof why);
	is_int(r, -EINVAL, "open_trusted: a relative path is -EINVAL");
	is_int(fd, -1, "open_trusted: no fd for a relative path");

	r = polo_open_trusted(in_dir("ot/nope"), O_RDONLY, me, &fd, canon,
			      sizeof canon, why, sizeof why);
	is_int(r, -ENOENT, "open_trusted: a missing file is -ENOENT");
	is_str(why, fmt("%s: No such file or directory", in_dir("ot/nope")),
	       "open_trusted: why for a missing file");

	r = polo_open_trusted(in_dir("ot/a"), O_RDONLY | O_DIRECTORY, me, &fd,
			      canon, sizeof canon, why, sizeof why);
	is_int(r, 0, "open_trusted: a directory with O_RDONLY|O_DIRECTORY");
	is_str(canon, in_dir("ot/a"), "open_trusted: directory canon");
	ok(fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) &&
	   (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY &&
	   !(fcntl(fd, F_GETFL) & O_PATH),
	   "open_trusted: a readable directory fd");
	if (fd >= 0)
		close(fd);

	r = polo_open_trusted(in_dir("ot/b"), O_RDONLY | O_DIRECTORY, me, &fd,
			      canon, sizeof canon, why, sizeof why);
	is_int(r, -ENOTDIR, "open_trusted: a file with O_DIRECTORY is -ENOTDIR");
	is_int(fd, -1, "open_trusted: ... and no fd");

	r = polo_open_trusted("/", O_RDONLY | O_DIRECTORY, me, &fd, canon,
			      sizeof canon, why, sizeof why);
	is_int(r, 0, "open_trusted: / itself");
	is_str(canon, "/", "open_trusted: canon of / is /");
	if (fd >= 0)
		close(fd);

	r = polo_open_trusted(in_dir("ot/b"), O_RDONLY, me, &fd, canon, 4, why,
			      sizeof why);
	is_int(r, -ENAMETOOLONG, "open_trusted: canon too small: -ENAMETOOLONG");
	is_int(fd, -1, "open_trusted: ... and no fd");

	/* a sticky, world-writable directory is only trusted if root owns
	 * it: ours is root's when we are root */
	put_dir(in_dir("ot/sticky"), 01777);
	put_file(in_dir("ot/sticky/f"), "f\n", 0644);
	r = polo_open_trusted(in_dir("ot/sticky/f"), O_RDONLY, me, &fd, canon,
			      sizeof canon, why, sizeof why);
	if (me == 0) {
		is_int(r, 0, "open_trusted: a root-owned sticky dir is accepted");
	} else {
		is_int(r, -EPERM, "open_trusted: a sticky dir not owned by root is refused");
		is_str(why, fmt("%s is writable by group or others (mode 1777)",
				in_dir("ot/sticky")),
		       "open_trusted: why for a user's sticky dir");
	}
	if (fd >= 0)
		close(fd);

	if (me != 0) {
		skip(2, "other owners need root");
		return;
	}
	put_file(in_dir("ot/theirs"), "x\n", 0644);
	must(chown(in_dir("ot/theirs"), 4242, 4242) == 0, "chown");
	r = polo_open_trusted(in_dir("ot/theirs"), O_RDONLY, me, &fd, canon,
			      sizeof canon, why, sizeof why);
	is_str(fmt("%d %s", r, why), fmt("%d %s is owned by uid 4242", -EPERM,
					 in_dir("ot/theirs")),
	       "open_trusted: a file owned by another uid is refused");
	put_link("f", in_dir("ot/sticky/l"));
	must(lchown(in_dir("ot/sticky/l"), 4242, 4242) == 0, "lchown");
	r = polo_open_trusted(in_dir("ot/sticky/l"), O_RDONLY, me, &fd, canon,
			      sizeof canon, why, sizeof why);
	is_str(fmt("%d %s", r, why),
	       fmt("%d symlink %s is owned by uid 4242", -EPERM,
		   in_dir("ot/sticky/l")),
	       "open_trusted: another uid's symlink in a sticky dir is refused");
}

/* ------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compare envp with want[] (both as sets of NAME=value). */
static void env_is(char **envp, const char *const *want, size_t nwant,
		   const char *what)
{
	char *got[64];
	const char *w[64];
	size_t n = 0, i;

	while (envp && envp[n] && n < 64) {
		got[n] = envp[n];
		n++;
	}
	for (i = 0; i < nwant && i < 64; i++)
		w[i] = want[i];
	qsort(got, n, sizeof *got, cmp_str);
	qsort(w, nwant, sizeof *w, cmp_str);
	is_int(n, nwant, fmt("%s: %zu variables", what, nwant));
	for (i = 0; i < n && i < nwant; i++)
		is_str(got[i], w[i], fmt("%s: %s", what, w[i]));
	for (i = 1; i < n; i++)
		ok(strcspn(got[i - 1], "=") != strcspn(got[i], "=") ||
		   strncmp(got[i - 1], got[i], strcspn(got[i], "=")) != 0,
		   fmt("%s: %.*s set once", what, (int)strcspn(got[i], "="),
		       got[i]));
}

/* No strcpy: fields are arrays, the values literals that fit. */
#define set(field, value) (void)snprintf((field), sizeof(field), "%s", (value))

static void fill_session(struct polo_session *s)
{
	memset(s, 0, sizeof *s);
	s->phase = POLO_OPEN;
	set(s->user, "alice");
	set(s->service, "sshd");
	set(s->tty, "/dev/pts/7");
	set(s->rhost, "192.0.2.9");
	set(s->ruser, "carol");
	s->uid = 1500;
	s->gid = 1501;
	set(s->home, "/home/alice");
	set(s->id, "c42");
	s->is_local = false;
}

/* polo_dir_within: by device and inode, whatever name reached the
 * directory. */
static void test_dir_within(void)
{
	struct stat top, root;
	int fd;

	put_dir(in_dir("dw"), 0755);
	put_dir(in_dir("dw/top"), 0755);
	put_dir(in_dir("dw/top/sub"), 0755);
	put_dir(in_dir("dw/top2"), 0755);
	put_link(in_dir("dw/top"), in_dir("dw/link"));
	must(stat(in_dir("dw/top"), &top) == 0 && stat("/", &root) == 0,
	     "stat");
	fd = open(in_dir("dw/top"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	is_int(polo_dir_within(fd, &top), 1, "dir_within: the directory itself");
	close(fd);
	fd = open(in_dir("dw/link/sub"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	is_int(polo_dir_within(fd, &top), 1,
	       "dir_within: below it, reached through a symlink");
	is_int(polo_dir_within(fd, &root), 1, "dir_within: everything is below /");
	close(fd);
	fd = open(in_dir("dw/top2"), O_PATH | O_DIRECTORY | O_CLOEXEC);
	is_int(polo_dir_within(fd, &top), 0,
	       "dir_within: a sibling with a longer name is not below it");
	close(fd);
	fd = open(in_dir("dw"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	is_int(polo_dir_within(fd, &top), 0, "dir_within: its parent is not");
	close(fd);
}

static void test_env(void)
{
	static const char *const open_want[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"PAM_USER=alice", "PAM_SERVICE=sshd", "PAM_TTY=/dev/pts/7",
		"PAM_RHOST=192.0.2.9", "PAM_RUSER=carol",
		"PAM_TYPE=open_session",
		"POLO_SESSION_ID=c42", "POLO_USER_UID=1500",
		"POLO_USER_GID=1501", "POLO_USER_HOME=/home/alice",
		"POLO_SESSION_IS_LOCAL=false",
		"CK_SESSION_ID=c42", "CK_SESSION_USER_UID=1500",
		"CK_SESSION_IS_LOCAL=false",
		"CK_SESSION_REMOTE_HOST_NAME=192.0.2.9",
		"CK_SESSION_DISPLAY_DEVICE=/dev/pts/7",
		"CK_SESSION_SERVICE=sshd",
	};
	static const char *const close_want[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"PAM_USER=alice", "PAM_SERVICE=login", "PAM_TTY=tty1",
		"PAM_RHOST=", "PAM_RUSER=",
		"PAM_TYPE=close_session",
		"POLO_SESSION_ID=c42", "POLO_USER_UID=1500",
		"POLO_USER_GID=1501", "POLO_USER_HOME=/home/alice",
		"POLO_SESSION_IS_LOCAL=true",
		"POLO_USER_SESSIONS=0", "POLO_LAST_SESSION=true",
		"CK_SESSION_ID=c42", "CK_SESSION_USER_UID=1500",
		"CK_SESSION_IS_LOCAL=true",
		"CK_SESSION_REMOTE_HOST_NAME=",
		"CK_SESSION_DISPLAY_DEVICE=tty1",
		"CK_SESSION_SERVICE=login",
	};
	struct polo_session s;
	char **envp = NULL;
	int r;

	fill_session(&s);
	r = polo_env_build(&s, &envp);
	is_int(r, 0, "env at open: 0");
	env_is(envp, open_want, sizeof open_want / sizeof *open_want,
	       "env at open, not counted");
	polo_strv_free(envp);

	s.counted = true;
	s.user_sessions = 3;
	s.last_session = true;	/* meaningless at open: still "false" */
	r = polo_env_build(&s, &envp);
	is_int(r, 0, "env at open, counted: 0");
	{
		const char *want[sizeof open_want / sizeof *open_want + 2];

		memcpy(want, open_want, sizeof open_want);
		want[sizeof open_want / sizeof *open_want] = "POLO_USER_SESSIONS=3";
		want[sizeof open_want / sizeof *open_want + 1] = "POLO_LAST_SESSION=false";
		env_is(envp, want, sizeof want / sizeof *want,
		       "env at open, counted");
	}
	polo_strv_free(envp);

	fill_session(&s);
	s.phase = POLO_CLOSE;
	set(s.service, "login");
	set(s.tty, "tty1");
	s.rhost[0] = s.ruser[0] = '\0';
	s.is_local = true;
	s.counted = true;
	s.user_sessions = 0;
	s.last_session = true;
	r = polo_env_build(&s, &envp);
	is_int(r, 0, "env at close: 0");
	env_is(envp, close_want, sizeof close_want / sizeof *close_want,
	       "env at close, last session");
	polo_strv_free(envp);

	s.user_sessions = 2;
	s.last_session = false;
	r = polo_env_build(&s, &envp);
	is_int(r, 0, "env at close, not last: 0");
	{
		const char *want[sizeof close_want / sizeof *close_want];
		size_t i;

		memcpy(want, close_want, sizeof close_want);
		for (i = 0; i < sizeof want / sizeof *want; i++) {
			if (strcmp(want[i], "POLO_USER_SESSIONS=0") == 0)
				want[i] = "POLO_USER_SESSIONS=2";
			if (strcmp(want[i], "POLO_LAST_SESSION=true") == 0)
				want[i] = "POLO_LAST_SESSION=false";
		}
		env_is(envp, want, sizeof want / sizeof *want,
		       "env at close, not last");
	}
	polo_strv_free(envp);

	s.counted = false;
	r = polo_env_build(&s, &envp);
	is_int(r, 0, "env at close, not counted: 0");
	{
		const char *want[sizeof close_want / sizeof *close_want];
		size_t i, n = 0;

		for (i = 0; i < sizeof close_want / sizeof *close_want; i++)
			if (strncmp(close_want[i], "POLO_USER_SESSIONS=", 19) &&
			    strncmp(close_want[i], "POLO_LAST_SESSION=", 18))
				want[n++] = close_want[i];
		env_is(envp, want, n, "env at close, not counted");
	}
	polo_strv_free(envp);

	fill_session(&s);
	set(s.tty, "pts/1\nPAM_USER=root");
	envp = (char **)&s;	/* must be reset to NULL */
	r = polo_env_build(&s, &envp);
	is_int(r, -EINVAL, "env: a newline in a value is -EINVAL");
	ok(envp == NULL, "env: no environment on failure");

	fill_session(&s);
	set(s.home, "/home/a\tb");
	envp = NULL;
	r = polo_env_build(&s, &envp);
	is_int(r, -EINVAL, "env: a tab in a value is -EINVAL");
	polo_strv_free(envp);

	is_str(polo_phase_arg(POLO_OPEN), "session_added", "argv[1] at open");
	is_str(polo_phase_arg(POLO_CLOSE), "session_removed", "argv[1] at close");
}

static void test_rhost(void)
{
	static const char *const local[] = { "", "localhost", "127.0.0.1",
					     "127.9.9.9", "::1",
					     "::ffff:127.0.0.1" };
	static const char *const remote[] = { "10.0.0.1", "example.org", "::2",
					      "128.0.0.1", "localhost.evil",
					      "::ffff:10.0.0.1", "1.127.0.0" };
	size_t i;

	for (i = 0; i < sizeof local / sizeof *local; i++)
		ok(polo_rhost_is_local(local[i]), fmt("rhost '%s' is local", local[i]));
	for (i = 0; i < sizeof remote / sizeof *remote; i++)
		ok(!polo_rhost_is_local(remote[i]),
		   fmt("rhost '%s' is not local", remote[i]));
}

static void test_user_names(void)
{
	static const char *const good[] = { "alice", "a", "_x", "a.b-c", "host$",
					    "0day", "A_9" };
	static const char *const bad[] = { "", "-a", ".a", "a b", "a/b", "a:b",
					   "$", "a$b", "a$$", "al\nice", "\xc3\xa9" };
	char name[40];
	size_t i;

	for (i = 0; i < sizeof good / sizeof *good; i++)
		ok(polo_valid_user_name(good[i]), fmt("user '%s' is valid", good[i]));
	for (i = 0; i < sizeof bad / sizeof *bad; i++)
		ok(!polo_valid_user_name(bad[i]), fmt("user '%s' is refused", vis(bad[i])));
	memset(name, 'u', 32);
	name[32] = '\0';
	ok(polo_valid_user_name(name), "a 32-byte user name is valid");
	name[31] = '$';
	ok(polo_valid_user_name(name), "31 bytes + '$' (32 in all) is valid");
	name[31] = 'u';
	name[32] = 'u';
	name[33] = '\0';
	ok(!polo_valid_user_name(name), "a 33-byte user name is refused");
	name[32] = '$';
	ok(!polo_valid_user_name(name), "32 bytes + '$' (33 in all) is refused");
}

/* NSS lookups with a growing buffer, and the [hookd] user's check. */
static void test_getpw(void)
{
	struct polo_cluster_conf cl;
	struct passwd pw;
	char *buf = NULL;
	uid_t u = 1;
	gid_t g = 1;

	is_int(polo_getpw("root", 0, &pw, &buf), 0, "getpw root: 0");
	ok(buf != NULL && pw.pw_uid == 0 && strcmp(pw.pw_dir, "/root") == 0,
	   "... uid 0, home /root");
	free(buf);
	buf = NULL;
	is_int(polo_getpw(NULL, 0, &pw, &buf), 0, "getpw uid 0: 0");
	ok(buf != NULL && strcmp(pw.pw_name, "root") == 0, "... it is root");
	free(buf);
	buf = NULL;
	is_int(polo_getpw("no-such-user-polo", 0, &pw, &buf), -ENOENT,
	       "getpw of an unknown name: -ENOENT");
	ok(buf == NULL, "... and nothing to free");

	polo_cluster_defaults(&cl);
	(void)polo_strlcpy(cl.user, "root", sizeof cl.user);
	is_int(polo_cluster_user(&cl, &u, &g), -EPERM,
	       "[hookd] user root: -EPERM (never root)");
	(void)polo_strlcpy(cl.user, "no-such-user-polo", sizeof cl.user);
	is_int(polo_cluster_user(&cl, &u, &g), -ENOENT,
	       "[hookd] user unknown: -ENOENT");
	(void)polo_strlcpy(cl.user, "nobody", sizeof cl.user);
	is_int(polo_cluster_user(&cl, &u, &g), 0, "[hookd] user nobody: 0");
	is_int(u, 65534, "... its uid");
}

static void test_session_id(void)
{
	char a[POLO_SESSION_ID_MAX + 1], b[POLO_SESSION_ID_MAX + 1], big[70];
	struct polo_session s;
	size_t i;
	int hex = 1;

	ok(polo_session_id_valid("c42"), "session id 'c42' is valid");
	ok(polo_session_id_valid("a-b_C9"), "session id 'a-b_C9' is valid");
	ok(!polo_session_id_valid(""), "session id '' is refused");
	ok(!polo_session_id_valid("a b"), "session id 'a b' is refused");
	ok(!polo_session_id_valid("a.b"), "session id 'a.b' is refused");
	ok(!polo_session_id_valid("../x"), "session id '../x' is refused");
	memset(big, 'x', 65);
	big[64] = '\0';
	ok(polo_session_id_valid(big), "a 64-byte session id is valid");
	big[64] = 'x';
	big[65] = '\0';
	ok(!polo_session_id_valid(big), "a 65-byte session id is refused");

	is_int(polo_session_id_new(a, sizeof a), 0, "session_id_new: 0");
	is_int(polo_session_id_new(b, sizeof b), 0, "session_id_new again: 0");
	is_int(strlen(a), 32, "session_id_new: 32 characters");
	for (i = 0; a[i]; i++)
		if (!((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f')))
			hex = 0;
	ok(hex, "session_id_new: lowercase hex");
	ok(polo_session_id_valid(a), "session_id_new: a valid session id");
	ok(strcmp(a, b) != 0, "session_id_new: two calls differ");
	is_int(polo_session_id_new(a, 32), -ENOSPC,
	       "session_id_new: 32 bytes is too small (-ENOSPC)");

	{
		const char *cand[] = { NULL, "bad id", "c42", "d43" };

		memset(&s, 0, sizeof s);
		s.phase = POLO_CLOSE;
		is_int(polo_session_set_id(&s, cand, 4), 0, "set_id: 0");
		is_str(s.id, "c42", "set_id: the first valid candidate");
		is_int(polo_session_set_id(&s, cand, 2), 0, "set_id at close, none: 0");
		is_str(s.id, "", "set_id at close, none valid: empty");
		s.phase = POLO_OPEN;
		is_int(polo_session_set_id(&s, cand, 2), 0, "set_id at open, none: 0");
		is_int(strlen(s.id), 32, "set_id at open, none valid: a new id");
	}
}

static void test_parsers(void)
{
	static const char *const bad_uint[] = { " 1", "1 ", "-1", "+1", "1x",
						"", "0x10" };
	unsigned long v;
	bool bv;
	size_t i;
	char dst[4];

	v = 0;
	is_int(polo_parse_uint("15", 1, 100, &v), 0, "parse_uint '15': 0");
	is_int(v, 15, "parse_uint '15' is 15");
	v = 7;
	is_int(polo_parse_uint("0", 1, 100, &v), -ERANGE,
	       "parse_uint '0' below min 1: -ERANGE");
	is_int(v, 7, "parse_uint: *out untouched on error");
	is_int(polo_parse_uint("101", 1, 100, &v), -ERANGE,
	       "parse_uint '101' above max: -ERANGE");
	is_int(polo_parse_uint("100", 1, 100, &v), 0, "parse_uint '100' = max: 0");
	for (i = 0; i < sizeof bad_uint / sizeof *bad_uint; i++)
		is_int(polo_parse_uint(bad_uint[i], 0, 100, &v), -EINVAL,
		       fmt("parse_uint '%s': -EINVAL", bad_uint[i]));
	is_int(polo_parse_uint("99999999999999999999", 0, ~0UL, &v), -ERANGE,
	       "parse_uint '99999999999999999999': -ERANGE");
	is_int(polo_parse_uint(NULL, 0, 100, &v), -EINVAL, "parse_uint NULL: -EINVAL");

	is_int(polo_parse_octal("077", 0777, &v), 0, "parse_octal '077': 0");
	is_int(v, 63, "parse_octal '077' is 63");
	is_int(polo_parse_octal("0027", 0777, &v), 0, "parse_octal '0027': 0");
	is_int(v, 027, "parse_octal '0027' is 027 (23)");
	is_int(polo_parse_octal("8", 0777, &v), -EINVAL, "parse_octal '8': -EINVAL");
	is_int(polo_parse_octal("078", 0777, &v), -EINVAL, "parse_octal '078': -EINVAL");
	is_int(polo_parse_octal("1000", 0777, &v), -ERANGE,
	       "parse_octal '1000' over max 0777: -ERANGE");
	is_int(polo_parse_octal("-1", 0777, &v), -EINVAL, "parse_octal '-1': -EINVAL");

	{
		static const char *const yes[] = { "yes", "true", "on", "1", "YES", "True" };
		static const char *const no[] = { "no", "false", "off", "0", "OFF" };
		static const char *const neither[] = { "", "y", "2", "yes ", "nope" };

		for (i = 0; i < sizeof yes / sizeof *yes; i++) {
			bv = false;
			ok(polo_parse_bool(yes[i], &bv) == 0 && bv,
			   fmt("parse_bool '%s' is true", yes[i]));
		}
		for (i = 0; i < sizeof no / sizeof *no; i++) {
			bv = true;
			ok(polo_parse_bool(no[i], &bv) == 0 && !bv,
			   fmt("parse_bool '%s' is false", no[i]));
		}
		for (i = 0; i < sizeof neither / sizeof *neither; i++)
			is_int(polo_parse_bool(neither[i], &bv), -EINVAL,
			       fmt("parse_bool '%s': -EINVAL", neither[i]));
	}

	is_int(polo_strlcpy(dst, "abc", sizeof dst), 0, "strlcpy: fits");
	is_str(dst, "abc", "strlcpy: copied");
	is_int(polo_strlcpy(dst, "abcd", sizeof dst), -ENAMETOOLONG,
	       "strlcpy: too long");
	is_str(dst, "abc", "strlcpy: dst untouched when too long");
	ok(polo_is_clean_text("a b~"), "clean text");
	ok(!polo_is_clean_text("a\tb"), "a tab is not clean text");
	ok(!polo_is_clean_text("a\x7f"), "DEL is not clean text");
	ok(polo_valid_abs_path("/a/b"), "/a/b is a valid absolute path");
	ok(!polo_valid_abs_path("a/b"), "a/b is not absolute");
	ok(!polo_valid_abs_path("/a\nb"), "a newline in a path is refused");
}

/* ------------------------------------------------------------------ */

/* argv/envp are char *const[] (execve's type); the strings are never
 * written, but -Wwrite-strings makes literals const. */
#define W(s) ((char *)(s))

static char *const base_env[] = { W("PATH=" POLO_HOOK_PATH), NULL };

static int spawn(const char *path, char *const argv[], char *const envp[],
		 unsigned long timeout_ms, unsigned long grace_ms,
		 struct polo_result *res)
{
	struct polo_spawn sp = {
		.name = "NAME", .path = path, .argv = argv, .envp = envp,
		.timeout_ms = timeout_ms, .grace_ms = grace_ms, .lg = &lg,
	};

	cap_reset();
	return polo_spawn_wait(&sp, res);
}

/* Write sh/<name> with body and run it with no arguments. */
static int run_script(const char *name, const char *body,
		      unsigned long timeout_ms, unsigned long grace_ms,
		      struct polo_result *res)
{
	const char *path = in_dir(fmt("sh/%s", name));
	char *const argv[] = { (char *)name, NULL };

	put_script(path, body, 0755);
	return spawn(path, argv, base_env, timeout_ms, grace_ms, res);
}

static const char *describe(const struct polo_result *r)
{
	static char buf[256];

	polo_describe_result(r, buf, sizeof buf);
	return buf;
}

/* The lines the child printed, as the capture has them. */
static const char *lines(int prio, const char *const *l, size_t n)
{
	static char buf[4096];
	size_t len = 0, i;

	buf[0] = '\0';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len,
					"<%d>NAME: %s\n", prio, l[i]);
	return buf;
}

static volatile sig_atomic_t chld_seen;

static void on_chld(int sig)
{
	(void)sig;
	chld_seen++;
}

static void test_spawn(void)
{
	struct polo_result res;
	char buf[64];
	pid_t bg = 0;
	FILE *f;
	int r;

	put_dir(in_dir("sh"), 0755);

	r = run_script("exit3", "exit 3", 10000, 1000, &res);
	is_int(r, 0, "spawn exit 3: 0");
	ok(res.reaped && WIFEXITED(res.status) && WEXITSTATUS(res.status) == 3,
	   "spawn exit 3: status 3");
	is_str(describe(&res), "exited with status 3", "spawn exit 3: described");
	ok(!polo_result_ok(&res), "spawn exit 3: not a success");
	ok(!res.timed_out && !res.killed && res.exec_errno == 0,
	   "spawn exit 3: no timeout, no exec error");

	r = run_script("exit0", "exit 0", 10000, 1000, &res);
	is_int(r, 0, "spawn exit 0: 0");
	ok(polo_result_ok(&res), "spawn exit 0: ok");
	is_str(describe(&res), "exited with status 0", "spawn exit 0: described");
	is_int(cap.n, 0, "spawn exit 0: nothing logged");

	r = run_script("segv", "kill -SEGV $$", 10000, 1000, &res);
	is_int(r, 0, "spawn SIGSEGV: 0");
	ok(res.reaped && WIFSIGNALED(res.status) && WTERMSIG(res.status) == SIGSEGV,
	   "spawn SIGSEGV: signaled");
	like(describe(&res), "killed by signal 11 (Segmentation fault)",
	     "spawn SIGSEGV: described");

	r = run_script("sleep", "sleep 10", 300, 300, &res);
	is_int(r, 0, "spawn timeout: 0");
	ok(res.timed_out && !res.killed && res.reaped,
	   "spawn timeout: timed out, ended by SIGTERM, reaped");
	ok(WIFSIGNALED(res.status) && WTERMSIG(res.status) == SIGTERM,
	   "spawn timeout: the status says SIGTERM");
	like(describe(&res), "timed out", "spawn timeout: described as timed out");
	like(describe(&res), "terminated with SIGTERM",
	     "spawn timeout: described as terminated with SIGTERM");
	ok(!polo_result_ok(&res), "spawn timeout: not a success");
	is_int(res.timeout_ms, 300, "spawn timeout: timeout_ms kept");

	/* 1 s: the trap must be set before SIGTERM comes, even on a slow
	 * machine */
	r = run_script("stubborn", "trap '' TERM\nwhile :; do sleep 1; done",
		       1000, 300, &res);
	is_int(r, 0, "spawn SIGTERM ignored: 0");
	ok(res.timed_out && res.killed && res.reaped,
	   "spawn SIGTERM ignored: timed out, killed, reaped");
	ok(WIFSIGNALED(res.status) && WTERMSIG(res.status) == SIGKILL,
	   "spawn SIGTERM ignored: the status says SIGKILL");
	like(describe(&res), "killed with SIGKILL",
	     "spawn SIGTERM ignored: described as killed with SIGKILL");

	{
		char *const argv[] = { W("nope"), NULL };

		r = spawn(in_dir("sh/does-not-exist"), argv, base_env, 10000,
			  1000, &res);
		is_int(r, 0, "spawn missing file: 0 (it was started)");
		is_int(res.exec_errno, ENOENT, "spawn missing file: exec_errno ENOENT");
		is_str(describe(&res), "could not be run: No such file or directory",
		       "spawn missing file: described");
		ok(!polo_result_ok(&res), "spawn missing file: not a success");
	}

	put_file(in_dir("sh/noexec"), "#!/bin/sh\n", 0644);
	{
		char *const argv[] = { W("noexec"), NULL };

		r = spawn(in_dir("sh/noexec"), argv, base_env, 10000, 1000, &res);
		is_int(res.exec_errno, EACCES, "spawn a 0644 file: exec_errno EACCES");
	}

	r = run_script("three", "echo one; echo two >&2; echo three", 10000,
		       1000, &res);
	is_int(r, 0, "spawn output: 0");
	{
		static const char *const l[] = { "one", "two", "three" };

		is_str(cap.buf, lines(LOG_INFO, l, 3),
		       "spawn output: stdout and stderr, 3 lines tagged NAME");
	}
	is_int(res.dropped, 0, "spawn output: nothing dropped");

	{
		struct polo_spawn sp = {
			.name = "NAME", .path = in_dir("sh/three"),
			.argv = (char *const[]){ W("three"), NULL },
			.envp = base_env, .timeout_ms = 10000,
			.grace_ms = 1000, .lg = &lg,
		};

		cap_reset();
		lg.quiet = true;
		r = polo_spawn_wait(&sp, &res);
		is_int(cap.n, 3, "spawn output under quiet: still logged");
	}

	r = run_script("odd", "printf 'a\\tb\\033c\\n'; printf 'no newline'",
		       10000, 1000, &res);
	{
		static const char *const l[] = { "a b?c", "no newline" };

		is_str(cap.buf, lines(LOG_INFO, l, 2),
		       "spawn output: tab to space, control to '?', last partial line");
	}

	{
		char line[1001], want[1200];
		size_t i;

		for (i = 0; i < 1000; i++)
			line[i] = (char)('0' + i % 10);
		line[1000] = '\0';
		r = run_script("long", "i=0; while [ $i -lt 100 ]; do "
			       "printf 0123456789; i=$((i+1)); done; echo",
			       10000, 1000, &res);
		(void)snprintf(want, sizeof want, "<6>NAME: %.*s\n<6>NAME: %s\n",
			       POLO_OUTPUT_LINE_MAX - 1, line,
			       line + POLO_OUTPUT_LINE_MAX - 1);
		is_str(cap.buf, want, "spawn output: a 1000-byte line is split "
		       "after POLO_OUTPUT_LINE_MAX-1 bytes");
	}

	r = run_script("flood", "yes 0123456789012345678901234567890123456789 "
		       "| head -n 50000", 60000, 1000, &res);
	is_int(r, 0, "spawn 2 MB of output: 0");
	ok(polo_result_ok(&res), "spawn 2 MB of output: ok");
	ok(cap.n <= POLO_OUTPUT_MAX_LINES, "spawn 2 MB of output: at most "
	   "POLO_OUTPUT_MAX_LINES lines logged");
	is_int(cap.n, POLO_OUTPUT_MAX_LINES,
	       "spawn 2 MB of output: the line budget is used up");
	ok(res.dropped > 0, "spawn 2 MB of output: dropped > 0");
	is_int(res.dropped, (50000 - POLO_OUTPUT_MAX_LINES) * 40,
	       "spawn 2 MB of output: every byte not logged is counted as dropped");

	r = run_script("daemon", fmt("sleep 5 & echo $! >%s\nexit 0",
				     in_dir("sh/daemon.pid")), 10000, 1000, &res);
	is_int(r, 0, "spawn with a background child holding stdout: 0");
	ok(polo_result_ok(&res) && !res.timed_out,
	   "spawn with a background child holding stdout: returns, ok");
	f = fopen(in_dir("sh/daemon.pid"), "re");
	if (f != NULL && fgets(buf, sizeof buf, f) != NULL)
		bg = (pid_t)atoi(buf);
	if (f != NULL)
		fclose(f);
	ok(bg > 1, "spawn with a background child: its pid was written");

	{
		/* fds the test leaks on purpose: the child must not see them */
		int leak = open("/dev/null", O_RDONLY), leak2 = dup2(leak, 37);
		char *const argv[] = { W("sh"), W("-c"), W("ls /proc/$$/fd; :"), NULL };
		static const char *const l[] = { "0", "1", "2" };

		must(leak >= 0 && leak2 == 37, "leak");
		r = spawn("/bin/sh", argv, base_env, 10000, 1000, &res);
		is_str(cap.buf, lines(LOG_INFO, l, 3),
		       "spawn: the child has exactly fds 0, 1, 2");
		close(leak);
		close(leak2);
	}

	r = run_script("where", "readlink /proc/self/cwd; readlink /proc/self/fd/0",
		       10000, 1000, &res);
	{
		static const char *const l[] = { "/", "/dev/null" };

		is_str(cap.buf, lines(LOG_INFO, l, 2),
		       "spawn: cwd is / and stdin is /dev/null");
	}

	{
		/* a host that runs with 0-2 closed */
		int s0 = fcntl(0, F_DUPFD_CLOEXEC, 3), s1, s2;
		static const char *const l[] = { "/dev/null", "out", "err" };

		fflush(stdout);
		s1 = fcntl(1, F_DUPFD_CLOEXEC, 3);
		s2 = fcntl(2, F_DUPFD_CLOEXEC, 3);
		must(s1 >= 0 && s2 >= 0, "dup");
		if (s0 >= 0)
			close(0);
		close(1);
		close(2);
		r = run_script("closed", "readlink /proc/self/fd/0; echo out; "
			       "echo err >&2", 10000, 1000, &res);
		must(dup2(s1, 1) == 1 && dup2(s2, 2) == 2, "dup2");
		if (s0 >= 0)
			must(dup2(s0, 0) == 0, "dup2");
		else
			close(0);	/* it was closed before, as it may be */
		close(s1);
		close(s2);
		if (s0 >= 0)
			close(s0);
		is_int(r, 0, "spawn with the host's 0-2 closed: 0");
		is_str(cap.buf, lines(LOG_INFO, l, 3),
		       "spawn with the host's 0-2 closed: stdin /dev/null, "
		       "stdout and stderr logged");
	}

	{
		char *const argv[] = { W("args"), W("session_added"), W("two words"), W(""),
				       NULL };
		static const char *const l[] = { "[3]", "[session_added]",
						 "[two words]", "[]" };

		put_script(in_dir("sh/args"), "printf '[%s]\\n' \"$#\" \"$@\"",
			   0755);
		r = spawn(in_dir("sh/args"), argv, base_env, 10000, 1000, &res);
		is_str(cap.buf, lines(LOG_INFO, l, 4), "spawn: argv passed through");
	}

	{
		char *const argv[] = { W("env"), NULL };
		char *const envp[] = { W("A=1"), W("B=two words"), W("PATH=/nowhere"), NULL };
		static const char *const l[] = { "A=1", "B=two words",
						 "PATH=/nowhere" };

		setenv("POLO_TEST_LEAK", "leaked", 1);
		r = spawn("/usr/bin/env", argv, envp, 10000, 1000, &res);
		unsetenv("POLO_TEST_LEAK");
		is_str(cap.buf, lines(LOG_INFO, l, 3),
		       "spawn: the environment is exactly envp");
	}

	{
		/* signal state: the child starts with none blocked or ignored,
		 * and our SIGCHLD handler is back afterwards. grep is run
		 * directly and reads its own status: a shell in between would
		 * show its own mask (dash blocks all while it waits).
		 * glibc's posix_spawn leaves its two internal signals (32,
		 * 33: SIGCANCEL, SIGSETXID) ignored, and glibc programs set
		 * them up again when they need them; every real signal must
		 * be at its default, SIGPIPE and SIGUSR2 included. */
		struct sigaction ign = { .sa_handler = SIG_IGN }, hnd = {
			.sa_handler = on_chld }, o_pipe, o_usr2, o_chld, now;
		sigset_t usr1, o_mask;
		char *const argv[] = { W("grep"), W("-E"), W("^Sig(Blk|Ign):"),
				       W("/proc/self/status"), NULL };
		const char *grep = access("/usr/bin/grep", X_OK) == 0 ?
				   "/usr/bin/grep" : "/bin/grep";
		static const char *const l[] = { "SigBlk: 0000000000000000",
						 "SigIgn: 0000000180000000" };

		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		sigprocmask(SIG_BLOCK, &usr1, &o_mask);
		sigaction(SIGPIPE, &ign, &o_pipe);
		sigaction(SIGUSR2, &ign, &o_usr2);
		sigaction(SIGCHLD, &hnd, &o_chld);
		chld_seen = 0;
		r = spawn(grep, argv, base_env, 10000, 1000, &res);
		sigaction(SIGCHLD, NULL, &now);
		ok(now.sa_handler == on_chld, "spawn: our SIGCHLD handler is restored");
		is_int(chld_seen, 0, "spawn: our SIGCHLD handler saw nothing");
		sigaction(SIGCHLD, &o_chld, NULL);
		sigaction(SIGUSR2, &o_usr2, NULL);
		sigaction(SIGPIPE, &o_pipe, NULL);
		sigprocmask(SIG_SETMASK, &o_mask, NULL);
		is_str(cap.buf, lines(LOG_INFO, l, 2),
		       "spawn: the child has no signal blocked or ignored "
		       "(but glibc's own two)");
	}

	{
		/* polo_spawn_detached starts a program that detaches itself
		 * (polohook-run) and waits for exactly that pid, with a
		 * deadline: here a script that leaves a background job */
		char *const argv[] = { W("detached"), W("session_added"), NULL };
		const char *out = in_dir("sh/detached.out");
		struct sigaction hnd = { .sa_handler = on_chld }, o_chld;
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		siginfo_t si;
		int i;

		put_script(in_dir("sh/detached"),
			   fmt("(sleep 0.2; echo \"$1\" >%s.tmp; mv %s.tmp %s) "
			       "</dev/null >/dev/null 2>&1 &\nexit 0", out, out,
			       out), 0755);
		sigaction(SIGCHLD, &hnd, &o_chld);
		chld_seen = 0;
		cap_reset();
		r = polo_spawn_detached(in_dir("sh/detached"), argv, base_env,
					10000, &lg);
		is_int(r, 0, "spawn_detached: 0 once it exited 0");
		is_int(chld_seen, 0, "spawn_detached: our SIGCHLD handler saw "
		       "nothing of it");
		sigaction(SIGCHLD, &o_chld, NULL);
		memset(&si, 0, sizeof si);
		ok(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 &&
		   errno == ECHILD, "spawn_detached: it was reaped, and its "
		   "job is not our child");
		for (i = 0; i < 500 && access(out, F_OK) != 0; i++)
			nanosleep(&ts, NULL);
		f = fopen(out, "re");
		buf[0] = '\0';
		if (f == NULL || fgets(buf, sizeof buf, f) == NULL)
			buf[0] = '\0';
		if (f != NULL)
			fclose(f);
		is_str(buf, "session_added\n", "spawn_detached: the job it "
		       "left ran, with its argv");

		cap_reset();
		r = polo_spawn_detached(in_dir("sh/nope"), argv, base_env,
					10000, &lg);
		is_int(r, -ENOENT, "spawn_detached of a missing file: -ENOENT");
		is_str(cap.buf, fmt("<3>cannot start %s: No such file or "
				    "directory\n", in_dir("sh/nope")),
		       "... and the login's log says why");

		put_script(in_dir("sh/nodetach"), "exit 3", 0755);
		cap_reset();
		r = polo_spawn_detached(in_dir("sh/nodetach"), argv, base_env,
					10000, &lg);
		ok(r < 0, "spawn_detached of a program exiting 3: an error");
		is_str(cap.buf, fmt("<3>cannot start %s: it did not detach: "
				    "exited with status 3\n",
				    in_dir("sh/nodetach")),
		       "... logged with its status");

		put_script(in_dir("sh/hangs"), "exec sleep 30", 0755);
		cap_reset();
		r = polo_spawn_detached(in_dir("sh/hangs"), argv, base_env,
					300, &lg);
		ok(r < 0, "spawn_detached of a program that never exits: an "
		   "error after the deadline");
		is_str(cap.buf, fmt("<3>cannot start %s: it did not detach: "
				    "timed out after 300 ms, terminated with "
				    "SIGTERM\n", in_dir("sh/hangs")),
		       "... logged as timed out");
		memset(&si, 0, sizeof si);
		ok(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 &&
		   errno == ECHILD, "... and it was killed and reaped");
	}

	if (bg > 1)
		(void)kill(bg, SIGKILL);	/* the "daemon" from above */
}

static void test_describe(void)
{
	struct polo_result r;

	r = (struct polo_result){ .reaped = true, .status = W_EXITCODE(0, 0) };
	is_str(describe(&r), "exited with status 0", "describe: exit 0");
	ok(polo_result_ok(&r), "result_ok: exit 0");
	r = (struct polo_result){ .reaped = true, .status = W_EXITCODE(42, 0) };
	is_str(describe(&r), "exited with status 42", "describe: exit 42");
	ok(!polo_result_ok(&r), "result_ok: exit 42 is not a success");
	r = (struct polo_result){ .reaped = true, .status = SIGKILL };
	is_str(describe(&r), "killed by signal 9 (Killed)", "describe: SIGKILL");
	r = (struct polo_result){ .reaped = true, .status = SIGSEGV | WCOREFLAG };
	is_str(describe(&r), "killed by signal 11 (Segmentation fault), core dumped",
	       "describe: SIGSEGV with a core");
	ok(!polo_result_ok(&r), "result_ok: a signal is not a success");
	r = (struct polo_result){ .reaped = true, .status = W_EXITCODE(127, 0),
				  .exec_errno = EACCES };
	is_str(describe(&r), "could not be run: Permission denied",
	       "describe: exec failed with EACCES");
	ok(!polo_result_ok(&r), "result_ok: an exec failure is not a success");
	r = (struct polo_result){ .reaped = true, .status = SIGTERM,
				  .timed_out = true, .timeout_ms = 15000 };
	is_str(describe(&r), "timed out after 15 s, terminated with SIGTERM",
	       "describe: timed out, SIGTERM was enough");
	ok(!polo_result_ok(&r), "result_ok: a timeout is not a success");
	r = (struct polo_result){ .reaped = true, .status = W_EXITCODE(0, 0),
				  .timed_out = true, .timeout_ms = 15000 };
	ok(!polo_result_ok(&r), "result_ok: a timeout is not a success even with status 0");
	r = (struct polo_result){ .reaped = true, .status = SIGKILL,
				  .timed_out = true, .killed = true,
				  .timeout_ms = 2000 };
	is_str(describe(&r), "timed out after 2 s, killed with SIGKILL",
	       "describe: timed out and killed");
	r = (struct polo_result){ .reaped = false, .timed_out = true,
				  .killed = true, .timeout_ms = 2000 };
	is_str(describe(&r), "still running after SIGKILL, left behind",
	       "describe: not reaped");
	ok(!polo_result_ok(&r), "result_ok: not reaped is not a success");
}

int main(void)
{
	char tmpl[] = "/tmp/polo10.XXXXXX";
	int fds_before, fds_after;
	siginfo_t si;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	me = geteuid();
	fds_before = count_fds();
	must(mkdtemp(tmpl) != NULL, "mkdtemp");
	must(realpath(tmpl, dir) != NULL, "realpath");

	test_skip_reason();
	test_mode();
	test_scan();
	test_hook_check();
	test_open_trusted();
	test_dir_within();
	test_env();
	test_rhost();
	test_user_names();
	test_session_id();
	test_getpw();
	test_parsers();
	test_spawn();
	test_describe();

	memset(&si, 0, sizeof si);
	r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
	ok(r < 0 && errno == ECHILD, "no child of ours is left (not even a zombie)");
	fds_after = count_fds();
	is_int(fds_after, fds_before, "as many open fds as at the start");

	must(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0, "rm -r");
	return tap_done();
}
