/*
 * The session state tree (see state.h). MUST rules:
 *  - every directory of the tree is opened relative to its parent's fd with
 *    O_NOFOLLOW|O_DIRECTORY and checked (owner, mode) before use; the
 *    statedir's parent is reached by the trusted walk;
 *  - a session file is written whole under a temporary name and renamed
 *    into place, so a reader never sees half of one;
 *  - a user's entries change only under the flock of users/USER, taken
 *    with a bounded wait;
 *  - what is read back is parsed strictly and bounded: the tree is ours,
 *    but a bug or a full disk must not become an overflow.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "state.h"
#include "util.h"

#define REC_MAX 4096

unsigned long long polo_proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	(void)snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* the command name (field 2) may hold spaces and ')': skip past
	 * the last ')', then field 3 is the state */
	p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p != NULL)
		start = strtoull(p + 1, NULL, 10);
	return start;
}

/* A directory of the tree: opened without following, created if asked. */
static int tree_dir(int parent, const char *name, bool create, uid_t trust,
		    const char *what, const struct polo_log *lg)
{
	char why[512];
	struct stat st;
	int fd;

	/* open first: the tree exists on every login but the first */
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST) {
			polo_log(lg, LOG_ERR, "state %s: cannot create: %s",
				 what, strerror(errno));
			return -errno;
		}
		fd = openat(parent, name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		int e = errno;

		if (e != ENOENT || create)
			polo_log(lg, LOG_ERR, "state %s refused: %s%s", what,
				 strerror(e), e == ELOOP || e == ENOTDIR ?
				 " (a symlink or not a directory)" : "");
		return -e;
	}
	if (fstat(fd, &st) < 0 ||
	    polo_stat_trusted(&st, trust, why, sizeof why, what) < 0) {
		polo_log(lg, LOG_ERR, "state %s refused: %s", what, why);
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* STATEDIR itself: its parent by the trusted walk, itself never a link. */
static int open_root(const char *statedir, bool create, uid_t trust,
		     const struct polo_log *lg)
{
	char parent[PATH_MAX], why[512];
	const char *base;
	char *slash;
	int pfd = -1, fd;

	if (!polo_valid_abs_path(statedir) ||
	    polo_strlcpy(parent, statedir, sizeof parent) < 0)
		return -EINVAL;
	slash = strrchr(parent, '/');
	base = statedir + (slash - parent) + 1;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		polo_log(lg, LOG_ERR, "statedir %s: must end in a name", statedir);
		return -EINVAL;
	}
	slash[slash == parent ? 1 : 0] = '\0';
	if (polo_open_trusted(parent, O_RDONLY | O_DIRECTORY, trust, &pfd,
			      NULL, 0, why, sizeof why) < 0) {
		polo_log(lg, LOG_ERR, "statedir %s refused: %s", statedir, why);
		return -EPERM;
	}
	fd = tree_dir(pfd, base, create, trust, statedir, lg);
	close(pfd);
	return fd;
}

static int lock_bounded(int fd, const struct polo_log *lg, const char *user)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int waited;

	for (waited = 0; waited < POLO_LOCK_TIMEOUT_MS; waited += 10) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		(void)nanosleep(&ts, NULL);
	}
	polo_log(lg, LOG_ERR, "state: user %s stayed locked for %d s, going "
		 "on without the session state", user,
		 POLO_LOCK_TIMEOUT_MS / 1000);
	return -ETIMEDOUT;
}

int polo_state_begin(struct polo_state *st, const char *statedir,
		     const char *user, uid_t trust_uid,
		     const struct polo_log *lg)
{
	int usersfd = -1, r;

	*st = (struct polo_state){ .rootfd = -1, .sessfd = -1, .userfd = -1 };
	if (!polo_valid_user_name(user) ||
	    polo_strlcpy(st->user, user, sizeof st->user) < 0)
		return -EINVAL;
	r = st->rootfd = open_root(statedir, true, trust_uid, lg);
	if (r >= 0)
		r = st->sessfd = tree_dir(st->rootfd, "sessions", true,
					  trust_uid, "sessions/", lg);
	if (r >= 0)
		r = usersfd = tree_dir(st->rootfd, "users", true, trust_uid,
				       "users/", lg);
	if (r >= 0)
		r = st->userfd = tree_dir(usersfd, user, true, trust_uid,
					  user, lg);
	if (r >= 0)
		r = lock_bounded(st->userfd, lg, user);
	if (usersfd >= 0)
		close(usersfd);
	if (r < 0)
		polo_state_end(st);
	return r < 0 ? r : 0;
}

