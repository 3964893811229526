/*
 * pam_polohook: the PAM glue. Parses arguments, reads PAM items, hands the
 * work to lib/ and maps the outcome to PAM codes. No logic lives here.
 *
 * Inside sshd, login, gdm and su this module keeps no global state, never
 * calls openlog/setlocale/setenv, installs no signal handler and leaves no
 * child, fd or allocation behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "conf.h"
#include "env.h"
#include "phase.h"

#define DATA_SESSION_ID "pam_polohook_session_id"

static void emit(void *ctx, int prio, const char *msg)
{
	pam_syslog((pam_handle_t *)ctx, prio, "%s", msg);
}

static const char *item(pam_handle_t *pamh, int type)
{
	const void *v = NULL;

	if (pam_get_item(pamh, type, &v) != PAM_SUCCESS)
		return NULL;
	return v;
}

static void free_data(pam_handle_t *pamh, void *data, int status)
{
	(void)pamh;
	(void)status;
	free(data);
}

/* Remember the id for close: in this handle, and in the PAM environment
 * for a close that happens through another handle. */
static void keep_id(pam_handle_t *pamh, const struct polo_session *s)
{
	char env[sizeof "POLO_SESSION_ID=" + POLO_SESSION_ID_MAX];
	char *copy = strdup(s->id);

	if (copy != NULL &&
	    pam_set_data(pamh, DATA_SESSION_ID, copy, free_data) != PAM_SUCCESS)
		free(copy);
	(void)snprintf(env, sizeof env, "POLO_SESSION_ID=%s", s->id);
	(void)pam_putenv(pamh, env);
}

static int pick_id(pam_handle_t *pamh, struct polo_session *s)
{
	const void *data = NULL;
	const char *cand[3];

	if (pam_get_data(pamh, DATA_SESSION_ID, &data) != PAM_SUCCESS)
		data = NULL;
	cand[0] = data;
	cand[1] = pam_getenv(pamh, s->phase == POLO_OPEN ? "XDG_SESSION_ID" :
							  "POLO_SESSION_ID");
	cand[2] = pam_getenv(pamh, "XDG_SESSION_ID");
	return polo_session_set_id(s, cand, 3);
}

static int session(pam_handle_t *pamh, int argc, const char **argv,
		   enum polo_phase phase)
{
	struct polo_log lg = { .emit = emit, .ctx = pamh };
	struct polo_session *s = NULL;
	struct polo_conf *c = NULL;
	int ret = PAM_BUF_ERR, r;

	c = malloc(sizeof *c);
	s = malloc(sizeof *s);
	if (c == NULL || s == NULL)
		goto out;
	polo_conf_from_args(c, argc, argv, &lg);
	if (!polo_service_is_login(item(pamh, PAM_SERVICE))) {
		polo_log(&lg, LOG_DEBUG, "%s: the user's service manager, not "
			 "a login: nothing to do", (const char *)item(pamh,
			 PAM_SERVICE));
		ret = PAM_IGNORE;
		goto out;
	}
	ret = c->onerr == POLO_ONERR_FAIL ? PAM_SESSION_ERR : PAM_SUCCESS;
	if (c->bad && c->onerr == POLO_ONERR_FAIL) {
		pam_syslog(pamh, LOG_ERR, "bad settings and onerr=fail: "
			   "no hooks run");
		goto out;
	}
	r = polo_session_init(s, phase, item(pamh, PAM_USER),
			      item(pamh, PAM_SERVICE), item(pamh, PAM_TTY),
			      item(pamh, PAM_RHOST), item(pamh, PAM_RUSER), &lg);
	if (r == -EINVAL || r == -ENOENT) {
		ret = PAM_USER_UNKNOWN;
		goto out;
	}
	if (r < 0 || pick_id(pamh, s) < 0)
		goto out;
	r = phase == POLO_OPEN ? polo_phase_open(c, s, geteuid(), &lg)
			       : polo_phase_close(c, s, geteuid(), &lg);
	/* after the open: the state may have given the session a fresh id */
	if (phase == POLO_OPEN)
		keep_id(pamh, s);
	ret = r < 0 && c->onerr == POLO_ONERR_FAIL ? PAM_SESSION_ERR
						   : PAM_SUCCESS;
out:
	free(c);
	free(s);
	return ret;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
				   const char **argv)
{
	(void)flags;
	return session(pamh, argc, argv, POLO_OPEN);
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
				    const char **argv)
{
	(void)flags;
	return session(pamh, argc, argv, POLO_CLOSE);
}
