/* DNS SRV lookup of the cluster's nodes (srv.h).
 *
 * The answer comes from the network, and a name server may be slow,
 * hostile or gone. MUST rules, which the code below obeys:
 * - DNS bytes are parsed only by glibc's libresolv (res_nquery,
 *   ns_initparse, ns_parserr, dn_expand) and getaddrinfo, and only in a
 *   child process that runs as the [hookd] user when we are root;
 * - the child hands back fixed-size address records over a pipe; the
 *   parent checks each one again (family, unicast) and trusts nothing
 *   else from it;
 * - the parent waits for the child until timeout_ms at most, then kills
 *   (SIGKILL) and reaps it by its exact pid: a resolver that hangs costs
 *   the caller its deadline and no more;
 * - everything is bounded: the answer buffer, SRV records used, CNAMEs
 *   followed, targets, addresses per target and in all; names are checked
 *   against an allowlist before they are looked up or logged;
 * - a name server's answer never widens trust: the addresses are only
 *   candidates, verified later by certificate and IP SAN. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "priv.h"
#include "srv.h"
#include "util.h"

#define ANS_MAX		65536	/* the largest DNS message there is */
#define END_FAMILY	0xff	/* the child's last record: its status */

/* What the child writes: one address, or (END_FAMILY) its result. */
struct wire {
	uint8_t family;		/* AF_INET, AF_INET6, END_FAMILY */
	uint8_t pad[3];
	int32_t status;		/* END_FAMILY: 0 or -errno */
	uint8_t a[16];
};

struct srv_rec {
	uint16_t prio, weight, port;
	char target[NS_MAXDNAME];
	int used;
};

/* ---- the child: lookup and parsing, unprivileged ---- */

static void put(int fd, const struct wire *w)
{
	ssize_t r;

	do
		r = write(fd, w, sizeof *w);
	while (r < 0 && errno == EINTR);
}

static const char *herr_text(int h)
{
	switch (h) {
	case HOST_NOT_FOUND:	return "no such name";
	case NO_DATA:		return "no SRV record";
	case TRY_AGAIN:		return "no answer from the name server";
	case NO_RECOVERY:	return "the name server refused or failed";
	default:		return "lookup failed";
	}
}

static int herr_errno(int h)
{
	return h == HOST_NOT_FOUND || h == NO_DATA ? -ENOENT :
	       h == TRY_AGAIN ? -EAGAIN : -EIO;
}

/* One query: the answer's length, or -errno (logged). */
static int query(res_state rs, const struct polo_srv_conf *c,
		 unsigned char *ans, const struct polo_log *lg)
{
	int len;

	len = res_nquery(rs, c->name, ns_c_in, ns_t_srv, ans, ANS_MAX);
	if (len < 0) {
		polo_log(lg, LOG_WARNING, "srv %s: %s%s", c->name,
			 herr_text(rs->res_h_errno),
			 (rs->options & RES_USEVC) ? " (over TCP)" : "");
		return herr_errno(rs->res_h_errno);
	}
	if (len > ANS_MAX) {
		polo_log(lg, LOG_WARNING, "srv %s: answer too large (%d "
			 "bytes)", c->name, len);
		return -EPROTO;
	}
	return len;
}

/* A name from the answer, checked and in lower case: 0, or -EINVAL. */
static int clean_name(const char *in, char *out, size_t size)
{
	size_t i, len = strlen(in);

	if (len >= size || (len > 0 && !polo_valid_dns_name(in)))
		return -EINVAL;
	for (i = 0; i <= len; i++)
		out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ?
				in[i] - 'A' + 'a' : in[i]);
	if (len > 0 && out[len - 1] == '.')
		out[len - 1] = '\0';
	return 0;
}

struct answer {
	char cname_from[POLO_SRV_CNAME_MAX * 2][NS_MAXDNAME];
	char cname_to[POLO_SRV_CNAME_MAX * 2][NS_MAXDNAME];
	size_t ncname;
	struct srv_rec srv[POLO_SRV_RECORDS_MAX];
	char srv_owner[POLO_SRV_RECORDS_MAX][NS_MAXDNAME];
	size_t nsrv, skipped;
};

