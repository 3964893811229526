/* lib/mkhome.c: a home appears under its name complete or not at all.
 * It is made under ".polohook-new.NAME", locked, and renamed into place
 * last; a creator that died leaves only that temporary name, which the
 * next creator removes; a live creator is waited for, bounded.
 *
 * "Killed creators" and "busy creators" are forked children of this
 * test, stopped at a known point through the step() callback, so nothing
 * depends on timing. As root homes go to uid/gid 1500 and a full tmpfs is
 * mounted only inside a forked child's private mount namespace; as
 * another user homes are its own and what needs root is skipped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "mkhome.h"
#include "tap.h"
#include "testlog.h"
#include "tfs.h"

#define OWNER		1500	/* as root: the user homes are made for */
#define STRANGER	4242	/* as root: owns a temporary dir not ours */

static bool root;
static uid_t tuid;
static gid_t tgid;
static int homes = -1;		/* dir/homes, where homes are made */

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static bool has_text(const char *path, const char *want)
{
	char buf[256] = "";
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n >= 0 && strcmp(buf, want) == 0;
}

/* "uid:gid mode" of a directory, or "absent" */
static const char *desc(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return "absent";
	return fmt("%lu:%lu %o%s", (unsigned long)st.st_uid,
		   (unsigned long)st.st_gid, (unsigned)(st.st_mode & 07777),
		   S_ISDIR(st.st_mode) ? "" : " (not a directory)");
}

static int count_fds(void)
{
	return count_entries("/proc/self/fd") - 1;	/* opendir's own */
}

static ino_t inode(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? st.st_ino : 0;
}

static const char *me(void)
{
	return fmt("%lu:%lu 700", (unsigned long)geteuid(),
		   (unsigned long)getegid());
}

static const char *user(void)
{
	return fmt("%lu:%lu 700", (unsigned long)tuid, (unsigned long)tgid);
}

static struct polo_home_spec spec(const char *name)
{
	return (struct polo_home_spec){
		.what = at("homes/%s", name), .skel = at("skel"), .uid = tuid,
		.gid = tgid, .umask = 077, .trust = geteuid(),
	};
}

/* The skel: two files, one in a subdirectory. */
static bool complete(const char *name)
{
	return has_text(at("homes/%s/.profile", name), "PS1=x\n") &&
	       has_text(at("homes/%s/sub/rc", name), "k=v\n") &&
	       strcmp(desc(at("homes/%s/sub", name)), user()) == 0;
}

/* ------------------------------------------------------------------ */
/* What is seen from outside at each stage of a creation. */

struct seen {
	const char *name;
	char final[2][64], tmp[2][64];
	bool filled_in_tmp;
	ino_t ino;
};

static int look(void *ctx, enum polo_home_stage stage, const struct stat *st)
{
	struct seen *s = ctx;

	snprintf(s->final[stage], sizeof s->final[0], "%s",
		 desc(at("homes/%s", s->name)));
	snprintf(s->tmp[stage], sizeof s->tmp[0], "%s",
		 desc(at("homes/.polohook-new.%s", s->name)));
	if (stage == POLO_HOME_FILLED)
		s->filled_in_tmp = has_text(at("homes/.polohook-new.%s/"
					       ".profile", s->name), "PS1=x\n");
	s->ino = st->st_ino;
	return 0;
}

