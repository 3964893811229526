/*
 * Building and removing trees through directory fds. MUST rules:
 *  - every call is relative to a directory fd we hold (*at(), never a
 *    path), every open carries O_NOFOLLOW, and a directory we descend into
 *    is opened with O_DIRECTORY and compared (device, inode) with what we
 *    looked at: a name is never trusted to mean the same thing twice, so a
 *    user renaming entries under us cannot steer us out of the tree;
 *  - copying only creates (mkdirat, O_CREAT|O_EXCL): nothing already in
 *    the destination is ever written through; owner and mode are set on
 *    the fd, a directory's after everything inside it;
 *  - removal opens nothing but directories, never follows a symlink, and
 *    never enters or removes a mount point (statx mount id, so a bind
 *    mount of the same filesystem counts); it goes on past a problem and
 *    reports the first;
 *  - bounded: POLO_TREE_MAX_DEPTH levels, POLO_TREE_MAX_ENTRIES entries,
 *    a file's bytes up to the size it had when opened.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "fsops.h"
#include "fsutil.h"

#define COPY_CHUNK	32768	/* bytes per read(2) */
#define STATUS_MAX	4096	/* "Uid:" is in the first few hundred bytes */

/* One copy or removal: its caps, its log context and its first error. */
struct tree {
	const char *what;
	const struct polo_log *lg;
	uid_t uid;
	gid_t gid;
	mode_t mask;
	uint64_t mnt_id;	/* removal: the mount we stay on */
	unsigned long entries;
	unsigned long problems;	/* how many were logged so far */
	bool stop;		/* removal: a cap was hit, unwind */
	int err;
	size_t plen;
	char path[PATH_MAX];	/* "/a/b" below `what`: for log lines only */
};

static void tree_init(struct tree *t, const char *what,
		      const struct polo_log *lg)
{
	memset(t, 0, sizeof *t);
	t->what = what != NULL ? what : "";
	t->lg = lg;
}

