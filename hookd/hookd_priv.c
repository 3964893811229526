/* hookd's privileged request handler: the only code that runs as root
 * on behalf of a network request.
 *
 * MUST rules (PROTOCOL.md, "What the original server did"):
 *  - the request comes from an unprivileged process that parsed network
 *    input: nothing in it is trusted, not its size, not its NUL, not one
 *    byte of the path;
 *  - whether it may be served is decided by lib/policy.c polo_may_serve
 *    alone (the user through our own NSS, the uid range, the passwd home
 *    and gid, the trusted parent, never the tmphome root or below it),
 *    and the home is made in the parent fd that the decision opened;
 *  - an existing home is never touched (no chown, no chmod, no copy);
 *  - homes are made only by polo_home_make_at (root's while being filled
 *    under a temporary name, handed to the user and renamed into place
 *    last, removed if anything fails; a dead creator's leftover is
 *    replaced);
 *  - what is sent back is one of our own fixed strings. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "hookd.h"
#include "home.h"
#include "mkhome.h"
#include "policy.h"
#include "util.h"

struct job {
	int fd;				/* the connection's SEQPACKET end */
	const struct hookd_req *q;
	const struct polo_log *lg;
	struct hookd_ans a;
	bool sent;
};

static void answer(struct job *j, int code, const char *status,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void answer(struct job *j, int code, const char *status,
		   const char *fmt, ...)
{
	va_list ap;

	j->a.code = code;
	(void)polo_strlcpy(j->a.status, status ? status : "",
			   sizeof j->a.status);
	va_start(ap, fmt);
	(void)vsnprintf(j->a.text, sizeof j->a.text, fmt, ap);
	va_end(ap);
}

static void send_answer(struct job *j)
{
	if (j->sent)
		return;
	j->sent = true;
	/* the child may be gone (its deadline passed): only logged */
	if (send(j->fd, &j->a, sizeof j->a, MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    (ssize_t)sizeof j->a)
		polo_log(j->lg, LOG_WARNING, "uid %u home %.200s: answer not "
			 "delivered: %s", j->q->uid, j->q->home,
			 strerror(errno));
}

/* ack = early: the client hears "created" once the empty directory is
 * there; the copy from skel goes on. */
static int early(void *ctx, enum polo_home_stage stage, const struct stat *st)
{
	struct job *j = ctx;

	(void)st;
	if (stage == POLO_HOME_CREATED) {
		answer(j, 0, "created", "created");
		send_answer(j);
	}
	return 0;
}

/* The home does not exist: make it in parentfd. */
static void create(struct job *j, int parentfd, const char *name,
		   const struct passwd *pw, const struct polo_conf *c)
{
	struct polo_home_spec h = {
		.what = j->q->home, .skel = c->skel, .uid = pw->pw_uid,
		.gid = pw->pw_gid, .umask = (mode_t)c->umask, .trust = 0,
	};
	int r;

	if (c->cl.ack == POLO_ACK_EARLY) {
		h.step = early;
		h.ctx = j;
	}
	r = polo_home_make_at(parentfd, name, &h, j->lg);
	if (r == 0) {
		polo_log(j->lg, LOG_INFO, "uid %u (%s) home %.200s: created%s",
			 j->q->uid, pw->pw_name, j->q->home,
			 j->sent ? " (acknowledged early)" : "");
		answer(j, 0, "created", "created");
		return;
	}
	if (r == -EBUSY) {	/* another creator holds it (logged) */
		polo_log(j->lg, LOG_WARNING, "uid %u (%s) home %.200s: not "
			 "created: another process is still making it",
			 j->q->uid, pw->pw_name, j->q->home);
		answer(j, EBUSY, NULL, "home is being made by another process");
		return;
	}
	if (r == -EEXIST && j->sent) {	/* someone else's won the rename */
		polo_log(j->lg, LOG_INFO, "uid %u (%s) home %.200s: made by "
			 "another process meanwhile (acknowledged early)",
			 j->q->uid, pw->pw_name, j->q->home);
		return;
	}
	if (j->sent)	/* acknowledged, then failed: the log must say so */
		polo_log(j->lg, LOG_ERR, "uid %u (%s) home %.200s: acknowledged "
			 "early but not completed: %s (removed)", j->q->uid,
			 pw->pw_name, j->q->home, strerror(-r));
	else
		polo_log(j->lg, LOG_WARNING, "uid %u (%s) home %.200s: cannot "
			 "create: %s", j->q->uid, pw->pw_name, j->q->home,
			 strerror(-r));
	answer(j, -r, NULL, "cannot create: %s", strerror(-r));
}

/* The request may be served (policy.h): the home exists, or is made. */
static void place(struct job *j, const struct polo_serve_verdict *v,
		  const struct polo_conf *c)
{
	const struct passwd *pw = &v->pw;
	struct stat st;
	int r;

	for (int tries = 0; tries < 2; tries++) {
		if (fstatat(v->parentfd, v->name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISDIR(st.st_mode)) {
				polo_log(j->lg, LOG_INFO, "uid %u (%s) home "
					 "%.200s: exists", j->q->uid,
					 pw->pw_name, j->q->home);
				answer(j, 0, "exists", "exists");
			} else {
				polo_log(j->lg, LOG_WARNING, "uid %u (%s) home "
					 "%.200s: refused: exists and is not a "
					 "directory", j->q->uid, pw->pw_name,
					 j->q->home);
				answer(j, EEXIST, NULL, "home exists and is "
				       "not a directory");
			}
			break;
		}
		if (errno != ENOENT) {
			r = errno;
			polo_log(j->lg, LOG_WARNING, "uid %u home %.200s: %s",
				 j->q->uid, j->q->home, strerror(r));
			answer(j, r, NULL, "cannot create: %s", strerror(r));
			break;
		}
		create(j, v->parentfd, v->name, pw, c);
		if (j->a.code != EEXIST || j->sent)
			break;
		/* made by someone else meanwhile: look again, once */
	}
}

static void decide(struct job *j, const struct polo_conf *c)
{
	const struct polo_home_ask q = {
		.uid = j->q->uid, .gid = j->q->gid, .home = j->q->home,
	};
	const struct polo_serve_rules rules = {
		.min_uid = c->cl.min_uid, .max_uid = c->cl.max_uid,
		.tmphome = c->tmphome, .trust = 0,
	};
	struct polo_serve_verdict v;

	if (polo_may_serve(&q, &rules, &v, j->lg) == 0)
		place(j, &v, c);
	else
		answer(j, v.code, NULL, "%s", v.text);
	(void)polo_strlcpy(j->a.user, v.user, sizeof j->a.user);
	polo_serve_end(&v);
}

int hookd_priv_serve(int fd, const struct polo_conf *c,
		     const struct polo_log *lg)
{
	struct hookd_req q;
	struct job j = { .fd = fd, .q = &q, .lg = lg };
	ssize_t n;

	/* MSG_TRUNC: the real size of the datagram, so a longer one is
	 * seen as such and not taken for a request */
	n = recv(fd, &q, sizeof q, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof q) {
		if (n != 0)
			polo_log(lg, LOG_WARNING, "request of %zd bytes "
				 "refused (want %zu)", n, sizeof q);
		return -EBADMSG;
	}
	if (memchr(q.home, '\0', sizeof q.home) == NULL) {
		polo_log(lg, LOG_WARNING, "request refused: unterminated path");
		return -EBADMSG;
	}
	decide(&j, c);
	send_answer(&j);
	return 0;
}
