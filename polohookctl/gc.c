/*
 * polohookctl gc [--dry-run] [--uid UID]: prunes dead sessions, removes
 * abandoned tmphomes (those of the registry, the retired ones in the
 * trash, and those whose creation was cut short), and reports each step
 * on stdout and, when it changes things, in the auth log.
 *
 * Rules this file keeps:
 *  - gc removes a tmphome only while it holds the user's state lock and
 *    has counted no live session; --dry-run changes nothing at all (it
 *    never takes a lock, which would create the state tree).
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "ctl.h"
#include "home.h"
#include "log.h"
#include "state.h"
#include "util.h"

#define GC_MAX_HOMES	65536	/* registry entries handled in one run */

/* A line of gc's report: on stdout (unless -q) and, when gc changes
 * things, in the auth log too, where the module's own lines about the
 * same homes are. */
__attribute__((format(printf, 2, 3)))
static void report(const struct ctl *x, const char *fmt, ...)
{
	char line[PATH_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (!x->quiet)
		printf("%s\n", line);
	if (x->to_syslog)
		syslog(LOG_INFO, "gc: %s", line);
}

/* ---- gc: dead sessions ---- */

static int cmp_user(const void *a, const void *b)
{
	const struct polo_state_rec *const *x = a, *const *y = b;

	return strcmp((*x)->user, (*y)->user);
}

/* Is the session file still there? Only to word the report honestly. */
static bool session_left(const char *statedir, const char *id)
{
	char path[PATH_MAX];
	struct stat st;
	int n = snprintf(path, sizeof path, "%s/sessions/%s", statedir, id);

	return n > 0 && (size_t)n < sizeof path && lstat(path, &st) == 0;
}

static int report_dead(struct ctl *x, struct polo_state_rec *const *g,
		       size_t n, bool dry_run)
{
	char id[80], user[40];
	int bad = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (g[i]->alive)
			continue;
		ctl_clean(id, sizeof id, g[i]->id, 70);
		ctl_clean(user, sizeof user, g[i]->user, 33);
		if (dry_run) {
			report(x, "would prune dead session %s of %s", id, user);
		} else if (session_left(x->conf.statedir, g[i]->id)) {
			report(x, "not pruned dead session %s of %s: still "
			       "recorded", id, user);
			bad = -EIO;
		} else {
			report(x, "pruned dead session %s of %s", id, user);
		}
	}
	return bad;
}

/* One user's sessions g[0..n): counting under the lock prunes the dead. */
static int prune_user(struct ctl *x, struct polo_state_rec *const *g,
		      size_t n, bool dry_run)
{
	struct polo_state st;
	unsigned long live;
	int r = 0;

	if (!dry_run) {
		r = polo_state_begin(&st, x->conf.statedir, g[0]->user,
				     x->trust, &x->lg);
		if (r < 0)
			return r;
		r = polo_state_count(&st, &live, &x->lg);
		/* a dead session whose user entry is missing (a crash between
		 * the two writes) is not reached by the count: drop it here;
		 * a dead leader never comes back (pid and start time) */
		for (size_t i = 0; r == 0 && i < n; i++)
			if (!g[i]->alive)
				(void)polo_state_remove(&st, g[i]->id);
		polo_state_end(&st);
	}
	return r < 0 ? r : report_dead(x, g, n, dry_run);
}

static int gc_sessions(struct ctl *x, struct polo_state_rec *v, size_t n,
		       bool dry_run)
{
	struct polo_state_rec **p;
	size_t i, j;
	int bad = 0;

	if (n == 0)
		return 0;
	p = calloc(n, sizeof *p);
	if (p == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		p[i] = &v[i];
	qsort(p, n, sizeof *p, cmp_user);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(p[j]->user, p[i]->user) == 0;
		     j++)
			;
		if (prune_user(x, p + i, j - i, dry_run) < 0)
			bad = -EIO;
	}
	free(p);
	return bad;
}

/* ---- gc: tmphomes ---- */

struct home_ent {
	char name[NAME_MAX + 1];
	uid_t uid;
};

