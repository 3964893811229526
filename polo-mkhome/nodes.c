/*
 * polo-mkhome: which nodes to ask. Node sets (sorted, each address
 * once), the last-seen file, the targets of [discovery] srv, discovery
 * itself (mk_find_nodes), and the nodes remembered for the next login
 * (mk_remember).
 *
 * Rules this file keeps:
 *  - a DNS answer ([discovery] srv) is parsed only by libresolv in a
 *    child as [hookd] user, killed at srv_ms (lib/srv.c); its addresses,
 *    like discovery's, are only tried, never trusted;
 *  - the last-seen file is read only through a trusted path and replaced
 *    atomically; a line of it is logged cleaned and capped;
 *  - only a static node or one whose certificate checked out is
 *    remembered, never an address that only answered discovery.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "cluster.h"
#include "discover.h"
#include "fsutil.h"
#include "log.h"
#include "mk.h"
#include "srv.h"
#include "util.h"

/* ---- node sets ---- */

int mk_set_init(struct nodeset *s)
{
	s->n = 0;
	s->v = calloc(SET_MAX, sizeof *s->v);
	return s->v ? 0 : -ENOMEM;
}

/* An IPv4 or IPv6 node address (no scope: conf.c and lib/srv.c refuse
 * link-local ones) into its set form. */
static int addr_parse(const char *addr, struct in6_addr *a6)
{
	struct in_addr a;

	if (inet_pton(AF_INET, addr, &a) == 1) {
		memset(a6, 0, sizeof *a6);
		a6->s6_addr[10] = a6->s6_addr[11] = 0xff;
		memcpy(&a6->s6_addr[12], &a, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, a6) != 1 || IN6_IS_ADDR_V4MAPPED(a6) ||
	    IN6_IS_ADDR_LINKLOCAL(a6) || IN6_IS_ADDR_MULTICAST(a6))
		return -EINVAL;
	return 0;
}

static int set_add(struct nodeset *s, const char *addr)
{
	struct in6_addr a;

	if (addr_parse(addr, &a) < 0)
		return -EINVAL;
	if (s->n == SET_MAX)
		return -ENOSPC;
	s->v[s->n++] = a;
	return 0;
}

void mk_set_addr(const struct nodeset *s, size_t i, char *buf)
{
	const struct in6_addr *a = &s->v[i];
	const char *r;

	if (IN6_IS_ADDR_V4MAPPED(a))
		r = inet_ntop(AF_INET, &a->s6_addr[12], buf, INET6_ADDRSTRLEN);
	else
		r = inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
	if (r == NULL)
		buf[0] = '\0';	/* cannot happen */
}

static int cmp_addr(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct in6_addr));
}

/* Sorted by address (numerically), each address once. */
static void set_finish(struct nodeset *s)
{
	size_t i, o = 0;

	qsort(s->v, s->n, sizeof *s->v, cmp_addr);
	for (i = 0; i < s->n; i++)
		if (o == 0 || cmp_addr(&s->v[o - 1], &s->v[i]) != 0)
			s->v[o++] = s->v[i];
	s->n = o;
}

static void set_union(struct nodeset *dst, const struct nodeset *src)
{
	size_t i;

	for (i = 0; i < src->n && dst->n < SET_MAX; i++)
		dst->v[dst->n++] = src->v[i];
	set_finish(dst);
}

bool mk_set_has(const struct nodeset *s, const struct in6_addr *a)
{
	return s->v != NULL &&
	       bsearch(a, s->v, s->n, sizeof *s->v, cmp_addr) != NULL;
}

/* ---- the last-seen file ---- */

struct seen_ctx {
	const struct mk *m;
	struct nodeset *s;
};

static int seen_line(void *ctx, unsigned lineno, char *line)
{
	struct seen_ctx *x = ctx;

	if (set_add(x->s, line) == 0)
		return 0;
	mk_clean(line, strlen(line) + 1);
	polo_log(&x->m->lg, LOG_WARNING, "%s: line %u: not a node address: "
		 "%.50s", x->m->conf.cl.nodes_state, lineno, line);
	return 0;
}

