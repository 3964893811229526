/*
 * tmphome (see home.h). MUST rules:
 *  - the root is reached by the trusted walk and must itself be owned by
 *    root (or the trusted uid) and not writable by group or others — not
 *    even a sticky /tmp; homes are handled only as direct children of it,
 *    through its fd, never by path;
 *  - a home is created root-owned 0700, filled through fds (lib/fsops.c),
 *    recorded, and only then chmod'ed and chowned to the user: until that
 *    last step the user cannot touch it, and if anything fails on the way
 *    it is removed again, so no half-made home is ever handed over;
 *  - a home is removed only if the registry says polohook made it, and it
 *    is still that directory (device, inode), still owned by that uid, and
 *    the uid runs no process; never the root; never across a mount.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsops.h"
#include "fsutil.h"
#include "home.h"
#include "mkhome.h"
#include "policy.h"
#include "state.h"
#include "util.h"

/* Copy path without repeated or trailing slashes. */
static int normalize(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in; in++) {
		if (*in == '/' && n > 0 && out[n - 1] == '/')
			continue;
		if (n + 1 >= len)
			return -ENAMETOOLONG;
		out[n++] = *in;
	}
	while (n > 1 && out[n - 1] == '/')
		n--;
	out[n] = '\0';
	return 0;
}

int polo_tmphome_name(const char *root, const char *home, char *name,
		      size_t len)
{
	char r[PATH_MAX], h[PATH_MAX];
	size_t rl;
	const char *rest;

	if (normalize(root, r, sizeof r) < 0 || normalize(home, h, sizeof h) < 0)
		return -EINVAL;
	if (strcmp(r, h) == 0)
		return -EINVAL;		/* the home is the root itself */
	rl = strlen(r);
	if (strncmp(h, r, rl) != 0 || (rl > 1 && h[rl] != '/'))
		return -ENOENT;		/* "/tmphome2/x" is not below "/tmphome" */
	rest = h + (rl > 1 ? rl + 1 : 1);
	if (strchr(rest, '/') != NULL)
		return -EINVAL;		/* deeper: not handled */
	if (!polo_valid_file_name(rest) || strcmp(rest, POLO_REGISTRY) == 0)
		return -EINVAL;
	return polo_strlcpy(name, rest, len);
}

static int open_root(const char *root, uid_t trust, const struct polo_log *lg)
{
	char why[512];
	struct stat st;
	int fd = -1;

	if (polo_open_trusted(root, O_RDONLY | O_DIRECTORY, trust, &fd, NULL,
			      0, why, sizeof why) < 0) {
		polo_log(lg, LOG_ERR, "tmphome %s refused: %s", root, why);
		return -EPERM;
	}
	/* trusted-walk accepts a root-owned sticky dir: not as a home root */
	if (fstat(fd, &st) < 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		polo_log(lg, LOG_ERR, "tmphome %s refused: writable by group or "
			 "others", root);
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* A root-only directory of ours inside parentfd (the registry, its
 * trash): made if asked, opened without following a link, refused unless
 * trusted and closed to group and others. -ENOENT, not logged, when it is
 * missing and not to be made. */
static int private_dir(int parentfd, const char *name, bool create,
		       uid_t trust, const char *what, const struct polo_log *lg)
{
	char why[512];
	struct stat st;
	int fd, e;

	if (create && mkdirat(parentfd, name, 0700) < 0 && errno != EEXIST)
		goto fail;
	fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && !create)
			return -ENOENT;
		goto fail;
	}
	if (fstat(fd, &st) < 0 ||
	    polo_stat_trusted(&st, trust, why, sizeof why, name) < 0 ||
	    (st.st_mode & 077)) {
		polo_log(lg, LOG_ERR, "tmphome %s refused: not a root-only "
			 "directory", what);
		close(fd);
		return -EPERM;
	}
	return fd;
fail:
	e = errno;
	polo_log(lg, LOG_ERR, "tmphome %s: %s", what, strerror(e));
	return -e;
}

static int open_registry(int rootfd, bool create, uid_t trust,
			 const char *root, const struct polo_log *lg)
{
	char what[PATH_MAX + sizeof POLO_REGISTRY + 1];

	(void)snprintf(what, sizeof what, "%s/%s", root, POLO_REGISTRY);
	return private_dir(rootfd, POLO_REGISTRY, create, trust, what, lg);
}

struct reg {
	unsigned long uid;
	unsigned long long dev, ino;
};

