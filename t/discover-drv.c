/* Driver for t/15-discover.t: both sides of lib/discover.c from the shell.
 *
 *   discover-drv listen HOSTNAME SERVICE [IFACE]
 *	answer discovery until SIGTERM or 60 s (bounded); "listening" on
 *	stderr once the socket is ready, every log line (debug included)
 *	on stderr.
 *   discover-drv ask SERVICE IDLE_MS MAX_MS [IFACE|-] [EXPECT...]
 *	one discovery: each address on its own line, then "done N".
 *
 * Exit status 0, 1 on an error, 2 on bad usage. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "discover.h"
#include "util.h"

#define LISTEN_MAX_S 60

static void emit(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "<%d>%s\n", prio, msg);
}

static const struct polo_log lg = { .emit = emit, .debug = true };

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(void)
{
	fputs("usage: discover-drv listen HOSTNAME SERVICE [IFACE]\n"
	      "       discover-drv ask SERVICE IDLE_MS MAX_MS [IFACE|-] "
	      "[EXPECT...]\n", stderr);
	return 2;
}

static int set_iface(struct polo_disc_conf *c, const char *iface)
{
	if (iface == NULL || strcmp(iface, "-") == 0)
		return 0;
	return polo_strlcpy(c->iface, iface, sizeof c->iface);
}

/* SIGTERM is blocked except inside ppoll, so it cannot slip in between
 * the check of `stop` and the wait. */
static int serve(int fd, const char *hostname, const char *service)
{
	const char *const services[] = { service };
	struct sigaction sa = { .sa_handler = on_term };
	struct timespec end, now, ts;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	sigset_t block, empty;
	int r;

	sigemptyset(&block);
	sigemptyset(&empty);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGTERM, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += LISTEN_MAX_S;
	fprintf(stderr, "listening\n");
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (stop || now.tv_sec >= end.tv_sec)
			return 0;
		ts.tv_sec = 1;
		ts.tv_nsec = 0;
		if (ppoll(&p, 1, &ts, &empty) < 0) {
			if (errno != EINTR)
				return -errno;
			continue;
		}
		do
			r = polo_disc_answer(fd, hostname, services, 1, &lg);
		while (r == 0);
		if (r != -EAGAIN)
			return r;
	}
}

static int listen_main(int argc, char **argv)
{
	struct polo_disc_conf c;
	int fd, r;

	if (argc < 4 || argc > 5)
		return usage();
	polo_disc_defaults(&c);
	if (set_iface(&c, argc == 5 ? argv[4] : NULL) < 0)
		return usage();
	fd = polo_disc_listen(&c, &lg);
	if (fd < 0)
		return 1;
	r = serve(fd, argv[2], argv[3]);
	if (r < 0)
		fprintf(stderr, "serve: %s\n", strerror(-r));
	return r < 0;
}

static int ask_main(int argc, char **argv)
{
	struct polo_disc_conf c;
	struct polo_node *nodes;
	unsigned long idle, max;
	size_t n, i;

	if (argc < 5)
		return usage();
	polo_disc_defaults(&c);
	if (polo_parse_uint(argv[3], 0, 3600000, &idle) < 0 ||
	    polo_parse_uint(argv[4], 0, 3600000, &max) < 0 ||
	    set_iface(&c, argc > 5 ? argv[5] : NULL) < 0)
		return usage();
	c.idle_ms = idle;
	c.max_ms = max;
	if (polo_discover(&c, argv[2], argc > 6 ? argv + 6 : NULL,
			  argc > 6 ? (size_t)(argc - 6) : 0, &nodes, &n,
			  &lg) < 0)
		return 1;
	for (i = 0; i < n; i++)
		printf("%s\n", nodes[i].addr);
	printf("done %zu\n", n);
	free(nodes);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "listen") == 0)
		return listen_main(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "ask") == 0)
		return ask_main(argc, argv);
	return usage();
}
