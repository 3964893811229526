/*
 * Making a home (see mkhome.h). MUST rules:
 *  - the home's own name is only ever made by one rename(RENAME_NOREPLACE)
 *    of a directory that is complete and already the user's: no one, not
 *    even a later creator after a crash, can find it half made;
 *  - the temporary directory is ours only while we hold flock(LOCK_EX) on
 *    it, and we check, after taking the lock, that the name still is the
 *    directory we hold: a lock on a directory that was removed or renamed
 *    meanwhile proves nothing;
 *  - a leftover is removed only with its lock held (its creator is dead),
 *    by device and inode, never following a link or crossing a mount
 *    (polo_rm_tree_at), and only if it is owned by root, by us, or by the
 *    user it was being made for (we chown just before the rename);
 *  - every wait has a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "fsops.h"
#include "fsutil.h"
#include "mkhome.h"
#include "util.h"

#define TRIES		5	/* rounds of "look again" before giving up */
#define NAP_MIN_MS	2	/* polling a busy lock: from this ... */
#define NAP_MAX_MS	50	/* ... doubling up to this */

/* The temporary name, and the path naming it in log lines. */
struct tmp {
	char name[NAME_MAX + 1];
	char what[PATH_MAX + NAME_MAX + 2];
	unsigned long deadline;	/* CLOCK_MONOTONIC ms: the wait's end */
};

static void nap(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	(void)nanosleep(&ts, NULL);
}

static int fill(int homefd, const struct polo_home_spec *h,
		const struct polo_log *lg)
{
	char why[512];
	int skelfd = -1, r;

	r = polo_open_trusted(h->skel, O_RDONLY | O_DIRECTORY, h->trust,
			      &skelfd, NULL, 0, why, sizeof why);
	if (r == -ENOENT) {
		polo_log(lg, LOG_NOTICE, "home %s: no skel %s, the home starts "
			 "empty", h->what, h->skel);
		return 0;
	}
	if (r < 0) {
		polo_log(lg, LOG_ERR, "home %s: skel refused: %s", h->what, why);
		return r;
	}
	r = polo_copy_tree(skelfd, homefd, h->uid, h->gid, h->umask, h->what,
			   lg);
	close(skelfd);
	return r;
}

static int step(const struct polo_home_spec *h, enum polo_home_stage s,
		const struct stat *st)
{
	return h->step ? h->step(h->ctx, s, st) : 0;
}

static int tmp_init(struct tmp *t, const char *name,
		    const struct polo_home_spec *h, const struct polo_log *lg)
{
	const char *slash = strrchr(h->what, '/');
	int dirlen = slash ? (int)(slash - h->what) : 0;
	int n;

	if (!polo_valid_file_name(name) ||
	    strncmp(name, POLO_HOME_TMP_PREFIX,
		    sizeof POLO_HOME_TMP_PREFIX - 1) == 0) {
		polo_log(lg, LOG_ERR, "home %s: refused: not a valid name, or "
			 "one reserved for homes being made (%s*)", h->what,
			 POLO_HOME_TMP_PREFIX);
		return -EINVAL;
	}
	n = snprintf(t->name, sizeof t->name, "%s%s", POLO_HOME_TMP_PREFIX,
		     name);
	if (n < 0 || (size_t)n >= sizeof t->name) {
		polo_log(lg, LOG_ERR, "home %s: refused: the name is too long "
			 "to be made under a temporary name", h->what);
		return -ENAMETOOLONG;
	}
	(void)snprintf(t->what, sizeof t->what, "%.*s%s%s", dirlen, h->what,
		       slash ? "/" : "", t->name);
	t->deadline = polo_now_ms() + (h->wait_ms ? h->wait_ms : POLO_HOME_WAIT_MS);
	return 0;
}

/* Is `name` in parentfd still the directory open as fd (stat in st)? */
static bool still_there(int parentfd, const char *name, int fd,
			struct stat *st)
{
	struct stat now;