static int reg_read(int regfd, const char *name, struct reg *g)
{
	char buf[128];
	ssize_t n;
	int fd, e;

	fd = openat(regfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof buf - 1);
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = '\0';
	if (sscanf(buf, "uid=%lu dev=%llu ino=%llu\n", &g->uid, &g->dev,
		   &g->ino) != 3)
		return -EINVAL;
	return 0;
}

static int reg_write(int regfd, const char *name, const struct reg *g)
{
	char buf[128];
	int n = snprintf(buf, sizeof buf, "uid=%lu dev=%llu ino=%llu\n",
			 g->uid, g->dev, g->ino);

	/* the record must outlive a power cut as long as the home does */
	return polo_write_at(regfd, name, buf, (size_t)n, 0600, true);
}

#define POLO_TRASH "trash"

/* REGISTRY/trash: where retired homes wait for removal. Root-only, so
 * nothing in it is reachable by any user through a path any more. */
static int open_trash(int regfd, bool create, uid_t trust,
		      const struct polo_log *lg)
{
	return private_dir(regfd, POLO_TRASH, create, trust,
			   POLO_REGISTRY "/" POLO_TRASH, lg);
}

/* A home left from the user's previous session (kept at logout because
 * processes lingered, e.g. systemd --user): move it out of every user's
 * reach, then remove it. The new session gets a fresh one from skel. */
static int retire(int rootfd, int regfd, const char *name,
		  const struct stat *st, const struct polo_session *s,
		  uid_t trust, const struct polo_log *lg)
{
	char tname[NAME_MAX + 1], what[PATH_MAX];
	int tfd, n;

	tfd = open_trash(regfd, true, trust, lg);
	if (tfd < 0) {
		polo_log(lg, LOG_ERR, "tmphome %s: cannot retire the previous "
			 "home: %s", s->home, strerror(-tfd));
		return tfd;
	}
	n = snprintf(tname, sizeof tname, "%.200s.%llu", name,
		     (unsigned long long)st->st_ino);
	if (n < 0 || (size_t)n >= sizeof tname ||
	    renameat2(rootfd, name, tfd, tname, RENAME_NOREPLACE) < 0) {
		n = -errno;
		polo_log(lg, LOG_ERR, "tmphome %s: cannot retire the previous "
			 "home: %s", s->home, strerror(-n));
		close(tfd);
		return n;
	}
	(void)unlinkat(regfd, name, 0);
	polo_log(lg, LOG_NOTICE, "tmphome %s: the previous session's home "
		 "was retired; a fresh one is made", s->home);
	(void)snprintf(what, sizeof what, "%.3000s/../%s/%s/%s", s->home,
		       POLO_REGISTRY, POLO_TRASH, tname);
	/* lingering processes may still write into it: then gc finishes */
	(void)polo_rm_tree_at(tfd, tname, st->st_dev, st->st_ino, what, lg);
	close(tfd);
	return 0;
}

/* A previous session's home that could not be retired must still not be
 * handed on: make it root's and unreadable. The login gets no home, and
 * the admin a log line; it is not removed automatically any more. */
static int lock_away(int rootfd, const char *name, const struct stat *st,
		     const struct polo_session *s, const struct polo_log *lg)
{
	struct stat now;
	int fd, r = 0;

	fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0 || fstat(fd, &now) < 0)
		r = -errno;
	else if (now.st_dev != st->st_dev || now.st_ino != st->st_ino)
		r = -ESTALE;
	else if (fchown(fd, 0, 0) < 0 || fchmod(fd, 0700) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	polo_log(lg, LOG_ERR, "tmphome %s: the previous session's home could "
		 "not be retired%s; %s gets no home", s->home, r < 0 ?
		 " nor locked away" : " and is locked away (root-only)",
		 s->user);
	return -EBUSY;
}

/* An existing home: 1 if polohook made it, 0 if it is the user's own
 * (used, never removed), -errno for what must be refused in its place. */
static int check_existing(int regfd, const char *name, const struct stat *st,
			  const struct polo_session *s,
			  const struct polo_log *lg)
{
	struct reg g;

	if (!S_ISDIR(st->st_mode)) {
		polo_log(lg, LOG_ERR, "tmphome %s: something that is not a "
			 "directory is in its place: refused", s->home);
		return -EEXIST;
	}
	if (st->st_uid != s->uid) {
		polo_log(lg, LOG_ERR, "tmphome %s: owned by uid %lu, not by %s: "
			 "refused", s->home, (unsigned long)st->st_uid, s->user);
		return -EPERM;
	}
	if (reg_read(regfd, name, &g) == 0) {
		if (g.uid == s->uid && g.dev == st->st_dev &&
		    g.ino == st->st_ino) {
			/* ours; the caller decides whether it is stale */
			polo_log(lg, LOG_DEBUG, "tmphome %s: exists (made by "
				 "polohook)", s->home);
			return 1;
		}
		/* what it recorded is gone: the record must go too */
		(void)unlinkat(regfd, name, 0);
	}
	polo_log(lg, LOG_NOTICE, "tmphome %s: exists and was not made by "
		 "polohook: used, and never removed", s->home);
	return 0;
}