struct home_list {
	struct home_ent *v;
	size_t n, cap;
	bool full;
};

static int collect_home(const char *name, uid_t uid, void *ctx)
{
	struct home_list *l = ctx;
	struct home_ent *nv;

	if (l->n == GC_MAX_HOMES) {
		l->full = true;
		return 1;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		nv = reallocarray(l->v, l->cap, sizeof *nv);
		if (nv == NULL)
			return -ENOMEM;
		l->v = nv;
	}
	if (polo_strlcpy(l->v[l->n].name, name, sizeof l->v[0].name) < 0)
		return 0;
	l->v[l->n++].uid = uid;
	return 0;
}

/* The login name of uid, if it is one the state tree can hold. */
static bool user_of(uid_t uid, char *name, size_t len)
{
	struct passwd pw;
	char *buf = NULL;
	bool ok;

	if (polo_getpw(NULL, uid, &pw, &buf) < 0)
		return false;
	ok = polo_valid_user_name(pw.pw_name) &&
	     polo_strlcpy(name, pw.pw_name, len) == 0;
	free(buf);
	return ok;
}

/* Live sessions of uid as the list saw them (no lock: dry run, or a uid
 * without a name to lock). */
static unsigned long live_in_list(const struct polo_state_rec *v, size_t n,
				  uid_t uid)
{
	unsigned long live = 0;
	size_t i;

	for (i = 0; i < n; i++)
		live += v[i].uid == uid && v[i].alive;
	return live;
}

struct gc_home {
	struct ctl *x;
	const struct home_ent *e;
	char path[PATH_MAX + NAME_MAX + 2];	/* for messages: cleaned */
	bool dry_run;
};

/* gc's line about one home: what lib/ decided (polo_tmphome_end). */
static int report_home(struct gc_home *h, const struct polo_home_outcome *o,
		       const char *user, int r)
{
	struct ctl *x = h->x;

	switch (o->verdict) {
	case POLO_HOME_UNCOUNTED:
		if (!o->locked)
			report(x, "not removed %s: cannot lock the session "
			       "state", h->path);
		else
			report(x, "not removed %s: cannot count the sessions "
			       "of %s", h->path, user);
		return r < 0 ? r : -EIO;
	case POLO_HOME_LIVE:
		report(x, "kept %s: %lu live session%s", h->path, o->live,
		       o->live == 1 ? "" : "s");
		return 0;
	case POLO_HOME_BUSY:
		report(x, "kept %s: uid %lu still has processes", h->path,
		       (unsigned long)h->e->uid);
		return 0;
	default:
		break;
	}
	if (r < 0) {
		report(x, "not removed %s: %s", h->path, strerror(-r));
		return r;
	}
	if (o->verdict == POLO_HOME_GONE)
		report(x, "%s the record of %s: already gone",
		       h->dry_run ? "would drop" : "dropped", h->path);
	else if (o->verdict == POLO_HOME_NOT_OURS)
		report(x, "left %s: not made by polohook", h->path);
	else
		report(x, "%s %s", h->dry_run ? "would remove" : "removed",
		       h->path);
	return 0;
}

/* One registry entry: under the user's lock, removed if the rule says so
 * (the module's rule at a last logout: lib/policy.c). */
static int gc_home(struct gc_home *h, const struct polo_state_rec *v,
		   size_t n)
{
	struct ctl *x = h->x;
	struct polo_home_end e = {
		.statedir = x->conf.statedir, .root = x->conf.tmphome,
		.name = h->e->name, .uid = h->e->uid, .trust = x->trust,
		.dry_run = h->dry_run,
	};
	struct polo_home_outcome o;
	char user[33] = "";

	if (!h->dry_run && user_of(h->e->uid, user, sizeof user))
		e.user = user;
	else	/* no lock to take: the list's count */
		e.live = live_in_list(v, n, h->e->uid);
	return report_home(h, &o, user, polo_tmphome_end(&e, &o, &x->lg));
}

