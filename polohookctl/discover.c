/*
 * polohookctl discover [--json]: the cluster nodes, as a table or as
 * JSON: the static, last-seen and SRV ones, and those that answer
 * discovery on the groups (lib/discover.c's rules), each with its
 * source, its round trip and a TLS handshake's verdict.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cluster.h"
#include "ctl.h"
#include "discover.h"
#include "log.h"
#include "proto.h"
#include "srv.h"
#include "tls.h"
#include "util.h"

#define DISC_MAX	1024	/* nodes listed, as lib/discover.c collects */
#define DISC_SERVICE	"polousers"

/* Where a node came from (any number of them). */
enum { SRC_STATIC = 1, SRC_MCAST = 2, SRC_SRV = 4, SRC_SEEN = 8 };
static const char *const src_names[] = { "static", "multicast", "srv",
					 "last-seen" };
#define NSRC	(sizeof src_names / sizeof src_names[0])

/* One node in the listing. */
struct dnode {
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr key;			/* IPv4 as ::ffff:a.b.c.d */
	unsigned src;				/* SRC_* */
	char host[POLO_HOSTNAME_MAX + 1];	/* "" = no Polo from it */
	uint64_t rtt_us;			/* send → OK */
	bool answered;
	char tls[160];				/* "verified" or the reason */
};

struct dlist {
	struct dnode *v;	/* DISC_MAX slots */
	size_t n;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* addr in its canonical form and as a sort key; false if no address. */
static bool addr_canon(const char *addr, char *out, struct in6_addr *key)
{
	struct in_addr a4;

	memset(key, 0, sizeof *key);
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		key->s6_addr[10] = key->s6_addr[11] = 0xff;
		memcpy(&key->s6_addr[12], &a4, 4);
		return inet_ntop(AF_INET, &a4, out, INET6_ADDRSTRLEN) != NULL;
	}
	return inet_pton(AF_INET6, addr, key) == 1 &&
	       inet_ntop(AF_INET6, key, out, INET6_ADDRSTRLEN) != NULL;
}

/* The node at addr, added (with src) when add and not there yet. */
static struct dnode *dl_find(struct dlist *l, const char *addr, bool add,
			     unsigned src)
{
	char c[INET6_ADDRSTRLEN];
	struct in6_addr key;
	size_t i;

	if (!addr_canon(addr, c, &key))
		return NULL;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].addr, c) == 0) {
			l->v[i].src |= add ? src : 0;
			return &l->v[i];
		}
	if (!add || l->n == DISC_MAX)
		return NULL;
	memcpy(l->v[l->n].addr, c, sizeof c);
	l->v[l->n].key = key;
	l->v[l->n].src = src;
	return &l->v[l->n++];
}

/* The UDP socket a requester sends from, as lib/discover.c makes it:
 * multicast TTL (hop limit) 2, loopback on (our own hookd answers), the
 * interface. */
static int disc_socket(const struct polo_disc_conf *dc, int af, char *why,
		       size_t whylen)
{
	int fd, ttl = 2, loop = 1, idx = 0, bad;
	struct ip_mreqn mr = { .imr_ifindex = 0 };

	if (dc->iface[0] != '\0' &&
	    (idx = (int)if_nametoindex(dc->iface)) == 0) {
		(void)snprintf(why, whylen, "interface %s: %s", dc->iface,
			       strerror(errno));
		return -1;
	}
	mr.imr_ifindex = idx;
	fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && af == AF_INET6)
		bad = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &loop,
				 sizeof loop) ||
		      setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl,
				 sizeof ttl) ||
		      setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop,
				 sizeof loop) ||
		      (idx > 0 && setsockopt(fd, IPPROTO_IPV6,
					     IPV6_MULTICAST_IF, &idx,
					     sizeof idx));
	else if (fd >= 0)
		bad = setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl,
				 sizeof ttl) ||
		      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop,
				 sizeof loop) ||
		      (idx > 0 && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF,
					     &mr, sizeof mr));
	else
		bad = 1;
	if (bad) {
		(void)snprintf(why, whylen, "socket: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Are all of the listed nodes (static ones, for Request-For; those that
 * answered it, for Marco) heard from? None listed: only idle/max end it. */
static bool all_heard(const struct dlist *l, bool marco)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (marco ? l->v[i].answered && l->v[i].host[0] == '\0' :
		    !l->v[i].answered)
			return false;
	return l->n > 0;
}

/* The sender's address; false for link-local IPv6 (no certificate names
 * it) and other families. */
static bool sender(const struct sockaddr_storage *ss, char *addr)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->
				 sin_addr, addr, INET6_ADDRSTRLEN) != NULL;
	return ss->ss_family == AF_INET6 &&
	       !IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) &&
	       inet_ntop(AF_INET6, &s6->sin6_addr, addr,
			 INET6_ADDRSTRLEN) != NULL;
}

