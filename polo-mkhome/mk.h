/*
 * polo-mkhome's private header: its limits, the types its files share
 * (struct mk, which main() owns; a node set; a child's result) and the
 * functions one file calls in another.
 *
 *   main.c     arguments, config, the run in order, logging and text
 *   request.c  the user and the Create-Home request
 *   nodes.c    node sets, the last-seen file, discovery and SRV: which
 *              nodes to ask
 *   ask.c      the TLS fan-out: one child per node, in waves; the
 *              collection, the reaping and the report
 */
#ifndef POLO_MK_H
#define POLO_MK_H

#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "cluster.h"
#include "conf.h"
#include "log.h"
#include "proto.h"
#include "srv.h"

#define EXIT_FAIL	1
#define EXIT_USAGE	2

#define SERVICE		"polousers"
#define STATE_NODES_MAX	POLO_SEEN_NODES_MAX	/* lines of the last-seen file */
#define STATE_BYTES_MAX	POLO_SEEN_BYTES_MAX
/* every source of nodes at its bound: discovery, last-seen, static, SRV */
#define SET_MAX		(1024 + STATE_NODES_MAX + POLO_MAX_NODES + \
			 POLO_SRV_ADDRS_MAX)
#define WAVE_MAX	64	/* children at once */
#define WAVE_MARGIN_MS	500	/* after request_ms, before SIGKILL */
#define WHY_MAX		200
#define STATUS_LEN	65

/* What a child reports through its pipe: fixed size, one atomic write. */
struct result {
	char addr[INET6_ADDRSTRLEN];
	int ok;				/* 1: the node made or had the home */
	int verified;			/* 1: its certificate checked out */
	char status[STATUS_LEN];	/* "created", "exists", or "" */
	char why[WHY_MAX];		/* the failure, when !ok */
};
_Static_assert(sizeof(struct result) <= PIPE_BUF, "one atomic pipe write");

/* A set of addresses, IPv4 ones as IPv4-mapped IPv6 (::ffff:a.b.c.d),
 * so that one byte order sorts both. */
struct nodeset {
	struct in6_addr *v;
	size_t n;
};

struct child {
	pid_t pid;
	int fd;			/* the read end of its pipe, -1 once done */
	size_t got;		/* bytes of its result read so far */
	struct result res;
};

struct mk {
	struct polo_conf conf;
	struct polo_log lg;
	bool tty;			/* stderr is a terminal */
	char req[POLO_REQ_MAX];		/* the Create-Home request */
	size_t reqlen;
	SSL_CTX *ctx;
	struct nodeset targets;
	struct result *res;		/* one per target, in target order */
	struct nodeset known;		/* static + last-seen: asked first */
	bool remember;			/* discovery worked: rewrite last-seen */
	bool drop;			/* root: children run as [hookd] user */
	uid_t uid;
	gid_t gid;
};

/* main.c */
void mk_clean(char *s, size_t len);
void mk_say(char *why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mk_free(struct mk *m);

/* request.c */
int mk_user_request(struct mk *m);

/* nodes.c */
int mk_set_init(struct nodeset *s);
void mk_set_addr(const struct nodeset *s, size_t i, char *buf);
bool mk_set_has(const struct nodeset *s, const struct in6_addr *a);
int mk_find_nodes(struct mk *m);
void mk_remember(struct mk *m);

/* ask.c */
int mk_ask_all(struct mk *m);
bool mk_report(const struct mk *m);

#endif
