/* The [discovery] and [tls] settings of the one config file, as the
 * structs lib/discover.c and lib/tls.c take: one mapping for hookd,
 * polo-mkhome and polohookctl. */
#ifndef POLO_CLUSTER_H
#define POLO_CLUSTER_H

#include <netinet/in.h>
#include <sys/types.h>

#include "conf.h"
#include "discover.h"
#include "tls.h"

void polo_cluster_disc(const struct polo_cluster_conf *cl,
		       struct polo_disc_conf *d);
void polo_cluster_tls(const struct polo_cluster_conf *cl,
		      struct polo_tls_conf *t);

/* The [hookd] user, as whom every process that reads network bytes runs
 * (hookd's worker, polo-mkhome's children, the SRV parser): its uid and
 * gid from NSS. 0; -ENOENT no such user; -EPERM its uid or gid is 0 (the
 * network side must never run as root); -errno the lookup failed. */
int polo_cluster_user(const struct polo_cluster_conf *cl, uid_t *uid,
		      gid_t *gid);

/* A TLS client context from the [tls] settings (NULL on error, logged). */
SSL_CTX *polo_cluster_client_ctx(const struct polo_cluster_conf *cl,
				 const struct polo_log *lg);

/* The last-seen file ([discovery] state), opened through a trusted path
 * (lib/fsutil.h, owner trust or root) and read whole, at most
 * POLO_SEEN_BYTES_MAX: fn gets each line (NUL-terminated, numbered from 1)
 * until it returns non-zero or POLO_SEEN_NODES_MAX lines were seen. 0;
 * -ENOENT when the file is missing; other -errno with the reason in why
 * (the file is then not read at all). */
#define POLO_SEEN_NODES_MAX	1024
#define POLO_SEEN_BYTES_MAX	(POLO_SEEN_NODES_MAX * INET6_ADDRSTRLEN)
int polo_last_seen_read(const char *path, uid_t trust,
			int (*fn)(void *ctx, unsigned lineno, char *line),
			void *ctx, char *why, size_t whylen);

#endif
