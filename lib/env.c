#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "env.h"
#include "util.h"

const char *polo_phase_arg(enum polo_phase p)
{
	return p == POLO_OPEN ? "session_added" : "session_removed";
}

bool polo_rhost_is_local(const char *rhost)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (rhost == NULL || rhost[0] == '\0' || strcmp(rhost, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, rhost, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, rhost, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

bool polo_session_id_valid(const char *id)
{
	size_t n = strlen(id), i;

	if (n == 0 || n > POLO_SESSION_ID_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int polo_session_id_new(char *buf, size_t len)
{
	unsigned char rnd[16];
	size_t i;

	if (len < 2 * sizeof rnd + 1)
		return -ENOSPC;
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		return -errno;
	for (i = 0; i < sizeof rnd; i++)
		(void)snprintf(buf + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

void polo_strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

#define ENV_MAX 32

struct envb {
	char **v;
	size_t n;
	int err;
};

static void env_add(struct envb *e, const char *name, const char *value)
{
	char *s;

	if (e->err)
		return;
	if (value == NULL)
		value = "";
	if (!polo_is_clean_text(value)) {
		e->err = -EINVAL;
		return;
	}
	if (e->n == ENV_MAX - 1 || asprintf(&s, "%s=%s", name, value) < 0) {
		e->err = -ENOMEM;
		return;
	}
	e->v[e->n++] = s;
}

static void env_add_ulong(struct envb *e, const char *name, unsigned long v)
{
	char buf[32];

	(void)snprintf(buf, sizeof buf, "%lu", v);
	env_add(e, name, buf);
}

int polo_env_build(const struct polo_session *s, char ***envp)
{
	struct envb e = { .v = calloc(ENV_MAX, sizeof(char *)) };
	const char *local = s->is_local ? "true" : "false";

	*envp = NULL;
	if (e.v == NULL)
		return -ENOMEM;
	env_add(&e, "PATH", POLO_HOOK_PATH);
	/* pam_exec's names */
	env_add(&e, "PAM_USER", s->user);
	env_add(&e, "PAM_SERVICE", s->service);
	env_add(&e, "PAM_TTY", s->tty);
	env_add(&e, "PAM_RHOST", s->rhost);
	env_add(&e, "PAM_RUSER", s->ruser);
	env_add(&e, "PAM_TYPE", s->phase == POLO_OPEN ? "open_session" :
							 "close_session");
	/* ours */
	env_add(&e, "POLO_SESSION_ID", s->id);
	env_add_ulong(&e, "POLO_USER_UID", (unsigned long)s->uid);
	env_add_ulong(&e, "POLO_USER_GID", (unsigned long)s->gid);
	env_add(&e, "POLO_USER_HOME", s->home);
	env_add(&e, "POLO_SESSION_IS_LOCAL", local);
	if (s->counted) {
		env_add_ulong(&e, "POLO_USER_SESSIONS", s->user_sessions);
		env_add(&e, "POLO_LAST_SESSION", s->phase == POLO_CLOSE &&
			s->last_session ? "true" : "false");
	}
	/* ConsoleKit's, so run-session.d scripts work unchanged */
	env_add(&e, "CK_SESSION_ID", s->id);
	env_add_ulong(&e, "CK_SESSION_USER_UID", (unsigned long)s->uid);
	env_add(&e, "CK_SESSION_IS_LOCAL", local);
	env_add(&e, "CK_SESSION_REMOTE_HOST_NAME", s->rhost);
	env_add(&e, "CK_SESSION_DISPLAY_DEVICE", s->tty);
	env_add(&e, "CK_SESSION_SERVICE", s->service);
	if (e.err) {
		polo_strv_free(e.v);
		return e.err;
	}
	*envp = e.v;
	return 0;
}