static int take_rr(ns_msg *m, ns_rr *rr, struct answer *a)
{
	const unsigned char *rd = ns_rr_rdata(*rr);
	char raw[NS_MAXDNAME], owner[NS_MAXDNAME], name[NS_MAXDNAME];
	struct srv_rec *s;
	int type = ns_rr_type(*rr), off;

	if (ns_rr_class(*rr) != ns_c_in ||
	    (type != ns_t_srv && type != ns_t_cname))
		return 0;	/* not ours: ignored */
	if (clean_name(ns_rr_name(*rr), owner, sizeof owner) < 0)
		return -EPROTO;
	off = type == ns_t_srv ? 6 : 0;
	if (ns_rr_rdlen(*rr) < off + 1 ||
	    dn_expand(ns_msg_base(*m), ns_msg_end(*m), rd + off, raw,
		      sizeof raw) < 0 ||
	    clean_name(raw, name, sizeof name) < 0)
		return -EPROTO;
	if (type == ns_t_cname) {
		if (a->ncname == POLO_SRV_CNAME_MAX * 2)
			return 0;
		memcpy(a->cname_from[a->ncname], owner, sizeof owner);
		memcpy(a->cname_to[a->ncname++], name, sizeof name);
		return 0;
	}
	if (a->nsrv == POLO_SRV_RECORDS_MAX) {
		a->skipped++;
		return 0;
	}
	s = &a->srv[a->nsrv];
	s->prio = ns_get16(rd);
	s->weight = ns_get16(rd + 2);
	s->port = ns_get16(rd + 4);
	memcpy(s->target, name, sizeof name);
	memcpy(a->srv_owner[a->nsrv++], owner, sizeof owner);
	return 0;
}

/* Follow the CNAMEs from the asked name: the name that owns the SRV
 * records in *owner. -ELOOP for a loop or a chain longer than
 * POLO_SRV_CNAME_MAX. */
static int follow(const struct answer *a, const char *asked, char *owner,
		  size_t size)
{
	size_t i, steps = 0;
	bool moved = true;

	if (clean_name(asked, owner, size) < 0)
		return -EINVAL;
	while (moved) {
		moved = false;
		for (i = 0; i < a->ncname; i++)
			if (strcmp(a->cname_from[i], owner) == 0) {
				if (++steps > POLO_SRV_CNAME_MAX)
					return -ELOOP;
				(void)polo_strlcpy(owner, a->cname_to[i], size);
				moved = true;
				break;
			}
	}
	return 0;
}

static int cmp_prio(const void *x, const void *y)
{
	const struct srv_rec *a = x, *b = y;

	if (a->prio != b->prio)
		return a->prio < b->prio ? -1 : 1;
	return (a->weight != 0) - (b->weight != 0);	/* weight 0 first */
}

/* RFC 2782: lowest priority first; within one, each next record chosen
 * at random with a chance proportional to its weight. */
static void rfc2782_order(struct srv_rec *v, size_t n, size_t *order)
{
	size_t i, j, k, o = 0;
	uint32_t sum, pick, rnd;

	qsort(v, n, sizeof *v, cmp_prio);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && v[j].prio == v[i].prio; j++)
			;
		for (k = i; k < j; k++) {
			sum = 0;
			for (size_t m = i; m < j; m++)
				sum += v[m].used ? 0 : v[m].weight;
			if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) !=
			    (ssize_t)sizeof rnd)
				rnd = 0;
			pick = sum ? rnd % (sum + 1) : 0;
			sum = 0;
			for (size_t m = i; m < j; m++) {
				if (v[m].used)
					continue;
				sum += v[m].weight;
				if (sum >= pick) {
					v[m].used = 1;
					order[o++] = m;
					break;
				}
			}
		}
	}
}