struct record {
	int regfd;
	const char *name;
	const struct polo_session *s;
	const struct polo_log *lg;
	bool written;
};

/* At POLO_HOME_FILLED: record the home before it is handed over. */
static int record_step(void *ctx, enum polo_home_stage stage,
		       const struct stat *st)
{
	struct record *rc = ctx;
	struct reg g = { rc->s->uid, st->st_dev, st->st_ino };
	int r;

	if (stage != POLO_HOME_FILLED)
		return 0;
	r = reg_write(rc->regfd, rc->name, &g);
	if (r < 0)
		polo_log(rc->lg, LOG_ERR, "tmphome %s: cannot record it: %s",
			 rc->s->home, strerror(-r));
	rc->written = r == 0;
	return r;
}

static int create(int rootfd, int regfd, const char *name,
		  const struct polo_conf *c, const struct polo_session *s,
		  uid_t trust, const struct polo_log *lg)
{
	struct record rc = { regfd, name, s, lg, false };
	struct polo_home_spec h = {
		.what = s->home, .skel = c->skel, .uid = s->uid, .gid = s->gid,
		.umask = (mode_t)c->umask, .trust = trust,
		.step = record_step, .ctx = &rc,
	};
	int r = polo_home_make_at(rootfd, name, &h, lg);

	if (r < 0) {
		if (rc.written)		/* recorded, then failed: forget it */
			(void)unlinkat(regfd, name, 0);
		return r;
	}
	polo_log(lg, LOG_INFO, "tmphome %s: created from %s for %s", s->home,
		 c->skel, s->user);
	return 0;
}

int polo_tmphome_prepare(const struct polo_conf *c,
			 const struct polo_session *s, uid_t trust_uid,
			 const struct polo_log *lg)
{
	char name[NAME_MAX + 1];
	struct stat st;
	int rootfd = -1, regfd = -1, r;

	if (c->tmphome[0] == '\0')
		return 0;
	r = polo_tmphome_name(c->tmphome, s->home, name, sizeof name);
	if (r == -ENOENT)
		return 0;	/* not a walk-up user: an ordinary home */
	if (r < 0) {
		polo_log(lg, LOG_ERR, "tmphome: home %s of %s is not a direct "
			 "child of %s: refused", s->home, s->user, c->tmphome);
		return r;
	}
	rootfd = r = open_root(c->tmphome, trust_uid, lg);
	if (r >= 0)
		regfd = r = open_registry(rootfd, true, trust_uid, c->tmphome, lg);
	if (r < 0)
		goto out;
	if (fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = errno == ENOENT ? 1 : -errno;
	} else {
		r = check_existing(regfd, name, &st, s, lg);
		/* ours, and this is the user's only live session: it is
		 * left from a previous one, not to be handed on */
		if (r == 1 && s->counted && s->user_sessions == 1)
			r = retire(rootfd, regfd, name, &st, s, trust_uid, lg) < 0
			    ? lock_away(rootfd, name, &st, s, lg) : 1;
		else if (r == 1)
			r = 0;
	}
	if (r == 1)
		r = create(rootfd, regfd, name, c, s, trust_uid, lg);
out:
	if (regfd >= 0)
		close(regfd);
	if (rootfd >= 0)
		close(rootfd);
	return r < 0 ? r : 0;
}

/* The facts about `name` that polo_home_may_remove reads after the
 * count: its record, and what stands at the name (not followed). */
static int find_facts(int rootfd, int regfd, const char *name,
		      struct polo_home_facts *f, struct stat *st)
{
	struct reg g;

