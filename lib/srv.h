/* DNS SRV lookup of the cluster's nodes ([discovery] srv): the addresses
 * (A and AAAA) of the targets of one SRV name, found by the system's
 * resolver (glibc's libresolv) in a child process that has dropped to the
 * [hookd] user and is killed at its deadline. What comes back is only a
 * list of addresses to try: every node is still verified by its
 * certificate chain and the IP SAN of the address connected to. */
#ifndef POLO_SRV_H
#define POLO_SRV_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "log.h"

#define POLO_SRV_RECORDS_MAX	64	/* SRV records used, per answer */
#define POLO_SRV_TARGET_ADDRS	16	/* addresses used, per target */
#define POLO_SRV_ADDRS_MAX	256	/* addresses in all */
#define POLO_SRV_CNAME_MAX	8	/* CNAMEs followed in one answer */

struct polo_srv_conf {
	const char *name;		/* "_polousers._tcp.example.org" */
	unsigned long timeout_ms;	/* the whole lookup, then SIGKILL */
	unsigned long port;		/* the [hookd] port: others are noted */
	bool drop;			/* the child runs as uid:gid */
	uid_t uid;
	gid_t gid;
};

struct polo_srv_addr {
	char addr[INET6_ADDRSTRLEN];	/* numeric, as inet_ntop writes it */
};

/* Resolve c->name. *out (malloc'd, free it) holds the distinct unicast
 * addresses of its targets in RFC 2782 order (priority, then weighted
 * choice), at most POLO_SRV_ADDRS_MAX. A failure of one target (no
 * address) is logged and the others kept. 0 (n may be 0: nothing there),
 * or -errno with one log line saying why: -ETIMEDOUT ("timed out after N
 * ms"), -ENOENT (no such name, no SRV record, a CNAME loop), -EPROTO (a
 * truncated or malformed answer), other -errno. */
int polo_srv_resolve(const struct polo_srv_conf *c,
		     struct polo_srv_addr **out, size_t *n,
		     const struct polo_log *lg);

#endif
