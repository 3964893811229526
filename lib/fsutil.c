/*
 * Trusted-path resolution. MUST rules, as OpenSSH's StrictModes:
 *  - every directory from "/" down, and the final object, is owned by root
 *    (or by the uid the caller trusts: its own euid) and is not writable by
 *    group or others; a root-owned sticky directory (/tmp) is the only
 *    exception, and a symlink inside such a directory must itself be owned
 *    by a trusted uid;
 *  - the walk goes through directory fds, never re-resolving a checked
 *    prefix by name; the final open uses O_NOFOLLOW and is compared with
 *    what was checked (device and inode).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

#define POLO_MAX_SYMLINKS 40


int polo_stat_trusted(const struct stat *st, uid_t trust_uid, char *why,
		      size_t whylen, const char *what)
{
	if (st->st_uid != 0 && st->st_uid != trust_uid) {
		polo_why(why, whylen, "%.300s is owned by uid %lu", what,
		    (unsigned long)st->st_uid);
		return -EPERM;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) == 0)
		return 0;
	if (S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) && st->st_uid == 0)
		return 0;
	if (S_ISLNK(st->st_mode))
		return 0;	/* a symlink's own mode means nothing */
	polo_why(why, whylen, "%.300s is writable by group or others (mode %04lo)",
	    what, (unsigned long)(st->st_mode & 07777));
	return -EPERM;
}

/* Walk state: the directory we are in, its canonical name and stat. */
struct walk {
	int dfd;
	struct stat dst;
	char canon[PATH_MAX];
	char rest[PATH_MAX];	/* rest + pos: what is left to resolve */
	size_t pos;
	int links;
};

static int walk_root(struct walk *w, uid_t trust_uid, char *why, size_t whylen)
{
	if (w->dfd >= 0)
		close(w->dfd);
	w->dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->dfd < 0 || fstat(w->dfd, &w->dst) < 0) {
		polo_why(why, whylen, "/: %s", strerror(errno));
		return -errno;
	}
	w->canon[0] = '/';
	w->canon[1] = '\0';
	return polo_stat_trusted(&w->dst, trust_uid, why, whylen, "/");
}

/* Split off the next component of w->rest into name; false when done. */
static bool next_component(struct walk *w, char *name, size_t len)
{
	char *p = w->rest + w->pos, *slash;
	size_t n, whole;

	while (*p == '/')
		p++;
	if (*p == '\0')
		return false;
	slash = strchr(p, '/');
	whole = slash ? (size_t)(slash - p) : strlen(p);
	n = whole < len ? whole : len - 1;	/* over NAME_MAX: fails cleanly */
	memcpy(name, p, n);
	name[n] = '\0';
	w->pos = (size_t)(p - w->rest) + whole;
	return true;
}

static bool rest_is_empty(const struct walk *w)
{
	const char *p = w->rest + w->pos;

	while (*p == '/' || (p[0] == '.' && (p[1] == '/' || p[1] == '\0')))
		p++;
	return *p == '\0';
}

static int canon_join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s%s%s", dir,
			 strcmp(dir, "/") == 0 ? "" : "/", name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int walk_up(struct walk *w, char *why, size_t whylen)
{
	char *slash = strrchr(w->canon, '/');
	int pfd;

	if (strcmp(w->canon, "/") == 0)
		return 0;
	pfd = openat(w->dfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, &w->dst) < 0) {
		polo_why(why, whylen, "%.300s/..: %s", w->canon, strerror(errno));
		if (pfd >= 0)
			close(pfd);
		return -errno;
	}
	close(w->dfd);
	w->dfd = pfd;
	if (slash == w->canon)
		slash[1] = '\0';
	else
		*slash = '\0';
	return 0;
}

static int follow_link(struct walk *w, int lfd, const struct stat *lst,
		       const char *lpath, uid_t trust_uid, char *why,
		       size_t whylen)
{
	char target[PATH_MAX], joined[PATH_MAX];
	ssize_t n;
	int r;

	if (++w->links > POLO_MAX_SYMLINKS) {
		polo_why(why, whylen, "%.300s: too many levels of symlinks",
		    lpath);
		return -ELOOP;
	}
	if ((w->dst.st_mode & (S_IWGRP | S_IWOTH)) &&
	    lst->st_uid != 0 && lst->st_uid != trust_uid) {
		polo_why(why, whylen, "symlink %.300s is owned by uid %lu", lpath,
		    (unsigned long)lst->st_uid);
		return -EPERM;
	}
	n = readlinkat(lfd, "", target, sizeof target - 1);
	if (n < 0) {
		polo_why(why, whylen, "%.300s: %s", lpath, strerror(errno));
		return -errno;
	}
	target[n] = '\0';
	r = snprintf(joined, sizeof joined, "%s/%s", target, w->rest + w->pos);
	if (r < 0 || (size_t)r >= sizeof joined) {
		polo_why(why, whylen, "%.300s: target too long", lpath);
		return -ENAMETOOLONG;
	}
	memcpy(w->rest, joined, (size_t)r + 1);
	w->pos = 0;
	if (target[0] == '/')
		return walk_root(w, trust_uid, why, whylen);
	return 0;
}

