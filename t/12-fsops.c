/* lib/fsops.c: filling a home from skel and removing a tree, through
 * directory fds only, and asking whether a uid still runs processes.
 * As root: owners are uid/gid 1500, and mounts (a full tmpfs, bind mounts)
 * are made only inside a private mount namespace of a forked child, so
 * nothing is ever mounted on the host. As another user: the copy targets
 * its own ids, and what needs root is skipped. */
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
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsops.h"
#include "log.h"
#include "tap.h"
#include "testlog.h"
#include "tfs.h"

#define OWNER		1500	/* as root: the user a home is made for */
#define NOBODY_UID	4242424	/* a uid no process runs as */

static bool root;
static bool can_mount;		/* root, and may make a mount namespace */
static uid_t tuid;		/* owner the copy gives: 1500 or our own */
static gid_t tgid;



static void put_fifo(const char *path)
{
	must(mkfifo(path, 0644) == 0, path);
}

static void put_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	must(fd >= 0, "socket");
	must(strlen(path) < sizeof sa.sun_path, path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	must(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0, path);
	close(fd);	/* the socket file stays */
}

/* A chain "d/d/.../d" of n directories below base; returns its path. */
static const char *put_chain(const char *base, int n)
{
	static char path[PATH_MAX];
	size_t len = strlen(base);
	int i;

	must(len + 2 * (size_t)n < sizeof path, "chain too long");
	memcpy(path, base, len + 1);
	for (i = 0; i < n; i++) {
		memcpy(path + len, "/d", 3);
		len += 2;
		must(mkdir(path, 0755) == 0, path);
	}
	return path;
}

static const char *chain_path(const char *base, int n)
{
	static char path[PATH_MAX];
	size_t len = strlen(base);
	int i;

	memcpy(path, base, len + 1);
	for (i = 0; i < n; i++) {
		memcpy(path + len, "/d", 3);
		len += 2;
	}
	return path;
}

static int open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	must(fd >= 0, path);
	return fd;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The whole file into buf (NUL-terminated); its length, or -1. */
static ssize_t slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

static bool has_text(const char *path, const char *want)
{
	char buf[4096];

	return slurp(path, buf, sizeof buf) == (ssize_t)strlen(want) &&
	       strcmp(buf, want) == 0;
}

