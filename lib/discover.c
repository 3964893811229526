/* MarcoPolo discovery over UDP multicast (PROTOCOL.md section 1), and
 * polohook's IPv6 extension: the same messages to the IPv6 group
 * (POLO_DISCOVERY_GROUP6, same port), answered unicast to the sender.
 *
 * Both sides read datagrams anyone on the LAN can send. MUST rules, which
 * the code below obeys:
 * - a datagram is read into a fixed buffer; one longer than POLO_DGRAM_MAX
 *   (seen through MSG_TRUNC) is dropped whole, never parsed in part;
 * - nothing is answered or counted that polo_disc_parse did not accept;
 * - replies (Polo, OK) are never answered, so two responders cannot keep
 *   each other busy;
 * - every wait ends at a CLOCK_MONOTONIC deadline, and a flood of
 *   datagrams cannot move the overall one (max_ms);
 * - a sender is logged only as the address the kernel gives, never with
 *   text taken from its datagram beyond the parser's bounded reason. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "discover.h"
#include "util.h"

#define DISC_NODES_MAX	1024
#define DISC_TTL	2	/* the original's: one router hop at most */
#define PEER_STRLEN	(INET6_ADDRSTRLEN + 8)	/* "[a:b::c]:port" */
#define NS_PER_MS	1000000ULL

void polo_disc_defaults(struct polo_disc_conf *c)
{
	memset(c, 0, sizeof *c);
	memcpy(c->group, POLO_DISCOVERY_GROUP, sizeof POLO_DISCOVERY_GROUP);
	memcpy(c->group6, POLO_DISCOVERY_GROUP6, sizeof POLO_DISCOVERY_GROUP6);
	c->port = POLO_DISCOVERY_PORT;
	c->idle_ms = 50;
	c->max_ms = 1000;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 * NS_PER_MS + (uint64_t)ts.tv_nsec;
}

/* start + ms, saturating: a huge configured value means "very long", not
 * a deadline in the past. */
static uint64_t deadline(uint64_t start, unsigned long ms)
{
	uint64_t d = (uint64_t)ms;

	if (d > (UINT64_MAX - start) / NS_PER_MS)
		return UINT64_MAX;
	return start + d * NS_PER_MS;
}

/* The sender's address alone; false for a family we do not speak. */
static bool from_addr(const struct sockaddr_storage *ss, char *a, size_t len)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return inet_ntop(AF_INET, &s4->sin_addr, a, len) != NULL;
	if (ss->ss_family == AF_INET6)
		return inet_ntop(AF_INET6, &s6->sin6_addr, a, len) != NULL;
	return false;
}

static unsigned from_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

static void peer_str(const struct sockaddr_storage *ss, char *buf,
		     size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	(void)from_addr(ss, a, sizeof a);
	(void)snprintf(buf, len, ss->ss_family == AF_INET6 ? "[%s]:%u" :
		       "%s:%u", a, from_port(ss));
}

static const char *iface_or_default(const struct polo_disc_conf *c)
{
	return c->iface[0] != '\0' ? c->iface : "(default)";
}

/* The group and port as a destination, checked: the strings come from a
 * config file. */
static int conf_group(const struct polo_disc_conf *c, struct sockaddr_in *sa,
		      const struct polo_log *lg)
{
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	if (memchr(c->group, '\0', sizeof c->group) == NULL ||
	    inet_pton(AF_INET, c->group, &sa->sin_addr) != 1 ||
	    !IN_MULTICAST(ntohl(sa->sin_addr.s_addr))) {
		polo_log(lg, LOG_ERR, "discovery: group %.*s is not an IPv4 "
			 "multicast address", (int)sizeof c->group, c->group);
		return -EINVAL;
	}
	if (c->port == 0 || c->port > 65535) {
		polo_log(lg, LOG_ERR, "discovery: port %u out of range",
			 c->port);
		return -EINVAL;
	}
	sa->sin_port = htons((uint16_t)c->port);
	return 0;
}

