/*
 * polohookctl discover, the network half: asking the discovery groups
 * (Request-For polousers, then Marco) and collecting the replies as
 * lib/discover.c does, and a TLS handshake with each node, each within
 * connect_ms (no request is sent). The node list, the output and the
 * command are in discover.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "ctl.h"
#include "discover.h"
#include "proto.h"
#include "tls.h"
#include "util.h"

#define DISC_SERVICE	"polousers"

static uint64_t now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
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
	d = ctl_dl_find(l, addr, !marco, SRC_MCAST);
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
int ctl_ask_group(const struct polo_disc_conf *dc, int af, bool marco,
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
void ctl_tls_check(const struct polo_cluster_conf *cl, SSL_CTX *ctx,
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