static int count_lines(const char *path)
{
	char buf[65536];
	ssize_t n = slurp(path, buf, sizeof buf);
	int lines = 0;

	must(n >= 0, path);
	for (ssize_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	return lines;
}

static int count_fds(void)
{
	return count_entries("/proc/self/fd") - 1;	/* opendir's own */
}

static int tree_size;
static int count_one(const char *path, const struct stat *st, int type,
		     struct FTW *f)
{
	(void)path;
	(void)st;
	(void)type;
	(void)f;
	tree_size++;
	return 0;
}

/* Entries below path (not path itself), symlinks not followed. */
static int count_tree(const char *path)
{
	tree_size = 0;
	must(nftw(path, count_one, 16, FTW_PHYS) == 0, path);
	return tree_size - 1;
}


static void rm_rf(const char *path)
{
	if (exists(path))
		must(nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == 0,
		     path);
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_mode == b->st_mode && a->st_uid == b->st_uid &&
	       a->st_gid == b->st_gid && a->st_size == b->st_size &&
	       a->st_nlink == b->st_nlink &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* A forked child in a private mount namespace: what it mounts vanishes
 * with it. It reports through a pipe; the parent turns that into TAP.
 * (Where the kernel ignores mount()'s type, "none" is passed, not NULL,
 * which valgrind would report.) */

struct report {
	int r;
	int flag[6];
	char log[8192];
};

/* each step captures what it logs into its report */
static void (*ns_step)(struct report *);

static void ns_run(void *p)
{
	struct report *rep = p;

	cap_reset();
	ns_step(rep);
	snprintf(rep->log, sizeof rep->log, "%s", cap.buf);
}

static bool in_ns(void (*fn)(struct report *), struct report *out)
{
	ns_step = fn;
	return in_mount_ns(ns_run, out, sizeof *out);
}

/* ------------------------------------------------------------------ */

struct ent {
	const char *name;
	char type;		/* d f l p s */
	mode_t mode;
	const char *data;	/* file contents, or symlink target */
};

static const struct ent skel[] = {
	{ "d755", 'd', 0755, NULL },
	{ "d755/inner.txt", 'f', 0644, "inner\n" },
	{ "d755/up", 'l', 0, "../d700/d2/secret" },
	{ "d700", 'd', 0700, NULL },
	{ "d700/d2", 'd', 0755, NULL },
	{ "d700/d2/secret", 'f', 0600, "s3cret" },
	{ "d700/d2/fifo", 'p', 0644, NULL },
	{ "empty", 'd', 0755, NULL },
	{ "sticky", 'd', 01777, NULL },
	{ "setgid-dir", 'd', 02775, NULL },
	{ "f644", 'f', 0644, "hello\n" },
	{ "f600", 'f', 0600, "private\n" },
	{ "f755", 'f', 0755, "#!/bin/sh\nexit 0\n" },
	{ "suid", 'f', 04755, "setuid\n" },
	{ "sgid", 'f', 02750, "setgid\n" },
	{ "zero", 'f', 0644, "" },
	{ ".profile", 'f', 0644, "PATH=/bin\n" },
	{ "shadow", 'l', 0, "/etc/shadow" },
	{ "rel", 'l', 0, "f644" },
	{ "dangling", 'l', 0, "no/such/thing" },
	{ "fifo", 'p', 0644, NULL },
	{ "p\nipe", 'p', 0644, NULL },
	{ "sock", 's', 0, NULL },
};
#define NSKEL (sizeof skel / sizeof *skel)
#define BIG_SIZE 300001		/* several read/write rounds, odd tail */

static char big[BIG_SIZE];

static void make_skel(const char *base)
{
	size_t i;

	put_dir(base, 0755);
	for (i = 0; i < NSKEL; i++) {
		const struct ent *e = &skel[i];
		const char *p = at("skel/%s", e->name);

		if (e->type == 'd')
			put_dir(p, e->mode);
		else if (e->type == 'f')
			put_file(p, e->data, e->mode);
		else if (e->type == 'l')
			put_link(e->data, p);
		else if (e->type == 'p')
			put_fifo(p);
		else
			put_socket(p);
	}
	for (i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 7 + i / 251);
	put_bytes(at("skel/big"), big, sizeof big, 0640);
}

static void check_entry(const char *dst, const struct ent *e, mode_t mask)
{
	const char *p = fmt("%s/%s", dst, e->name);
	char buf[PATH_MAX];
	struct stat st;
	ssize_t n;
	int r = lstat(p, &st);

	if (e->type == 'p' || e->type == 's') {
		ok(r < 0 && errno == ENOENT,
		   fmt("umask %03o: %c '%s' is not copied", mask, e->type,
		       e->name[1] == '\n' ? "p\\nipe" : e->name));
		return;
	}
	if (r < 0) {
		ok(0, fmt("umask %03o: %s exists", mask, e->name));
		return;
	}
	ok(st.st_uid == tuid && st.st_gid == tgid,
	   fmt("umask %03o: %s is owned by %lu:%lu", mask, e->name,
	       (unsigned long)tuid, (unsigned long)tgid));
	if (e->type == 'l') {
		ok(S_ISLNK(st.st_mode), fmt("umask %03o: %s is a symlink "
					    "(not followed)", mask, e->name));
		n = readlink(p, buf, sizeof buf - 1);
		buf[n < 0 ? 0 : n] = '\0';
		is_str(buf, e->data, fmt("umask %03o: %s has the same target",
					 mask, e->name));
		return;
	}
	ok(e->type == 'd' ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode),
	   fmt("umask %03o: %s is a %s", mask, e->name,
	       e->type == 'd' ? "directory" : "regular file"));
	is_int(st.st_mode & 07777, e->mode & 0777 & ~mask,
	       fmt("umask %03o: mode of %s (skel %04o)", mask, e->name,
		   e->mode));
	if (e->type == 'f')
		ok(has_text(p, e->data), fmt("umask %03o: content of %s", mask,
					     e->name));
}

static void test_copy(mode_t mask, int skelfd)
{
	const char *dst = at("copy%03o", mask);
	static char got[BIG_SIZE + 2];
	struct stat sh1, sh2, st;
	int dstfd, r, fds = count_fds();
	bool shadow = stat("/etc/shadow", &sh1) == 0;
	size_t i;

	must(mkdir(dst, 0700) == 0, dst);
	dstfd = open_dir(dst);
	cap_reset();
	r = polo_copy_tree(skelfd, dstfd, tuid, tgid, mask, "/home/u", &lg);
	is_int(r, 0, fmt("umask %03o: copy_tree is 0", mask));
	for (i = 0; i < NSKEL; i++)
		check_entry(dst, &skel[i], mask);
	is_int(count_tree(dst), NSKEL - 4 + 1,
	       fmt("umask %03o: nothing else was made", mask));
	is_int(slurp(fmt("%s/big", dst), got, sizeof got), BIG_SIZE,
	       fmt("umask %03o: big file: size", mask));
	ok(memcmp(got, big, BIG_SIZE) == 0,
	   fmt("umask %03o: big file: every byte", mask));
	ok(lstat(fmt("%s/big", dst), &st) == 0 &&
	   (st.st_mode & 07777) == (0640 & ~mask),
	   fmt("umask %03o: big file: mode", mask));

	like(cap.buf, fmt("<%d>/home/u/fifo: a FIFO in skel, skipped\n",
			  LOG_WARNING),
	     fmt("umask %03o: the FIFO is logged at LOG_WARNING", mask));
	like(cap.buf, fmt("<%d>/home/u/d700/d2/fifo: a FIFO in skel, skipped\n",
			  LOG_WARNING),
	     fmt("umask %03o: the nested FIFO, with its path", mask));
	like(cap.buf, fmt("<%d>/home/u/p?ipe: a FIFO", LOG_WARNING),
	     fmt("umask %03o: a newline in a name is not logged as one", mask));
	like(cap.buf, fmt("<%d>/home/u/sock: a socket in skel, skipped\n",
			  LOG_WARNING),
	     fmt("umask %03o: the socket is logged", mask));
	is_int(cap.n, 4, fmt("umask %03o: nothing else logged", mask));

	ok(fstat(dstfd, &st) == 0 && (st.st_mode & 07777) == 0700 &&
	   st.st_uid == geteuid(),
	   fmt("umask %03o: the destination itself is left as it was", mask));
	ok(fcntl(skelfd, F_GETFD) >= 0,
	   fmt("umask %03o: the caller's skel fd is still open", mask));
	if (shadow)
		ok(stat("/etc/shadow", &sh2) == 0 && same_stat(&sh1, &sh2),
		   fmt("umask %03o: /etc/shadow is untouched", mask));
	else
		skip(1, "no /etc/shadow");
	close(dstfd);
	is_int(count_fds(), fds, fmt("umask %03o: no fd leaked", mask));
}

static void test_copy_opath(void)
{
	int skelfd = open(at("skel"), O_PATH | O_DIRECTORY | O_CLOEXEC);
	int dstfd, r;

	must(skelfd >= 0, "skel");
	must(mkdir(at("copy-opath"), 0700) == 0, "copy-opath");
	dstfd = open_dir(at("copy-opath"));
	cap_reset();
	r = polo_copy_tree(skelfd, dstfd, tuid, tgid, 022, "/home/o", &lg);
	is_int(r, 0, "an O_PATH skel fd works");
	ok(has_text(at("copy-opath/d700/d2/secret"), "s3cret"),
	   "O_PATH skel fd: nested file copied");
	close(dstfd);
	close(skelfd);
}

/* What is in the destination already is never written through. */
static void test_copy_exists(int skelfd)
{
	int dstfd, r;

	put_dir(at("outside"), 0755);
	put_file(at("outside/target"), "untouched\n", 0644);
	put_dir(at("outside/odir"), 0755);
	put_file(at("outside/odir/inner"), "keep too\n", 0644);

	put_dir(at("pre1"), 0700);
	put_link(at("outside/target"), at("pre1/f644"));
	dstfd = open_dir(at("pre1"));
	cap_reset();
	r = polo_copy_tree(skelfd, dstfd, tuid, tgid, 022, "/home/p", &lg);
	is_int(r, -EEXIST, "a symlink in place of a skel file: -EEXIST");
	ok(has_text(at("outside/target"), "untouched\n"),
	   "... and its target is not written");
	like(cap.buf, fmt("<%d>/home/p/f644: File exists\n", LOG_ERR),
	     "... logged at LOG_ERR with the path");
	close(dstfd);

	put_dir(at("pre2"), 0700);
	put_link(at("outside/odir"), at("pre2/d755"));
	dstfd = open_dir(at("pre2"));
	cap_reset();
	r = polo_copy_tree(skelfd, dstfd, tuid, tgid, 022, "/home/p", &lg);
	is_int(r, -EEXIST, "a symlink in place of a skel dir: -EEXIST");
	is_int(count_entries(at("outside/odir")), 1,
	       "... nothing is made in its target");
	close(dstfd);
}

static void fill_full(struct report *rep)
{
	int skelfd, dstfd;

	if (mount("tmpfs", at("full"), "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=64k,mode=0700") < 0) {
		rep->r = -9999;
		return;
	}
	skelfd = open_dir(at("skelbig"));
	dstfd = open_dir(at("full"));
	rep->r = polo_copy_tree(skelfd, dstfd, OWNER, OWNER, 022, "/home/full",
				&lg);
	close(skelfd);
	close(dstfd);
}

static void test_copy_enospc(void)
{
	static char mib[1 << 20];
	struct report rep;

	if (!can_mount) {
		skip(4, "needs root and a mount namespace (a tiny tmpfs)");
		return;
	}
	put_dir(at("skelbig"), 0755);
	memset(mib, 'x', sizeof mib);
	put_bytes(at("skelbig/big"), mib, sizeof mib, 0644);
	put_dir(at("full"), 0700);
	ok(in_ns(fill_full, &rep), "ENOSPC: the child ran");
	is_int(rep.r, -ENOSPC, "a full filesystem: -ENOSPC");
	like(rep.log, fmt("<%d>/home/full/big: No space left on device\n",
			  LOG_ERR),
	     "... logged at LOG_ERR with the path");
	is_int(count_entries(at("full")), 0,
	   "... and the tmpfs went with the child's namespace");
}

/* ------------------------------------------------------------------ */

static void make_rm_tree(const char *base)
{
	put_dir(base, 0755);
	put_file(fmt("%s/a", base), "a\n", 0644);
	put_file(fmt("%s/c", base), "no perms\n", 0);
	put_file(fmt("%s/bad\nname", base), "\n", 0644);
	put_dir(fmt("%s/sub", base), 0755);
	put_file(fmt("%s/sub/x", base), "x\n", 0644);
	put_dir(fmt("%s/sub/deeper", base), 0700);
	put_dir(fmt("%s/sub/deeper/deepest", base), 0755);
	put_file(fmt("%s/sub/deeper/deepest/z", base), "z\n", 0600);
	put_dir(fmt("%s/e", base), 0755);
	put_link(at("outside/target"), fmt("%s/lf", base));
	put_link(at("outside/odir"), fmt("%s/ld", base));
	put_link("../../outside/odir", fmt("%s/sub/rel", base));
	put_link("/", fmt("%s/slash", base));
	put_fifo(fmt("%s/fifo", base));
	put_socket(fmt("%s/sock", base));
	if (root) {
		/* only root can empty these; another user could not */
		put_dir(fmt("%s/locked", base), 0755);
		put_file(fmt("%s/locked/f", base), "f\n", 0644);
		must(chmod(fmt("%s/locked", base), 0500) == 0, "chmod");
		put_dir(fmt("%s/d000", base), 0755);
		put_file(fmt("%s/d000/f", base), "f\n", 0644);
		must(chmod(fmt("%s/d000", base), 0) == 0, "chmod");
	}
}

static void test_rm_contents(void)
{
	struct stat t1, t2, o1, o2;
	int fd, r, fds = count_fds();

	make_rm_tree(at("rm1"));
	must(stat(at("outside/target"), &t1) == 0, "target");
	must(stat(at("outside/odir"), &o1) == 0, "odir");
	fd = open_dir(at("rm1"));
	cap_reset();
	r = polo_rm_contents(fd, "/home/rm", &lg);
	is_int(r, 0, "rm_contents: 0");
	is_int(count_entries(at("rm1")), 0, "rm_contents: the tree is empty");
	ok(exists(at("rm1")), "rm_contents: the directory itself stays");
	is_int(cap.n, 0, "rm_contents: nothing logged");
	ok(stat(at("outside/target"), &t2) == 0 && same_stat(&t1, &t2) &&
	   has_text(at("outside/target"), "untouched\n"),
	   "rm_contents: a file a symlink pointed to survives, untouched");
	ok(stat(at("outside/odir"), &o2) == 0 && same_stat(&o1, &o2) &&
	   has_text(at("outside/odir/inner"), "keep too\n"),
	   "rm_contents: a directory symlinks pointed to survives, untouched");
	ok(exists("/etc/passwd") && exists("/bin"),
	   "rm_contents: a symlink to / was not followed (sanity)");
	is_int(polo_rm_contents(fd, "/home/rm", &lg), 0,
	       "rm_contents of an empty directory: 0");
	close(fd);
	is_int(count_fds(), fds, "rm_contents: no fd leaked");

	put_file(at("notdir"), "", 0644);
	fd = open(at("notdir"), O_RDONLY | O_CLOEXEC);
	must(fd >= 0, "notdir");
	cap_reset();
	is_int(polo_rm_contents(fd, "/x", &lg), -ENOTDIR,
	       "rm_contents of a file fd: -ENOTDIR");
	close(fd);
}

static void rm_with_mounts(struct report *rep)
{
	int fd;

	if (mount(at("bindsrc"), at("rm2/keep/mnt"), "none", MS_BIND,
		  NULL) < 0 ||
	    mount(at("bindsrc/marker"), at("rm2/fbind"), "none", MS_BIND,
		  NULL) < 0 ||
	    mount("tmpfs", at("rm2/tm"), "tmpfs", 0, "size=64k") < 0) {
		rep->r = -9999;
		return;
	}
	put_file(at("rm2/tm/intmpfs"), "in tmpfs\n", 0644);
	fd = open_dir(at("rm2"));
	rep->r = polo_rm_contents(fd, "/home/rm2", &lg);
	close(fd);
	rep->flag[0] = has_text(at("rm2/keep/mnt/marker"), "marker\n");
	rep->flag[1] = has_text(at("rm2/tm/intmpfs"), "in tmpfs\n");
	rep->flag[2] = has_text(at("rm2/fbind"), "marker\n");
	rep->flag[3] = exists(at("rm2/sub")) || exists(at("rm2/a")) ||
		       exists(at("rm2/keep/other"));
}

static void test_rm_mounts(void)
{
	struct report rep;

	if (!can_mount) {
		skip(11, "needs root and a mount namespace (bind mounts)");
		return;
	}
	put_dir(at("bindsrc"), 0755);
	put_file(at("bindsrc/marker"), "marker\n", 0644);
	make_rm_tree(at("rm2"));
	put_dir(at("rm2/keep"), 0755);
	put_dir(at("rm2/keep/mnt"), 0755);
	put_file(at("rm2/keep/other"), "other\n", 0644);
	put_file(at("rm2/fbind"), "", 0644);
	put_dir(at("rm2/tm"), 0755);

	ok(in_ns(rm_with_mounts, &rep), "mounts: the child ran");
	is_int(rep.r, -EBUSY, "a mount point inside: -EBUSY");
	like(rep.log, fmt("<%d>/home/rm2/keep/mnt: a mount point, left in "
			  "place\n", LOG_ERR),
	     "the bind mount of a directory is logged as a mount point");
	like(rep.log, fmt("<%d>/home/rm2/fbind: a mount point", LOG_ERR),
	     "the bind mount of a file is logged as a mount point");
	like(rep.log, fmt("<%d>/home/rm2/tm: a mount point", LOG_ERR),
	     "the tmpfs is logged as a mount point");
	ok(!strstr(rep.log, "keep:") && !strstr(rep.log, "Directory not empty"),
	   "the directory above a mount point is not reported again");
	ok(rep.flag[0], "the bind-mounted directory and its content survive");
	ok(rep.flag[1], "the tmpfs and its content survive");
	ok(rep.flag[2], "the bind-mounted file survives");
	ok(!rep.flag[3], "the rest of the tree is gone");
	ok(has_text(at("bindsrc/marker"), "marker\n") &&
	   count_entries(at("bindsrc")) == 1,
	   "the bind mount's source is untouched");
}

/* ------------------------------------------------------------------ */

static void get_id(const char *path, dev_t *dev, ino_t *ino)
{
	struct stat st;

	must(lstat(path, &st) == 0, path);
	*dev = st.st_dev;
	*ino = st.st_ino;
}

static void rm_self_bound(struct report *rep)
{
	int pfd = open_dir(at("homes"));
	dev_t dev;
	ino_t ino;

	get_id(at("homes/h6"), &dev, &ino);
	if (mount(at("homes/h6"), at("homes/h6"), "none", MS_BIND, NULL) < 0) {
		rep->r = -9999;
		return;
	}
	rep->r = polo_rm_tree_at(pfd, "h6", dev, ino, "/home/h6", &lg);
	rep->flag[0] = has_text(at("homes/h6/f"), "f\n");
	close(pfd);
}

static void test_rm_tree_at(void)
{
	struct report rep;
	dev_t dev;
	ino_t ino;
	int pfd, r, fds = count_fds();

	put_dir(at("homes"), 0755);
	pfd = open_dir(at("homes"));

	make_rm_tree(at("homes/h1"));
	get_id(at("homes/h1"), &dev, &ino);
	cap_reset();
	r = polo_rm_tree_at(pfd, "h1", dev, ino, "/home/h1", &lg);
	is_int(r, 0, "rm_tree_at: a normal tree: 0");
	ok(!exists(at("homes/h1")), "rm_tree_at: it is gone");
	is_int(cap.n, 0, "rm_tree_at: nothing logged");

	put_dir(at("homes/h2"), 0755);
	get_id(at("homes/h2"), &dev, &ino);
	must(rename(at("homes/h2"), at("homes/h2.moved")) == 0, "rename");
	put_link(at("outside/odir"), at("homes/h2"));
	cap_reset();
	r = polo_rm_tree_at(pfd, "h2", dev, ino, "/home/h2", &lg);
	is_int(r, -ENOTDIR, "rm_tree_at: a symlink to a directory: -ENOTDIR");
	ok(has_text(at("outside/odir/inner"), "keep too\n"),
	   "... the directory it points to is untouched");
	ok(exists(at("homes/h2")) && exists(at("homes/h2.moved")),
	   "... the symlink and the moved directory stay");
	like(cap.buf, fmt("<%d>/home/h2: not a directory", LOG_ERR),
	     "... logged at LOG_ERR");

	put_dir(at("homes/h3"), 0755);
	get_id(at("homes/h3"), &dev, &ino);
	must(rmdir(at("homes/h3")) == 0, "rmdir");
	put_fifo(at("homes/h3"));
	cap_reset();
	r = polo_rm_tree_at(pfd, "h3", dev, ino, "/home/h3", &lg);
	is_int(r, -ENOTDIR, "rm_tree_at: a FIFO: -ENOTDIR (and no hang)");
	ok(exists(at("homes/h3")), "... the FIFO stays");

	put_dir(at("homes/h4"), 0755);
	put_file(at("homes/h4/f"), "f\n", 0644);
	get_id(at("homes/h4"), &dev, &ino);
	cap_reset();
	r = polo_rm_tree_at(pfd, "h4", dev, ino + 1, "/home/h4", &lg);
	is_int(r, -ESTALE, "rm_tree_at: another inode: -ESTALE");
	r = polo_rm_tree_at(pfd, "h4", dev + 1, ino, "/home/h4", &lg);
	is_int(r, -ESTALE, "rm_tree_at: another device: -ESTALE");
	ok(has_text(at("homes/h4/f"), "f\n"), "... nothing removed");
	like(cap.buf, fmt("<%d>/home/h4: not the directory expected",
			  LOG_ERR), "... logged at LOG_ERR");

	put_dir(at("homes/h5"), 0755);
	get_id(at("homes/h5"), &dev, &ino);
	must(rename(at("homes/h5"), at("homes/h5.old")) == 0, "rename");
	put_dir(at("homes/h5"), 0755);
	put_file(at("homes/h5/f"), "f\n", 0644);
	r = polo_rm_tree_at(pfd, "h5", dev, ino, "/home/h5", &lg);
	is_int(r, -ESTALE, "rm_tree_at: a directory swapped in: -ESTALE");
	ok(has_text(at("homes/h5/f"), "f\n") && exists(at("homes/h5.old")),
	   "... both left as they were");

	cap_reset();
	r = polo_rm_tree_at(pfd, "nope", dev, ino, "/home/nope", &lg);
	is_int(r, -ENOENT, "rm_tree_at: a missing name: -ENOENT");

	if (can_mount) {
		put_dir(at("homes/h6"), 0755);
		put_file(at("homes/h6/f"), "f\n", 0644);
		ok(in_ns(rm_self_bound, &rep), "h6: the child ran");
		is_int(rep.r, -EBUSY,
		       "rm_tree_at: a mount point (bound onto itself): -EBUSY");
		ok(rep.flag[0], "... its content stays");
		like(rep.log, fmt("<%d>/home/h6: a mount point, left in place",
				  LOG_ERR), "... logged at LOG_ERR");
	} else {
		skip(4, "needs root and a mount namespace (bind mount)");
	}
	close(pfd);
	is_int(count_fds(), fds, "rm_tree_at: no fd leaked");
}

/* ------------------------------------------------------------------ */

static void test_depth(void)
{
	const char *deepest;
	int skelfd, dstfd, fd, r;

	put_dir(at("deepskel"), 0755);
	put_file(at("deepskel/top"), "top\n", 0644);
	deepest = put_chain(at("deepskel"), 70);
	put_file(fmt("%s/bottom", deepest), "bottom\n", 0644);
	put_dir(at("deepdst"), 0700);
	skelfd = open_dir(at("deepskel"));
	dstfd = open_dir(at("deepdst"));
	cap_reset();
	r = polo_copy_tree(skelfd, dstfd, tuid, tgid, 022, "/home/deep", &lg);
	is_int(r, -ELOOP, "copy: 70 nested directories: -ELOOP");
	like(cap.buf, "more than 64 levels deep", "... logged");
	ok(exists(chain_path(at("deepdst"), POLO_TREE_MAX_DEPTH)),
	   "copy: 64 levels are made");
	ok(!exists(chain_path(at("deepdst"), POLO_TREE_MAX_DEPTH + 1)),
	   "copy: the 65th is not");
	close(skelfd);
	close(dstfd);

	put_dir(at("deeprm"), 0755);
	put_file(at("deeprm/top"), "top\n", 0644);
	put_dir(at("deeprm/other"), 0755);
	put_file(at("deeprm/other/x"), "x\n", 0644);
	deepest = put_chain(at("deeprm"), 70);
	put_file(fmt("%s/bottom", deepest), "bottom\n", 0644);
	put_file(fmt("%s/mid", chain_path(at("deeprm"), 30)), "m\n", 0644);
	fd = open_dir(at("deeprm"));
	cap_reset();
	r = polo_rm_contents(fd, "/home/deeprm", &lg);
	is_int(r, -ELOOP, "rm: 70 nested directories: -ELOOP");
	is_int(cap.n, 1, "rm: one line (the directories above are not "
	       "reported again)");
	like(cap.buf, fmt("<%d>/home/deeprm/d/d/d/", LOG_ERR),
	     "... naming the path");
	like(cap.buf, "more than 64 levels deep, left in place",
	     "... and the reason");
	ok(!exists(at("deeprm/top")) && !exists(at("deeprm/other")),
	   "rm: what is not too deep is removed");
	ok(!exists(fmt("%s/mid", chain_path(at("deeprm"), 30))),
	   "rm: a file on the way down is removed");
	ok(has_text(fmt("%s/bottom", chain_path(at("deeprm"), 70)), "bottom\n"),
	   "rm: the part below the cap is left whole");
	close(fd);
}

static void test_caps(void)
{
	int skelfd, dstfd, fd, r, i;

	put_dir(at("manyskel"), 0755);
	for (i = 0; i <= POLO_TREE_MAX_ENTRIES; i++) {
		int f = open(at("manyskel/%d", i), O_WRONLY | O_CREAT |
			     O_EXCL | O_CLOEXEC, 0644);

		must(f >= 0, "create");
		close(f);
	}
	put_dir(at("manydst"), 0700);
	skelfd = open_dir(at("manyskel"));
	dstfd = open_dir(at("manydst"));
	cap_reset();
	r = polo_copy_tree(skelfd, dstfd, tuid, tgid, 022, "/home/many", &lg);
	is_int(r, -EFBIG, "copy: more than 100000 entries: -EFBIG");
	like(cap.buf, "more than 100000 entries", "... logged");
	is_int(count_entries(at("manydst")), POLO_TREE_MAX_ENTRIES,
	       "copy: stopped after 100000");
	close(skelfd);

	cap_reset();
	r = polo_rm_contents(dstfd, "/home/many", &lg);
	is_int(r, 0, "rm: exactly 100000 entries: 0");
	is_int(count_entries(at("manydst")), 0, "... all gone");
	close(dstfd);

	fd = open_dir(at("manyskel"));
	cap_reset();
	r = polo_rm_contents(fd, "/home/many", &lg);
	is_int(r, -EFBIG, "rm: more than 100000 entries: -EFBIG");
	is_int(count_entries(at("manyskel")), 1, "... stopped after 100000");
	like(cap.buf, "more than 100000 entries, stopped", "... logged");
	close(fd);
}

/* ------------------------------------------------------------------ */

/* A child that takes the ids given (-1: keep) and waits to be killed. */
static pid_t child_as(uid_t ruid, uid_t euid, uid_t suid, uid_t fsuid)
{
	int p[2];
	pid_t pid;
	char c;

	must(pipe2(p, O_CLOEXEC) == 0, "pipe");
	fflush(stdout);
	pid = fork();
	must(pid >= 0, "fork");
	if (pid == 0) {
		close(p[0]);
		if (setresuid(ruid, euid, suid) < 0)
			_exit(1);
		if (fsuid != (uid_t)-1)
			(void)setfsuid(fsuid);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	must(read(p[0], &c, 1) == 1, "child ready");
	close(p[0]);
	return pid;
}

static void reap(pid_t pid)
{
	int status;

	must(kill(pid, SIGKILL) == 0, "kill");
	must(waitpid(pid, &status, 0) == pid, "waitpid");
}

static void test_processes(void)
{
	const uid_t u = NOBODY_UID;
	int status, r;
	pid_t pid;

	is_int(polo_uid_has_processes(u), 0, "uid 4242424 runs nothing: 0");
	pid = child_as((uid_t)-1, (uid_t)-1, (uid_t)-1, (uid_t)-1);
	is_int(polo_uid_has_processes(getuid()), 1,
	       "our own uid, with a child running: 1");
	reap(pid);

	if (!root) {
		skip(8, "needs root (setresuid)");
		return;
	}
	pid = child_as(u, u, u, (uid_t)-1);
	is_int(polo_uid_has_processes(u), 1, "a child running as 4242424: 1");
	reap(pid);
	is_int(polo_uid_has_processes(u), 0, "... killed and reaped: 0");

	pid = child_as(u, 0, 0, (uid_t)-1);
	is_int(polo_uid_has_processes(u), 1, "real uid only: 1");
	reap(pid);
	pid = child_as(0, u, 0, (uid_t)-1);
	is_int(polo_uid_has_processes(u), 1, "effective uid only: 1");
	reap(pid);
	pid = child_as(0, 0, u, (uid_t)-1);
	is_int(polo_uid_has_processes(u), 1, "saved uid only: 1");
	reap(pid);
	pid = child_as((uid_t)-1, (uid_t)-1, (uid_t)-1, u);
	is_int(polo_uid_has_processes(u), 1, "filesystem uid only: 1");
	reap(pid);

	/* the caller itself does not count */
	fflush(stdout);
	pid = fork();
	must(pid >= 0, "fork");
	if (pid == 0) {
		if (setresuid(u, u, u) < 0)
			_exit(9);
		_exit(polo_uid_has_processes(u) == 0 ? 0 : 1);
	}
	must(waitpid(pid, &status, 0) == pid, "waitpid");
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "a process running as 4242424 asking about 4242424: 0 (itself "
	   "not counted)");
	r = polo_uid_has_processes(u);
	is_int(r, 0, "... and it is gone again");
}

/* ------------------------------------------------------------------ */

int main(void)
{
	char tmpl[] = "/tmp/polo12.XXXXXX";
	int mounts, fds, skelfd, r;
	siginfo_t si;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(900);	/* a hang (an opened FIFO) fails instead of blocking */
	root = geteuid() == 0;
	can_mount = root && probe_mount_ns();
	tuid = root ? OWNER : geteuid();
	tgid = root ? OWNER : getegid();
	mounts = count_lines("/proc/self/mountinfo");
	fds = count_fds();
	must(mkdtemp(tmpl) != NULL, "mkdtemp");
	must(realpath(tmpl, dir) != NULL, "realpath");
	must(chmod(dir, 0755) == 0, "chmod");

	make_skel(at("skel"));
	skelfd = open_dir(at("skel"));
	test_copy(077, skelfd);
	test_copy(022, skelfd);
	test_copy_opath();
	test_copy_exists(skelfd);
	close(skelfd);
	test_copy_enospc();
	test_rm_contents();
	test_rm_mounts();
	test_rm_tree_at();
	test_depth();
	test_caps();
	test_processes();

	is_int(count_lines("/proc/self/mountinfo"), mounts,
	       "no mount is left behind");
	memset(&si, 0, sizeof si);
	r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
	ok(r < 0 && errno == ECHILD, "no child of ours is left (not even a zombie)");
	is_int(count_fds(), fds, "as many open fds as at the start");
	rm_rf(dir);
	ok(!exists(dir), "the temp dir is removed");
	return tap_done();
}