	f->recorded = regfd >= 0 && reg_read(regfd, name, &g) == 0;
	/* (uid_t)-1 is no one's: a record beyond the uid range names no uid */
	f->rec_uid = f->recorded && g.uid < (uid_t)-1 ? (uid_t)g.uid :
		     (uid_t)-1;
	if (fstatat(rootfd, name, st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return -errno;
		return 0;		/* present stays false */
	}
	f->present = true;
	f->is_dir = S_ISDIR(st->st_mode);
	f->same = f->recorded && g.dev == st->st_dev && g.ino == st->st_ino;
	f->owner = st->st_uid;
	return 0;
}

/* Say what the verdict means for the home, and do it. */
static int act(int rootfd, int regfd, const struct polo_home_end *e,
	       const struct polo_home_facts *f, enum polo_home_verdict v,
	       const struct stat *st, const struct polo_log *lg)
{
	char what[PATH_MAX + NAME_MAX + 2];
	const char *root = e->root, *name = e->name;
	int r;

	switch (v) {
	case POLO_HOME_UNCOUNTED:
	case POLO_HOME_LIVE:
		return 0;		/* the caller says so, in its words */
	case POLO_HOME_UNSEEN:
		return f->looked;	/* the root or registry: logged */
	case POLO_HOME_NOT_OURS:
		if (regfd < 0)
			polo_log(lg, LOG_NOTICE, "tmphome %s/%s: nothing "
				 "recorded by polohook: left", root, name);
		else if (f->present)
			polo_log(lg, LOG_NOTICE, "tmphome %s/%s was not made "
				 "by polohook: left", root, name);
		return 0;
	case POLO_HOME_GONE:
		if (!e->dry_run)
			(void)unlinkat(regfd, name, 0);
		return 0;
	case POLO_HOME_CHANGED:
		polo_log(lg, LOG_ERR, "tmphome %s/%s %s: not removed", root,
			 name, !f->is_dir ? "is no longer a directory (a "
			 "symlink?)" : "is not the directory polohook made");
		return -EPERM;
	case POLO_HOME_OWNER:
		polo_log(lg, LOG_ERR, "tmphome %s/%s is owned by uid %lu, "
			 "recorded for %lu, asked for %lu: not removed", root,
			 name, (unsigned long)f->owner,
			 (unsigned long)f->rec_uid, (unsigned long)f->uid);
		return -EPERM;
	case POLO_HOME_BUSY:
		if (f->procs < 0)
			polo_log(lg, LOG_ERR, "tmphome %s/%s: cannot tell "
				 "whether uid %lu runs processes (%s): left for "
				 "polohookctl gc", root, name,
				 (unsigned long)f->uid, strerror(-f->procs));
		else
			polo_log(lg, LOG_NOTICE, "tmphome %s/%s: uid %lu still "
				 "has processes: left for polohookctl gc", root,
				 name, (unsigned long)f->uid);
		return -EBUSY;
	case POLO_HOME_REMOVE:
		break;
	}
	if (e->dry_run) {
		polo_log(lg, LOG_NOTICE, "tmphome %s/%s: would be removed",
			 root, name);
		return 0;
	}
	(void)snprintf(what, sizeof what, "%s/%s", root, name);
	r = polo_rm_tree_at(rootfd, name, st->st_dev, st->st_ino, what, lg);
	if (r < 0)
		return r;
	(void)unlinkat(regfd, name, 0);
	polo_log(lg, LOG_INFO, "tmphome %s/%s: removed", root, name);
	return 0;
}

/* The facts after the count, in the order the rule reads them (a fact
 * after the first rule that fails is never needed), the verdict, and
 * what it says to do. */
static int end_at(const struct polo_home_end *e, struct polo_home_facts *f,
		  enum polo_home_verdict *v, const struct polo_log *lg)
{
	struct stat st = { 0 };
	int rootfd = -1, regfd = -1, r = 0;

	if (f->counted == 0 && f->live == 0) {
		rootfd = r = open_root(e->root, e->trust, lg);
		if (r >= 0)
			regfd = r = open_registry(rootfd, false, e->trust,
						  e->root, lg);
		if (r == -ENOENT)
			r = 0;		/* no registry: nothing is ours */
		if (r >= 0)
			r = find_facts(rootfd, regfd, e->name, f, &st);
		f->looked = r < 0 ? r : 0;
	}
	*v = polo_home_may_remove(f);
	if (*v == POLO_HOME_REMOVE) {	/* the dearest fact, last */
		f->procs = polo_uid_has_processes(e->uid);
		*v = polo_home_may_remove(f);
	}
	r = act(rootfd, regfd, e, f, *v, &st, lg);
	if (regfd >= 0)
		close(regfd);
	if (rootfd >= 0)
		close(rootfd);
	return r;
}

int polo_tmphome_end(const struct polo_home_end *e,
		     struct polo_home_outcome *o, const struct polo_log *lg)
{
	struct polo_home_facts f = { .uid = e->uid, .live = e->live };
	struct polo_state st;
	int r;

