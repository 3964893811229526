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
 *  - nodes are asked in parallel, one child process per node, at most
 *    WAVE_MAX at once; every connect, handshake, write and read has a
 *    CLOCK_MONOTONIC deadline, and the parent kills (SIGKILL) and reaps,
 *    by exact pid, every child still running at the wave's deadline: a
 *    silent node costs at most its deadline;
 *  - a missing certificate, a bad config or an unknown user is an error
 *    return, never abort(); every socket and pipe is closed on every path
 *    and opened O_CLOEXEC;
 *  - the server certificate must chain to the cluster CA and (verify_name)
 *    carry the address we connected to; with TLS 1.3 a server may refuse
 *    our certificate after our handshake succeeded, so only a reply that
 *    parses as {"OK": 0} counts as success;
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
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "cluster.h"
#include "conf.h"
#include "log.h"
#include "mk.h"
#include "priv.h"
#include "proto.h"
#include "tls.h"
#include "util.h"

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

/* ---- one node, in a child ---- */

static int wait_writable(int fd, unsigned long deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	unsigned long now, left;
	int r;

	for (;;) {
		now = polo_now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		left = deadline - now;
		r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* A connected non-blocking socket, or -1 with the reason in why. */
static int tcp_connect(const char *addr, unsigned long port,
		       unsigned long deadline, unsigned long ms, char *why)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(int), salen;
	int fd, r = 0, soerr = 0;

	if (polo_sockaddr(addr, port, &ss, &salen) < 0) {
		mk_say(why, "not an IP address");
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		mk_say(why, "socket: %s", strerror(errno));
		return -1;
	}
	polo_tcp_nodelay(fd);
	if (connect(fd, (const struct sockaddr *)&ss, salen) < 0) {
		r = errno == EINPROGRESS ? wait_writable(fd, deadline) : -errno;
		if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
					 &sl) < 0)
			r = -errno;
		else if (r == 0)
			r = -soerr;
	}
	if (r == 0)
		return fd;
	if (r == -ETIMEDOUT)
		mk_say(why, "connect timed out after %lu ms", ms);
	else
		mk_say(why, "connect: %s", strerror(-r));
	close(fd);
	return -1;
}

/* The TLS exchange on a connected socket: 0, or -1 with why. */
static int tls_ask(const struct mk *m, SSL *ssl, unsigned long t0,
		   unsigned long cms, struct result *res)
{
	const struct polo_cluster_conf *cl = &m->conf.cl;
	unsigned long rdl = t0 + cl->request_ms;
	char buf[POLO_REQ_MAX + 1];
	int r;

	if (polo_tls_expect_peer(ssl, res->addr, cl->verify_name) < 0) {
		mk_say(res->why, "cannot set the expected peer name");
		return -1;
	}
	r = polo_tls_handshake(ssl, false, t0 + cms, res->why, WHY_MAX);
	if (r == -ETIMEDOUT)
		mk_say(res->why, "handshake timed out after %lu ms", cms);
	if (r < 0)
		return -1;
	res->verified = 1;	/* a cluster node, whatever it answers */
	r = polo_tls_write_all(ssl, m->req, m->reqlen, rdl, res->why, WHY_MAX);
	if (r >= 0)	/* TLS 1.3: a refused client certificate shows here */
		r = polo_tls_read_msg(ssl, buf, POLO_REQ_MAX, rdl, res->why,
				      WHY_MAX);
	if (r == -ETIMEDOUT)
		mk_say(res->why, "no reply within %lu ms", cl->request_ms);
	if (r == 0)
		mk_say(res->why, "connection closed without a reply");
	if (r <= 0)
		return -1;
	return polo_home_reply_parse(buf, (size_t)r, res->status,
				     sizeof res->status, res->why,
				     WHY_MAX) == 0 ? 0 : -1;
}