/* One datagram, if any: true when it was the reply we wait for (which
 * restarts the idle gap). Oversized or unparsed datagrams are dropped. */
static bool take_dgram(int fd, struct dlist *l, bool marco, uint64_t t0)
{
	char buf[POLO_DGRAM_MAX], addr[INET6_ADDRSTRLEN], why[128];
	struct sockaddr_storage from;
	socklen_t fl = sizeof from;
	struct polo_disc_msg m;
	struct dnode *d;
	ssize_t r;

	r = recvfrom(fd, buf, sizeof buf, MSG_TRUNC, (struct sockaddr *)&from,
		     &fl);
	if (r < 0 || (size_t)r > sizeof buf ||
	    polo_disc_parse(buf, (size_t)r, &m, why, sizeof why) < 0 ||
	    m.cmd != (marco ? POLO_DISC_POLO : POLO_DISC_OK) ||
	    !sender(&from, addr))
		return false;
	/* Marco only names listed nodes */
	d = dl_find(l, addr, !marco, SRC_MCAST);
	if (d == NULL)
		return true;
	if (marco && d->host[0] == '\0')
		(void)polo_strlcpy(d->host, m.hostname, sizeof d->host);
	if (!marco && !d->answered) {
		d->answered = true;
		d->rtt_us = now_us() - t0;
	}
	return true;
}

/* Send Request-For polousers (or Marco) to the group of family af and
 * collect the replies, one datagram per turn, until every listed node was
 * heard, or nothing came for idle_ms, or max_ms passed (lib/discover.c's
 * rules). */
static int ask_group(const struct polo_disc_conf *dc, int af, bool marco,
		     struct dlist *l, char *why, size_t whylen)
{
	struct sockaddr_storage grp;
	socklen_t glen;
	struct polo_disc_msg m = { .cmd = marco ? POLO_DISC_MARCO :
				   POLO_DISC_REQUEST_FOR };
	struct pollfd p = { .events = POLLIN };
	const char *g = af == AF_INET6 ? dc->group6 : dc->group;
	char buf[POLO_DGRAM_MAX];
	uint64_t t0, idle, end, until, now;
	int len;

	memcpy(m.service, DISC_SERVICE, sizeof DISC_SERVICE);
	len = polo_disc_format(buf, sizeof buf, &m);
	if (len < 0 || polo_sockaddr(g, dc->port, &grp, &glen) < 0) {
		(void)snprintf(why, whylen, "bad group %s", g);
		return -1;
	}
	if (af == AF_INET6 && dc->iface[0] != '\0')
		((struct sockaddr_in6 *)&grp)->sin6_scope_id =
			if_nametoindex(dc->iface);
	p.fd = disc_socket(dc, af, why, whylen);
	if (p.fd < 0)
		return -1;
	t0 = now_us();
	if (sendto(p.fd, buf, (size_t)len, 0, (struct sockaddr *)&grp,
		   glen) < 0) {
		(void)snprintf(why, whylen, "send to %s%s%s:%u: %s",
			       af == AF_INET6 ? "[" : "", g,
			       af == AF_INET6 ? "]" : "", dc->port,
			       strerror(errno));
		close(p.fd);
		return -1;
	}
	end = t0 + (uint64_t)dc->max_ms * 1000;
	idle = t0 + (uint64_t)dc->idle_ms * 1000;
	while (!all_heard(l, marco)) {
		until = idle < end ? idle : end;
		now = now_us();
		if (now >= until)
			break;
		if (poll(&p, 1, (int)((until - now + 999) / 1000)) > 0 &&
		    take_dgram(p.fd, l, marco, t0))
			idle = now_us() + (uint64_t)dc->idle_ms * 1000;
	}
	close(p.fd);
	return 0;
}

/* A connected non-blocking TCP socket to addr:port by deadline, or -1
 * with the reason. */
static int tcp_to(const char *addr, unsigned long port, unsigned long dl,
		  char *why, size_t whylen)
{
	struct sockaddr_storage sa;
	socklen_t salen = sizeof sa;
	struct pollfd p = { .events = POLLOUT };
	socklen_t sl = sizeof(int);
	int e = 0, r;

	if (polo_sockaddr(addr, port, &sa, &salen) < 0) {
		(void)snprintf(why, whylen, "not an IP address");
		return -1;
	}
	p.fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		      0);
	if (p.fd < 0) {
		(void)snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	polo_tcp_nodelay(p.fd);
	if (connect(p.fd, (struct sockaddr *)&sa, salen) < 0) {
		e = errno;
		while (e == EINPROGRESS) {
			unsigned long now = polo_now_ms();

			if (now >= dl) {
				e = ETIMEDOUT;
				break;
			}
			r = poll(&p, 1, (int)(dl - now));
			if (r > 0 && getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &e,
						&sl) < 0)
				e = errno;
			else if (r < 0 && errno != EINTR)
				e = errno;
		}
	}
	if (e == 0)
		return p.fd;
	(void)snprintf(why, whylen, "connect: %s", strerror(e));
	close(p.fd);
	return -1;
}