/* The addresses of one target, written to fd: how many, at most left. */
static size_t resolve_target(const struct polo_srv_conf *c, const char *t,
			     int fd, size_t left, const struct polo_log *lg)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	struct wire w;
	size_t n = 0;
	int r;

	r = getaddrinfo(t, "1", &hints, &res);
	if (r != 0) {
		polo_log(lg, LOG_WARNING, "srv %s: target %s: no address (%s)",
			 c->name, t, r == EAI_SYSTEM ? strerror(errno) :
			 gai_strerror(r));
		return 0;
	}
	for (ai = res; ai != NULL && n < left &&
	     n < POLO_SRV_TARGET_ADDRS; ai = ai->ai_next) {
		memset(&w, 0, sizeof w);
		if (ai->ai_family == AF_INET) {
			w.family = AF_INET;
			memcpy(w.a, &((struct sockaddr_in *)(void *)ai->ai_addr)
			       ->sin_addr, 4);
		} else if (ai->ai_family == AF_INET6) {
			w.family = AF_INET6;
			memcpy(w.a, &((struct sockaddr_in6 *)(void *)
				      ai->ai_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		put(fd, &w);
		n++;
	}
	freeaddrinfo(res);
	if (n == 0)
		polo_log(lg, LOG_WARNING, "srv %s: target %s: no address",
			 c->name, t);
	return n;
}

/* The SRV records of the answer, in order, and their targets' addresses.
 * 0 or -errno (logged). */
static int use_answer(const struct polo_srv_conf *c, unsigned char *ans,
		      int len, int fd, const struct polo_log *lg)
{
	struct answer *a = calloc(1, sizeof *a);
	char owner[NS_MAXDNAME];
	size_t i, k, left = POLO_SRV_ADDRS_MAX, order[POLO_SRV_RECORDS_MAX];
	size_t nok = 0, o = 0;
	ns_msg m;
	ns_rr rr;
	int r = 0, count;

	if (a == NULL)
		return -ENOMEM;
	if (ns_initparse(ans, len, &m) < 0) {
		r = -EPROTO;
		goto bad;
	}
	count = ns_msg_count(m, ns_s_an);
	for (i = 0; r == 0 && i < (size_t)count; i++)
		r = ns_parserr(&m, ns_s_an, (int)i, &rr) < 0 ? -EPROTO :
		    take_rr(&m, &rr, a);
	if (r < 0)
		goto bad;
	if (a->skipped > 0)
		polo_log(lg, LOG_WARNING, "srv %s: %zu SRV records: only the "
			 "first %d used", c->name, a->nsrv + a->skipped,
			 POLO_SRV_RECORDS_MAX);
	r = follow(a, c->name, owner, sizeof owner);
	if (r == -ELOOP) {
		polo_log(lg, LOG_WARNING, "srv %s: CNAME loop (or more than "
			 "%d CNAMEs)", c->name, POLO_SRV_CNAME_MAX);
		goto out;
	}
	/* only records of the name we asked for (or its CNAME) count */
	for (i = k = 0; i < a->nsrv; i++)
		if (strcmp(a->srv_owner[i], owner) == 0)
			a->srv[k++] = a->srv[i];
	a->nsrv = k;
	if (a->nsrv == 0) {
		polo_log(lg, LOG_WARNING, "srv %s: no SRV record%s", c->name,
			 a->ncname ? " (after CNAMEs)" : "");
		r = -ENOENT;
		goto out;
	}
	if (a->nsrv == 1 && a->srv[0].target[0] == '\0') {
		polo_log(lg, LOG_NOTICE, "srv %s: target \".\": the service is "
			 "not offered there", c->name);
		goto out;
	}
	rfc2782_order(a->srv, a->nsrv, order);
	for (o = 0; o < a->nsrv && left > 0; o++) {
		struct srv_rec *s = &a->srv[order[o]];

		if (s->target[0] == '\0')
			continue;
		for (i = 0; i < o; i++)	/* a target named twice */
			if (strcmp(a->srv[order[i]].target, s->target) == 0)
				break;
		if (i < o)
			continue;
		if (s->port != c->port)
			polo_log(lg, LOG_NOTICE, "srv %s: target %s: port %u "
				 "ignored, [hookd] port %lu is used", c->name,
				 s->target, s->port, c->port);
		k = resolve_target(c, s->target, fd, left, lg);
		left -= k;
		nok += k > 0;
	}
	polo_log(lg, LOG_DEBUG, "srv %s: %zu record(s), %zu target(s) with "
		 "an address", c->name, a->nsrv, nok);
	goto out;
bad:
	polo_log(lg, LOG_WARNING, "srv %s: malformed answer", c->name);
out:
	free(a);
	return r;
}

static int lookup(const struct polo_srv_conf *c, int fd,
		  const struct polo_log *lg)
{
	struct __res_state rs;
	unsigned char *ans = malloc(ANS_MAX);
	ns_msg m;
	int len, r;

	memset(&rs, 0, sizeof rs);
	if (ans == NULL)
		return -ENOMEM;
	if (res_ninit(&rs) < 0) {
		polo_log(lg, LOG_ERR, "srv %s: cannot set up the resolver",
			 c->name);
		free(ans);
		return -EIO;
	}
	/* a truncated answer is seen (and said) here, then asked over TCP */
	rs.options |= RES_IGNTC;
	rs.retry = 1;
	len = query(&rs, c, ans, lg);
	if (len > 0 && ns_initparse(ans, len, &m) == 0 &&
	    ns_msg_getflag(m, ns_f_tc)) {
		polo_log(lg, LOG_NOTICE, "srv %s: answer truncated: asking "
			 "again over TCP", c->name);
		rs.options |= RES_USEVC;
		len = query(&rs, c, ans, lg);
		if (len > 0 && ns_initparse(ans, len, &m) == 0 &&
		    ns_msg_getflag(m, ns_f_tc)) {
			polo_log(lg, LOG_WARNING, "srv %s: answer truncated "
				 "over TCP too", c->name);
			len = -EPROTO;
		}
	}
	r = len < 0 ? len : use_answer(c, ans, len, fd, lg);
	res_nclose(&rs);
	free(ans);
	return r;
}

static void __attribute__((noreturn))
child(const struct polo_srv_conf *c, int fd, const struct polo_log *lg)
{
	struct wire w = { .family = END_FAMILY };

	(void)signal(SIGPIPE, SIG_IGN);
	if (c->drop && polo_drop_privileges(c->uid, c->gid, "srv lookup",
					    lg) < 0)
		w.status = -EPERM;
	else
		w.status = lookup(c, fd, lg);
	put(fd, &w);
	close(fd);
	_exit(0);
}

/* ---- the parent: deadline, checks ---- */

/* A node address: unicast, and (IPv6) usable without a scope. */
static bool usable(const struct wire *w, char *out)
{
	uint32_t v4;

	if (w->family == AF_INET) {
		memcpy(&v4, w->a, 4);
		v4 = ntohl(v4);
		if (v4 == 0 || IN_MULTICAST(v4) || v4 == INADDR_BROADCAST)
			return false;
	} else if (w->family == AF_INET6) {
		struct in6_addr a6;

		memcpy(&a6, w->a, 16);
		if (IN6_IS_ADDR_UNSPECIFIED(&a6) ||
		    IN6_IS_ADDR_MULTICAST(&a6) ||
		    IN6_IS_ADDR_LINKLOCAL(&a6) || IN6_IS_ADDR_V4MAPPED(&a6))
			return false;
	} else {
		return false;
	}
	return inet_ntop(w->family, w->a, out, INET6_ADDRSTRLEN) != NULL;
}

static void add(struct polo_srv_addr *v, size_t *n, const char *a)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(v[i].addr, a) == 0)
			return;
	if (*n < POLO_SRV_ADDRS_MAX)
		(void)polo_strlcpy(v[(*n)++].addr, a, sizeof v[0].addr);
}