static void ask_node(const struct mk *m, unsigned long t0, struct result *res)
{
	const struct polo_cluster_conf *cl = &m->conf.cl;
	unsigned long cms = cl->connect_ms < cl->request_ms ? cl->connect_ms :
			    cl->request_ms;
	SSL *ssl = NULL;
	int fd;

	fd = tcp_connect(res->addr, cl->hookd_port, t0 + cms, cms, res->why);
	if (fd < 0)
		return;
	ssl = SSL_new(m->ctx);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1)
		mk_say(res->why, "cannot set up TLS for the connection");
	else if (tls_ask(m, ssl, t0, cms, res) == 0)
		res->ok = 1;
	SSL_free(ssl);	/* the socket BIO does not own fd */
	close(fd);
}

static void write_all_fd(int fd, const void *p, size_t len)
{
	const char *b = p;
	ssize_t n;

	while (len > 0) {
		n = write(fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* the parent reports "no result" */
		b += n;
		len -= (size_t)n;
	}
}

static void mk_free(struct mk *m)
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

/* The child's whole life: never returns, never runs atexit handlers or
 * flushes stdio buffers it shares with the parent. */
static void child_main(struct mk *m, struct child *ch, size_t k,
		       unsigned long t0, int wfd)
{
	struct result res;
	size_t i;

	for (i = 0; i <= k; i++)	/* siblings' read ends, and ours */
		if (ch[i].fd >= 0)
			close(ch[i].fd);
	memset(&res, 0, sizeof res);
	memcpy(res.addr, ch[k].res.addr, sizeof res.addr);
	/* what talks TLS to a node (any address that answered discovery)
	 * is not root: the key and certificates are loaded already */
	if (m->drop && polo_drop_privileges(m->uid, m->gid, "polo-mkhome "
					    "child", &m->lg) < 0)
		mk_say(res.why, "cannot drop privileges to [hookd] user");
	else
		ask_node(m, t0, &res);
	write_all_fd(wfd, &res, sizeof res);
	close(wfd);
	mk_free(m);
	_exit(0);
}

/* ---- the parent: waves of children ---- */

static void spawn(struct mk *m, struct child *ch, size_t k, unsigned long t0)
{
	int p[2];

	ch[k].pid = -1;
	ch[k].fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		mk_say(ch[k].res.why, "pipe: %s", strerror(errno));
		return;
	}
	ch[k].fd = p[0];
	ch[k].pid = fork();
	if (ch[k].pid == 0)
		child_main(m, ch, k, t0, p[1]);
	close(p[1]);
	if (ch[k].pid < 0) {
		mk_say(ch[k].res.why, "fork: %s", strerror(errno));
		close(p[0]);
		ch[k].fd = -1;
	}
}

/* Take what one child wrote; its fd is closed at EOF or on an error. */
static void take(struct child *c)
{
	char *dst = (char *)&c->res;
	ssize_t n;

	do
		n = read(c->fd, dst + c->got, sizeof c->res - c->got);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		c->got += (size_t)n;
	if (n <= 0 || c->got == sizeof c->res) {
		close(c->fd);
		c->fd = -1;
	}
}

/* Read results until every pipe is done or the deadline passes. */
static void collect(struct child *ch, size_t n, unsigned long deadline)
{
	struct pollfd p[WAVE_MAX];
	size_t i, np, idx[WAVE_MAX];
	unsigned long now;
	int r;

	for (;;) {
		for (i = np = 0; i < n; i++)
			if (ch[i].fd >= 0) {
				p[np] = (struct pollfd){ .fd = ch[i].fd,
							 .events = POLLIN };
				idx[np++] = i;
			}
		now = polo_now_ms();
		if (np == 0 || now >= deadline)
			break;
		r = poll(p, np, (int)(deadline - now > INT_MAX ? INT_MAX :
				      deadline - now));
		if (r < 0 && errno != EINTR)
			break;
		for (i = 0; r > 0 && i < np; i++)
			if (p[i].revents)
				take(&ch[idx[i]]);
	}
	for (i = 0; i < n; i++)
		if (ch[i].fd >= 0) {
			close(ch[i].fd);
			ch[i].fd = -1;
		}
}