void polo_state_end(struct polo_state *st)
{
	if (st->userfd >= 0)
		close(st->userfd);	/* drops the lock */
	if (st->sessfd >= 0)
		close(st->sessfd);
	if (st->rootfd >= 0)
		close(st->rootfd);
	st->rootfd = st->sessfd = st->userfd = -1;
}

/* ---- one session file ---- */

static int rec_format(const struct polo_state_rec *r, char *buf, size_t len)
{
	int n = snprintf(buf, len, "id=%s\nuser=%s\nuid=%lu\nservice=%s\n"
			 "tty=%s\nrhost=%s\nleader=%ld\nleader_start=%llu\n"
			 "opened=%lld\n", r->id, r->user, (unsigned long)r->uid,
			 r->service, r->tty, r->rhost, (long)r->leader,
			 r->leader_start, r->opened);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}

static int rec_set(struct polo_state_rec *r, const char *k, const char *v)
{
	unsigned long u;
	char *end;

	if (!polo_is_clean_text(v))
		return -EINVAL;
	if (strcmp(k, "id") == 0)
		return polo_strlcpy(r->id, v, sizeof r->id);
	if (strcmp(k, "user") == 0)
		return polo_strlcpy(r->user, v, sizeof r->user);
	if (strcmp(k, "service") == 0)
		return polo_strlcpy(r->service, v, sizeof r->service);
	if (strcmp(k, "tty") == 0)
		return polo_strlcpy(r->tty, v, sizeof r->tty);
	if (strcmp(k, "rhost") == 0)
		return polo_strlcpy(r->rhost, v, sizeof r->rhost);
	if (strcmp(k, "uid") == 0 || strcmp(k, "leader") == 0) {
		if (polo_parse_uint(v, 0, k[0] == 'u' ? UINT_MAX - 1 : INT_MAX,
				    &u) < 0)
			return -EINVAL;
		if (k[0] == 'u')
			r->uid = (uid_t)u;
		else
			r->leader = (pid_t)u;
		return 0;
	}
	if (strcmp(k, "leader_start") == 0 || strcmp(k, "opened") == 0) {
		errno = 0;
		if (k[0] == 'l')
			r->leader_start = strtoull(v, &end, 10);
		else
			r->opened = strtoll(v, &end, 10);
		return errno || *end || end == v ? -EINVAL : 0;
	}
	return 0;	/* a key from a newer version: not ours to refuse */
}

static int rec_parse(char *buf, struct polo_state_rec *r)
{
	char *line, *save = NULL, *eq;

	memset(r, 0, sizeof *r);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		eq = strchr(line, '=');
		if (eq == NULL)
			return -EINVAL;
		*eq = '\0';
		if (rec_set(r, line, eq + 1) < 0)
			return -EINVAL;
	}
	return polo_session_id_valid(r->id) && polo_valid_user_name(r->user) ?
	       0 : -EINVAL;
}

static int rec_read(int sessfd, const char *id, struct polo_state_rec *r)
{
	char buf[REC_MAX + 1];
	ssize_t n;
	int fd, e;

	if (!polo_session_id_valid(id))
		return -EINVAL;
	fd = openat(sessfd, id, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, REC_MAX);
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = '\0';
	if (rec_parse(buf, r) < 0 || strcmp(r->id, id) != 0)
		return -EINVAL;
	r->alive = r->leader > 0 && r->leader_start != 0 &&
		   polo_proc_start_time(r->leader) == r->leader_start;
	return 0;
}

/* A new session file: never over another one (see polo_state_add). */
static int rec_create(int sessfd, const struct polo_state_rec *r)
{
	char buf[REC_MAX];
	int n = rec_format(r, buf, sizeof buf);

	/* /run is a tmpfs: nothing to gain from fsync */
	return n < 0 ? n : polo_write_new_at(sessfd, r->id, buf, (size_t)n,
					     0600);
}