/* Connect and handshake within connect_ms; no request is sent. */
static void tls_check(const struct polo_cluster_conf *cl, SSL_CTX *ctx,
		      struct dnode *d)
{
	unsigned long dl = polo_now_ms() + cl->connect_ms;
	SSL *ssl;
	int fd, r;

	if (ctx == NULL) {
		(void)snprintf(d->tls, sizeof d->tls, "no client TLS context "
			       "(see the error above)");
		return;
	}
	fd = tcp_to(d->addr, cl->hookd_port, dl, d->tls, sizeof d->tls);
	if (fd < 0)
		return;
	ssl = SSL_new(ctx);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    polo_tls_expect_peer(ssl, d->addr, cl->verify_name) < 0) {
		(void)snprintf(d->tls, sizeof d->tls, "cannot set up TLS");
	} else {
		r = polo_tls_handshake(ssl, false, dl, d->tls, sizeof d->tls);
		if (r == 0) {
			(void)snprintf(d->tls, sizeof d->tls, "verified");
			(void)SSL_shutdown(ssl);	/* close_notify, once */
		} else if (r == -ETIMEDOUT) {
			(void)snprintf(d->tls, sizeof d->tls, "handshake timed "
				       "out after %lu ms", cl->connect_ms);
		} else if (d->tls[0] == '\0') {
			(void)snprintf(d->tls, sizeof d->tls, "handshake: %s",
				       strerror(-r));
		}
	}
	SSL_free(ssl);
	close(fd);
}

static int cmp_dnode(const void *a, const void *b)
{
	return memcmp(&((const struct dnode *)a)->key,
		      &((const struct dnode *)b)->key, sizeof(struct in6_addr));
}

/* "static,srv": where the node came from */
static void src_text(unsigned src, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < NSRC; i++)
		if (src & (1u << i)) {
			(void)snprintf(buf + o, len - o, "%s%s", o ? "," : "",
				       src_names[i]);
			o = strlen(buf);
		}
}

static void print_dtable(const struct dlist *l)
{
	char host[64], tls[sizeof l->v[0].tls], rtt[32], src[64];
	int wh = 8, wa = 15, ws = 6;
	size_t i;

	for (i = 0; i < l->n; i++) {
		ctl_clean(host, sizeof host, l->v[i].host, 60);
		src_text(l->v[i].src, src, sizeof src);
		if ((int)strlen(host) > wh)
			wh = (int)strlen(host);
		if ((int)strlen(l->v[i].addr) > wa)
			wa = (int)strlen(l->v[i].addr);
		if ((int)strlen(src) > ws)
			ws = (int)strlen(src);
	}
	printf("%-*s  %-*s  %-9s  %-*s  %s\n", wa, "ADDRESS", wh, "HOSTNAME",
	       "DISCOVERY", ws, "SOURCE", "TLS");
	for (i = 0; i < l->n; i++) {
		const struct dnode *d = &l->v[i];

		ctl_clean(host, sizeof host, d->host[0] ? d->host : "-", 60);
		ctl_clean(tls, sizeof tls, d->tls, sizeof tls - 1);
		src_text(d->src, src, sizeof src);
		if (d->answered)
			(void)snprintf(rtt, sizeof rtt, "%.1f ms",
				       (double)d->rtt_us / 1000);
		else
			(void)snprintf(rtt, sizeof rtt, "-");
		printf("%-*s  %-*s  %-9s  %-*s  %s\n", wa, d->addr, wh, host,
		       rtt, ws, src, tls);
	}
}