static bool is_dot(const char *name)
{
	return name[0] == '.' &&
	       (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* Append "/name" to the log path: the name comes from a tree the user may
 * own, so it is cut at 100 bytes and control bytes become '?' (a newline
 * must not forge a second log line). Returns the length to go back to. */
static size_t path_push(struct tree *t, const char *name)
{
	size_t old = t->plen, i;
	int n = snprintf(t->path + old, sizeof t->path - old, "/%.100s", name);

	if (n < 0)
		n = 0;
	t->plen = old + (size_t)n;
	if (t->plen >= sizeof t->path)
		t->plen = sizeof t->path - 1;	/* cut: logs only */
	for (i = old; i < t->plen; i++)
		if ((unsigned char)t->path[i] < 0x20 || t->path[i] == 0x7f)
			t->path[i] = '?';
	return old;
}

static void path_pop(struct tree *t, size_t old)
{
	t->plen = old;
	t->path[old] = '\0';
}

/* Log "<what><path>: <why>" and keep the first error. */
static int complain(struct tree *t, int prio, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int complain(struct tree *t, int prio, int err, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof why, fmt, ap);	/* cut is fine */
	va_end(ap);
	polo_log(t->lg, prio, "%s%.600s: %s", t->what, t->path, why);
	t->problems++;
	if (t->err == 0 && err < 0)
		t->err = err;
	return err;
}

static int fail(struct tree *t, int err)
{
	return complain(t, LOG_ERR, err, "%s", strerror(-err));
}

/* ------------------------------------------------------------ copy */

static int copy_dir(struct tree *t, DIR *src, int dst, int depth);

/* Skel's permission bits under the umask; never setuid, setgid, sticky. */
static int set_owner_mode(struct tree *t, int fd, mode_t mode)
{
	if (fchmod(fd, mode & 0777 & ~t->mask) < 0 ||
	    fchown(fd, t->uid, t->gid) < 0)
		return fail(t, -errno);
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;	/* never for a file: do not spin */
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* At most size bytes: a file growing while we copy cannot keep us here. */
static int copy_bytes(int in, int out, off_t size)
{
	char buf[COPY_CHUNK];
	ssize_t n;
	size_t want;
	int r;

	while (size > 0) {
		want = size < (off_t)sizeof buf ? (size_t)size : sizeof buf;
		n = read(in, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;	/* it shrank */
		r = write_all(out, buf, (size_t)n);
		if (r < 0)
			return r;
		size -= n;
	}
	return 0;
}

static int copy_file(struct tree *t, int sdir, int ddir, const char *name,
		     const struct stat *st)
{
	struct stat fst;
	int in = -1, out = -1, r;

	/* O_NONBLOCK: a FIFO swapped in after the lstat cannot block us
	 * (for the regular file we then insist on, it changes nothing) */
	in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_NOCTTY | O_CLOEXEC);
	if (in < 0 || fstat(in, &fst) < 0) {
		r = fail(t, -errno);
		goto out;
	}
	if (!S_ISREG(fst.st_mode) || fst.st_dev != st->st_dev ||
	    fst.st_ino != st->st_ino) {
		r = complain(t, LOG_ERR, -ESTALE, "changed while being copied");
		goto out;
	}
	out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		     O_NOCTTY | O_CLOEXEC, 0600);
	if (out < 0) {
		r = fail(t, -errno);
		goto out;
	}
	r = copy_bytes(in, out, fst.st_size);
	if (r < 0) {
		fail(t, r);
		goto out;
	}
	r = set_owner_mode(t, out, fst.st_mode);
out:
	if (in >= 0)
		close(in);
	/* a delayed write error (NFS, quota) shows up here at the latest */
	if (out >= 0 && close(out) < 0 && r == 0 && errno != EINTR)
		r = fail(t, -errno);
	return r;
}

/* The target is copied as bytes: it is never followed or checked. */
static int copy_link(struct tree *t, int sdir, int ddir, const char *name)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(sdir, name, target, sizeof target);

	if (n < 0)
		return fail(t, -errno);
	if ((size_t)n >= sizeof target)
		return fail(t, -ENAMETOOLONG);
	target[n] = '\0';
	/* ddir is still root-owned 0700 (it is chowned after its contents),
	 * so nobody can swap `name` before the fchownat */
	if (symlinkat(target, ddir, name) < 0 ||
	    fchownat(ddir, name, t->uid, t->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(t, -errno);
	return 0;
}

static int copy_subdir(struct tree *t, int sdir, int ddir, const char *name,
		       const struct stat *st, int depth)
{
	struct stat fst;
	DIR *src = NULL;
	int sfd = -1, dfd = -1, r;

	if (depth >= POLO_TREE_MAX_DEPTH)
		return complain(t, LOG_ERR, -ELOOP, "more than %d levels deep",
				POLO_TREE_MAX_DEPTH);
	sfd = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		     O_CLOEXEC);
	if (sfd < 0 || fstat(sfd, &fst) < 0) {
		r = fail(t, -errno);
		goto out;
	}
	if (fst.st_dev != st->st_dev || fst.st_ino != st->st_ino) {
		r = complain(t, LOG_ERR, -ESTALE, "changed while being copied");
		goto out;
	}
	src = fdopendir(sfd);
	if (src == NULL) {
		r = fail(t, -errno);
		goto out;
	}
	sfd = -1;	/* src owns it now */
	if (mkdirat(ddir, name, 0700) < 0) {
		r = fail(t, -errno);
		goto out;
	}
	dfd = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		     O_CLOEXEC);
	if (dfd < 0) {
		r = fail(t, -errno);
		goto out;
	}
	r = copy_dir(t, src, dfd, depth + 1);
	if (r == 0)
		r = set_owner_mode(t, dfd, fst.st_mode);
out:
	if (src != NULL)
		closedir(src);
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	return r;
}

static const char *kind(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "not a file, directory or symlink";
}

static int copy_entry(struct tree *t, DIR *src, int dst, const char *name,
		      int depth)
{
	struct stat st;
	int sdir = dirfd(src);

	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(t, -errno);
	if (S_ISDIR(st.st_mode))
		return copy_subdir(t, sdir, dst, name, &st, depth);
	if (S_ISREG(st.st_mode))
		return copy_file(t, sdir, dst, name, &st);
	if (S_ISLNK(st.st_mode))
		return copy_link(t, sdir, dst, name);
	complain(t, LOG_WARNING, 0, "%s in skel, skipped", kind(st.st_mode));
	return 0;
}

/* Stops at the first error: the caller removes the whole tree anyway. */
static int copy_dir(struct tree *t, DIR *src, int dst, int depth)
{
	struct dirent *de;
	size_t old;
	int r = 0;

	while (r == 0 && (errno = 0, de = readdir(src)) != NULL) {
		if (is_dot(de->d_name))
			continue;
		old = path_push(t, de->d_name);
		if (++t->entries > POLO_TREE_MAX_ENTRIES)
			r = complain(t, LOG_ERR, -EFBIG, "more than %d entries",
				     POLO_TREE_MAX_ENTRIES);
		else
			r = copy_entry(t, src, dst, de->d_name, depth);
		path_pop(t, old);
	}
	if (r == 0 && errno != 0)
		r = fail(t, -errno);
	return r;
}

int polo_copy_tree(int skelfd, int dstfd, uid_t uid, gid_t gid,
		   mode_t mask, const char *what, const struct polo_log *lg)
{
	struct tree t;
	DIR *src;
	int fd, r;

	tree_init(&t, what, lg);
	t.uid = uid;
	t.gid = gid;
	t.mask = mask;
	/* an open file description of our own: the caller's fd keeps its
	 * offset, and an O_PATH skelfd works too */
	fd = openat(skelfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return complain(&t, LOG_ERR, -errno, "skel: %s",
				strerror(errno));
	src = fdopendir(fd);
	if (src == NULL) {
		r = fail(&t, -errno);
		close(fd);
		return r;
	}
	r = copy_dir(&t, src, dstfd, 0);
	closedir(src);
	return r;
}

/* ---------------------------------------------------------- remove */

/* Type, inode and mount of name in dfd ("" with AT_EMPTY_PATH: dfd
 * itself), never following a symlink or triggering an automount. */
static int look(int dfd, const char *name, int flags, struct statx *sx)
{
	const unsigned int want = STATX_TYPE | STATX_INO | STATX_MNT_ID;

	if (statx(dfd, name, flags | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
		  want, sx) < 0)
		return -errno;
	if ((sx->stx_mask & want) != want)
		return -EOPNOTSUPP;	/* before Linux 5.8: mounts unseen */
	return 0;
}

static bool same_object(const struct statx *a, const struct statx *b)
{
	return a->stx_dev_major == b->stx_dev_major &&
	       a->stx_dev_minor == b->stx_dev_minor &&
	       a->stx_ino == b->stx_ino && a->stx_mnt_id == b->stx_mnt_id;
}

/* Open the directory `name` in dfd if it is still the object sx
 * describes: 0 and *fd; -ESTALE if something else is there now; -errno. */
static int open_same_dir(int dfd, const char *name, const struct statx *sx,
			 int *fd)
{
	struct statx fsx;
	int r;

	*fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		     O_CLOEXEC);
	if (*fd < 0)
		return errno == ENOTDIR || errno == ELOOP ? -ESTALE : -errno;
	r = look(*fd, "", AT_EMPTY_PATH, &fsx);
	if (r == 0 && !same_object(sx, &fsx))
		r = -ESTALE;
	if (r < 0) {
		close(*fd);
		*fd = -1;
	}
	return r;
}

static void rm_entries(struct tree *t, DIR *d, int depth);

/* 1 removed, 0 not (gone already, or left and reported). */
static int rm_subdir(struct tree *t, int dfd, const char *name,
		     const struct statx *sx, int depth)
{
	unsigned long before = t->problems;
	DIR *d;
	int fd, r;

	if (depth >= POLO_TREE_MAX_DEPTH) {
		complain(t, LOG_ERR, -ELOOP, "more than %d levels deep, left "
			 "in place", POLO_TREE_MAX_DEPTH);
		return 0;
	}
	r = open_same_dir(dfd, name, sx, &fd);
	if (r == -ENOENT)
		return 0;
	if (r == -ESTALE)
		complain(t, LOG_ERR, r, "changed while being removed, left in "
			 "place");
	else if (r < 0)
		fail(t, r);
	if (r < 0)
		return 0;
	d = fdopendir(fd);
	if (d == NULL) {
		fail(t, -errno);
		close(fd);
		return 0;
	}
	rm_entries(t, d, depth + 1);
	closedir(d);
	if (t->stop)
		return 0;
	/* by name again: were it swapped meanwhile, rmdir could only take
	 * an empty directory on this mount, never anything with content */
	if (unlinkat(dfd, name, AT_REMOVEDIR) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	/* not empty because of what was reported inside: said already */
	if ((errno == ENOTEMPTY || errno == EEXIST) && t->problems > before)
		return 0;
	fail(t, -errno);
	return 0;
}

/* 1 removed, 0 not (gone already, or left and reported). Only
 * directories are opened: a FIFO or device is unlinked, never touched. */
static int rm_entry(struct tree *t, int dfd, const char *name, int depth)
{
	struct statx sx;
	int r = look(dfd, name, 0, &sx);

	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		fail(t, r);
		return 0;
	}
	if (sx.stx_mnt_id != t->mnt_id) {
		complain(t, LOG_ERR, -EBUSY, "a mount point, left in place");
		return 0;
	}
	if (S_ISDIR(sx.stx_mode))
		return rm_subdir(t, dfd, name, &sx, depth);
	if (unlinkat(dfd, name, 0) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	if (errno == EISDIR)
		complain(t, LOG_ERR, -ESTALE, "changed while being removed, "
			 "left in place");
	else
		fail(t, -errno);
	return 0;
}

/* Removing entries while readdir() walks a directory may make it skip
 * some (POSIX leaves it open), so the directory is read again after a
 * pass that removed something — unless the pass hit a problem: then the
 * directory cannot end up empty anyway, and each problem is said once.
 * Every pass but the last removes something and every entry seen counts
 * against the cap, so this ends. */
static void rm_entries(struct tree *t, DIR *d, int depth)
{
	struct dirent *de;
	unsigned long before;
	bool removed = true;
	size_t old;

	while (removed && !t->stop) {
		removed = false;
		before = t->problems;
		rewinddir(d);
		while (!t->stop && (errno = 0, de = readdir(d)) != NULL) {
			if (is_dot(de->d_name))
				continue;
			old = path_push(t, de->d_name);
			if (++t->entries > POLO_TREE_MAX_ENTRIES) {
				complain(t, LOG_ERR, -EFBIG, "more than %d "
					 "entries, stopped",
					 POLO_TREE_MAX_ENTRIES);
				t->stop = true;
			} else if (rm_entry(t, dirfd(d), de->d_name, depth) > 0) {
				removed = true;
			}
			path_pop(t, old);
		}
		if (!t->stop && errno != 0) {
			fail(t, -errno);
			return;
		}
		if (t->problems > before)
			return;
	}
}

int polo_rm_contents(int fd, const char *what, const struct polo_log *lg)
{
	struct statx sx;
	struct tree t;
	DIR *d;
	int dfd, r;

	tree_init(&t, what, lg);
	r = look(fd, "", AT_EMPTY_PATH, &sx);
	if (r < 0)
		return fail(&t, r);
	if (!S_ISDIR(sx.stx_mode))
		return fail(&t, -ENOTDIR);
	t.mnt_id = sx.stx_mnt_id;
	dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail(&t, -errno);
	d = fdopendir(dfd);
	if (d == NULL) {
		r = fail(&t, -errno);
		close(dfd);
		return r;
	}
	rm_entries(&t, d, 0);
	closedir(d);
	return t.err;
}

/* Is `name` in parentfd a directory, the one expected, on the parent's
 * mount? 0 or -errno (logged). */
static int check_victim(struct tree *t, int parentfd, const char *name,
			dev_t dev, ino_t ino, struct statx *sx)
{
	struct statx psx;
	int r;

	r = look(parentfd, "", AT_EMPTY_PATH, &psx);
	if (r == 0)
		r = look(parentfd, name, 0, sx);
	if (r < 0)
		return fail(t, r);
	if (!S_ISDIR(sx->stx_mode))
		return complain(t, LOG_ERR, -ENOTDIR, "not a directory (a "
				"symlink?), left in place");
	if (makedev(sx->stx_dev_major, sx->stx_dev_minor) != dev ||
	    sx->stx_ino != ino)
		return complain(t, LOG_ERR, -ESTALE, "not the directory "
				"expected, left in place");
	if (sx->stx_mnt_id != psx.stx_mnt_id)
		return complain(t, LOG_ERR, -EBUSY, "a mount point, left in "
				"place");
	return 0;
}

int polo_rm_tree_at(int parentfd, const char *name, dev_t dev, ino_t ino,
		    const char *what, const struct polo_log *lg)
{
	struct statx sx, now;
	struct tree t;
	int fd, r;

	tree_init(&t, what, lg);
	r = check_victim(&t, parentfd, name, dev, ino, &sx);
	if (r < 0)
		return r;
	r = open_same_dir(parentfd, name, &sx, &fd);
	if (r == -ESTALE)
		return complain(&t, LOG_ERR, r, "changed while being checked, "
				"left in place");
	if (r < 0)
		return fail(&t, r);
	r = polo_rm_contents(fd, what, lg);
	close(fd);
	if (r < 0)
		return r;
	/* still the one we emptied? (rmdir would only take an empty one) */
	r = look(parentfd, name, 0, &now);
	if (r == 0 && !same_object(&sx, &now))
		return complain(&t, LOG_ERR, -ESTALE, "changed while being "
				"removed, left in place");
	if (r == 0 && unlinkat(parentfd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r < 0 ? fail(&t, r) : 0;
}

/* ----------------------------------------------------- processes */

/* Is uid one of the four on the "Uid:" line? The line is found after a
 * newline: the Name: line above it has its newlines escaped by the kernel,
 * so a process name cannot fake one. 1, 0 or -EIO if there is none. */
static int uid_in_status(const char *buf, uid_t uid)
{
	const char *p = strstr(buf, "\nUid:");
	unsigned long v;
	char *end;
	int i;

	if (p == NULL)
		return -EIO;
	p += 5;
	for (i = 0; i < 4; i++) {
		while (*p == '\t' || *p == ' ')
			p++;
		if (*p < '0' || *p > '9')
			return -EIO;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno != 0 || (unsigned long)(uid_t)v != v)
			return -EIO;
		if ((uid_t)v == uid)
			return 1;
		p = end;
	}
	return 0;
}

/* DIR/status, NUL-terminated, into buf (STATUS_MAX bytes). 0 or -errno
 * (-ENOENT or -ESRCH: the task is gone). */
static int read_status(int dirfd, const char *dir, char *buf)
{
	char path[NAME_MAX + 16];
	size_t len = 0;
	ssize_t n = 0;
	int fd, r;

	r = snprintf(path, sizeof path, "%s/status", dir);
	if (r < 0 || (size_t)r >= sizeof path)
		return -ENAMETOOLONG;
	fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < STATUS_MAX - 1) {
		n = read(fd, buf + len, STATUS_MAX - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	r = n < 0 ? -errno : 0;
	close(fd);
	buf[len] = '\0';
	return r;
}

/* A zombie (or a dead task) holds no file and no working directory. */
static bool dead_task(const char *buf)
{
	return strstr(buf, "\nState:\tZ") != NULL ||
	       strstr(buf, "\nState:\tX") != NULL;
}

struct tasks {
	int fd;		/* /proc/PID/task */
	uid_t uid;
};

/* One task of the process: 1 alive and running as the uid, 0 not (or
 * gone meanwhile), -errno. */
static int task_has_uid(void *ctx, const char *tid)
{
	const struct tasks *t = ctx;
	char buf[STATUS_MAX];
	int r;

	if (tid[0] < '0' || tid[0] > '9')
		return 0;
	r = read_status(t->fd, tid, buf);
	if (r == -ENOENT || r == -ESRCH)
		return 0;
	if (r < 0)
		return r;
	return dead_task(buf) ? 0 : uid_in_status(buf, t->uid);
}

/* When the main thread of a process calls pthread_exit(), /proc/PID shows
 * a zombie while the other threads run on, with the process's working
 * directory and open files: the process is dead only when every one of
 * its tasks is. Each task is asked for its own uids (a thread may have
 * changed its own with a raw system call). */
static int live_task_has_uid(int procfd, const char *pid, uid_t uid)
{
	char path[NAME_MAX + 16];
	struct tasks t = { .fd = -1, .uid = uid };
	int r;

	r = snprintf(path, sizeof path, "%s/task", pid);
	if (r < 0 || (size_t)r >= sizeof path)
		return -ENAMETOOLONG;
	t.fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		      O_CLOEXEC);
	if (t.fd < 0)
		return -errno;
	r = polo_dir_each(t.fd, task_has_uid, &t);
	close(t.fd);
	return r;
}

static int pid_has_uid(int procfd, const char *pid, uid_t uid)
{
	char buf[STATUS_MAX];
	int r;

	r = read_status(procfd, pid, buf);
	if (r < 0)
		return r;
	if (dead_task(buf))	/* the leader: perhaps not the whole process */
		return live_task_has_uid(procfd, pid, uid);
	return uid_in_status(buf, uid);
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* A process that cannot be read for any reason but being gone makes the
 * answer -errno, not "no": the caller removes a home on "no". */
int polo_uid_has_processes(uid_t uid)
{
	struct statfs sfs;
	struct dirent *de;
	char self[32];
	DIR *d;
	int fd, r = 0;

	fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* an empty directory where procfs should be would mean "nobody" */
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC) {
		close(fd);
		return -ENOENT;
	}
	d = fdopendir(fd);
	if (d == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	(void)snprintf(self, sizeof self, "%ld", (long)getpid());
	while (r == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (!all_digits(de->d_name) || strcmp(de->d_name, self) == 0)
			continue;
		r = pid_has_uid(dirfd(d), de->d_name, uid);
		if (r == -ENOENT || r == -ESRCH)
			r = 0;	/* exited meanwhile */
	}
	if (r == 0 && errno != 0)
		r = -errno;
	closedir(d);
	return r;
}
