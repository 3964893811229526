/* A minimal TAP producer for compiled tests run by prove. Header-only: each
 * test program includes it once. */
#ifndef POLO_TAP_H
#define POLO_TAP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static void tap_ok(int cond, const char *file, int line, const char *name)
{
	tap_n++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, name);
	if (!cond) {
		tap_failed++;
		printf("#   Failed test at %s line %d\n", file, line);
	}
	fflush(stdout);
}

#define ok(cond, name) tap_ok(!!(cond), __FILE__, __LINE__, (name))
#define is_int(got, want, name) do {					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	tap_ok(g_ == w_, __FILE__, __LINE__, (name));			\
	if (g_ != w_)							\
		printf("#   got %lld, expected %lld\n", g_, w_);	\
} while (0)
#define is_str(got, want, name) do {					\
	const char *g_ = (got), *w_ = (want);				\
	int c_ = g_ && w_ ? strcmp(g_, w_) == 0 : g_ == w_;		\
	tap_ok(c_, __FILE__, __LINE__, (name));				\
	if (!c_)							\
		printf("#   got '%s', expected '%s'\n",		\
		       g_ ? g_ : "(null)", w_ ? w_ : "(null)");		\
} while (0)
#define like(hay, needle, name) do {					\
	const char *h_ = (hay), *n_ = (needle);				\
	int c_ = h_ && strstr(h_, n_) != NULL;				\
	tap_ok(c_, __FILE__, __LINE__, (name));				\
	if (!c_)							\
		printf("#   '%s' does not contain '%s'\n",		\
		       h_ ? h_ : "(null)", n_);				\
} while (0)

/* Count n tests as skipped. */
__attribute__((unused))
static void skip(int n, const char *why)
{
	while (n-- > 0)
		printf("ok %d # SKIP %s\n", ++tap_n, why);
}

/* Test setup failures are not test results: stop loudly. */
__attribute__((unused))
static void must(int cond, const char *what)
{
	if (!cond) {
		printf("Bail out! %s: %s\n", what, strerror(errno));
		exit(2);
	}
}

static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