static json_t *json_src(unsigned src)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < NSRC; i++)
		if ((src & (1u << i)) &&
		    json_array_append_new(a, json_string(src_names[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static int print_djson(const struct dlist *l)
{
	json_t *a = json_array(), *o;
	size_t i;
	int r = a == NULL ? -1 : 0;

	for (i = 0; r == 0 && i < l->n; i++) {
		const struct dnode *d = &l->v[i];

		o = json_object();
		r = o == NULL ? -1 : 0;
		if (r == 0)
			r = ctl_json_put(o, "address", ctl_json_text(d->addr)) |
			    ctl_json_put(o, "hostname", d->host[0] ?
				     ctl_json_text(d->host) : json_null()) |
			    ctl_json_put(o, "rtt_ms", d->answered ?
				     json_real((double)d->rtt_us / 1000) :
				     json_null()) |
			    ctl_json_put(o, "source", json_src(d->src)) |
			    ctl_json_put(o, "tls", ctl_json_text(d->tls));
		if (r == 0)
			r = json_array_append_new(a, o);
		else
			json_decref(o);
	}
	return ctl_dump_json(a, r, JSON_REAL_PRECISION(6));
}

struct seen_add {
	struct dlist *l;
	const struct ctl *x;
};

static int seen_line(void *ctx, unsigned lineno, char *line)
{
	struct seen_add *s = ctx;
	char shown[64];

	if (dl_find(s->l, line, true, SRC_SEEN) == NULL) {
		ctl_clean(shown, sizeof shown, line, 50);
		polo_log(&s->x->lg, LOG_WARNING, "%s: line %u: not a node "
			 "address: %s", s->x->conf.cl.nodes_state, lineno,
			 shown);
	}
	return 0;
}

/* The last-seen nodes and the targets of [discovery] srv, into l. */
static bool known_nodes(const struct ctl *x, struct dlist *l)
{
	const struct polo_cluster_conf *cl = &x->conf.cl;
	struct seen_add sa = { l, x };
	struct polo_srv_conf sc = { .name = cl->srv, .timeout_ms = cl->srv_ms,
				    .port = cl->hookd_port };
	struct polo_srv_addr *v = NULL;
	struct passwd *pw;
	char why[512];
	size_t i, n = 0;
	bool bad = false;
	int r;

	r = polo_last_seen_read(cl->nodes_state, x->trust, seen_line, &sa, why,
				sizeof why);
	if (r < 0 && r != -ENOENT) {
		polo_log(&x->lg, LOG_ERR, "last-seen nodes: %s", why);
		bad = true;
	}
	if (cl->srv[0] == '\0')
		return bad;
	if (geteuid() == 0) {	/* DNS bytes are parsed as [hookd] user */
		pw = getpwnam(cl->user);
		if (pw == NULL || pw->pw_uid == 0 || pw->pw_gid == 0) {
			polo_log(&x->lg, LOG_ERR, "[hookd] user %s: no such "
				 "user, or uid or gid 0", cl->user);
			return true;
		}
		sc.drop = true;
		sc.uid = pw->pw_uid;
		sc.gid = pw->pw_gid;
	}
	if (polo_srv_resolve(&sc, &v, &n, &x->lg) < 0)
		return true;	/* logged */
	for (i = 0; i < n; i++)
		(void)dl_find(l, v[i].addr, true, SRC_SRV);
	free(v);
	return bad;
}

/* The static, last-seen and SRV nodes, then Request-For (who offers
 * polousers, how fast), then Marco (their hostnames), on the IPv4 group
 * and, with [discovery] ipv6, the IPv6 one; then a TLS handshake with
 * each, one after the other, each within connect_ms. */
int ctl_discover(struct ctl *x, const struct cmd_opts *o)
{
	bool json = o->flag;
	const struct polo_cluster_conf *cl = &x->conf.cl;
	struct polo_disc_conf dc;
	struct dlist l = { 0 };
	char why[200];
	SSL_CTX *ctx;
	bool bad = false, heard = false;
	size_t i;
	int f;

	if (!ctl_conf_usable(x))
		return EXIT_PROBLEM;
	l.v = calloc(DISC_MAX, sizeof *l.v);
	if (l.v == NULL)
		return EXIT_PROBLEM;
	for (i = 0; i < cl->nnodes; i++)
		(void)dl_find(&l, cl->nodes[i], true, SRC_STATIC);
	bad |= known_nodes(x, &l);
	polo_cluster_disc(cl, &dc);
	for (f = 0; f < (dc.ipv6 ? 2 : 1); f++) {
		int af = f ? AF_INET6 : AF_INET;

		if (af == AF_INET && dc.ipv6 &&
		    polo_disc_v4_source(&dc, &x->lg) < 0)
			continue;	/* an IPv6-only node */
		if (ask_group(&dc, af, false, &l, why, sizeof why) < 0 ||
		    ask_group(&dc, af, true, &l, why, sizeof why) < 0)
			polo_log(&x->lg, LOG_ERR, "discovery: %s", why);
		else
			heard = true;
	}
	bad |= !heard;
	qsort(l.v, l.n, sizeof *l.v, cmp_dnode);
	ctx = polo_cluster_client_ctx(cl, &x->lg);
	for (i = 0; i < l.n; i++) {
		tls_check(cl, ctx, &l.v[i]);
		bad |= strcmp(l.v[i].tls, "verified") != 0;
	}
	SSL_CTX_free(ctx);
	if (l.n == 0) {
		polo_log(&x->lg, LOG_ERR, "no node answered discovery and "
			 "no static, SRV or last-seen node is known");
		bad = true;
	}
	if (json)
		bad |= print_djson(&l) < 0;
	else
		print_dtable(&l);
	free(l.v);
	return bad ? EXIT_PROBLEM : 0;
}