static void test_plain(void)
{
	struct seen s = { .name = "alice" };
	struct polo_home_spec h = spec("alice");
	int r;

	h.step = look;
	h.ctx = &s;
	cap_reset();
	r = polo_home_make_at(homes, "alice", &h, &lg);
	is_int(r, 0, "a home is made");
	is_str(s.final[POLO_HOME_CREATED], "absent",
	       "while it is empty its name does not exist yet");
	is_str(s.tmp[POLO_HOME_CREATED], me(),
	       "... it is the temporary .polohook-new.alice, ours, 0700");
	is_str(s.final[POLO_HOME_FILLED], "absent",
	       "filled, before the hand-over: its name still does not exist");
	ok(s.filled_in_tmp, "... the skel is in the temporary directory");
	is_str(s.tmp[POLO_HOME_FILLED], me(), "... which is still ours, 0700");
	is_str(desc(at("homes/alice")), user(),
	       "then it is under its name, the user's, 0755 & ~umask");
	ok(complete("alice"), "... with the skel's content, the user's");
	ok(!exists(at("homes/.polohook-new.alice")),
	   "... and no temporary name is left");
	is_int(inode(at("homes/alice")), s.ino,
	       "the rename keeps the inode the stages saw (tmphome records it)");
	is_int(count_entries(at("homes")), 1, "nothing else was made");
}

/* ------------------------------------------------------------------ */
/* A creator killed (SIGKILL) at a stage: its leftover, then a new one. */

static int die(void *ctx, enum polo_home_stage stage, const struct stat *st)
{
	(void)st;
	if (stage == *(enum polo_home_stage *)ctx)
		raise(SIGKILL);
	return 0;
}

static void killed_at(const char *name, enum polo_home_stage stage)
{
	struct polo_home_spec h = spec(name);
	int status;
	pid_t pid;

	h.step = die;
	h.ctx = &stage;
	fflush(stdout);
	pid = fork();
	must(pid >= 0, "fork");
	if (pid == 0) {
		(void)polo_home_make_at(homes, name, &h, NULL);
		_exit(0);
	}
	must(waitpid(pid, &status, 0) == pid, "waitpid");
	must(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	     "the creator was not killed");
}

static void test_killed(void)
{
	struct polo_home_spec h = spec("bob");
	int r;

	killed_at("bob", POLO_HOME_FILLED);
	is_str(desc(at("homes/bob")), "absent",
	       "a creator killed after the copy: the home's name does not exist");
	is_str(desc(at("homes/.polohook-new.bob")), me(),
	       "... its temporary directory is left, ours, 0700");
	ok(has_text(at("homes/.polohook-new.bob/.profile"), "PS1=x\n"),
	   "... (filled, not handed over)");
	cap_reset();
	r = polo_home_make_at(homes, "bob", &h, &lg);
	is_int(r, 0, "the next creator makes the home");
	like(cap.buf, fmt("<%d>home %s: removing %s, left unfinished by a "
			  "creator that did not complete\n", LOG_NOTICE,
			  at("homes/bob"), at("homes/.polohook-new.bob")),
	     "... after removing the leftover, logged with both names");
	is_str(desc(at("homes/bob")), user(), "... the home is the user's");
	ok(complete("bob"), "... and complete");
	ok(!exists(at("homes/.polohook-new.bob")), "... the leftover is gone");

	killed_at("carol", POLO_HOME_CREATED);
	is_str(desc(at("homes/.polohook-new.carol")), me(),
	       "a creator killed while the directory was empty: a leftover");
	h = spec("carol");
	is_int(polo_home_make_at(homes, "carol", &h, NULL), 0,
	       "... replaced by the next creator");
	ok(complete("carol") && !exists(at("homes/.polohook-new.carol")),
	   "... whose home is complete, with no leftover");
}

/* Killed between the chown and the rename: the leftover is the user's,
 * who may have put anything in it. Removed without following links. */
static void test_user_leftover(void)
{
	struct polo_home_spec h = spec("dave");
	int r;

	put_dir(at("homes/.polohook-new.dave"), 0700);
	must(chown(at("homes/.polohook-new.dave"), tuid, tgid) == 0, "chown");
	put_dir(at("outside"), 0755);
	put_file(at("outside/keep"), "untouched\n", 0644);
	must(symlink(at("outside"), at("homes/.polohook-new.dave/link")) == 0,
	     "symlink");
	cap_reset();
	r = polo_home_make_at(homes, "dave", &h, &lg);
	is_int(r, 0, "a leftover already handed to the user is replaced");
	ok(has_text(at("outside/keep"), "untouched\n"),
	   "... without following a symlink in it");
	ok(complete("dave") && !exists(at("homes/dave/link")),
	   "... and the new home is fresh from skel");
}

