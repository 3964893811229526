#include <string.h>

#include "cluster.h"
#include "util.h"

/* conf.c validated every field and sized them to fit these structs */
void polo_cluster_disc(const struct polo_cluster_conf *cl,
		       struct polo_disc_conf *d)
{
	polo_disc_defaults(d);
	(void)polo_strlcpy(d->group, cl->group, sizeof d->group);
	(void)polo_strlcpy(d->group6, cl->group6, sizeof d->group6);
	d->ipv6 = cl->ipv6;
	(void)polo_strlcpy(d->iface, cl->interface, sizeof d->iface);
	d->port = (unsigned)cl->port;
	d->idle_ms = cl->idle_ms;
	d->max_ms = cl->max_ms;
}

void polo_cluster_tls(const struct polo_cluster_conf *cl,
		      struct polo_tls_conf *t)
{
	memset(t, 0, sizeof *t);
	(void)polo_strlcpy(t->ca, cl->ca, sizeof t->ca);
	(void)polo_strlcpy(t->cert, cl->cert, sizeof t->cert);
	(void)polo_strlcpy(t->key, cl->key, sizeof t->key);
	(void)polo_strlcpy(t->crl, cl->crl, sizeof t->crl);
	t->verify_name = cl->verify_name;
}

SSL_CTX *polo_cluster_client_ctx(const struct polo_cluster_conf *cl,
				 const struct polo_log *lg)
{
	struct polo_tls_conf t;

	polo_cluster_tls(cl, &t);
	return polo_tls_client_ctx(&t, lg);
}