/* Both entries of r, each created exclusively: -EEXIST if the id is
 * taken (by this user or another), nothing changed then. */
static int add_once(struct polo_state *st, const struct polo_state_rec *r)
{
	int fd, e;

	/* the user's entry first: one without its session file (a crash
	 * in between) is pruned by the next count, the reverse would not be */
	fd = openat(st->userfd, r->id, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	e = rec_create(st->sessfd, r);
	if (e < 0)
		(void)unlinkat(st->userfd, r->id, 0);
	return e;
}

int polo_state_add(struct polo_state *st, struct polo_session *s,
		   const struct polo_log *lg)
{
	struct polo_state_rec r = { .uid = s->uid, .leader = getpid() };
	char fresh[POLO_SESSION_ID_MAX + 1];
	int e;

	(void)polo_strlcpy(r.id, s->id, sizeof r.id);
	(void)polo_strlcpy(r.user, s->user, sizeof r.user);
	(void)polo_strlcpy(r.service, s->service, sizeof r.service);
	(void)polo_strlcpy(r.tty, s->tty, sizeof r.tty);
	(void)polo_strlcpy(r.rhost, s->rhost, sizeof r.rhost);
	r.leader_start = polo_proc_start_time(r.leader);
	r.opened = (long long)time(NULL);
	if (!polo_session_id_valid(r.id))
		return -EINVAL;
	e = add_once(st, &r);
	/* The id came from the PAM environment (XDG_SESSION_ID): a session
	 * already recorded under it — another user's, or one of this user's
	 * — is never overwritten. This one gets a fresh id instead. */
	if (e == -EEXIST && polo_session_id_new(fresh, sizeof fresh) == 0) {
		polo_log(lg, LOG_WARNING, "state: session id %s of %s is "
			 "already recorded: recorded as %s instead", r.id,
			 r.user, fresh);
		memcpy(r.id, fresh, sizeof r.id);
		e = add_once(st, &r);
	}
	if (e < 0) {
		polo_log(lg, LOG_ERR, "state: cannot record session %s of %s: "
			 "%s", r.id, r.user, strerror(-e));
		return e;
	}
	memcpy(s->id, r.id, sizeof s->id);
	memcpy(st->added, r.id, sizeof st->added);
	return 0;
}

int polo_state_remove(struct polo_state *st, const char *id)
{
	if (!polo_session_id_valid(id))
		return -EINVAL;
	if (strcmp(id, st->added) == 0)
		st->added[0] = '\0';
	(void)unlinkat(st->userfd, id, 0);
	if (unlinkat(st->sessfd, id, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Walk the user's entries: call fn for each readable record (NULL for
 * the one this lock holder just added: it is alive, being ours). */
struct each_ctx {
	struct polo_state *st;
	int (*fn)(struct polo_state *, const char *, struct polo_state_rec *,
		  void *);
	void *ctx;
};

static int each_one(void *ctx, const char *name)
{
	struct each_ctx *x = ctx;
	struct polo_state *st = x->st;
	struct polo_state_rec r;

	if (name[0] == '.')
		return 0;
	if (st->added[0] && strcmp(name, st->added) == 0)
		return x->fn(st, name, NULL, x->ctx);
	if (rec_read(st->sessfd, name, &r) < 0 ||
	    strcmp(r.user, st->user) != 0) {
		(void)unlinkat(st->userfd, name, 0);	/* stale */
		return 0;
	}
	return x->fn(st, name, &r, x->ctx);
}

static int each_user_rec(struct polo_state *st,
			 int (*fn)(struct polo_state *, const char *,
				   struct polo_state_rec *, void *),
			 void *ctx)
{
	struct each_ctx x = { st, fn, ctx };

	/* a second walk under the same lock reads the directory again */
	if (st->walked && lseek(st->userfd, 0, SEEK_SET) < 0)
		return -errno;
	st->walked = true;
	return polo_dir_each(st->userfd, each_one, &x);
}

static int count_one(struct polo_state *st, const char *id,
		     struct polo_state_rec *r, void *ctx)
{
	if (r == NULL || r->alive)	/* NULL: the one we just added */
		(*(unsigned long *)ctx)++;
	else
		(void)polo_state_remove(st, id);	/* crashed: prune */
	return 0;
}

int polo_state_count(struct polo_state *st, unsigned long *n,
		     const struct polo_log *lg)
{
	int r;

	*n = 0;
	r = each_user_rec(st, count_one, n);
	if (r < 0)
		polo_log(lg, LOG_ERR, "state: cannot count the sessions of %s: "
			 "%s", st->user, strerror(-r));
	return r;
}

struct finder {
	const struct polo_session *s;
	char best[POLO_SESSION_ID_MAX + 1];
	bool best_is_ours;
	bool ambiguous;
};

static int find_one(struct polo_state *st, const char *id,
		    struct polo_state_rec *r, void *ctx)
{
	struct finder *f = ctx;
	bool ours;

	(void)st;
	if (r == NULL)
		return 0;	/* just added: never the one that closes */
	ours = r->leader == getpid();
	if (!r->alive || strcmp(r->service, f->s->service) != 0 ||
	    strcmp(r->tty, f->s->tty) != 0)
		return 0;
	if (f->best[0] == '\0' || (ours && !f->best_is_ours)) {
		(void)polo_strlcpy(f->best, id, sizeof f->best);
		f->ambiguous = false;
		f->best_is_ours = ours;
	} else if (ours == f->best_is_ours) {
		f->ambiguous = true;	/* two equally good candidates */
	}
	return 0;
}

int polo_state_find(struct polo_state *st, struct polo_session *s,
		    const struct polo_log *lg)
{
	struct finder f = { .s = s };
	struct polo_state_rec r;

	/* a known id is the session, or none: never another one's */
	if (s->id[0]) {
		if (rec_read(st->sessfd, s->id, &r) == 0 &&
		    strcmp(r.user, s->user) == 0)
			return 0;
		polo_log(lg, LOG_NOTICE, "state: no session %s of %s recorded",
			 s->id, s->user);
		return -ENOENT;
	}
	(void)each_user_rec(st, find_one, &f);
	if (f.ambiguous) {
		polo_log(lg, LOG_NOTICE, "state: %s has several sessions of "
			 "service %s on tty %s: not guessing which one closes",
			 s->user, s->service, s->tty[0] ? s->tty : "none");
		return -ENOENT;
	}
	if (f.best[0] == '\0') {
		polo_log(lg, LOG_NOTICE, "state: no recorded session of %s "
			 "(service %s, tty %s)", s->user, s->service,
			 s->tty[0] ? s->tty : "none");
		return -ENOENT;
	}
	return polo_strlcpy(s->id, f.best, sizeof s->id);
}

static int cmp_opened(const void *a, const void *b)
{
	const struct polo_state_rec *x = a, *y = b;

	return x->opened < y->opened ? -1 : x->opened > y->opened;
}

int polo_state_list(const char *statedir, uid_t trust_uid,
		    struct polo_state_rec **v, size_t *n,
		    const struct polo_log *lg)
{
	struct polo_state_rec *nv;
	struct dirent *de;
	size_t cap = 0;
	int rootfd, fd = -1, r = 0;
	DIR *d = NULL;

	*v = NULL;
	*n = 0;
	rootfd = open_root(statedir, false, trust_uid, lg);
	if (rootfd == -ENOENT)
		return 0;
	if (rootfd < 0)
		return rootfd;
	fd = tree_dir(rootfd, "sessions", false, trust_uid, "sessions/", lg);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		r = fd == -ENOENT ? 0 : fd < 0 ? fd : -errno;
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			nv = reallocarray(*v, cap, sizeof **v);
			if (nv == NULL) {
				r = -ENOMEM;
				break;
			}
			*v = nv;
		}
		if (rec_read(dirfd(d), de->d_name, &(*v)[*n]) == 0)
			(*n)++;
	}
	if (r == 0 && *n > 1)
		qsort(*v, *n, sizeof **v, cmp_opened);
out:
	if (d != NULL)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	close(rootfd);
	if (r < 0) {
		free(*v);
		*v = NULL;
		*n = 0;
	}
	return r;
}
