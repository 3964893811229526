/* hookd: its settings, what one reading of the config gives: the config
 * itself, the [hookd] user, the TLS server context (the key, read here, as
 * root) and the listening sockets, TCP for the home service and UDP for
 * discovery. A reload takes over the sockets whose settings did not
 * change, so it never loses the port.
 *
 * MUST rules for this file:
 *  - the network side never runs as root: a [hookd] user with uid or gid
 *    0 is refused;
 *  - every fd is CLOEXEC;
 *  - a reload that fails leaves the running settings and their sockets
 *    untouched. */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "cluster.h"
#include "conf.h"
#include "daemon.h"
#include "discover.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#define LISTEN_BACKLOG	64

/* The home service's socket: on addr (conf.c checked it), or on every
 * address of both families when addr is "": one IPv6 socket that also
 * takes IPv4 (IPV6_V6ONLY off; its IPv4 peers appear as ::ffff:a.b.c.d
 * and are named as IPv4 in logs), or an IPv4 one where the kernel has no
 * IPv6. reuseport: see tcp_listen_beside. */
static int tcp_listen(const char *addr, unsigned long port, bool reuseport)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	int fd = -1, one = 1, zero = 0, e;
	bool any = addr[0] == '\0';

	if (polo_sockaddr(any ? "::" : addr, port, &sa, &salen) < 0) {
		errno = EINVAL;
		goto fail;
	}
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0 && any && errno == EAFNOSUPPORT) {
		(void)polo_sockaddr("0.0.0.0", port, &sa, &salen);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
			    SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		goto fail;
	if ((sa.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &zero : &one,
			sizeof one) < 0) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
				     sizeof one) < 0) ||
	    bind(fd, (struct sockaddr *)&sa, salen) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0)
		goto fail;
	return fd;
fail:
	e = errno;
	polo_log(&hookd_log, LOG_ERR, "listen on TCP %s%s%s:%lu: %s",
		 strchr(addr, ':') ? "[" : "", any ? "*" : addr,
		 strchr(addr, ':') ? "]" : "", port, strerror(e));
	if (fd >= 0)
		close(fd);
	return -e;
}

/* A SIGHUP that changed [hookd] listen but not the port: the new socket is
 * bound while the old one still listens on the other address (so a
 * refused reload keeps serving). Only for that moment do both carry
 * SO_REUSEPORT; then neither does, so nothing else (not even a second
 * hookd) can share the port. */
static int tcp_listen_beside(int oldfd, const char *addr, unsigned long port)
{
	int one = 1, zero = 0, fd;

	(void)setsockopt(oldfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	fd = tcp_listen(addr, port, true);
	(void)setsockopt(oldfd, SOL_SOCKET, SO_REUSEPORT, &zero, sizeof zero);
	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &zero,
				 sizeof zero);
	return fd;
}

static bool same_disc(const struct polo_cluster_conf *a,
		      const struct polo_cluster_conf *b)
{
	return a->port == b->port && strcmp(a->group, b->group) == 0 &&
	       strcmp(a->interface, b->interface) == 0 &&
	       a->ipv6 == b->ipv6 && strcmp(a->group6, b->group6) == 0;
}

static int steal(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}

void hookd_settings_free(struct settings *s)
{
	SSL_CTX_free(s->ctx);
	s->ctx = NULL;
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->dfd >= 0)
		close(s->dfd);
	if (s->dfd6 >= 0)
		close(s->dfd6);
	s->lfd = s->dfd = s->dfd6 = -1;
}

/* Read the config at path into s. Sockets whose settings did not change
 * are taken over from old (so a reload never loses the port). 0, or -1
 * with everything logged and old untouched. */
int hookd_settings_load(struct settings *s, const char *path,
			struct settings *old, bool debug)
{
	struct polo_tls_conf t;
	struct polo_disc_conf d;
	int r, lfd = -1, dfd = -1, dfd6 = -1;
	bool newdisc;

	*s = (struct settings){ .lfd = -1, .dfd = -1, .dfd6 = -1 };
	polo_conf_defaults(&s->conf);
	r = polo_conf_load(&s->conf, path, &hookd_log);
	if (r == -ENOENT)
		polo_log(&hookd_log, LOG_ERR, "config %.300s: %s", path,
			 strerror(ENOENT));
	if (r < 0)
		return -1;
	hookd_log.debug = debug || s->conf.debug;

	r = polo_cluster_user(&s->conf.cl, &s->uid, &s->gid);
	if (r == -EPERM) {
		polo_log(&hookd_log, LOG_ERR, "config %.300s: [hookd] user %s has uid "
			 "or gid 0: the network side must not run as root",
			 path, s->conf.cl.user);
		return -1;
	}
	if (r < 0) {
		polo_log(&hookd_log, LOG_ERR, "config %.300s: [hookd] user %s: %s",
			 path, s->conf.cl.user, r == -ENOENT ? "no such user" :
			 strerror(-r));
		return -1;
	}

	polo_cluster_tls(&s->conf.cl, &t);
	s->ctx = polo_tls_server_ctx(&t, &hookd_log);
	if (s->ctx == NULL)
		return -1;

	/* nothing may fail after the sockets are taken from old */
	if (old == NULL || old->lfd < 0 ||
	    old->conf.cl.hookd_port != s->conf.cl.hookd_port) {
		lfd = tcp_listen(s->conf.cl.listen, s->conf.cl.hookd_port,
				 false);
		if (lfd < 0)
			goto fail;
	} else if (strcmp(old->conf.cl.listen, s->conf.cl.listen) != 0) {
		lfd = tcp_listen_beside(old->lfd, s->conf.cl.listen,
					s->conf.cl.hookd_port);
		if (lfd < 0)
			goto fail;
	}
	newdisc = old == NULL || old->dfd < 0 ||
		  !same_disc(&old->conf.cl, &s->conf.cl);
	if (newdisc) {
		polo_cluster_disc(&s->conf.cl, &d);
		dfd = polo_disc_listen(&d, &hookd_log);
		if (dfd < 0)
			goto fail;
		if (d.ipv6) {
			dfd6 = polo_disc_listen6(&d, &hookd_log);
			if (dfd6 < 0)
				goto fail;
		}
	}
	s->lfd = lfd >= 0 ? lfd : steal(&old->lfd);
	s->dfd = dfd >= 0 ? dfd : steal(&old->dfd);
	s->dfd6 = newdisc ? dfd6 : steal(&old->dfd6);
	return 0;
fail:
	if (lfd >= 0)
		close(lfd);
	if (dfd >= 0)
		close(dfd);
	SSL_CTX_free(s->ctx);
	s->ctx = NULL;
	return -1;
}
