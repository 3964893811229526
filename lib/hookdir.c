#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "hookdir.h"
#include "util.h"

/* Left behind by package managers and editors: never run. */
static const char *const leftover_suffixes[] = {
	".dpkg-old", ".dpkg-new", ".dpkg-dist", ".dpkg-tmp", ".rpmsave",
	".rpmnew", ".rpmorig", ".swp", ".bak", ".orig",
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *polo_hook_skip_reason(const char *name)
{
	size_t i;

	if (name[0] == '.' || !polo_valid_file_name(name))
		return "not a valid hook name";
	for (i = 0; i < sizeof leftover_suffixes / sizeof *leftover_suffixes; i++)
		if (ends_with(name, leftover_suffixes[i]))
			return "package or editor leftover";
	if (strstr(name, ".ucf-") != NULL)
		return "package or editor leftover";
	return NULL;
}

enum polo_mode polo_hook_mode(const char *name)
{
	const char *p = name;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p == name || *p == '\0' || p[1] != '-')
		return POLO_MODE_BATCH;
	if (p[0] == 'W')
		return POLO_MODE_WAIT;
	if (p[0] == 'D')
		return POLO_MODE_DETACH;
	return POLO_MODE_BATCH;
}

char polo_mode_letter(enum polo_mode m)
{
	return m == POLO_MODE_WAIT ? 'W' : m == POLO_MODE_DETACH ? 'D' : 'B';
}

/* The final object, once every directory above it is known to be safe. */
static int check_file(const struct stat *st, uid_t trust_uid,
		      const char *canon, char *why, size_t whylen)
{
	int r = polo_stat_trusted(st, trust_uid, why, whylen, canon);

	if (r < 0)
		return r;
	if (!S_ISREG(st->st_mode)) {
		(void)snprintf(why, whylen, "%.300s is not a regular file",
			       canon);
		return -EINVAL;
	}
	if ((st->st_mode & 0111) == 0) {
		(void)snprintf(why, whylen, "%.300s is not executable", canon);
		return 1;	/* not an error: chmod -x disables a hook */
	}
	return 0;
}

int polo_hook_check(const char *path, uid_t trust_uid, char *canon,
		    size_t canonlen, char *why, size_t whylen)
{
	struct stat st;
	int fd = -1, r;

	r = polo_open_trusted(path, O_PATH, trust_uid, &fd, canon, canonlen,
			      why, whylen);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		(void)snprintf(why, whylen, "%s", strerror(errno));
	} else {
		r = check_file(&st, trust_uid, canon, why, whylen);
	}
	close(fd);
	return r;
}

/* One entry of a directory already opened through the trusted walk: a
 * plain file needs only its own check; a symlink gets the whole walk. */
static int check_entry(int dfd, const char *dir, const char *name,
		       uid_t trust_uid, char *canon, size_t canonlen,
		       char *why, size_t whylen)
{
	struct stat st;
	int n;

	n = snprintf(canon, canonlen, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= canonlen) {
		(void)snprintf(why, whylen, "%.200s/%.100s: path too long", dir,
			       name);
		return -ENAMETOOLONG;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		(void)snprintf(why, whylen, "%.300s: %s", canon, strerror(errno));
		return -errno;
	}
	if (S_ISLNK(st.st_mode)) {
		char link[PATH_MAX];

		memcpy(link, canon, (size_t)n + 1);
		return polo_hook_check(link, trust_uid, canon, canonlen, why,
				       whylen);
	}
	return check_file(&st, trust_uid, canon, why, whylen);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(((const struct polo_hook *)a)->name,
		      ((const struct polo_hook *)b)->name);
}

/* Collect valid names (not yet checked) from an open directory. */
struct collect_ctx {
	const char *dir;
	struct polo_hooklist *out;
	const struct polo_log *lg;
	size_t cap;
};

static int collect_one(void *ctx, const char *name)
{
	struct collect_ctx *x = ctx;
	struct polo_hooklist *out = x->out;
	const char *why = polo_hook_skip_reason(name);

	if (why != NULL) {
		polo_log(x->lg, LOG_DEBUG, "%s: skipping '%.100s': %s",
			 x->dir, name, why);
		return 0;
	}
	if (out->n == POLO_MAX_HOOKS) {
		/* which ones would be dropped depends on the directory's
		 * order: run none rather than an arbitrary subset */
		polo_log(x->lg, LOG_ERR, "%s: more than %d hooks, running "
			 "none", x->dir, POLO_MAX_HOOKS);
		return -E2BIG;
	}
	if (out->n == x->cap) {
		size_t ncap = x->cap ? x->cap * 2 : 16;
		struct polo_hook *nv;

		nv = reallocarray(out->v, ncap, sizeof *nv);
		if (nv == NULL)
			return -ENOMEM;
		out->v = nv;
		x->cap = ncap;
	}
	/* names are checked above: they fit and have no '/' */
	(void)polo_strlcpy(out->v[out->n].name, name, sizeof out->v[0].name);
	out->n++;
	return 0;
}

static int collect(int fd, const char *dir, struct polo_hooklist *out,
		   const struct polo_log *lg)
{
	struct collect_ctx x = { dir, out, lg, 0 };

	return polo_dir_each(fd, collect_one, &x);
}

/* Resolve every collected hook, dropping the unsafe ones (logged). */
static void check_all(int dfd, const char *dir, const char *canon,
		      uid_t trust_uid, struct polo_hooklist *l,
		      const struct polo_log *lg)
{
	char why[512];
	size_t i, kept = 0;
	int r;

	for (i = 0; i < l->n; i++) {
		struct polo_hook *h = &l->v[i];

		r = check_entry(dfd, canon, h->name, trust_uid, h->path,
				sizeof h->path, why, sizeof why);
		if (r == 1) {
			polo_log(lg, LOG_DEBUG, "%s: skipping '%s': %s", dir,
				 h->name, why);
			continue;
		}
		h->mode = polo_hook_mode(h->name);
		h->unsafe = r < 0;
		if (r < 0) {
			polo_log(lg, LOG_ERR, "%s: not running unsafe hook "
				 "'%s': %s", dir, h->name, why);
			if (h->mode != POLO_MODE_WAIT)
				continue;
		}
		if (kept != i)
			l->v[kept] = *h;
		kept++;
	}
	l->n = kept;
}

int polo_hooks_scan(const char *dir, uid_t trust_uid,
		    struct polo_hooklist *out, const struct polo_log *lg)
{
	char why[512], canon[PATH_MAX];
	int fd = -1, r;

	out->v = NULL;
	out->n = 0;
	r = polo_open_trusted(dir, O_RDONLY | O_DIRECTORY, trust_uid, &fd,
			      canon, sizeof canon, why, sizeof why);
	if (r == -ENOENT) {
		polo_log(lg, LOG_DEBUG, "%s: no such directory, no hooks", dir);
		return 0;
	}
	if (r < 0) {
		polo_log(lg, LOG_ERR, "hook directory %s refused: %s", dir, why);
		return r;
	}
	r = collect(fd, dir, out, lg);
	if (r < 0) {
		if (r != -E2BIG)
			polo_log(lg, LOG_ERR, "%s: reading: %s", dir,
				 strerror(-r));
		close(fd);
		goto out;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, cmp_names);
	check_all(fd, dir, canon, trust_uid, out, lg);
	close(fd);
out:
	if (r < 0)
		polo_hooks_free(out);
	return r;
}

void polo_hooks_free(struct polo_hooklist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