static pid_t waitpid_eintr(pid_t pid, int *st, int flags)
{
	pid_t r;

	do
		r = waitpid(pid, st, flags);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Kill what still runs, reap every child by its pid, and settle each
 * node's result. */
static void reap(struct child *ch, size_t n, unsigned long ms)
{
	bool killed;
	size_t i;
	int st = 0;

	for (i = 0; i < n; i++) {
		if (ch[i].pid <= 0)
			continue;
		killed = false;
		if (waitpid_eintr(ch[i].pid, &st, WNOHANG) == 0) {
			(void)kill(ch[i].pid, SIGKILL);
			(void)waitpid_eintr(ch[i].pid, &st, 0);
			killed = true;
		}
		if (ch[i].got == sizeof ch[i].res)
			continue;
		ch[i].res.ok = 0;
		ch[i].res.verified = 0;
		if (killed)
			mk_say(ch[i].res.why, "no answer within %lu ms", ms);
		else if (WIFSIGNALED(st))
			mk_say(ch[i].res.why, "no result (signal %d)",
			    WTERMSIG(st));
		else
			mk_say(ch[i].res.why, "no result");
	}
}

/* idx: n target indices */
static void ask_wave(struct mk *m, const size_t *idx, size_t n)
{
	struct child ch[WAVE_MAX];
	unsigned long t0 = polo_now_ms(), ms = m->conf.cl.request_ms;
	size_t k;

	memset(ch, 0, sizeof ch);
	(void)fflush(stdout);	/* a child must not inherit pending output */
	(void)fflush(stderr);
	for (k = 0; k < n; k++) {
		mk_set_addr(&m->targets, idx[k], ch[k].res.addr);
		spawn(m, ch, k, t0);
	}
	collect(ch, n, t0 + ms + WAVE_MARGIN_MS);
	reap(ch, n, ms);
	for (k = 0; k < n; k++) {
		/* the address is ours, whatever the child wrote */
		mk_set_addr(&m->targets, idx[k], ch[k].res.addr);
		mk_clean(ch[k].res.status, sizeof ch[k].res.status);
		mk_clean(ch[k].res.why, sizeof ch[k].res.why);
		ch[k].res.ok = ch[k].res.ok == 1;
		ch[k].res.verified = ch[k].res.verified == 1;
		m->res[idx[k]] = ch[k].res;
	}
}

/* Waves of at most WAVE_MAX, the static and last-seen nodes first: a
 * flood of addresses that only answered discovery cannot push the known
 * nodes behind the hook's deadline. */
static int ask_all(struct mk *m)
{
	size_t *order = calloc(m->targets.n ? m->targets.n : 1, sizeof *order);
	size_t i, o = 0, n;
	int pass;

	if (order == NULL)
		return -ENOMEM;
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < m->targets.n; i++)
			if (mk_set_has(&m->known, &m->targets.v[i]) == (pass == 0))
				order[o++] = i;
	for (i = 0; i < o; i += n) {
		n = o - i < WAVE_MAX ? o - i : WAVE_MAX;
		ask_wave(m, order + i, n);
	}
	free(order);
	return 0;
}

/* One line per node, in address order. true if all succeeded. */
static bool report(const struct mk *m)
{
	const struct result *r;
	bool all = m->targets.n > 0;
	size_t i;

	if (m->targets.n == 0)
		printf("no node to ask: none answered discovery, and no "
		       "static, SRV or last-seen node is known\n");
	for (i = 0; i < m->targets.n; i++) {
		r = &m->res[i];
		if (r->ok)
			printf("%s: %s\n", r->addr,
			       r->status[0] ? r->status : "ok");
		else
			printf("%s: failed: %s\n", r->addr,
			       r->why[0] ? r->why : "unknown error");
		all = all && r->ok;
	}
	return fflush(stdout) == 0 && all;
}

/* ---- main ---- */

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
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	errno = 0;
	pw = getpwnam(m->conf.cl.user);
	if (pw == NULL || pw->pw_uid == 0 || pw->pw_gid == 0) {
		polo_log(&m->lg, LOG_ERR, "[hookd] user %s: %s", m->conf.cl.user,
			 pw == NULL ? "no such user" : "has uid or gid 0");
		return -1;
	}
	m->drop = true;
	m->uid = pw->pw_uid;
	m->gid = pw->pw_gid;
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
	if (ask_all(m) < 0)
		return EXIT_FAIL;
	mk_remember(m);
	return report(m) ? 0 : EXIT_FAIL;
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
