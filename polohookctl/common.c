/*
 * What several polohookctl commands share: the output helpers (clean
 * strings, the log sink, the JSON of sessions and discover) and the
 * config (its path, loading it, and whether it is fit to act on).
 *
 * Rules this file keeps:
 *  - a config file with errors stops sessions and gc: a statedir or
 *    tmphome line that was rejected would make gc look in the wrong place.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>

#include "conf.h"
#include "ctl.h"
#include "env.h"
#include "util.h"

/* ---- output ---- */

/* Copy src as printable ASCII (anything else becomes '?'), at most cap
 * characters; a cut string ends in '~'. */
void ctl_clean(char *dst, size_t len, const char *src, size_t cap)
{
	size_t n = 0;

	if (cap >= len)
		cap = len - 1;
	for (; *src && n < cap; src++, n++) {
		unsigned char ch = (unsigned char)*src;

		dst[n] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (*src && n > 0)
		dst[n - 1] = '~';
	dst[n] = '\0';
}

void ctl_emit(void *ctx, int prio, const char *msg)
{
	struct ctl *x = ctx;
	struct sink *k = &x->sink;
	char line[HELD_LEN];

	ctl_clean(line, sizeof line, msg, sizeof line - 1);
	if (x->to_syslog)
		syslog(prio, "%s", line);
	if (!k->hold) {
		fprintf(stderr, "polohookctl: %s: %s\n", polo_log_level(prio),
			line);
		return;
	}
	if (prio > LOG_WARNING)
		return;		/* held lines are problems only */
	if (k->held < HELD_MAX)
		memcpy(k->lines[k->held++], line, sizeof line);
	else
		k->dropped++;
}

/* ---- JSON (sessions --json, discover --json) ---- */

/* A JSON string of s; jansson wants UTF-8, so anything else is cleaned. */
json_t *ctl_json_text(const char *s)
{
	char buf[POLO_ITEM_MAX + 1];
	json_t *j = json_string(s);

	if (j == NULL) {
		ctl_clean(buf, sizeof buf, s, sizeof buf - 1);
		j = json_string(buf);
	}
	return j;
}

int ctl_json_put(json_t *o, const char *key, json_t *val)
{
	return val == NULL ? -1 : json_object_set_new(o, key, val);
}

/* Print the array a (r: 0 if it was built whole) to stdout and free it. */
int ctl_dump_json(json_t *a, int r, size_t flags)
{
	if (r == 0)
		r = json_dumpf(a, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
			       flags);
	if (r == 0)
		putchar('\n');
	json_decref(a);
	if (r < 0)
		fprintf(stderr, "polohookctl: error: cannot build the JSON "
			"output\n");
	return r;
}

/* ---- config ---- */

/* -c may be relative: the trusted walk wants an absolute path. */
int ctl_absolute(const char *path, char *out, size_t len)
{
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/')
		return polo_strlcpy(out, path, len);
	if (getcwd(cwd, sizeof cwd) == NULL)
		return -errno;
	n = snprintf(out, len, "%s/%s", strcmp(cwd, "/") ? cwd : "", path);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void ctl_load_conf(struct ctl *x)
{
	polo_conf_defaults(&x->conf);
	x->conf_r = polo_conf_load(&x->conf, x->confpath, &x->lg);
}

/* Are the settings fit to act on? For sessions and gc. */
bool ctl_conf_usable(const struct ctl *x)
{
	char path[256];

	ctl_clean(path, sizeof path, x->confpath, 200);
	if (x->conf_r == 0 || (x->conf_r == -ENOENT && !x->conf_given))
		return true;
	if (x->conf_r == -ENOENT)
		fprintf(stderr, "polohookctl: error: config %s: %s\n", path,
			strerror(ENOENT));
	else
		fprintf(stderr, "polohookctl: error: config %s is not usable; "
			"'polohookctl check' lists its problems\n", path);
	return false;
}
