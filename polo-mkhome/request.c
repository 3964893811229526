/*
 * polo-mkhome: the user and the Create-Home request (mk_user_request).
 *
 * Rules this file keeps:
 *  - the uid, gid and home sent are the ones our own NSS gives for
 *    PAM_USER; the hook environment is only cross-checked against them;
 *  - an unknown user, a bad user name or a home that cannot be asked
 *    for is an error return (logged), never abort().
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "home.h"
#include "log.h"
#include "mk.h"
#include "proto.h"
#include "util.h"

static bool env_mismatch_num(const char *name, unsigned long want)
{
	const char *v = getenv(name);
	unsigned long n;

	if (v == NULL)
		return false;
	return polo_parse_uint(v, 0, UINT32_MAX, &n) < 0 || n != want;
}

/* The hook environment may only repeat what our own NSS says. */
static bool env_matches(const struct passwd *pw)
{
	const char *home = getenv("POLO_USER_HOME");

	return !env_mismatch_num("POLO_USER_UID", pw->pw_uid) &&
	       !env_mismatch_num("POLO_USER_GID", pw->pw_gid) &&
	       (home == NULL || strcmp(home, pw->pw_dir) == 0);
}

/* The request for PAM_USER, from our own NSS, cross-checked with the hook
 * environment. 0, 1 when there is nothing to do, or -errno (logged). */
int mk_user_request(struct mk *m)
{
	const char *user = getenv("PAM_USER");
	struct polo_home_req rq = { .uid = 0 };
	char tname[NAME_MAX + 1];
	struct passwd pw;
	char *buf = NULL;
	int r;

	if (user == NULL || user[0] == '\0') {
		polo_log(&m->lg, LOG_DEBUG, "no PAM_USER: nothing to do");
		return 1;
	}
	if (!polo_valid_user_name(user)) {
		polo_log(&m->lg, LOG_ERR, "refusing a bad user name");
		return -EINVAL;
	}
	r = polo_getpw(user, 0, &pw, &buf);
	if (r < 0) {
		polo_log(&m->lg, LOG_ERR, "user %s: %s", user,
			 r == -ENOENT ? "unknown" : strerror(-r));
		goto out;
	}
	if (!env_matches(&pw)) {
		polo_log(&m->lg, LOG_ERR, "user %s: the hook environment does "
			 "not match the passwd entry: refusing", user);
		r = -EPERM;
		goto out;
	}
	if (pw.pw_uid < m->conf.cl.min_uid || pw.pw_uid > m->conf.cl.max_uid) {
		polo_log(&m->lg, LOG_DEBUG, "user %s: uid %lu outside min_uid.."
			 "max_uid: nothing to do", user,
			 (unsigned long)pw.pw_uid);
		r = 1;
		goto out;
	}
	/* a temporary home lives on the node of the login only: made on
	 * the others it would outlive the session there */
	if (m->conf.tmphome[0] != '\0' &&
	    polo_tmphome_name(m->conf.tmphome, pw.pw_dir, tname,
			      sizeof tname) != -ENOENT) {
		polo_log(&m->lg, LOG_INFO, "user %s: home %.300s is below "
			 "tmphome %.300s: a temporary home, made on this node "
			 "only", user, pw.pw_dir, m->conf.tmphome);
		r = 1;
		goto out;
	}
	rq.uid = pw.pw_uid;
	rq.gid = pw.pw_gid;
	r = polo_strlcpy(rq.home, pw.pw_dir, sizeof rq.home);
	if (r == 0)
		r = polo_home_req_format(m->req, sizeof m->req, &rq);
	if (r < 0) {
		mk_clean(pw.pw_dir, strlen(pw.pw_dir) + 1);
		polo_log(&m->lg, LOG_ERR, "user %s: home %.200s cannot be "
			 "asked for (absolute, no ',' or control characters)",
			 user, pw.pw_dir);
		r = -EINVAL;
		goto out;
	}
	m->reqlen = (size_t)r;
	r = 0;
out:
	free(buf);
	return r;
}