/* The IPv6 group, with the interface as its scope. */
static int conf_group6(const struct polo_disc_conf *c, int idx,
		       struct sockaddr_in6 *sa, const struct polo_log *lg)
{
	memset(sa, 0, sizeof *sa);
	sa->sin6_family = AF_INET6;
	if (memchr(c->group6, '\0', sizeof c->group6) == NULL ||
	    inet_pton(AF_INET6, c->group6, &sa->sin6_addr) != 1 ||
	    !IN6_IS_ADDR_MULTICAST(&sa->sin6_addr)) {
		polo_log(lg, LOG_ERR, "discovery: group6 %.*s is not an IPv6 "
			 "multicast address", (int)sizeof c->group6,
			 c->group6);
		return -EINVAL;
	}
	sa->sin6_port = htons((uint16_t)c->port);
	sa->sin6_scope_id = (uint32_t)idx;
	return 0;
}

/* 0 for "no interface": the routing table decides. */
static int conf_ifindex(const struct polo_disc_conf *c, int *idx,
			const struct polo_log *lg)
{
	unsigned i;
	int e;

	*idx = 0;
	if (c->iface[0] == '\0')
		return 0;
	if (memchr(c->iface, '\0', sizeof c->iface) == NULL) {
		polo_log(lg, LOG_ERR, "discovery: interface name too long");
		return -EINVAL;
	}
	i = if_nametoindex(c->iface);
	if (i == 0 || i > INT_MAX) {
		e = errno != 0 ? errno : ENODEV;
		polo_log(lg, LOG_ERR, "discovery: interface %s: %s", c->iface,
			 strerror(e));
		return -e;
	}
	*idx = (int)i;
	return 0;
}

static int set_opt(int fd, int level, int opt, const void *val, socklen_t len,
		   const char *name, const struct polo_log *lg)
{
	int e;

	if (setsockopt(fd, level, opt, val, len) == 0)
		return 0;
	e = errno;
	polo_log(lg, LOG_ERR, "discovery: setsockopt %s: %s", name,
		 strerror(e));
	return -e;
}

static int set_int(int fd, int level, int opt, int val, const char *name,
		   const struct polo_log *lg)
{
	return set_opt(fd, level, opt, &val, sizeof val, name, lg);
}

/* A non-blocking, close-on-exec UDP socket bound to port on any address
 * of family af (AF_INET6: IPv6 only; IPv4 has its own socket). */
static int udp_socket(int af, unsigned port, bool reuse,
		      const struct polo_log *lg)
{
	struct sockaddr_storage any;
	socklen_t alen;
	int fd, r;

	fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		polo_log(lg, LOG_ERR, "discovery: socket: %s", strerror(-r));
		return r;
	}
	if (reuse) {
		r = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR",
			    lg);
		if (r < 0)
			goto fail;
	}
	if (af == AF_INET6) {
		r = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY",
			    lg);
		if (r < 0)
			goto fail;
	}
	(void)polo_sockaddr(af == AF_INET6 ? "::" : "0.0.0.0", port, &any,
			    &alen);
	if (bind(fd, (const struct sockaddr *)&any, alen) < 0) {
		r = -errno;
		polo_log(lg, LOG_ERR, "discovery: bind to UDP port %u: %s",
			 port, strerror(-r));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return r;
}

/* One datagram into buf[POLO_DGRAM_MAX]: 0 and its length; -EMSGSIZE
 * for one too long (consumed, logged, to be ignored: MSG_TRUNC makes
 * recvfrom return its real length); -EAGAIN when none is waiting; other
 * -errno. */
static int recv_dgram(int fd, char *buf, size_t *len,
		      struct sockaddr_storage *from, const struct polo_log *lg)
{
	char peer[PEER_STRLEN];
	socklen_t fl = sizeof *from;
	ssize_t r;