static void test_in_the_way(void)
{
	struct polo_home_spec h = spec("erin");
	int r;

	must(symlink(at("outside"), at("homes/.polohook-new.erin")) == 0,
	     "symlink");
	cap_reset();
	r = polo_home_make_at(homes, "erin", &h, &lg);
	is_int(r, -EPERM, "a symlink at the temporary name: refused");
	like(cap.buf, fmt("<%d>home %s: %s is in the way: not a directory\n",
			  LOG_ERR, at("homes/erin"),
			  at("homes/.polohook-new.erin")), "... logged");
	ok(!exists(at("homes/erin")) && has_text(at("outside/keep"),
						  "untouched\n"),
	   "... nothing made, and the link's target untouched");
	must(unlink(at("homes/.polohook-new.erin")) == 0, "unlink");

	if (!root) {
		skip(3, "needs root (a directory of another uid)");
		return;
	}
	put_dir(at("homes/.polohook-new.erin"), 0700);
	must(chown(at("homes/.polohook-new.erin"), STRANGER, STRANGER) == 0,
	     "chown");
	cap_reset();
	r = polo_home_make_at(homes, "erin", &h, &lg);
	is_int(r, -EPERM, "a temporary directory of another uid: refused");
	like(cap.buf, fmt("<%d>home %s: %s is in the way, owned by uid %d: "
			  "left alone\n", LOG_ERR, at("homes/erin"),
			  at("homes/.polohook-new.erin"), STRANGER), "... logged");
	ok(exists(at("homes/.polohook-new.erin")) && !exists(at("homes/erin")),
	   "... left alone, nothing made");
	must(rmdir(at("homes/.polohook-new.erin")) == 0, "rmdir");
}

/* ------------------------------------------------------------------ */
/* A live creator, held at POLO_HOME_CREATED until told to go on. */

struct held {
	pid_t pid;
	int told, go;		/* our ends: it says "held"; we say "go" */
};

static int hold(void *ctx, enum polo_home_stage stage, const struct stat *st)
{
	int *fds = ctx;
	char c = 'h';

	(void)st;
	if (stage != POLO_HOME_CREATED)
		return 0;
	if (write(fds[0], &c, 1) != 1 || read(fds[1], &c, 1) != 1)
		return -EIO;
	return 0;
}

static struct held hold_creator(const char *name)
{
	int a[2], b[2], fds[2];
	struct polo_home_spec h = spec(name);
	struct held c;
	char ch;

	must(pipe2(a, O_CLOEXEC) == 0 && pipe2(b, O_CLOEXEC) == 0, "pipe");
	fflush(stdout);
	c.pid = fork();
	must(c.pid >= 0, "fork");
	if (c.pid == 0) {
		close(a[0]);
		close(b[1]);
		fds[0] = a[1];
		fds[1] = b[0];
		h.step = hold;
		h.ctx = fds;
		_exit(polo_home_make_at(homes, name, &h, NULL) == 0 ? 0 : 1);
	}
	close(a[1]);
	close(b[0]);
	c.told = a[0];
	c.go = b[1];
	must(read(c.told, &ch, 1) == 1, "the creator did not start");
	return c;
}

/* 0 if the held creator then completed. */
static int release(struct held *c)
{
	int status;

	must(write(c->go, "g", 1) == 1, "write");
	must(waitpid(c->pid, &status, 0) == c->pid, "waitpid");
	close(c->told);
	close(c->go);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

/* A waiter's log goes to a pipe, so we know when it waits. */
static void pipe_emit(void *ctx, int prio, const char *msg)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "<%d>%s\n", prio, msg);

	if (n > 0)
		(void)!write(*(int *)ctx, line, (size_t)n < sizeof line ?
			     (size_t)n : sizeof line - 1);
}