/* Open the final object as asked and make sure it is what we checked. */
static int open_final(struct walk *w, const char *name, int nfd,
		      const struct stat *st, int open_flags, int *fd)
{
	struct stat st2;
	int ffd;

	if (open_flags & O_PATH) {
		*fd = nfd;
		return 0;
	}
	ffd = openat(w->dfd, name, open_flags | O_NOFOLLOW | O_CLOEXEC);
	if (ffd < 0)
		return -errno;
	if (fstat(ffd, &st2) < 0 || st2.st_dev != st->st_dev ||
	    st2.st_ino != st->st_ino) {
		close(ffd);
		return -EAGAIN;
	}
	if (nfd >= 0)
		close(nfd);
	*fd = ffd;
	return 0;
}

/* The final component, when a directory is asked for: opened at once with
 * O_DIRECTORY|O_NOFOLLOW (nothing but a directory opens, and opening one
 * has no side effect), then the very fd is checked — three system calls
 * fewer than the O_PATH look first. 0 = not handled here (a symlink or
 * not a directory: the general step decides), 1 = opened, <0 = refused. */
static int step_final_dir(struct walk *w, const char *name, const char *path,
			  int open_flags, uid_t trust_uid, int *fd, char *why,
			  size_t whylen)
{
	struct stat st;
	int ffd, r;

	ffd = openat(w->dfd, name, open_flags | O_NOFOLLOW | O_CLOEXEC);
	if (ffd < 0) {
		r = -errno;
		if (r == -ELOOP || r == -ENOTDIR)
			return 0;
		polo_why(why, whylen, "%.300s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(ffd, &st) < 0) {
		r = -errno;
		polo_why(why, whylen, "%.300s: %s", path, strerror(-r));
		close(ffd);
		return r;
	}
	r = polo_stat_trusted(&st, trust_uid, why, whylen, path);
	if (r < 0) {
		close(ffd);
		return r;
	}
	*fd = ffd;
	memcpy(w->canon, path, PATH_MAX);
	return 1;
}

/* One step: resolve `name` inside w->dfd. 1 = final object opened. */
static int step(struct walk *w, const char *name, int open_flags,
		uid_t trust_uid, int *fd, char *why, size_t whylen)
{
	char path[PATH_MAX];
	struct stat st;
	int nfd, r;

	if (canon_join(path, sizeof path, w->canon, name) < 0) {
		polo_why(why, whylen, "%.300s/...: path too long", w->canon);
		return -ENAMETOOLONG;
	}
	if ((open_flags & (O_DIRECTORY | O_PATH)) == O_DIRECTORY &&
	    rest_is_empty(w)) {
		r = step_final_dir(w, name, path, open_flags, trust_uid, fd,
				   why, whylen);
		if (r != 0)
			return r;
	}
	nfd = openat(w->dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (nfd < 0 || fstat(nfd, &st) < 0) {
		r = -errno;
		polo_why(why, whylen, "%.300s: %s", path, strerror(-r));
		if (nfd >= 0)
			close(nfd);
		return r;
	}
	if (S_ISLNK(st.st_mode)) {
		r = follow_link(w, nfd, &st, path, trust_uid, why, whylen);
		close(nfd);
		return r;
	}
	r = polo_stat_trusted(&st, trust_uid, why, whylen, path);
	if (r == 0 && rest_is_empty(w) && (open_flags & O_DIRECTORY) &&
	    !S_ISDIR(st.st_mode)) {
		polo_why(why, whylen, "%.300s: not a directory", path);
		r = -ENOTDIR;
	}
	if (r == 0 && rest_is_empty(w)) {
		r = open_final(w, name, nfd, &st, open_flags, fd);
		if (r < 0) {
			if (nfd >= 0)
				close(nfd);
			polo_why(why, whylen, "%.300s: %s", path, strerror(-r));
			return r;
		}
		memcpy(w->canon, path, sizeof path);
		return 1;
	}
	if (r == 0 && !S_ISDIR(st.st_mode)) {
		polo_why(why, whylen, "%.300s: not a directory", path);
		r = -ENOTDIR;
	}
	if (r < 0) {
		close(nfd);
		return r;
	}
	close(w->dfd);
	w->dfd = nfd;
	w->dst = st;
	memcpy(w->canon, path, sizeof path);
	return 0;
}

int polo_open_trusted(const char *path, int open_flags, uid_t trust_uid,
		      int *fd, char *canon, size_t canonlen,
		      char *why, size_t whylen)
{
	struct walk w = { .dfd = -1 };
	char name[NAME_MAX + 2];
	int r;

	*fd = -1;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (path[0] != '/' || polo_strlcpy(w.rest, path, sizeof w.rest) < 0) {
		polo_why(why, whylen, "%.300s: not an absolute path", path);
		return -EINVAL;
	}
	/* "dir/" names a directory, as for the kernel */
	if (w.rest[strlen(w.rest) - 1] == '/')
		open_flags |= O_DIRECTORY;
	r = walk_root(&w, trust_uid, why, whylen);
	while (r == 0) {
		if (!next_component(&w, name, sizeof name)) {
			/* the path names "/" itself (or ends in "..") */
			r = open_final(&w, ".", -1, &w.dst, open_flags, fd);
			if (r == 0 && (open_flags & O_PATH)) {
				*fd = w.dfd;
				w.dfd = -1;
			}
			r = r < 0 ? r : 1;
			break;
		}
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			r = walk_up(&w, why, whylen);
			continue;
		}
		r = step(&w, name, open_flags, trust_uid, fd, why, whylen);
	}
	if (r == 1 && canon != NULL && polo_strlcpy(canon, w.canon, canonlen) < 0) {
		close(*fd);
		*fd = -1;
		r = -ENAMETOOLONG;
	}
	if (w.dfd >= 0)
		close(w.dfd);
	return r == 1 ? 0 : r;
}

static int write_via(int dirfd, const char *tmp, const char *name,
		     const void *buf, size_t len, mode_t mode, bool sync,
		     unsigned int rename_flags)
{
	ssize_t n;
	int fd, e = 0;

	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		    O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	if (n < 0 || (size_t)n != len)
		e = n < 0 ? errno : ENOSPC;
	if (e == 0 && sync && fsync(fd) < 0)
		e = errno;
	if (close(fd) < 0 && e == 0)
		e = errno;
	if (e == 0 && renameat2(dirfd, tmp, dirfd, name, rename_flags) < 0)
		e = errno;
	if (e)
		(void)unlinkat(dirfd, tmp, 0);
	return -e;
}

int polo_write_at(int dirfd, const char *name, const void *buf, size_t len,
		  mode_t mode, bool sync)
{
	char tmp[NAME_MAX + 1];
	int n = snprintf(tmp, sizeof tmp, ".%s.new", name);

	if (n < 0 || (size_t)n >= sizeof tmp)
		return -ENAMETOOLONG;
	return write_via(dirfd, tmp, name, buf, len, mode, sync, 0);
}

int polo_write_new_at(int dirfd, const char *name, const void *buf,
		      size_t len, mode_t mode)
{
	char tmp[NAME_MAX + 1];
	/* the pid: two writers of one name (two users' logins, each under
	 * its own lock) never share a temporary file */
	int n = snprintf(tmp, sizeof tmp, ".%s.%ld.new", name, (long)getpid());

	if (n < 0 || (size_t)n >= sizeof tmp)
		return -ENAMETOOLONG;
	return write_via(dirfd, tmp, name, buf, len, mode, false,
			 RENAME_NOREPLACE);
}

int polo_dir_each(int fd, int (*fn)(void *ctx, const char *name), void *ctx)
{
	char buf[8192];
	unsigned short reclen;
	const char *name;
	ssize_t n, off;
	int r;

	for (;;) {
		n = getdents64(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0;
		for (off = 0; off < n; off += reclen) {
			memcpy(&reclen, buf + off +
			       offsetof(struct dirent64, d_reclen),
			       sizeof reclen);
			if (reclen == 0)
				return -EIO;	/* cannot happen */
			name = buf + off + offsetof(struct dirent64, d_name);
			if (name[0] == '.' && (name[1] == '\0' ||
			    (name[1] == '.' && name[2] == '\0')))
				continue;
			r = fn(ctx, name);
			if (r != 0)
				return r;
		}
	}
}

static bool same_dir(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int polo_dir_within(int fd, const struct stat *top)
{
	struct stat st, up;
	int cur, next, r = -ELOOP, i;

	cur = openat(fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return -errno;
	if (fstat(cur, &st) < 0) {
		r = -errno;
		goto out;
	}
	for (i = 0; i < PATH_MAX / 2; i++) {
		if (same_dir(&st, top)) {
			r = 1;
			break;
		}
		next = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (next < 0 || fstat(next, &up) < 0) {
			r = -errno;
			if (next >= 0)
				close(next);
			break;
		}
		close(cur);
		cur = next;
		if (same_dir(&up, &st)) {	/* "/" is its own parent */
			r = 0;
			break;
		}
		st = up;
	}
out:
	close(cur);
	return r;
}
