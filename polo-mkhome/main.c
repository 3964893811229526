/*
 * polo-mkhome: the built-in W hook that makes the user's home exist on
 * every node of the cluster at login (DESIGN.md, "The cluster").
 *
 *   polo-mkhome [-c CONFIG] [-d] [session_added|session_removed]
 *
 * Installed as /etc/session.d/added/10W-polo-mkhome. It finds the nodes
 * (MarcoPolo discovery for "polousers" over IPv4, and over IPv6 with
 * [discovery] ipv6, plus the static [discovery] nodes, the targets of the
 * [discovery] srv DNS name and the last-seen set), asks all of them in
 * parallel, over mutually
 * authenticated TLS, to create the user's home, and prints one line per
 * node. Exit status 0 only if every node asked succeeded, 1 otherwise,
 * 2 on bad usage.
 *
 * This file: the arguments, the config, the run in order (run()),
 * and the logging and text helpers the other files share; mk.h
 * says which file holds what.
 *
 * Rules this file keeps (PROTOCOL.md: what the original client did wrong):
 *  - a missing certificate, a bad config or an unknown user is an error
 *    return, never abort();
 *  - text from the network or from files is printed cleaned and capped
 *    (mk_clean);
 *  - no global mutable state: main owns struct mk.
 *
 * Logging: the per-node results go to stdout, one line each; the module
 * relays a W hook's stdout to syslog (LOG_AUTHPRIV, tagged with the hook's
 * name), so they are logged exactly once. Diagnostics (config, TLS setup,
 * discovery, the last-seen file) go to syslog directly, as "polo-mkhome"
 * with their own priority, and also to stderr only when stderr is a
 * terminal (an administrator running it by hand); under the module stderr
 * is a pipe to syslog, and writing there would log them twice.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "cluster.h"
#include "conf.h"
#include "log.h"
#include "mk.h"

/* ---- logging and text ---- */

static void emit(void *ctx, int prio, const char *msg)
{
	const struct mk *m = ctx;

	syslog(prio, "%s", msg);
	if (m->tty)
		fprintf(stderr, "polo-mkhome: %s\n", msg);
}

/* Printable ASCII only, NUL-terminated within len: text from a peer or a
 * child never reaches a log line as it came. */
void mk_clean(char *s, size_t len)
{
	size_t i;

	s[len - 1] = '\0';
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			s[i] = '?';
}

void mk_say(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, WHY_MAX, fmt, ap);	/* truncation is fine */
	va_end(ap);
}

/* ---- main ---- */

void mk_free(struct mk *m)
{
	SSL_CTX_free(m->ctx);
	m->ctx = NULL;
	free(m->targets.v);
	m->targets.v = NULL;
	free(m->res);
	m->res = NULL;
	free(m->known.v);
	m->known.v = NULL;
}

static int usage(void)
{
	fputs("usage: polo-mkhome [-c CONFIG] [-d] "
	      "[session_added|session_removed]\n", stderr);
	return EXIT_USAGE;
}

/* -1 on usage errors, 1 for "nothing to do", else 0. */
static int parse_args(int argc, char **argv, const char **conf, bool *given,
		      bool *debug)
{
	int o;

	while ((o = getopt(argc, argv, "c:d")) != -1) {
		if (o == 'c' && optarg[0] == '/') {
			*conf = optarg;
			*given = true;
		} else if (o == 'd') {
			*debug = true;
		} else {
			return -1;
		}
	}
	if (argc - optind > 1)
		return -1;
	if (argc - optind == 0 || strcmp(argv[optind], "session_added") == 0)
		return 0;
	return strcmp(argv[optind], "session_removed") == 0 ? 1 : -1;
}

static int load_conf(struct mk *m, const char *path, bool given)
{
	int r;

	polo_conf_defaults(&m->conf);
	r = polo_conf_load(&m->conf, path, &m->lg);
	if (r == -ENOENT && !given)
		return 0;	/* the default file may be missing */
	if (r == -ENOENT)
		polo_log(&m->lg, LOG_ERR, "config %.300s: missing", path);
	else if (r < 0)
		polo_log(&m->lg, LOG_ERR, "config %.300s: not used", path);
	return r;
}

/* As root, the per-node children drop to [hookd] user (as hookd's own
 * network side does): resolved here, before any fork. */
static int child_user(struct mk *m)
{
	int r;

	if (geteuid() != 0)
		return 0;
	r = polo_cluster_user(&m->conf.cl, &m->uid, &m->gid);
	if (r < 0) {
		polo_log(&m->lg, LOG_ERR, "[hookd] user %s: %s", m->conf.cl.user,
			 r == -ENOENT ? "no such user" : r == -EPERM ?
			 "has uid or gid 0" : strerror(-r));
		return -1;
	}
	m->drop = true;
	return 0;
}

static int run(struct mk *m, const char *confpath, bool given, bool debug)
{
	int r;

	if (load_conf(m, confpath, given) < 0)
		return EXIT_FAIL;
	m->lg.debug = debug || m->conf.debug;
	r = mk_user_request(m);
	if (r != 0)
		return r > 0 ? 0 : EXIT_FAIL;
	/* installed by default as added/10W-polo-mkhome: on a machine that
	 * is not part of a cluster (no node certificate) that is no error,
	 * and nothing to fill the auth log with at every login */
	if (access(m->conf.cl.cert, F_OK) < 0 && errno == ENOENT) {
		polo_log(&m->lg, LOG_DEBUG, "not part of a cluster (no %.300s): "
			 "nothing to do", m->conf.cl.cert);
		return 0;
	}
	m->ctx = polo_cluster_client_ctx(&m->conf.cl, &m->lg);
	if (m->ctx == NULL || child_user(m) < 0 || mk_set_init(&m->targets) < 0 ||
	    mk_find_nodes(m) < 0)
		return EXIT_FAIL;
	m->res = calloc(m->targets.n ? m->targets.n : 1, sizeof *m->res);
	if (m->res == NULL)
		return EXIT_FAIL;
	if (mk_ask_all(m) < 0)
		return EXIT_FAIL;
	mk_remember(m);
	return mk_report(m) ? 0 : EXIT_FAIL;
}

int main(int argc, char **argv)
{
	struct mk m;
	const char *confpath = POLO_DEFAULT_CONF;
	bool given = false, debug = false;
	int r;

	memset(&m, 0, sizeof m);
	r = parse_args(argc, argv, &confpath, &given, &debug);
	if (r < 0)
		return usage();
	if (r > 0)
		return 0;	/* session_removed: homes are never removed */
	umask(022);
	/* a peer that closes mid-write is an error return, not our death */
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGCHLD, SIG_DFL);
	openlog("polo-mkhome", LOG_PID, LOG_AUTHPRIV);
	m.tty = isatty(STDERR_FILENO) == 1;
	m.lg = (struct polo_log){ .emit = emit, .ctx = &m, .debug = debug };
	r = run(&m, confpath, given, debug);
	mk_free(&m);
	closelog();
	return r;
}
