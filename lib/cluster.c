#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.h"
#include "fsutil.h"
#include "util.h"

int polo_cluster_user(const struct polo_cluster_conf *cl, uid_t *uid,
		      gid_t *gid)
{
	struct passwd pw;
	char *buf = NULL;
	int r;

	r = polo_getpw(cl->user, 0, &pw, &buf);
	if (r < 0)
		return r;
	if (pw.pw_uid == 0 || pw.pw_gid == 0)
		r = -EPERM;
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	free(buf);
	return r;
}

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

static int read_fd_bounded(int fd, char *buf, size_t max, size_t *len)
{
	ssize_t n;

	*len = 0;
	while (*len < max) {
		n = read(fd, buf + *len, max - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

int polo_last_seen_read(const char *path, uid_t trust,
			int (*fn)(void *ctx, unsigned lineno, char *line),
			void *ctx, char *why, size_t whylen)
{
	char *buf = malloc(POLO_SEEN_BYTES_MAX + 1), *line, *save = NULL;
	unsigned lineno = 0;
	struct stat st;
	size_t len = 0;
	int fd = -1, r;

	if (buf == NULL) {
		polo_why(why, whylen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	r = polo_open_trusted(path, O_RDONLY | O_NONBLOCK | O_NOCTTY, trust,
			      &fd, NULL, 0, why, whylen);
	if (r == 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		       read_fd_bounded(fd, buf, POLO_SEEN_BYTES_MAX, &len) < 0)) {
		polo_why(why, whylen, "%.300s: not a readable regular file",
			 path);
		r = -EINVAL;
	}
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL &&
	     lineno < POLO_SEEN_NODES_MAX; line = strtok_r(NULL, "\n", &save))
		if (fn(ctx, ++lineno, line) != 0)
			break;
	free(buf);
	return 0;
}
