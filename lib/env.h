/* The session as hooks see it, and the environment built for them from
 * scratch: nothing is inherited from the host or the PAM environment. */
#ifndef POLO_ENV_H
#define POLO_ENV_H

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "log.h"

enum polo_phase { POLO_OPEN = 0, POLO_CLOSE };

#define POLO_SESSION_ID_MAX 64
#define POLO_ITEM_MAX 256

struct polo_session {
	enum polo_phase phase;
	/* PAM items, validated by polo_session_init(); "" when unset */
	char user[33];
	char service[POLO_ITEM_MAX], tty[POLO_ITEM_MAX];
	char rhost[POLO_ITEM_MAX], ruser[POLO_ITEM_MAX];
	uid_t uid;
	gid_t gid;
	char home[PATH_MAX];
	char id[POLO_SESSION_ID_MAX + 1];
	bool is_local;
	/* from the session state, when it is known (counted) */
	bool counted;
	unsigned long user_sessions;	/* live sessions of the user */
	bool last_session;		/* at close: the user's last one */
};

/* Validate the PAM items and look the user up. A user name that is not a
 * sane login name is -EINVAL, an unknown user -ENOENT (both: the module
 * returns PAM_USER_UNKNOWN); another item that is too long or holds
 * control characters is logged and passed on as "" (never raw). */
int polo_session_init(struct polo_session *s, enum polo_phase phase,
		      const char *user, const char *service, const char *tty,
		      const char *rhost, const char *ruser,
		      const struct polo_log *lg);

/* Is a session of this PAM service a login? Not the user's service
 * manager's (systemd --user, service "systemd-user"): logind starts it at
 * a user's first login and stops it after the last, as the user; counted,
 * it would make every first login a second session and no logout the
 * last. The module neither runs hooks for it nor records it. */
bool polo_service_is_login(const char *service);

/* Take the first valid id of candidates[0..n) (NULL entries skipped); at
 * open with none valid, make a new one. At close with none, "". */
int polo_session_set_id(struct polo_session *s, const char *const *cand,
			size_t n);

/* optin=NAME: does the user's home hold NAME? (lstat, never followed) */
bool polo_session_opted_in(const struct polo_session *s, const char *name,
			   const struct polo_log *lg);

#define POLO_HOOK_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* "session_added" / "session_removed" */
const char *polo_phase_arg(enum polo_phase p);

/* True for "", "localhost", 127.0.0.0/8, ::1 and ::ffff:127.x.y.z. */
bool polo_rhost_is_local(const char *rhost);

/* A session id: what pam_systemd's XDG_SESSION_ID looks like, or ours:
 * [A-Za-z0-9_-], 1..64 bytes. */
bool polo_session_id_valid(const char *id);
/* 32 hex digits from getrandom(). 0 or -errno. */
int polo_session_id_new(char *buf, size_t len);

/* The environment for hooks, NULL-terminated, each string malloc'd (free
 * with polo_strv_free). 0 or -ENOMEM / -EINVAL (a value that is not clean
 * text: never passed on). */
int polo_env_build(const struct polo_session *s, char ***envp);
void polo_strv_free(char **v);

#endif
