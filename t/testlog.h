/* Shared by the compiled tests: a struct polo_log that captures every
 * message as "<prio>text\n" (so a test can look for one exactly), and a
 * printf into rotating buffers for building expected strings. */
#ifndef POLO_TESTLOG_H
#define POLO_TESTLOG_H

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

struct cap {
	char buf[256 * 1024];	/* a hook's whole logged output budget fits */
	size_t len;
	int n;
};

static void cap_emit(void *ctx, int prio, const char *msg)
{
	struct cap *cp = ctx;
	int w = snprintf(cp->buf + cp->len, sizeof cp->buf - cp->len,
			 "<%d>%s\n", prio, msg);

	if (w > 0 && (size_t)w < sizeof cp->buf - cp->len)
		cp->len += (size_t)w;
	cp->n++;
}

static struct cap cap;
static struct polo_log lg = { .emit = cap_emit, .ctx = &cap };

static void cap_reset(void)
{
	cap.buf[0] = '\0';
	cap.len = 0;
	cap.n = 0;
	lg.debug = false;
	lg.quiet = false;
}

static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *f, ...)
{
	static char bufs[8][8192];
	static int i;
	char *b = bufs[i++ % 8];
	va_list ap;

	va_start(ap, f);
	vsnprintf(b, sizeof bufs[0], f, ap);
	va_end(ap);
	return b;
}

/* For nftw(..., FTW_DEPTH | FTW_PHYS): remove a temporary test tree. */
__attribute__((unused))
static int rm_one(const char *path, const struct stat *st, int type,
		  struct FTW *f)
{
	(void)st;
	(void)f;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

#endif