/* Missing is empty; unsafe or unreadable is logged and empty. */
static void read_last_seen(const struct mk *m, struct nodeset *s)
{
	struct seen_ctx x = { m, s };
	char why[512];
	int r;

	r = polo_last_seen_read(m->conf.cl.nodes_state, geteuid(), seen_line,
				&x, why, sizeof why);
	if (r < 0 && r != -ENOENT)
		polo_log(&m->lg, LOG_ERR, "last-seen nodes: %s", why);
}

/* dir, trusted, made (0755, its last component only) when missing. */
static int open_state_dir(char *dir, int *dfd, const struct mk *m)
{
	char why[512], *slash;
	int pfd = -1, r;

	r = polo_open_trusted(dir, O_RDONLY | O_DIRECTORY, geteuid(), dfd,
			      NULL, 0, why, sizeof why);
	slash = strrchr(dir, '/');
	if (r == -ENOENT && slash != NULL && slash != dir) {
		*slash = '\0';
		r = polo_open_trusted(dir, O_RDONLY | O_DIRECTORY, geteuid(),
				      &pfd, NULL, 0, why, sizeof why);
		*slash = '/';
		if (r == 0 && mkdirat(pfd, slash + 1, 0755) < 0 &&
		    errno != EEXIST) {
			r = -errno;
			mk_say(why, "mkdir %.300s: %s", dir, strerror(-r));
		}
		if (pfd >= 0)
			close(pfd);
		if (r == 0)
			r = polo_open_trusted(dir, O_RDONLY | O_DIRECTORY,
					      geteuid(), dfd, NULL, 0, why,
					      sizeof why);
	}
	if (r < 0)
		polo_log(&m->lg, LOG_ERR, "last-seen nodes: %s", why);
	return r;
}

/* One address per line, at most STATE_NODES_MAX of them. */
static char *format_state(const struct nodeset *s, size_t *len)
{
	char *buf = malloc(STATE_BYTES_MAX), a[INET6_ADDRSTRLEN];
	size_t i;
	int w;

	*len = 0;
	for (i = 0; buf != NULL && i < s->n && i < STATE_NODES_MAX; i++) {
		mk_set_addr(s, i, a);
		w = snprintf(buf + *len, STATE_BYTES_MAX - *len, "%s\n", a);
		if (w < 0 || (size_t)w >= STATE_BYTES_MAX - *len)
			break;
		*len += (size_t)w;
	}
	return buf;
}

static void write_last_seen(const struct mk *m, const struct nodeset *s)
{
	char dir[PATH_MAX], root[] = "/", *slash, *buf;
	size_t len;
	int dfd = -1, r;

	(void)polo_strlcpy(dir, m->conf.cl.nodes_state, sizeof dir);
	slash = strrchr(dir, '/');	/* conf made it absolute */
	if (slash == NULL || !polo_valid_file_name(slash + 1)) {
		polo_log(&m->lg, LOG_ERR, "last-seen nodes: %.300s: not a "
			 "file name", dir);
		return;
	}
	*slash = '\0';
	buf = format_state(s, &len);
	if (buf == NULL) {
		polo_log(&m->lg, LOG_ERR, "last-seen nodes: %s",
			 strerror(ENOMEM));
		return;
	}
	if (open_state_dir(dir[0] ? dir : root, &dfd, m) == 0) {
		r = polo_write_at(dfd, slash + 1, buf, len, 0644, true);
		if (r < 0)
			polo_log(&m->lg, LOG_ERR, "last-seen nodes: cannot "
				 "write %.300s: %s", m->conf.cl.nodes_state,
				 strerror(-r));
		close(dfd);
	}
	free(buf);
}

/* ---- which nodes ---- */

/* Discovery, stopping early once every expected node answered. The
 * answered set, or -errno (logged by lib/discover.c). */
