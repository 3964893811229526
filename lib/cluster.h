/* The [discovery] and [tls] settings of the one config file, as the
 * structs lib/discover.c and lib/tls.c take: one mapping for hookd,
 * polo-mkhome and polohookctl. */
#ifndef POLO_CLUSTER_H
#define POLO_CLUSTER_H

#include "conf.h"
#include "discover.h"
#include "tls.h"

void polo_cluster_disc(const struct polo_cluster_conf *cl,
		       struct polo_disc_conf *d);
void polo_cluster_tls(const struct polo_cluster_conf *cl,
		      struct polo_tls_conf *t);

/* A TLS client context from the [tls] settings (NULL on error, logged). */
SSL_CTX *polo_cluster_client_ctx(const struct polo_cluster_conf *cl,
				 const struct polo_log *lg);

#endif