	return fstat(fd, st) == 0 &&
	       fstatat(parentfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
	       now.st_dev == st->st_dev && now.st_ino == st->st_ino;
}

/* A temporary directory is there already. Wait (bounded) for its lock:
 * busy until the deadline is -EBUSY; once we hold it, the name is either
 * gone or renamed (its creator finished or gave up) or a dead creator's
 * leftover, which is removed. -EAGAIN: look again. */
static int leftover(int parentfd, struct tmp *t,
		    const struct polo_home_spec *h, const struct polo_log *lg)
{
	unsigned nap_ms = NAP_MIN_MS;
	unsigned long now;
	bool told = false;
	struct stat st;
	int fd, r;

	fd = openat(parentfd, t->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT)
			return -EAGAIN;
		polo_log(lg, LOG_ERR, "home %s: %s is in the way: %s", h->what,
			 t->what, r == -ENOTDIR || r == -ELOOP ?
			 "not a directory" : strerror(-r));
		return r == -ENOTDIR || r == -ELOOP ? -EPERM : r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		polo_log(lg, LOG_ERR, "home %s: %s: %s", h->what, t->what,
			 strerror(-r));
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid() && st.st_uid != h->uid) {
		polo_log(lg, LOG_ERR, "home %s: %s is in the way, owned by uid "
			 "%lu: left alone", h->what, t->what,
			 (unsigned long)st.st_uid);
		r = -EPERM;
		goto out;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		if (r != -EWOULDBLOCK && r != -EINTR) {
			polo_log(lg, LOG_ERR, "home %s: %s: lock: %s", h->what,
				 t->what, strerror(-r));
			goto out;
		}
		now = polo_now_ms();
		if (now >= t->deadline) {
			polo_log(lg, LOG_ERR, "home %s: another process is "
				 "still making it: gave up waiting", h->what);
			r = -EBUSY;
			goto out;
		}
		if (!told)
			polo_log(lg, LOG_NOTICE, "home %s: another process is "
				 "making it: waiting (at most %lu ms)", h->what,
				 t->deadline - now);
		told = true;
		nap(nap_ms);
		nap_ms = nap_ms * 2 > NAP_MAX_MS ? NAP_MAX_MS : nap_ms * 2;
	}
	r = -EAGAIN;
	if (!still_there(parentfd, t->name, fd, &st))
		goto out;	/* its creator renamed it, or removed it */
	polo_log(lg, LOG_NOTICE, "home %s: removing %s, left unfinished by a "
		 "creator that did not complete", h->what, t->what);
	r = polo_rm_tree_at(parentfd, t->name, st.st_dev, st.st_ino, t->what,
			    lg);
	if (r == 0)
		r = -EAGAIN;
	else	/* -EBUSY (a mount point) would read "another creator" */
		r = r == -EBUSY ? -EPERM : r;
out:
	close(fd);		/* and with it the lock */
	return r;
}

/* Make the temporary directory and take its lock: the fd, -EAGAIN to
 * look again, or -errno. */
static int claim(int parentfd, struct tmp *t, struct stat *st,
		 const struct polo_home_spec *h, const struct polo_log *lg)
{
	int fd, r;

	if (mkdirat(parentfd, t->name, 0700) < 0) {
		r = -errno;
		if (r == -EEXIST)
			return leftover(parentfd, t, h, lg);
		polo_log(lg, LOG_ERR, "home %s: %s", h->what, strerror(-r));
		return r;
	}
	fd = openat(parentfd, t->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT)	/* taken for a leftover already */
			return -EAGAIN;
		polo_log(lg, LOG_ERR, "home %s: %s: %s", h->what, t->what,
			 strerror(-r));
		return r;
	}
	/* between our mkdir and this lock another creator may have taken
	 * the directory for a dead one's leftover: then it is not ours */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 ||
	    !still_there(parentfd, t->name, fd, st)) {
		close(fd);
		return -EAGAIN;
	}
	return fd;
}