/* Read records until the child's last one, EOF, or the deadline: 1 when
 * its status came, 0 at EOF without it, -ETIMEDOUT. */
static int gather(int fd, unsigned long deadline, struct polo_srv_addr *v,
		  size_t *n, int *status, const struct polo_srv_conf *c,
		  const struct polo_log *lg)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char addr[INET6_ADDRSTRLEN];
	struct wire w;
	size_t got = 0;
	unsigned long now;
	ssize_t r;

	for (;;) {
		now = polo_now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)(deadline - now));
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		r = read(fd, (char *)&w + got, sizeof w - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		got += (size_t)r;
		if (got < sizeof w)
			continue;
		got = 0;
		if (w.family == END_FAMILY) {
			*status = w.status <= 0 && w.status > -4096 ?
				  w.status : -EIO;
			return 1;
		}
		if (usable(&w, addr))
			add(v, n, addr);
		else
			polo_log(lg, LOG_WARNING, "srv %s: an address that is "
				 "not a usable node address: ignored", c->name);
	}
}

int polo_srv_resolve(const struct polo_srv_conf *c,
		     struct polo_srv_addr **out, size_t *n,
		     const struct polo_log *lg)
{
	unsigned long deadline = polo_now_ms() + c->timeout_ms;
	struct polo_srv_addr *v;
	int p[2], r, status = -EIO, st;
	pid_t pid;

	*out = NULL;
	*n = 0;
	if (c->name == NULL || !polo_valid_dns_name(c->name)) {
		polo_log(lg, LOG_ERR, "srv: not a DNS name");
		return -EINVAL;
	}
	v = calloc(POLO_SRV_ADDRS_MAX, sizeof *v);
	if (v == NULL || pipe2(p, O_CLOEXEC) < 0) {
		r = v == NULL ? -ENOMEM : -errno;
		polo_log(lg, LOG_ERR, "srv %s: %s", c->name, strerror(-r));
		free(v);
		return r;
	}
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(c, p[1], lg);
	}
	close(p[1]);
	if (pid < 0) {
		r = -errno;
		polo_log(lg, LOG_ERR, "srv %s: fork: %s", c->name,
			 strerror(-r));
		close(p[0]);
		free(v);
		return r;
	}
	r = gather(p[0], deadline, v, n, &status, c, lg);
	close(p[0]);
	if (r != 1)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (r == -ETIMEDOUT)
		polo_log(lg, LOG_WARNING, "srv %s: timed out after %lu ms%s",
			 c->name, c->timeout_ms, *n ? ": using the addresses "
			 "found so far" : "");
	else if (r == 0)
		polo_log(lg, LOG_ERR, "srv %s: the lookup process failed",
			 c->name);
	r = r == 1 ? status : r == 0 ? -EIO : r;
	if (r < 0 && *n == 0) {
		free(v);
		return r;
	}
	*out = v;
	return 0;
}