static void home_path(char *out, size_t len, const char *root,
		      const char *name)
{
	char r[PATH_MAX];
	size_t n;

	ctl_clean(r, sizeof r, root, sizeof r - 1);
	n = strlen(r);
	while (n > 1 && r[n - 1] == '/')
		r[--n] = '\0';
	(void)snprintf(out, len, "%s%s%s", r, n > 1 ? "/" : "", name);
}

static int gc_homes(struct ctl *x, const struct polo_state_rec *v, size_t n,
		    const struct cmd_opts *o, bool dry_run)
{
	struct home_list l = { 0 };
	struct gc_home h = { .x = x, .dry_run = dry_run };
	size_t i;
	int r, bad = 0;

	r = polo_tmphome_each(x->conf.tmphome, x->trust, collect_home, &l,
			      &x->lg);
	/* the library logs why the root or registry was refused */
	if (r == -ENOMEM || l.full)
		polo_log(&x->lg, LOG_ERR, "tmphome %s: %s", x->conf.tmphome,
			 l.full ? "too many registry entries, only some "
			 "handled" : strerror(ENOMEM));
	bad = r < 0 || l.full;
	for (i = 0; i < l.n; i++) {
		if (o->has_uid && l.v[i].uid != o->uid)
			continue;
		h.e = &l.v[i];
		home_path(h.path, sizeof h.path, x->conf.tmphome, h.e->name);
		if (gc_home(&h, v, n) < 0)
			bad = 1;
	}
	free(l.v);
	return bad ? -EIO : 0;
}

/* Homes retired at a login while processes still held them. */
static int gc_trash(struct ctl *x, bool dry_run)
{
	int r = polo_tmphome_empty_trash(x->conf.tmphome, x->trust, dry_run,
					 &x->lg);

	if (r > 0)
		report(x, "%s %d retired home%s in %s/.polohook/trash",
		       dry_run ? "would remove" : "could not remove yet", r,
		       r == 1 ? "" : "s", x->conf.tmphome);
	return dry_run && r > 0 ? 0 : r > 0 ? -EBUSY : r;
}

/* Homes whose creation was cut short (a login program killed during the
 * copy) and whose user has not come back to finish it. */
static int gc_sweep(struct ctl *x, bool dry_run)
{
	int r = polo_tmphome_sweep(x->conf.tmphome, x->trust, dry_run, &x->lg);

	if (r > 0)
		report(x, "%s %d unfinished home%s in %s",
		       dry_run ? "would remove" : "removed", r,
		       r == 1 ? "" : "s", x->conf.tmphome);
	return r < 0 ? r : 0;
}

/* --uid: keep only that uid's sessions (v is ours to reorder). */
static size_t only_uid(struct polo_state_rec *v, size_t n, uid_t uid)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (v[i].uid == uid)
			v[k++] = v[i];
	return k;
}

int ctl_gc(struct ctl *x, const struct cmd_opts *o)
{
	struct polo_state_rec *v = NULL;
	bool dry_run = o->flag;
	size_t n = 0;
	int r, bad = 0;

	if (!ctl_conf_usable(x))
		return EXIT_PROBLEM;
	/* what gc removes belongs in the auth log, beside the module's
	 * lines about the same sessions and homes (a dry run changes
	 * nothing and logs nothing) */
	if (!dry_run) {
		openlog("polohookctl", LOG_PID, LOG_AUTHPRIV);
		x->to_syslog = true;
	}
	r = polo_state_list(x->conf.statedir, x->trust, &v, &n, &x->lg);
	if (r < 0) {
		polo_log(&x->lg, LOG_ERR, "cannot read the session state %s: "
			 "%s: nothing done", x->conf.statedir, strerror(-r));
		return EXIT_PROBLEM;
	}
	if (o->has_uid)
		n = only_uid(v, n, o->uid);
	bad |= gc_sessions(x, v, n, dry_run) < 0;
	if (x->conf.tmphome[0] != '\0') {
		bad |= gc_homes(x, v, n, o, dry_run) < 0;
		bad |= gc_trash(x, dry_run) < 0;
		bad |= gc_sweep(x, dry_run) < 0;
	}
	free(v);
	return bad ? EXIT_PROBLEM : 0;
}