/* Publish the complete directory under its name. 0, -EEXIST, -errno. */
static int publish(int parentfd, const struct tmp *t, const char *name)
{
	struct stat st;

	if (renameat2(parentfd, t->name, parentfd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	/* a filesystem without RENAME_NOREPLACE (NFS): a plain rename
	 * would replace an empty directory made meanwhile, so look first;
	 * the window left is that of any mkdir -p racing us */
	if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;
	if (errno != ENOENT)
		return -errno;
	return renameat(parentfd, t->name, parentfd, name) == 0 ? 0 : -errno;
}

/* Fill the claimed temporary directory fd, hand it over, publish it; on
 * any failure remove it. Closes fd. */
static int build(int parentfd, const struct tmp *t, const char *name, int fd,
		 const struct stat *st, const struct polo_home_spec *h,
		 const struct polo_log *lg)
{
	int r;

	r = step(h, POLO_HOME_CREATED, st);
	if (r == 0)
		r = fill(fd, h, lg);
	if (r == 0)
		r = step(h, POLO_HOME_FILLED, st);
	/* the user gets it only now, complete */
	if (r == 0 && (fchmod(fd, 0755 & ~h->umask) < 0 ||
		       fchown(fd, h->uid, h->gid) < 0)) {
		r = -errno;
		polo_log(lg, LOG_ERR, "home %s: %s", h->what, strerror(-r));
	}
	if (r == 0) {
		r = publish(parentfd, t, name);
		if (r == -EEXIST || r == -ENOTEMPTY || r == -ENOTDIR) {
			polo_log(lg, LOG_NOTICE, "home %s: made by someone else "
				 "meanwhile; ours is discarded", h->what);
			r = -EEXIST;
		} else if (r < 0) {
			polo_log(lg, LOG_ERR, "home %s: cannot rename %s into "
				 "place: %s", h->what, t->what, strerror(-r));
		}
	}
	/* removed while still locked: no one else takes it meanwhile */
	if (r < 0 && polo_rm_tree_at(parentfd, t->name, st->st_dev,
				     st->st_ino, t->what, lg) < 0)
		polo_log(lg, LOG_ERR, "home %s: not made (%s); %s could not "
			 "be removed", h->what, strerror(-r), t->what);
	else if (r < 0 && r != -EEXIST)
		polo_log(lg, LOG_ERR, "home %s: not made (%s); nothing of it "
			 "is left", h->what, strerror(-r));
	close(fd);
	return r;
}

int polo_home_make_at(int parentfd, const char *name,
		      const struct polo_home_spec *h, const struct polo_log *lg)
{
	struct stat st;
	struct tmp t;
	int fd, r, i;

	r = tmp_init(&t, name, h, lg);
	if (r < 0)
		return r;
	for (i = 0; i < TRIES; i++) {
		if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return -EEXIST;
		if (errno != ENOENT) {
			r = -errno;
			polo_log(lg, LOG_ERR, "home %s: %s", h->what,
				 strerror(-r));
			return r;
		}
		fd = claim(parentfd, &t, &st, h, lg);
		if (fd >= 0)
			return build(parentfd, &t, name, fd, &st, h, lg);
		if (fd != -EAGAIN)
			return fd;
	}
	polo_log(lg, LOG_ERR, "home %s: %s kept changing under us: gave up",
		 h->what, t.what);
	return -EBUSY;
}

int polo_home_sweep(int parentfd, const char *tmpname, const char *what,
		    bool dry_run, const struct polo_log *lg)
{
	struct stat st;
	int fd, r;

	if (strncmp(tmpname, POLO_HOME_TMP_PREFIX,
		    sizeof POLO_HOME_TMP_PREFIX - 1) != 0)
		return -EINVAL;
	fd = openat(parentfd, tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT)
			return 0;
		polo_log(lg, LOG_ERR, "%s: %s", what, r == -ENOTDIR ||
			 r == -ELOOP ? "not a directory: left alone" :
			 strerror(-r));
		return r == -ENOTDIR || r == -ELOOP ? -EPERM : r;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? 0 : -errno;
		if (r == 0)
			polo_log(lg, LOG_INFO, "%s: a home being made: left "
				 "alone", what);
		goto out;
	}
	r = 0;
	if (!still_there(parentfd, tmpname, fd, &st))
		goto out;	/* renamed into place or removed meanwhile */
	if (dry_run) {
		polo_log(lg, LOG_NOTICE, "%s: left unfinished by a creator "
			 "that did not complete: would be removed", what);
		r = 1;
		goto out;
	}
	r = polo_rm_tree_at(parentfd, tmpname, st.st_dev, st.st_ino, what, lg);
	if (r == 0) {
		polo_log(lg, LOG_NOTICE, "%s: left unfinished by a creator "
			 "that did not complete: removed", what);
		r = 1;
	}
out:
	close(fd);	/* and with it the lock */
	return r;
}
