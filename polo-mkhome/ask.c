/*
 * polo-mkhome: the TLS fan-out. One child process per node asks that
 * node for the home over mutually authenticated TLS and writes its
 * result, one fixed-size struct result, to a pipe; the parent runs
 * them in waves (mk_ask_all), collects the results, kills and reaps
 * the children, and prints one line per node (mk_report).
 *
 * Rules this file keeps (PROTOCOL.md: what the original client did wrong):
 *  - nodes are asked in parallel, one child process per node, at most
 *    WAVE_MAX at once; every connect, handshake, write and read has a
 *    CLOCK_MONOTONIC deadline, and the parent kills (SIGKILL) and reaps,
 *    by exact pid, every child still running at the wave's deadline: a
 *    silent node costs at most its deadline;
 *  - every socket and pipe is closed on every path and opened O_CLOEXEC;
 *  - as root, a child drops to [hookd] user before it talks to a node;
 *  - the server certificate must chain to the cluster CA and (verify_name)
 *    carry the address we connected to; with TLS 1.3 a server may refuse
 *    our certificate after our handshake succeeded, so only a reply that
 *    parses as {"OK": 0} counts as success;
 *  - what a node or a child says is printed cleaned and capped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "mk.h"
#include "priv.h"
#include "proto.h"
#include "tls.h"
#include "util.h"

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
		st = 0;		/* not the previous child's, if waitpid fails */
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
int mk_ask_all(struct mk *m)
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
bool mk_report(const struct mk *m)
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
