/* MarcoPolo discovery over UDP multicast (PROTOCOL.md section 1): the
 * requester side used by polo-mkhome, and the responder side of hookd. */
#ifndef POLO_DISCOVER_H
#define POLO_DISCOVER_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "log.h"
#include "proto.h"

struct polo_disc_conf {
	char group[INET_ADDRSTRLEN];	/* default POLO_DISCOVERY_GROUP */
	bool ipv6;			/* also group6 (default off) */
	char group6[INET6_ADDRSTRLEN];	/* default POLO_DISCOVERY_GROUP6 */
	unsigned port;			/* default POLO_DISCOVERY_PORT */
	char iface[IF_NAMESIZE];	/* "" = the routing table decides */
	unsigned long idle_ms;		/* stop after this long without a reply */
	unsigned long max_ms;		/* stop after this long in all */
};

struct polo_node {
	char addr[INET6_ADDRSTRLEN];	/* where the reply came from */
};

/* Defaults: the group and port above, no interface, idle 50 ms, max
 * 1000 ms. */
void polo_disc_defaults(struct polo_disc_conf *c);

/* Ask the group who offers `service` (Request-For, multicast TTL 2,
 * loopback on: this node's own hookd answers too), and the IPv6 group too
 * when c->ipv6 (hop limit 2), and collect the distinct
 * addresses that answer OK, until every address of expect[0..nexpect)
 * has answered, or no datagram came for idle_ms, or max_ms passed.
 * Datagrams that do not parse or are not OK are ignored (LOG_DEBUG with
 * the sender). *out is malloc'd (free it), at most 1024 nodes. 0 or
 * -errno (logged). */
int polo_discover(const struct polo_disc_conf *c, const char *service,
		  char *const *expect, size_t nexpect,
		  struct polo_node **out, size_t *n, const struct polo_log *lg);

/* Has IPv4 an address to ask from on c->iface? -EADDRNOTAVAIL (logged at
 * LOG_DEBUG) when the interface has no IPv4 address (an IPv6-only
 * node): a request would leave from a loopback source, and only this
 * node's own responder would answer it, from 127.0.0.1. Else 0 (also
 * without an interface, or on a loopback one). */
int polo_disc_v4_source(const struct polo_disc_conf *c,
			const struct polo_log *lg);

/* Responder: a UDP socket bound to the port (any address), joined to the
 * group (on iface if set), non-blocking, CLOEXEC. fd or -errno (logged). */
int polo_disc_listen(const struct polo_disc_conf *c, const struct polo_log *lg);

/* The same for IPv6 (c->group6, a socket bound to [::]:port, IPv6 only). */
int polo_disc_listen6(const struct polo_disc_conf *c,
		      const struct polo_log *lg);

/* Read one datagram from fd and answer it unicast to its sender: Marco or
 * Discover → Polo with hostname; Request-For a service in services[] → OK.
 * Everything else (invalid JSON, unknown commands, replies — so two
 * responders never answer each other in a loop, oversized datagrams) is
 * ignored with a LOG_DEBUG line naming the sender. 0 when a datagram was
 * handled or ignored, -EAGAIN when none was waiting, other -errno on
 * socket errors. */
int polo_disc_answer(int fd, const char *hostname,
		     const char *const *services, size_t nservices,
		     const struct polo_log *lg);

#endif