	memset(from, 0, sizeof *from);
	do
		r = recvfrom(fd, buf, POLO_DGRAM_MAX, MSG_TRUNC,
			     (struct sockaddr *)from, &fl);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if ((size_t)r > POLO_DGRAM_MAX) {
		peer_str(from, peer, sizeof peer);
		polo_log(lg, LOG_DEBUG, "discovery: ignoring an oversized "
			 "datagram (%zd bytes) from %s", r, peer);
		return -EMSGSIZE;
	}
	*len = (size_t)r;
	return 0;
}

/* ---- requester ---- */

struct collect {
	struct polo_node *nodes;	/* DISC_NODES_MAX slots */
	size_t n;
	char *const *expect;
	size_t nexpect;
};

static bool have_node(const struct collect *cl, const char *addr)
{
	size_t i;

	for (i = 0; i < cl->n; i++)
		if (strcmp(cl->nodes[i].addr, addr) == 0)
			return true;
	return false;
}

/* No expected nodes means no early end: only the idle gap tells. */
static bool all_expected(const struct collect *cl)
{
	size_t i;

	if (cl->nexpect == 0)
		return false;
	for (i = 0; i < cl->nexpect; i++)
		if (cl->expect[i] == NULL || !have_node(cl, cl->expect[i]))
			return false;
	return true;
}

/* A requester's socket for family af: multicast TTL (hop limit) 2,
 * loopback on (this node's own responder answers too), sent through
 * interface idx when it is set. */