static int discover(const struct mk *m, const struct nodeset *expected,
		    struct nodeset *answered)
{
	struct polo_disc_conf dc;
	struct polo_node *found = NULL;
	char (*strs)[INET6_ADDRSTRLEN] = calloc(SET_MAX, sizeof *strs);
	char **exp = calloc(SET_MAX, sizeof *exp);
	size_t i, n = 0;
	int r = -ENOMEM;

	if (strs != NULL && exp != NULL) {
		for (i = 0; i < expected->n; i++) {
			mk_set_addr(expected, i, strs[i]);
			exp[i] = strs[i];
		}
		polo_cluster_disc(&m->conf.cl, &dc);
		r = polo_discover(&dc, SERVICE, exp, expected->n, &found, &n,
				  &m->lg);
	}
	for (i = 0; r == 0 && i < n; i++)
		(void)set_add(answered, found[i].addr);
	set_finish(answered);
	free(found);
	free(exp);
	free(strs);
	return r;
}

/* The targets of [discovery] srv, into s. A DNS answer only names
 * addresses to try: they are verified like any other node. */
static void srv_nodes(const struct mk *m, struct nodeset *s)
{
	struct polo_srv_conf sc = {
		.name = m->conf.cl.srv, .timeout_ms = m->conf.cl.srv_ms,
		.port = m->conf.cl.hookd_port, .drop = m->drop,
		.uid = m->uid, .gid = m->gid,
	};
	struct polo_srv_addr *v = NULL;
	size_t i, n = 0;

	if (m->conf.cl.srv[0] == '\0' ||
	    polo_srv_resolve(&sc, &v, &n, &m->lg) < 0)
		return;		/* logged */
	for (i = 0; i < n; i++)
		(void)set_add(s, v[i].addr);
	polo_log(&m->lg, LOG_DEBUG, "srv %s: %zu address(es)", m->conf.cl.srv,
		 n);
	free(v);
}

/* targets = answered ∪ static ∪ SRV ∪ last-seen. Static, SRV and
 * last-seen nodes are the expected ones, which end discovery early and
 * are asked first.
 * The last-seen file is rewritten after the asking (mk_remember()). When
 * discovery fails it is left as it was. */
int mk_find_nodes(struct mk *m)
{
	struct nodeset answered = { 0 };
	unsigned long i;
	int r;

	r = mk_set_init(&m->known);
	if (r == 0)
		r = mk_set_init(&answered);
	if (r < 0)
		goto out;
	for (i = 0; i < m->conf.cl.nnodes; i++)
		(void)set_add(&m->known, m->conf.cl.nodes[i]);
	read_last_seen(m, &m->known);
	srv_nodes(m, &m->known);
	set_finish(&m->known);
	if (discover(m, &m->known, &answered) == 0) {
		polo_log(&m->lg, LOG_DEBUG, "%zu node(s) answered discovery "
			 "(%zu expected)", answered.n, m->known.n);
		m->remember = true;
	} else {
		polo_log(&m->lg, LOG_WARNING, "discovery failed: asking the "
			 "%zu static, SRV and last-seen node(s) only",
			 m->known.n);
	}
	set_union(&m->targets, &m->known);
	set_union(&m->targets, &answered);
out:
	free(answered.v);
	return r;
}

/* The last-seen file becomes static ∪ the nodes whose certificate checked
 * out this time: an address that only answered discovery (anyone on the
 * LAN can make one answer) is never remembered, and a node gone for good
 * is forgotten at once — discovery finds it again when it is back. */
void mk_remember(struct mk *m)
{
	struct nodeset s = { 0 };
	char a[INET6_ADDRSTRLEN];
	unsigned long i;

	if (!m->remember || mk_set_init(&s) < 0)
		return;
	for (i = 0; i < m->conf.cl.nnodes; i++)
		(void)set_add(&s, m->conf.cl.nodes[i]);
	for (i = 0; i < m->targets.n; i++)
		if (m->res[i].verified) {
			mk_set_addr(&m->targets, i, a);
			(void)set_add(&s, a);
		}
	set_finish(&s);
	write_last_seen(m, &s);
	free(s.v);
}
