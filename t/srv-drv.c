/* Driver for t/46-srv-dns.t: lib/srv.c from the shell.
 *
 *   srv-drv NAME TIMEOUT_MS [UID:GID]
 *	one SRV lookup (the child drops to UID:GID when given): each
 *	address on its own line, then "done N rc=R ms=T" (T: how long the
 *	call took); every log line (debug included) on stderr as <prio>text.
 *
 * Exit status 0, 2 on bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv.h"
#include "util.h"

static void emit(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "<%d>%s\n", prio, msg);
}

static const struct polo_log lg = { .emit = emit, .debug = true };

int main(int argc, char **argv)
{
	struct polo_srv_conf c = { .port = 1343 };
	struct polo_srv_addr *v = NULL;
	unsigned long ms, u, g, t0;
	size_t i, n = 0;
	char *colon;
	int r;

	if (argc < 3 || argc > 4 ||
	    polo_parse_uint(argv[2], 1, 600000, &ms) < 0) {
		fputs("usage: srv-drv NAME TIMEOUT_MS [UID:GID]\n", stderr);
		return 2;
	}
	c.name = argv[1];
	c.timeout_ms = ms;
	if (argc == 4) {
		colon = strchr(argv[3], ':');
		if (colon == NULL)
			return 2;
		*colon = '\0';
		if (polo_parse_uint(argv[3], 1, 4294967294UL, &u) < 0 ||
		    polo_parse_uint(colon + 1, 1, 4294967294UL, &g) < 0)
			return 2;
		c.drop = true;
		c.uid = (uid_t)u;
		c.gid = (gid_t)g;
	}
	t0 = polo_now_ms();
	r = polo_srv_resolve(&c, &v, &n, &lg);
	for (i = 0; i < n; i++)
		printf("%s\n", v[i].addr);
	printf("done %zu rc=%d ms=%lu\n", n, r, polo_now_ms() - t0);
	free(v);
	return 0;
}