	o->locked = false;
	o->verdict = POLO_HOME_UNSEEN;	/* a name we never look at */
	o->live = 0;
	if (!polo_valid_file_name(e->name) ||
	    strcmp(e->name, POLO_REGISTRY) == 0)
		return -EINVAL;
	if (!e->dry_run && e->user != NULL) {
		f.counted = polo_state_begin(&st, e->statedir, e->user,
					     e->trust, lg);
		if (f.counted == 0) {
			o->locked = true;
			f.counted = polo_state_count(&st, &f.live, lg);
		}
	}
	o->live = f.live;
	/* under the user's lock: a login of the same user waits for it */
	r = end_at(e, &f, &o->verdict, lg);
	if (r == 0 && f.counted < 0)
		r = f.counted;
	if (o->locked)
		polo_state_end(&st);
	return r;
}

/* The registry of root, for gc: -ENOENT (not logged) if none was made. */
static int registry_of(const char *root, uid_t trust, const struct polo_log *lg)
{
	int rootfd = open_root(root, trust, lg), regfd;

	if (rootfd < 0)
		return rootfd;
	regfd = open_registry(rootfd, false, trust, root, lg);
	close(rootfd);
	return regfd;
}

int polo_tmphome_each(const char *root, uid_t trust_uid,
		      int (*fn)(const char *name, uid_t uid, void *ctx),
		      void *ctx, const struct polo_log *lg)
{
	struct dirent *de;
	struct reg g;
	int regfd, r = 0;
	DIR *d;

	regfd = registry_of(root, trust_uid, lg);
	if (regfd == -ENOENT)
		return 0;
	if (regfd < 0 || (d = fdopendir(regfd)) == NULL) {
		r = regfd < 0 ? regfd : -errno;
		if (regfd >= 0)
			close(regfd);
		return r;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !polo_valid_file_name(de->d_name))
			continue;
		if (reg_read(dirfd(d), de->d_name, &g) == 0)
			r = fn(de->d_name, (uid_t)g.uid, ctx);
	}
	closedir(d);
	return r;
}

int polo_tmphome_empty_trash(const char *root, uid_t trust_uid, bool dry_run,
			     const struct polo_log *lg)
{
	char what[PATH_MAX + 2 * NAME_MAX];
	struct dirent *de;
	struct stat st;
	int regfd, tfd, bad = 0;
	DIR *d;

	regfd = registry_of(root, trust_uid, lg);
	if (regfd < 0)
		return regfd == -ENOENT ? 0 : regfd;
	tfd = open_trash(regfd, false, trust_uid, lg);
	close(regfd);
	if (tfd < 0)
		return tfd == -ENOENT ? 0 : tfd;
	d = fdopendir(tfd);
	if (d == NULL) {
		close(tfd);
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		(void)snprintf(what, sizeof what, "%s/%s/%s/%.200s", root,
			       POLO_REGISTRY, POLO_TRASH, de->d_name);
		if (dry_run) {
			polo_log(lg, LOG_NOTICE, "%s: would be removed", what);
			bad++;
		} else if (polo_rm_tree_at(dirfd(d), de->d_name, st.st_dev,
					   st.st_ino, what, lg) < 0) {
			bad++;
		} else {
			polo_log(lg, LOG_INFO, "%s: removed", what);
		}
	}
	closedir(d);
	return bad;
}

struct sweep_ctx {
	int rootfd;
	const char *root;
	bool dry_run;
	const struct polo_log *lg;
	int n;
};

static int sweep_one(void *ctx, const char *name)
{
	struct sweep_ctx *x = ctx;
	char what[PATH_MAX + NAME_MAX + 2];
	int r;

	if (strncmp(name, POLO_HOME_TMP_PREFIX,
		    sizeof POLO_HOME_TMP_PREFIX - 1) != 0)
		return 0;
	(void)snprintf(what, sizeof what, "%s/%.200s", x->root, name);
	r = polo_home_sweep(x->rootfd, name, what, x->dry_run, x->lg);
	if (r > 0)
		x->n++;
	return 0;
}

int polo_tmphome_sweep(const char *root, uid_t trust_uid, bool dry_run,
		       const struct polo_log *lg)
{
	struct sweep_ctx x = { -1, root, dry_run, lg, 0 };
	int r;

	x.rootfd = open_root(root, trust_uid, lg);
	if (x.rootfd < 0)
		return x.rootfd;
	r = polo_dir_each(x.rootfd, sweep_one, &x);
	close(x.rootfd);
	return r < 0 ? r : x.n;
}
