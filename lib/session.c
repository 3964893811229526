#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"
#include "util.h"

/* Copy a PAM item that hooks will see; refuse (as "") what is not clean.
 * false if the value was refused. */
static bool take_item(char *dst, size_t len, const char *name,
		      const char *v, const struct polo_log *lg)
{
	dst[0] = '\0';
	if (v == NULL)
		return true;
	if (polo_is_clean_text(v) && polo_strlcpy(dst, v, len) == 0)
		return true;
	polo_log(lg, LOG_WARNING, "%s holds control characters or is too "
		 "long; hooks get it empty", name);
	return false;
}

static int lookup_user(struct polo_session *s, const struct polo_log *lg)
{
	struct passwd pw;
	char *buf = NULL;
	int r;

	r = polo_getpw(s->user, 0, &pw, &buf);
	if (r < 0) {
		polo_log(lg, LOG_ERR, "user %s: %s", s->user,
			 r == -ENOENT ? "no such user" : strerror(-r));
	} else if (!polo_valid_abs_path(pw.pw_dir) ||
		   polo_strlcpy(s->home, pw.pw_dir, sizeof s->home) < 0) {
		polo_log(lg, LOG_ERR, "user %s: home directory is not a clean "
			 "absolute path", s->user);
		r = -EINVAL;
	} else {
		s->uid = pw.pw_uid;
		s->gid = pw.pw_gid;
	}
	free(buf);
	return r;
}

int polo_session_init(struct polo_session *s, enum polo_phase phase,
		      const char *user, const char *service, const char *tty,
		      const char *rhost, const char *ruser,
		      const struct polo_log *lg)
{
	memset(s, 0, sizeof *s);
	s->phase = phase;
	if (user == NULL) {
		polo_log(lg, LOG_ERR, "no user name (PAM_USER is not set)");
		return -EINVAL;
	}
	if (!polo_valid_user_name(user)) {
		polo_log(lg, LOG_ERR, "refusing user name '%.40s': not a valid "
			 "login name", polo_is_clean_text(user) ? user :
			 "(unprintable)");
		return -EINVAL;
	}
	(void)polo_strlcpy(s->user, user, sizeof s->user);
	take_item(s->service, sizeof s->service, "PAM_SERVICE", service, lg);
	take_item(s->tty, sizeof s->tty, "PAM_TTY", tty, lg);
	take_item(s->ruser, sizeof s->ruser, "PAM_RUSER", ruser, lg);
	/* a remote host we could not pass on is still not "local" */
	s->is_local = take_item(s->rhost, sizeof s->rhost, "PAM_RHOST", rhost,
				lg) && polo_rhost_is_local(s->rhost);
	return lookup_user(s, lg);
}

bool polo_service_is_login(const char *service)
{
	return service == NULL || strcmp(service, "systemd-user") != 0;
}

int polo_session_set_id(struct polo_session *s, const char *const *cand,
			size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cand[i] != NULL && polo_session_id_valid(cand[i]))
			return polo_strlcpy(s->id, cand[i], sizeof s->id);
	s->id[0] = '\0';
	return s->phase == POLO_OPEN ? polo_session_id_new(s->id, sizeof s->id)
				     : 0;
}

bool polo_session_opted_in(const struct polo_session *s, const char *name,
			   const struct polo_log *lg)
{
	char path[PATH_MAX];
	struct stat st;
	int n;

	n = snprintf(path, sizeof path, "%s/%s", s->home, name);
	if (n < 0 || (size_t)n >= sizeof path)
		return false;
	if (lstat(path, &st) == 0)
		return true;
	polo_log(lg, LOG_DEBUG, "%s: %s: user has not opted in", path,
		 strerror(errno));
	return false;
}
