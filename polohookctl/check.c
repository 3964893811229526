/*
 * polohookctl check: the config, the hook directories (each entry judged
 * as the module would judge it), the runner, the statedir, the tmphome
 * root and the cluster's TLS files, each with ok or its problems; the
 * exit status says whether there was any.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.h"
#include "ctl.h"
#include "fsutil.h"
#include "hookdir.h"
#include "util.h"

#define DIR_MAX_ENTRIES	(4 * POLO_MAX_HOOKS)	/* listed by check */

struct check {
	struct ctl *x;
	unsigned problems;
	bool need_runner;	/* a D or batch hook would run */
};

/* The lines held under a heading; how many problems they are (at least
 * one: a refusal is a problem even if nothing was logged). */
static unsigned print_held(struct sink *s)
{
	unsigned i;

	for (i = 0; i < s->held; i++)
		printf("  %s\n", s->lines[i]);
	if (s->dropped)
		printf("  (%u more)\n", s->dropped);
	return s->held + s->dropped > 0 ? s->held + s->dropped : 1;
}

static void check_config(struct check *k)
{
	char path[256];

	ctl_clean(path, sizeof path, k->x->confpath, 200);
	if (k->x->conf_r == 0) {
		printf("config %s: ok\n", path);
		return;
	}
	if (k->x->conf_r == -ENOENT) {
		printf("config %s: %s\n", path, k->x->conf_given ?
		       "missing" : "not there, built-in defaults");
		k->problems += k->x->conf_given;
		return;
	}
	printf("config %s:\n", path);
	k->problems += print_held(&k->x->sink);
}

static const char *mode_name(enum polo_mode m)
{
	return m == POLO_MODE_BATCH ? "batch" : m == POLO_MODE_WAIT ? "W" : "D";
}

static void print_entry(const char *name, const char *mode,
			const char *what, const char *why, const char *target)
{
	char n[NAME_MAX + 1], w[600], t[PATH_MAX];

	ctl_clean(n, sizeof n, name, 100);
	ctl_clean(w, sizeof w, why ? why : "", sizeof w - 1);
	if (target == NULL) {
		printf("  %-18s %-6s %s%s\n", n, mode, what, w);
		return;
	}
	ctl_clean(t, sizeof t, target, sizeof t - 1);
	printf("  %-18s %-6s %-6s %s\n", n, mode, what, t);
}

/* One directory entry, judged as the module would judge it. */
static void check_entry(struct check *k, const char *dir, const char *name)
{
	char path[PATH_MAX], canon[PATH_MAX], why[512];
	const char *skip = polo_hook_skip_reason(name);
	enum polo_mode m = polo_hook_mode(name);
	int r;

	if (skip != NULL) {
		print_entry(name, "-", "skipped: ", skip, NULL);
		return;
	}
	r = snprintf(path, sizeof path, "%s/%s", dir, name);
	if (r < 0 || (size_t)r >= sizeof path) {
		print_entry(name, mode_name(m), "UNSAFE: ", "path too long",
			    NULL);
		k->problems++;
		return;
	}
	r = polo_hook_check(path, k->x->trust, canon, sizeof canon, why,
			    sizeof why);
	if (r == 1) {
		print_entry(name, mode_name(m), "skipped: ", "not executable",
			    NULL);
	} else if (r < 0) {
		print_entry(name, mode_name(m), "UNSAFE: ", why, NULL);
		k->problems++;
	} else {
		print_entry(name, mode_name(m), "run", NULL,
			    strcmp(canon, path) != 0 ? canon : NULL);
		k->need_runner |= m != POLO_MODE_WAIT;
	}
}