static int ask_socket(int af, int idx, const struct polo_log *lg)
{
	bool v6 = af == AF_INET6;
	int level = v6 ? IPPROTO_IPV6 : IPPROTO_IP, fd, r;
	struct ip_mreqn mr;

	fd = udp_socket(af, 0, false, lg);
	if (fd < 0)
		return fd;
	r = set_int(fd, level, v6 ? IPV6_MULTICAST_HOPS : IP_MULTICAST_TTL,
		    DISC_TTL, v6 ? "IPV6_MULTICAST_HOPS" : "IP_MULTICAST_TTL",
		    lg);
	if (r == 0)
		r = set_int(fd, level, v6 ? IPV6_MULTICAST_LOOP :
			    IP_MULTICAST_LOOP, 1, v6 ? "IPV6_MULTICAST_LOOP" :
			    "IP_MULTICAST_LOOP", lg);
	if (r == 0 && idx > 0 && v6) {
		r = set_int(fd, level, IPV6_MULTICAST_IF, idx,
			    "IPV6_MULTICAST_IF", lg);
	} else if (r == 0 && idx > 0) {
		memset(&mr, 0, sizeof mr);
		mr.imr_ifindex = idx;
		r = set_opt(fd, level, IP_MULTICAST_IF, &mr, sizeof mr,
			    "IP_MULTICAST_IF", lg);
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* Is the interface a loopback one (where 127.0.0.1 is a fine source)? */
static bool iface_loopback(const char *name)
{
	struct ifreq ifr;
	int fd, r;

	memset(&ifr, 0, sizeof ifr);
	if (polo_strlcpy(ifr.ifr_name, name, sizeof ifr.ifr_name) < 0)
		return false;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	close(fd);
	return r == 0 && (ifr.ifr_flags & IFF_LOOPBACK);
}

int polo_disc_v4_source(const struct polo_disc_conf *c,
			const struct polo_log *lg)
{
	struct sockaddr_in grp, src;
	socklen_t sl = sizeof src;
	struct ip_mreqn mr;
	int fd, idx, r;

	if (conf_group(c, &grp, lg) < 0 || conf_ifindex(c, &idx, lg) < 0 ||
	    idx == 0 || iface_loopback(c->iface))
		return 0;	/* errors are the caller's to meet */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	memset(&mr, 0, sizeof mr);
	mr.imr_ifindex = idx;
	/* a connected probe shows the source the kernel would choose:
	 * none (0.0.0.0), or a loopback one, when the interface has no
	 * IPv4 address */
	r = setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr) == 0 &&
	    connect(fd, (const struct sockaddr *)&grp, sizeof grp) == 0 &&
	    getsockname(fd, (struct sockaddr *)&src, &sl) == 0 &&
	    (src.sin_addr.s_addr == htonl(INADDR_ANY) ||
	     (ntohl(src.sin_addr.s_addr) >> 24) == IN_LOOPBACKNET);
	close(fd);
	if (!r)
		return 0;
	polo_log(lg, LOG_DEBUG, "discovery: no IPv4 address on %s: not "
		 "asking %s", c->iface, c->group);
	return -EADDRNOTAVAIL;
}

static int send_request(int fd, const struct polo_disc_conf *c,
			const struct sockaddr *grp, socklen_t glen,
			const char *service, const struct polo_log *lg)
{
	struct polo_disc_msg m;
	char buf[POLO_DGRAM_MAX];
	int len, e;

	memset(&m, 0, sizeof m);
	m.cmd = POLO_DISC_REQUEST_FOR;
	len = polo_strlcpy(m.service, service, sizeof m.service);
	if (len == 0)
		len = polo_disc_format(buf, sizeof buf, &m);
	if (len < 0) {
		polo_log(lg, LOG_ERR, "discovery: cannot ask for service "
			 "%.100s: %s", service, strerror(-len));
		return len;
	}
	if (sendto(fd, buf, (size_t)len, 0, grp, glen) >= 0)
		return 0;
	e = errno;
	polo_log(lg, LOG_ERR, "discovery: cannot send to %s%s%s:%u via %s: "
		 "%s%s", grp->sa_family == AF_INET6 ? "[" : "",
		 grp->sa_family == AF_INET6 ? c->group6 : c->group,
		 grp->sa_family == AF_INET6 ? "]" : "",
		 c->port, iface_or_default(c), strerror(e),
		 c->iface[0] == '\0' ? " (no multicast route? set [discovery] "
		 "interface)" : "");
	return -e;
}

/* Count an OK reply by its source address. true when it was one (a
 * repeat included): any reply restarts the idle gap, nothing else does,
 * so junk cannot keep a requester waiting. */
static bool take_reply(struct collect *cl, const char *buf, size_t len,
		       const struct sockaddr_storage *from,
		       const struct polo_log *lg)
{
	struct polo_disc_msg m;
	char why[128] = "", peer[PEER_STRLEN], addr[INET6_ADDRSTRLEN];

	peer_str(from, peer, sizeof peer);
	if (polo_disc_parse(buf, len, &m, why, sizeof why) < 0) {
		polo_log(lg, LOG_DEBUG, "discovery: ignoring a datagram from "
			 "%s: %.100s", peer, why);
		return false;
	}
	if (m.cmd != POLO_DISC_OK) {
		polo_log(lg, LOG_DEBUG, "discovery: ignoring a datagram from "
			 "%s: not an OK reply", peer);
		return false;
	}
	if (!from_addr(from, addr, sizeof addr))
		return false;
	if (from->ss_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(
		    &((const struct sockaddr_in6 *)from)->sin6_addr)) {
		/* no certificate names it, no scope goes with it */
		polo_log(lg, LOG_DEBUG, "discovery: ignoring an OK from %s: "
			 "a link-local address (give the node a site or "
			 "global one)", peer);
		return true;
	}
	if (!have_node(cl, addr) && cl->n < DISC_NODES_MAX) {
		memcpy(cl->nodes[cl->n].addr, addr, sizeof addr);
		cl->n++;
	}
	return true;
}

/* Wait until fd[0] or fd[1] (-1: none) is readable or `until` passes:
 * the readable fd, -1 for none, or -errno - 2. */
static int wait_readable(const int fd[2], uint64_t until,
			 const struct polo_log *lg)
{
	struct pollfd p[2] = { { .fd = fd[0], .events = POLLIN },
			       { .fd = fd[1], .events = POLLIN } };
	uint64_t t = now_ns(), ms;
	int r;

	if (t >= until)
		return -1;
	ms = (until - t + NS_PER_MS - 1) / NS_PER_MS;
	r = poll(p, 2, ms > INT_MAX ? INT_MAX : (int)ms);
	if (r > 0)
		return p[0].revents ? fd[0] : fd[1];
	if (r == 0 || errno == EINTR)
		return -1;
	r = errno;
	polo_log(lg, LOG_ERR, "discovery: poll: %s", strerror(r));
	return -r - 2;
}

/* One datagram, if any is waiting: restarts the idle gap when it was an
 * OK reply. 0 or -errno. */
static int take_one(int fd, const struct polo_disc_conf *c,
		    struct collect *cl, uint64_t *idle,
		    const struct polo_log *lg)
{
	char buf[POLO_DGRAM_MAX];
	struct sockaddr_storage from;
	size_t len;
	int r;

	r = recv_dgram(fd, buf, &len, &from, lg);
	if (r == -EAGAIN || r == -EMSGSIZE)
		return 0;
	if (r < 0) {
		polo_log(lg, LOG_ERR, "discovery: receiving: %s",
			 strerror(-r));
		return r;
	}
	if (take_reply(cl, buf, len, &from, lg))
		*idle = deadline(now_ns(), c->idle_ms);
	return 0;
}

/* Read one datagram per turn, so a flood cannot hold us past max_ms. */
static int collect(const int fd[2], const struct polo_disc_conf *c,
		   struct collect *cl, const struct polo_log *lg)
{
	uint64_t start = now_ns(), end, idle, until;
	int r;

	end = deadline(start, c->max_ms);
	idle = deadline(start, c->idle_ms);
	while (!all_expected(cl) && cl->n < DISC_NODES_MAX) {
		until = idle < end ? idle : end;
		if (now_ns() >= until)
			return 0;
		r = wait_readable(fd, until, lg);
		if (r == -1)
			continue;	/* the loop's test sees the time */
		if (r < -1)
			return r + 2;
		r = take_one(r, c, cl, &idle, lg);
		if (r < 0)
			return r;
	}
	return 0;
}

int polo_discover(const struct polo_disc_conf *c, const char *service,
		  char *const *expect, size_t nexpect,
		  struct polo_node **out, size_t *n, const struct polo_log *lg)
{
	struct collect cl = { .expect = expect, .nexpect = nexpect };
	struct sockaddr_in grp;
	struct sockaddr_in6 grp6;
	int fd[2] = { -1, -1 }, idx, r, r6;

	*out = NULL;
	*n = 0;
	if (service == NULL || (nexpect > 0 && expect == NULL)) {
		polo_log(lg, LOG_ERR, "discovery: no service to ask for");
		return -EINVAL;
	}
	r = conf_group(c, &grp, lg);
	if (r == 0)
		r = conf_ifindex(c, &idx, lg);
	if (r == 0 && c->ipv6)
		r = conf_group6(c, idx, &grp6, lg);
	if (r < 0)
		return r;
	cl.nodes = calloc(DISC_NODES_MAX, sizeof *cl.nodes);
	if (cl.nodes == NULL) {
		polo_log(lg, LOG_ERR, "discovery: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	r = c->ipv6 ? polo_disc_v4_source(c, lg) : 0;
	if (r == 0) {
		fd[0] = ask_socket(AF_INET, idx, lg);
		r = fd[0] < 0 ? fd[0] : send_request(fd[0], c,
			(struct sockaddr *)&grp, sizeof grp, service, lg);
	}
	if (c->ipv6) {
		/* either family may be missing on a node: one that works
		 * is enough (each failure is logged) */
		fd[1] = ask_socket(AF_INET6, idx, lg);
		r6 = fd[1] < 0 ? fd[1] : send_request(fd[1], c,
			(struct sockaddr *)&grp6, sizeof grp6, service, lg);
		if (r < 0 && r6 == 0 && fd[0] >= 0) {
			close(fd[0]);
			fd[0] = -1;
		} else if (r == 0 && r6 < 0 && fd[1] >= 0) {
			close(fd[1]);
			fd[1] = -1;
		}
		r = r == 0 || r6 == 0 ? 0 : r;
	}
	if (r == 0)
		r = collect(fd, c, &cl, lg);
	if (fd[0] >= 0)
		close(fd[0]);
	if (fd[1] >= 0)
		close(fd[1]);
	if (r < 0) {	/* logged where it happened */
		free(cl.nodes);
		return r;
	}
	polo_log(lg, LOG_DEBUG, "discovery: %zu node(s) offer %.100s", cl.n,
		 service);
	*out = cl.nodes;
	*n = cl.n;
	return 0;
}

/* ---- responder ---- */

/* A responder's socket for family af: bound to the port (reuse: quick
 * restarts), loopback on, and only our group delivered: by default Linux
 * delivers every group any socket on the host joined to a socket bound to
 * the port. */
static int responder_socket(int af, unsigned port, const struct polo_log *lg)
{
	bool v6 = af == AF_INET6;
	int level = v6 ? IPPROTO_IPV6 : IPPROTO_IP, fd, r;

	fd = udp_socket(af, port, true, lg);
	if (fd < 0)
		return fd;
	r = set_int(fd, level, v6 ? IPV6_MULTICAST_ALL : IP_MULTICAST_ALL, 0,
		    v6 ? "IPV6_MULTICAST_ALL" : "IP_MULTICAST_ALL", lg);
	if (r == 0)
		r = set_int(fd, level, v6 ? IPV6_MULTICAST_LOOP :
			    IP_MULTICAST_LOOP, 1, v6 ? "IPV6_MULTICAST_LOOP" :
			    "IP_MULTICAST_LOOP", lg);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* Join the group (mr: ip_mreqn or ipv6_mreq): fd, or -errno with fd
 * closed and the failure logged. */
static int join(int fd, bool v6, const void *mr, socklen_t len,
		const struct polo_disc_conf *c, const struct polo_log *lg)
{
	int r;

	if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ?
		       IPV6_JOIN_GROUP : IP_ADD_MEMBERSHIP, mr, len) == 0)
		return fd;
	r = -errno;
	polo_log(lg, LOG_ERR, "discovery: cannot join %s%s%s:%u on %s: %s%s",
		 v6 ? "[" : "", v6 ? c->group6 : c->group, v6 ? "]" : "",
		 c->port, iface_or_default(c), strerror(-r),
		 c->iface[0] == '\0' ? v6 ? " (set [discovery] interface)" :
		 " (no multicast route? set [discovery] interface)" : "");
	close(fd);
	return r;
}

int polo_disc_listen(const struct polo_disc_conf *c, const struct polo_log *lg)
{
	struct sockaddr_in grp;
	struct ip_mreqn mr;
	int fd, idx, r;

	r = conf_group(c, &grp, lg);
	if (r == 0)
		r = conf_ifindex(c, &idx, lg);
	if (r < 0)
		return r;
	fd = responder_socket(AF_INET, c->port, lg);
	if (fd < 0)
		return fd;
	memset(&mr, 0, sizeof mr);
	mr.imr_multiaddr = grp.sin_addr;
	mr.imr_ifindex = idx;
	return join(fd, false, &mr, sizeof mr, c, lg);
}

int polo_disc_listen6(const struct polo_disc_conf *c,
		      const struct polo_log *lg)
{
	struct sockaddr_in6 grp;
	struct ipv6_mreq mr;
	int fd, idx, r;

	r = conf_ifindex(c, &idx, lg);
	if (r == 0)
		r = conf_group6(c, idx, &grp, lg);
	if (r < 0)
		return r;
	fd = responder_socket(AF_INET6, c->port, lg);
	if (fd < 0)
		return fd;
	memset(&mr, 0, sizeof mr);
	mr.ipv6mr_multiaddr = grp.sin6_addr;
	mr.ipv6mr_interface = (unsigned)idx;
	return join(fd, true, &mr, sizeof mr, c, lg);
}

/* What this node offers, for the answer. */
struct offer {
	const char *hostname;
	const char *const *services;
	size_t nservices;
};

static bool offered(const struct offer *of, const char *service)
{
	size_t i;

	for (i = 0; i < of->nservices; i++)
		if (of->services[i] != NULL &&
		    strcmp(of->services[i], service) == 0)
			return true;
	return false;
}

/* The reply to m, formatted into buf: its length; 0 for "no answer" with
 * the reason in why; -errno when ours cannot be formatted. */
static int reply_for(const struct polo_disc_msg *m, const struct offer *of,
		     char *buf, size_t size, char *why, size_t whylen)
{
	struct polo_disc_msg rep;

	memset(&rep, 0, sizeof rep);
	switch (m->cmd) {
	case POLO_DISC_MARCO:
		rep.cmd = POLO_DISC_POLO;
		if (polo_strlcpy(rep.hostname, of->hostname,
				 sizeof rep.hostname) < 0)
			return -ENAMETOOLONG;
		return polo_disc_format(buf, size, &rep);
	case POLO_DISC_REQUEST_FOR:
		if (offered(of, m->service)) {
			rep.cmd = POLO_DISC_OK;
			return polo_disc_format(buf, size, &rep);
		}
		(void)snprintf(why, whylen, "service %.64s is not offered "
			       "here", m->service);
		return 0;
	case POLO_DISC_POLO:
	case POLO_DISC_OK:
		break;
	}
	(void)snprintf(why, whylen, "a reply (replies are never answered)");
	return 0;
}

static void answer(int fd, const char *dgram, size_t len,
		   const struct sockaddr_storage *from,
		   const struct offer *of, const struct polo_log *lg)
{
	struct polo_disc_msg m;
	char why[128] = "", peer[PEER_STRLEN], buf[POLO_DGRAM_MAX];
	int r;

	peer_str(from, peer, sizeof peer);
	if (from_port(from) == 0) {
		polo_log(lg, LOG_DEBUG, "discovery: ignoring a datagram from "
			 "%s: no port to answer", peer);
		return;
	}
	r = polo_disc_parse(dgram, len, &m, why, sizeof why);
	if (r == 0)
		r = reply_for(&m, of, buf, sizeof buf, why, sizeof why);
	else
		r = 0;
	if (r == 0) {
		polo_log(lg, LOG_DEBUG, "discovery: ignoring a datagram from "
			 "%s: %.100s", peer, why);
		return;
	}
	if (r < 0) {
		polo_log(lg, LOG_ERR, "discovery: cannot answer %s as "
			 "%.100s: %s", peer, of->hostname, strerror(-r));
		return;
	}
	/* One peer we cannot reach (or a forged source) must not stop the
	 * responder: logged, and the datagram counts as handled. */
	if (sendto(fd, buf, (size_t)r, 0, (const struct sockaddr *)from,
		   from->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
		   sizeof(struct sockaddr_in)) < 0)
		polo_log(lg, LOG_WARNING, "discovery: cannot answer %s: %s",
			 peer, strerror(errno));
	else
		polo_log(lg, LOG_DEBUG, "discovery: answered %s", peer);
}

int polo_disc_answer(int fd, const char *hostname,
		     const char *const *services, size_t nservices,
		     const struct polo_log *lg)
{
	struct offer of = { hostname, services, nservices };
	char buf[POLO_DGRAM_MAX];
	struct sockaddr_storage from;
	size_t len;
	int r;

	r = recv_dgram(fd, buf, &len, &from, lg);
	if (r == -EMSGSIZE)
		return 0;
	if (r < 0)
		return r;
	answer(fd, buf, len, &from, &of, lg);
	return 0;
}