static void test_busy(void)
{
	struct held c = hold_creator("frank");
	struct polo_home_spec h = spec("frank");
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	int p[2], status, r;
	pid_t w;

	is_str(desc(at("homes/.polohook-new.frank")), me(),
	       "a creator at work: its temporary directory is there");

	/* a second creator waits for it, then finds the home made */
	must(pipe2(p, O_CLOEXEC) == 0, "pipe");
	fflush(stdout);
	w = fork();
	must(w >= 0, "fork");
	if (w == 0) {
		struct polo_log plg = { .emit = pipe_emit, .ctx = &p[1] };

		close(p[0]);
		h.wait_ms = 120000;	/* alarm() ends a hang, not this */
		r = polo_home_make_at(homes, "frank", &h, &plg);
		n = snprintf(buf, sizeof buf, "result %d\n", r);
		_exit(write(p[1], buf, (size_t)n) == n ? 0 : 1);
	}
	close(p[1]);
	buf[0] = '\0';
	while (strstr(buf, "waiting") == NULL && got < sizeof buf - 1 &&
	       (n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0) {
		got += (size_t)n;
		buf[got] = '\0';
	}
	like(buf, fmt("<%d>home %s: another process is making it: waiting "
		      "(at most ", LOG_NOTICE, at("homes/frank")),
	     "a second creator waits for the first, and says so");
	is_int(release(&c), 0, "the first creator completes");
	while (got < sizeof buf - 1 &&
	       (n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0) {
		got += (size_t)n;
		buf[got] = '\0';
	}
	close(p[0]);
	must(waitpid(w, &status, 0) == w, "waitpid");
	like(buf, fmt("result %d\n", -EEXIST),
	     "... then the second finds the home there: -EEXIST");
	ok(complete("frank") && strcmp(desc(at("homes/frank")), user()) == 0,
	   "... the home is complete, the user's");
	ok(!exists(at("homes/.polohook-new.frank")),
	   "... and no temporary name is left");

	/* one that waits less than the creator takes: -EBUSY */
	c = hold_creator("gina");
	h = spec("gina");
	h.wait_ms = 50;
	cap_reset();
	r = polo_home_make_at(homes, "gina", &h, &lg);
	is_int(r, -EBUSY, "a creator still at work after the wait: -EBUSY");
	like(cap.buf, fmt("<%d>home %s: another process is still making it: "
			  "gave up waiting\n", LOG_ERR, at("homes/gina")),
	     "... logged at LOG_ERR");
	ok(exists(at("homes/.polohook-new.gina")) && !exists(at("homes/gina")),
	   "... the other's work is left alone");
	is_int(release(&c), 0, "... and completes");
	ok(complete("gina"), "... with the home complete");
}

/* ------------------------------------------------------------------ */

static int fail_filled(void *ctx, enum polo_home_stage stage,
		       const struct stat *st)
{
	(void)ctx;
	(void)st;
	return stage == POLO_HOME_FILLED ? -EIO : 0;
}

static void test_refusals(void)
{
	struct polo_home_spec h = spec("x");
	char longname[NAME_MAX - 5];
	int n0, r;

	n0 = count_entries(at("homes"));
	cap_reset();
	h.what = at("homes/.polohook-new.x");
	r = polo_home_make_at(homes, ".polohook-new.x", &h, &lg);
	is_int(r, -EINVAL, "a home named like a temporary one: -EINVAL");
	like(cap.buf, "reserved for homes being made", "... logged why");
	h = spec("x");
	is_int(polo_home_make_at(homes, "..", &h, NULL), -EINVAL,
	       "'..': -EINVAL");
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	is_int(polo_home_make_at(homes, longname, &h, NULL), -ENAMETOOLONG,
	       "a name too long to get the prefix: -ENAMETOOLONG");
	is_int(count_entries(at("homes")), n0, "... nothing made for any");

	put_dir(at("homes/ex"), 0750);
	put_file(at("homes/ex/mine"), "mine\n", 0600);
	h = spec("ex");
	is_int(polo_home_make_at(homes, "ex", &h, NULL), -EEXIST,
	       "an existing home: -EEXIST");
	is_str(desc(at("homes/ex")), fmt("%lu:%lu 750", (unsigned long)geteuid(),
					 (unsigned long)getegid()),
	       "... untouched: owner and mode");
	ok(has_text(at("homes/ex/mine"), "mine\n") &&
	   count_entries(at("homes/ex")) == 1, "... and content");
	ok(!exists(at("homes/.polohook-new.ex")), "... no temporary made");

	h = spec("hank");
	h.step = fail_filled;
	is_int(polo_home_make_at(homes, "hank", &h, NULL), -EIO,
	       "a step that fails: its error");
	ok(!exists(at("homes/hank")) && !exists(at("homes/.polohook-new.hank")),
	   "... and neither the name nor the temporary one is left");
}

/* ------------------------------------------------------------------ */
/* A full disk, in a forked child's private mount namespace. */

struct report {
	int r, entries;
	char log[8192];
};

static void full_disk(void *p)
{
	struct report *rep = p;
	struct polo_home_spec h = spec("ivy");
	int fd;

	cap_reset();
	h.what = at("full/ivy");
	h.skel = at("bigskel");
	if (mount("tmpfs", at("full"), "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=64k,mode=0755") < 0 ||
	    (fd = open(at("full"), O_RDONLY | O_DIRECTORY)) < 0) {
		rep->r = -9999;
	} else {
		rep->r = polo_home_make_at(fd, "ivy", &h, &lg);
		rep->entries = count_entries(at("full"));
		close(fd);
	}
	snprintf(rep->log, sizeof rep->log, "%s", cap.buf);
}

static void test_enospc(void)
{
	static char kib[1024];
	struct report rep;
	int fd, i;

	if (!root || !probe_mount_ns()) {
		skip(4, "needs root and a mount namespace (a tiny tmpfs)");
		return;
	}
	put_dir(at("bigskel"), 0755);
	memset(kib, 'x', sizeof kib);
	fd = open(at("bigskel/big"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		  0644);
	must(fd >= 0, "open");
	for (i = 0; i < 256; i++)
		must(write(fd, kib, sizeof kib) == sizeof kib, "write");
	must(close(fd) == 0, "close");
	put_dir(at("full"), 0755);
	ok(in_mount_ns(full_disk, &rep, sizeof rep), "a full disk: the child ran");
	is_int(rep.r, -ENOSPC, "a skel bigger than the disk: -ENOSPC");
	like(rep.log, "No space left on device", "... logged");
	is_int(rep.entries, 0,
	       "... and neither the home nor its temporary name is left");
}

int main(void)
{
	char tmpl[] = "/tmp/polo43.XXXXXX";
	int fds, r;
	siginfo_t si;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(300);	/* a hang fails instead of blocking */
	root = geteuid() == 0;
	tuid = root ? OWNER : geteuid();
	tgid = root ? OWNER : getegid();
	fds = count_fds();
	must(mkdtemp(tmpl) != NULL, "mkdtemp");
	must(realpath(tmpl, dir) != NULL, "realpath");
	must(chmod(dir, 0755) == 0, "chmod");
	put_dir(at("skel"), 0755);
	put_dir(at("skel/sub"), 0755);
	put_file(at("skel/.profile"), "PS1=x\n", 0644);
	put_file(at("skel/sub/rc"), "k=v\n", 0644);
	put_dir(at("homes"), 0755);
	homes = open(at("homes"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	must(homes >= 0, "open homes");

	test_plain();
	test_killed();
	test_user_leftover();
	test_in_the_way();
	test_busy();
	test_refusals();
	test_enospc();

	close(homes);
	memset(&si, 0, sizeof si);
	r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
	ok(r < 0 && errno == ECHILD, "no child of ours is left");
	is_int(count_fds(), fds, "as many open fds as at the start");
	must(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0, "rm");
	return tap_done();
}