struct names {
	char **v;
	size_t n;
	bool full;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(struct names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* Every name in d but . and .., sorted by strcmp; bounded. */
static int read_names(DIR *d, struct names *l)
{
	struct dirent *de;

	l->v = calloc(DIR_MAX_ENTRIES, sizeof *l->v);
	if (l->v == NULL)
		return -ENOMEM;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (l->n == DIR_MAX_ENTRIES) {
			l->full = true;
			break;
		}
		l->v[l->n] = strdup(de->d_name);
		if (l->v[l->n] == NULL)
			return -ENOMEM;
		l->n++;
	}
	if (errno != 0)
		return -errno;
	qsort(l->v, l->n, sizeof *l->v, cmp_str);
	return 0;
}

/* Hooks past POLO_MAX_HOOKS make the module run none of the directory. */
static void check_count(struct check *k, const struct names *l)
{
	size_t i, valid = 0;

	for (i = 0; i < l->n; i++)
		valid += polo_hook_skip_reason(l->v[i]) == NULL;
	if (l->full)
		printf("  more than %d entries: not all are listed\n",
		       DIR_MAX_ENTRIES);
	if (valid > POLO_MAX_HOOKS || l->full) {
		printf("  PROBLEM: more than %d hooks: none of them would "
		       "run\n", POLO_MAX_HOOKS);
		k->problems++;
	}
}

static void check_listing(struct check *k, const char *shown, DIR *d,
			  const char *canon)
{
	struct names l = { 0 };
	size_t i;
	int r = read_names(d, &l);

	if (r < 0) {
		printf("%s: UNUSABLE: %s\n", shown, strerror(-r));
		k->problems++;
	} else if (l.n == 0) {
		printf("%s: (empty)\n", shown);
	} else {
		printf("%s:\n", shown);
		for (i = 0; i < l.n; i++)
			check_entry(k, canon, l.v[i]);
		check_count(k, &l);
	}
	names_free(&l);
}

static void check_hookdir(struct check *k, const char *sub)
{
	char dir[PATH_MAX], shown[PATH_MAX], canon[PATH_MAX], why[512];
	DIR *d;
	int fd = -1, r;

	r = snprintf(dir, sizeof dir, "%s/%s", k->x->conf.hookdir, sub);
	ctl_clean(shown, sizeof shown, dir, sizeof shown - 1);
	if (r < 0 || (size_t)r >= sizeof dir) {
		printf("%s: UNUSABLE: path too long\n", shown);
		k->problems++;
		return;
	}
	r = polo_open_trusted(dir, O_RDONLY | O_DIRECTORY, k->x->trust, &fd,
			      canon, sizeof canon, why, sizeof why);
	if (r == -ENOENT) {
		printf("%s: (missing: no hooks)\n", shown);
		return;
	}
	if (r < 0 || (d = fdopendir(fd)) == NULL) {
		ctl_clean(canon, sizeof canon, r < 0 ? why : strerror(errno),
		      sizeof canon - 1);
		printf("%s: UNUSABLE: %s\n", shown, canon);
		k->problems++;
		if (fd >= 0)
			close(fd);
		return;
	}
	check_listing(k, shown, d, canon);
	closedir(d);
}

/* An executable the module starts (the runner): must be safe. */
static void check_runner(struct check *k)
{
	char canon[PATH_MAX], why[512], out[600], path[PATH_MAX];
	int r;

	r = polo_hook_check(k->x->conf.runner, k->x->trust, canon,
			    sizeof canon, why, sizeof why);
	ctl_clean(path, sizeof path, k->x->conf.runner, sizeof path - 1);
	if (r == 0) {
		printf("runner %s: ok\n", path);
		return;
	}
	ctl_clean(out, sizeof out, r == 1 ? "not executable" : why,
	      sizeof out - 1);
	printf("runner %s: PROBLEM: %s (D and batch hooks cannot run)\n",
	       path, out);
	k->problems++;
}

/* The statedir itself, under its trusted parent pfd: missing is fine
 * (the first login creates it); else a trusted directory, never a link. */
static void statedir_self(int pfd, const char *base, const char *sd,
			  uid_t trust, char *why, size_t whylen)
{
	struct stat st;

	why[0] = '\0';
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			(void)snprintf(why, whylen, "%s", strerror(errno));
	} else if (!S_ISDIR(st.st_mode)) {
		(void)snprintf(why, whylen, "%.300s is not a directory (a "
			       "symlink?)", sd);
	} else {
		(void)polo_stat_trusted(&st, trust, why, whylen, sd);
	}
}

/* "WHAT PATH: ok", or "WHAT PATH: PROBLEM: why" (a problem counted). */
static void report_path(struct check *k, const char *what, const char *shown,
			const char *why)
{
	char out[600];

	if (why[0] == '\0') {
		printf("%s %s: ok\n", what, shown);
		return;
	}
	ctl_clean(out, sizeof out, why, sizeof out - 1);
	printf("%s %s: PROBLEM: %s\n", what, shown, out);
	k->problems++;
}

