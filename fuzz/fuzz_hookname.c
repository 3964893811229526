/* Hook names: polo_hook_skip_reason and polo_hook_mode on any bytes,
 * taken as a NUL-terminated name (the input up to its first NUL). A name
 * that is not skipped is 1..NAME_MAX bytes of [A-Za-z0-9_.-], does not
 * start with '.', is no package or editor leftover; its mode is W or D
 * exactly for ^[0-9]+W- and ^[0-9]+D-, and batch otherwise. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hookdir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int name_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
}

/* Package and editor leftovers (README, "hook names"). */
static const char *const leftovers[] = {
	".dpkg-old", ".dpkg-new", ".dpkg-dist", ".dpkg-tmp", ".rpmsave",
	".rpmnew", ".rpmorig", ".swp", ".bak", ".orig",
};

/* The mode by its documented rule, written independently. */
static enum polo_mode expected_mode(const char *s)
{
	size_t d = strspn(s, "0123456789");

	if (d == 0 || s[d] == '\0' || s[d + 1] != '-')
		return POLO_MODE_BATCH;
	return s[d] == 'W' ? POLO_MODE_WAIT :
	       s[d] == 'D' ? POLO_MODE_DETACH : POLO_MODE_BATCH;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = malloc(size + 1);
	const char *why;
	enum polo_mode m;
	size_t n, i;

	if (name == NULL)
		return 0;
	memcpy(name, data, size);
	name[size] = '\0';
	n = strlen(name);

	why = polo_hook_skip_reason(name);
	m = polo_hook_mode(name);
	if (m != expected_mode(name))
		abort();
	if (polo_mode_letter(m) != (m == POLO_MODE_WAIT ? 'W' :
				    m == POLO_MODE_DETACH ? 'D' : 'B'))
		abort();
	if (why == NULL) {
		if (n == 0 || n > NAME_MAX || name[0] == '.')
			abort();
		for (i = 0; i < n; i++)
			if (!name_char(name[i]))
				abort();
		for (i = 0; i < sizeof leftovers / sizeof *leftovers; i++) {
			size_t l = strlen(leftovers[i]);

			if (n >= l && strcmp(name + n - l, leftovers[i]) == 0)
				abort();
		}
		if (strstr(name, ".ucf-") != NULL)
			abort();
	} else if (why[0] == '\0') {
		abort();
	}
	free(name);
	return 0;
}
