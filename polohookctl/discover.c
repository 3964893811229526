/*
 * polohookctl discover [--json]: the cluster nodes, as a table or as
 * JSON: the static, last-seen and SRV ones, and those that answer
 * discovery on the groups (lib/discover.c's rules), each with its
 * source, its round trip and a TLS handshake's verdict.
 *
 * This file: the node list, where the nodes come from, the output and
 * the command; discover_net.c asks the groups and makes the TLS
 * handshakes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>

#include "cluster.h"
#include "ctl.h"
#include "discover.h"
#include "log.h"
#include "srv.h"
#include "tls.h"

#define DISC_MAX	1024	/* nodes listed, as lib/discover.c collects */

static const char *const src_names[] = { "static", "multicast", "srv",
					 "last-seen" };
#define NSRC	(sizeof src_names / sizeof src_names[0])

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
struct dnode *ctl_dl_find(struct dlist *l, const char *addr, bool add,
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

	if (ctl_dl_find(s->l, line, true, SRC_SEEN) == NULL) {
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
		r = polo_cluster_user(cl, &sc.uid, &sc.gid);
		if (r < 0) {
			polo_log(&x->lg, LOG_ERR, "[hookd] user %s: %s",
				 cl->user, r == -ENOENT || r == -EPERM ?
				 "no such user, or uid or gid 0" :
				 strerror(-r));
			return true;
		}
		sc.drop = true;
	}
	if (polo_srv_resolve(&sc, &v, &n, &x->lg) < 0)
		return true;	/* logged */
	for (i = 0; i < n; i++)
		(void)ctl_dl_find(l, v[i].addr, true, SRC_SRV);
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
		(void)ctl_dl_find(&l, cl->nodes[i], true, SRC_STATIC);
	bad |= known_nodes(x, &l);
	polo_cluster_disc(cl, &dc);
	for (f = 0; f < (dc.ipv6 ? 2 : 1); f++) {
		int af = f ? AF_INET6 : AF_INET;

		if (af == AF_INET && dc.ipv6 &&
		    polo_disc_v4_source(&dc, &x->lg) < 0)
			continue;	/* an IPv6-only node */
		if (ctl_ask_group(&dc, af, false, &l, why, sizeof why) < 0 ||
		    ctl_ask_group(&dc, af, true, &l, why, sizeof why) < 0)
			polo_log(&x->lg, LOG_ERR, "discovery: %s", why);
		else
			heard = true;
	}
	bad |= !heard;
	qsort(l.v, l.n, sizeof *l.v, cmp_dnode);
	ctx = polo_cluster_client_ctx(cl, &x->lg);
	for (i = 0; i < l.n; i++) {
		ctl_tls_check(cl, ctx, &l.v[i]);
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