/* statedir: its parent must pass the trusted walk, as in lib/state.c. */
static void check_statedir(struct check *k)
{
	char parent[PATH_MAX], why[512] = "", shown[PATH_MAX];
	const char *sd = k->x->conf.statedir, *base = "";
	char *slash = NULL;
	int fd = -1;

	ctl_clean(shown, sizeof shown, sd, sizeof shown - 1);
	if (polo_strlcpy(parent, sd, sizeof parent) == 0)
		slash = strrchr(parent, '/');
	if (slash != NULL)
		base = sd + (slash - parent) + 1;
	if (slash == NULL || *base == '\0' || strcmp(base, ".") == 0 ||
	    strcmp(base, "..") == 0) {
		printf("statedir %s: PROBLEM: must end in a name\n", shown);
		k->problems++;
		return;
	}
	slash[slash == parent ? 1 : 0] = '\0';
	if (polo_open_trusted(parent, O_RDONLY | O_DIRECTORY, k->x->trust,
			      &fd, NULL, 0, why, sizeof why) == 0) {
		statedir_self(fd, base, sd, k->x->trust, why, sizeof why);
		close(fd);
	}
	report_path(k, "statedir", shown, why);
}

/* The tmphome root: trusted walk, and not even a sticky dir (home.c). */
static void check_tmphome(struct check *k)
{
	char why[512] = "", shown[PATH_MAX];
	const char *root = k->x->conf.tmphome;
	struct stat st;
	int fd = -1;

	if (root[0] == '\0')
		return;
	ctl_clean(shown, sizeof shown, root, sizeof shown - 1);
	if (polo_open_trusted(root, O_RDONLY | O_DIRECTORY, k->x->trust, &fd,
			      NULL, 0, why, sizeof why) == 0) {
		if (fstat(fd, &st) < 0)
			(void)snprintf(why, sizeof why, "%s", strerror(errno));
		else if (st.st_mode & (S_IWGRP | S_IWOTH))
			(void)snprintf(why, sizeof why, "writable by group or "
				       "others (mode %04lo)",
				       (unsigned long)(st.st_mode & 07777));
		close(fd);
	}
	report_path(k, "tmphome", shown, why);
}

/* The cluster's TLS files, loaded as hookd and polo-mkhome load them (CA,
 * CRL, certificate, key), so that a mistake shows here rather than when
 * hookd starts or takes a SIGHUP. No node certificate: not in a cluster. */
static void check_tls(struct check *k)
{
	const struct polo_cluster_conf *cl = &k->x->conf.cl;
	struct sink *s = &k->x->sink;
	char shown[PATH_MAX];
	SSL_CTX *ctx;

	if (k->x->conf_r < 0 && k->x->conf_r != -ENOENT)
		return;		/* the refused config is the problem */
	ctl_clean(shown, sizeof shown, cl->cert, sizeof shown - 1);
	if (access(cl->cert, F_OK) < 0 && errno == ENOENT) {
		printf("tls %s: not there (not part of a cluster)\n", shown);
		return;
	}
	*s = (struct sink){ .hold = true };
	ctx = polo_cluster_client_ctx(cl, &k->x->lg);
	s->hold = false;
	if (ctx != NULL) {
		SSL_CTX_free(ctx);
		printf("tls %s: ok (CA, key%s)\n", shown,
		       cl->crl[0] ? ", CRL" : "");
		return;
	}
	printf("tls %s:\n", shown);
	k->problems += print_held(s);
}

int ctl_check(struct ctl *x, const struct cmd_opts *unused)
{
	struct check k = { .x = x };

	(void)unused;
	check_config(&k);
	check_hookdir(&k, "added");
	check_hookdir(&k, "removed");
	if (k.need_runner)
		check_runner(&k);
	check_statedir(&k);
	check_tmphome(&k);
	check_tls(&k);
	printf("%u problem%s\n", k.problems, k.problems == 1 ? "" : "s");
	return k.problems ? EXIT_PROBLEM : 0;
}
