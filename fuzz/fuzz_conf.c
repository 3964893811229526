/* The INI config parser (polo_conf_load) on any file content. The input
 * is written to a file owned by the running user, 0600, in a private 0700
 * directory under /tmp (the trusted walk accepts a root-owned sticky
 * /tmp), then loaded over the defaults. Checks:
 * - it never crashes and never leaves a string field unterminated;
 * - 0 means nothing was logged at LOG_ERR and c.bad stays false;
 * - -EINVAL means c.bad is set and every rejection was logged as
 *   "FILE:LINE: reason" with 1 <= LINE <= the number of lines, and at
 *   least one such line exists (no line is refused silently);
 * - nothing else is returned for a safe, readable file. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/polo-fuzz-conf-XXXXXX";
static char path[sizeof dir + 16];

struct capture {
	unsigned errors;	/* LOG_ERR lines */
	unsigned bad_lines;	/* LOG_ERR lines not in FILE:LINE form */
	long max_line;		/* the largest LINE seen */
	long min_line;
};

static void emit(void *ctx, int prio, const char *msg)
{
	struct capture *cap = ctx;
	size_t pl = strlen(path);
	char *end;
	long line;

	if (prio != LOG_ERR)
		return;
	cap->errors++;
	if (strncmp(msg, path, pl) != 0 || msg[pl] != ':') {
		cap->bad_lines++;
		return;
	}
	line = strtol(msg + pl + 1, &end, 10);
	if (end == msg + pl + 1 || *end != ':') {
		cap->bad_lines++;
		return;
	}
	if (line > cap->max_line)
		cap->max_line = line;
	if (cap->min_line == 0 || line < cap->min_line)
		cap->min_line = line;
}

static void cleanup(void)
{
	(void)unlink(path);
	(void)rmdir(dir);
}

static void setup(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	(void)snprintf(path, sizeof path, "%s/conf", dir);
	atexit(cleanup);
}

static void terminated(const char *s, size_t n)
{
	if (memchr(s, '\0', n) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct capture cap = { 0 };
	struct polo_log lg = { .emit = emit, .ctx = &cap, .debug = true };
	struct polo_conf c;
	long lines = 0;
	size_t i;
	int fd, r;

	if (dir[sizeof dir - 2] == 'X')
		setup();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size)) {
		perror(path);
		abort();
	}
	close(fd);
	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			lines++;
	if (size && data[size - 1] != '\n')
		lines++;	/* the last line has no newline */

	polo_conf_defaults(&c);
	r = polo_conf_load(&c, path, &lg);
	terminated(c.conf, sizeof c.conf);
	terminated(c.hookdir, sizeof c.hookdir);
	terminated(c.statedir, sizeof c.statedir);
	terminated(c.tmphome, sizeof c.tmphome);
	terminated(c.skel, sizeof c.skel);
	terminated(c.optin, sizeof c.optin);
	terminated(c.runner, sizeof c.runner);
	terminated(c.cl.group, sizeof c.cl.group);
	terminated(c.cl.interface, sizeof c.cl.interface);
	terminated(c.cl.nodes_state, sizeof c.cl.nodes_state);
	terminated(c.cl.ca, sizeof c.cl.ca);
	terminated(c.cl.cert, sizeof c.cl.cert);
	terminated(c.cl.key, sizeof c.cl.key);
	terminated(c.cl.user, sizeof c.cl.user);
	if (c.cl.nnodes > POLO_MAX_NODES)
		abort();
	for (i = 0; i < c.cl.nnodes; i++)
		terminated(c.cl.nodes[i], sizeof c.cl.nodes[i]);

	if (r == 0) {
		if (cap.errors != 0 || c.bad)
			abort();
	} else if (r == -EINVAL) {
		if (!c.bad || cap.errors == 0 || cap.bad_lines != 0 ||
		    cap.min_line < 1 || cap.max_line > lines)
			abort();
	} else {
		fprintf(stderr, "polo_conf_load: unexpected %d\n", r);
		abort();
	}
	return 0;
}
