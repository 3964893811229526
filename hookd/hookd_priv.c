/* hookd's privileged request handler: the only code that runs as root
 * on behalf of a network request.
 *
 * MUST rules (PROTOCOL.md, "What the original server did"):
 *  - the request comes from an unprivileged process that parsed network
 *    input: nothing in it is trusted, not its size, not its NUL, not one
 *    byte of the path;
 *  - the user is resolved through our own NSS (getpwuid_r); we go on only
 *    if that user exists, min_uid <= uid <= max_uid, its passwd home equals the path
 *    asked for byte for byte, and its primary gid equals the gid asked for;
 *  - the home's parent is reached through a trusted walk (root-owned
 *    directories only) and the home is made in that directory fd, never
 *    if that directory is the tmphome root or below it (compared by
 *    device and inode, not by name);
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
#include "util.h"

#define PW_BUF_START	4096
#define PW_BUF_MAX	(1024 * 1024)

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

/* Absolute, no empty, "." or ".." component, no trailing '/', not "/". */
static bool clean_path(const char *p)
{
	const char *s = p, *e;

	if (!polo_valid_abs_path(p) || strcmp(p, "/") == 0)
		return false;
	while (*s == '/') {
		s++;
		e = strchr(s, '/');
		if (e == NULL)
			e = s + strlen(s);
		if (e == s || (e - s == 1 && s[0] == '.') ||
		    (e - s == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s = e;
	}
	return *s == '\0';
}

/* getpwuid_r with a growing, bounded buffer. 0 (found), -ENOENT, -errno. */
static int lookup(uid_t uid, struct passwd *pw, char **buf)
{
	struct passwd *res = NULL;
	size_t len = PW_BUF_START;
	char *b = NULL, *nb;
	int r;

	for (;;) {
		nb = realloc(b, len);
		if (nb == NULL) {
			free(b);
			return -ENOMEM;
		}
		b = nb;
		r = getpwuid_r(uid, pw, b, len, &res);
		if (r != ERANGE || len >= PW_BUF_MAX)
			break;
		len *= 2;
	}
	if (r == 0 && res == NULL)
		r = ENOENT;
	if (r != 0) {
		free(b);
		return -r;
	}
	*buf = b;
	return 0;
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

/* Is the home's parent, open at pfd, this node's tmphome root or a
 * directory below it, however the path asked for spells it (a root-owned
 * symlink, a bind mount)? The string test in decide() sees one spelling
 * only; this compares the directories (device, inode). A home made there
 * would be unrecorded, and pam_polohook would keep it forever. true:
 * refused (logged, answered). */
static bool in_tmphome(struct job *j, int pfd, const struct polo_conf *c)
{
	struct stat top;
	int fd, r;

	if (c->tmphome[0] == '\0')
		return false;
	fd = open(c->tmphome, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return false;	/* no root here: nothing is below it */
	if (fd < 0) {
		r = -errno;
	} else {
		r = fstat(fd, &top) < 0 ? -errno : polo_dir_within(pfd, &top);
		close(fd);
	}
	if (r == 0)
		return false;
	if (r == 1) {
		polo_log(j->lg, LOG_WARNING, "uid %u home %.200s: refused: below "
			 "this node's tmphome %.200s (the same directory under "
			 "another name; temporary homes are made at login, "
			 "never by hookd)", j->q->uid, j->q->home, c->tmphome);
		answer(j, EPERM, NULL, "a temporary home here");
	} else {
		polo_log(j->lg, LOG_WARNING, "uid %u home %.200s: refused: "
			 "cannot tell whether it is below the tmphome %.200s: %s",
			 j->q->uid, j->q->home, c->tmphome, strerror(-r));
		answer(j, -r, NULL, "cannot check the tmphome root");
	}
	return true;
}

/* The checks on the home's place, then exists/create. */
static void place(struct job *j, const struct passwd *pw,
		  const struct polo_conf *c)
{
	char parent[PATH_MAX], why[512];
	const char *name;
	struct stat st;
	size_t plen;
	int pfd = -1, r;

	name = strrchr(j->q->home, '/') + 1;	/* clean_path: there is one */
	plen = (size_t)(name - j->q->home - 1);
	memcpy(parent, j->q->home, plen);
	parent[plen] = '\0';
	if (plen == 0)
		(void)polo_strlcpy(parent, "/", sizeof parent);
	/* a home may not be named like one being made (lib/mkhome.h) */
	if (!polo_valid_file_name(name) ||
	    strncmp(name, POLO_HOME_TMP_PREFIX,
		    sizeof POLO_HOME_TMP_PREFIX - 1) == 0) {
		polo_log(j->lg, LOG_WARNING, "uid %u home %.200s: refused: not "
			 "a valid directory name", j->q->uid, j->q->home);
		answer(j, EINVAL, NULL, "home name not allowed");
		return;
	}
	r = polo_open_trusted(parent, O_RDONLY | O_DIRECTORY, 0, &pfd, NULL,
			      0, why, sizeof why);
	if (r < 0) {
		polo_log(j->lg, LOG_WARNING, "uid %u home %.200s: refused: "
			 "parent directory: %.300s", j->q->uid, j->q->home, why);
		answer(j, -r, NULL, "parent directory %s",
		       r == -ENOENT ? "does not exist" : "not trusted");
		return;
	}
	if (in_tmphome(j, pfd, c)) {
		close(pfd);
		return;
	}
	for (int tries = 0; tries < 2; tries++) {
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
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
		create(j, pfd, name, pw, c);
		if (j->a.code != EEXIST || j->sent)
			break;
		/* made by someone else meanwhile: look again, once */
	}
	close(pfd);
}

static void decide(struct job *j, const struct polo_conf *c)
{
	const struct hookd_req *q = j->q;
	char tname[NAME_MAX + 1];
	struct passwd pw;
	char *buf = NULL;
	int r;

	if (!clean_path(q->home)) {
		polo_log(j->lg, LOG_WARNING, "uid %u: refused: home is not a "
			 "clean absolute path", q->uid);
		answer(j, EINVAL, NULL, "home is not a clean absolute path");
		return;
	}
	if (q->uid < c->cl.min_uid || q->uid == (uint32_t)-1) {
		polo_log(j->lg, LOG_WARNING, "uid %u home %.200s: refused: uid "
			 "below min_uid %lu", q->uid, q->home, c->cl.min_uid);
		answer(j, EPERM, NULL, "uid below min_uid");
		return;
	}
	if (c->tmphome[0] != '\0' &&
	    polo_tmphome_name(c->tmphome, q->home, tname, sizeof tname) !=
	    -ENOENT) {
		polo_log(j->lg, LOG_WARNING, "uid %u home %.200s: refused: below "
			 "this node's tmphome %.200s (temporary homes are made "
			 "at login, never by hookd)", q->uid, q->home,
			 c->tmphome);
		answer(j, EPERM, NULL, "a temporary home here");
		return;
	}
	if (q->uid > c->cl.max_uid) {
		polo_log(j->lg, LOG_WARNING, "uid %u home %.200s: refused: uid "
			 "above max_uid %lu", q->uid, q->home, c->cl.max_uid);
		answer(j, EPERM, NULL, "uid above max_uid");
		return;
	}
	r = lookup((uid_t)q->uid, &pw, &buf);
	if (r < 0) {
		polo_log(j->lg, LOG_WARNING, "uid %u home %.200s: refused: %s",
			 q->uid, q->home, r == -ENOENT ? "no such uid" :
			 strerror(-r));
		answer(j, -r, NULL, "%s", r == -ENOENT ? "no such uid" :
		       "user lookup failed");
		return;
	}
	(void)polo_strlcpy(j->a.user, pw.pw_name, sizeof j->a.user);
	if (pw.pw_uid != (uid_t)q->uid) {	/* a broken NSS module */
		polo_log(j->lg, LOG_ERR, "uid %u: NSS returned uid %u",
			 q->uid, (unsigned)pw.pw_uid);
		answer(j, EPERM, NULL, "user lookup failed");
	} else if (pw.pw_dir == NULL || strcmp(pw.pw_dir, q->home) != 0) {
		polo_log(j->lg, LOG_WARNING, "uid %u (%.32s) home %.200s: "
			 "refused: the passwd home is %.200s", q->uid,
			 pw.pw_name, q->home, pw.pw_dir ? pw.pw_dir : "(none)");
		answer(j, EPERM, NULL, "home does not match the passwd home");
	} else if (pw.pw_gid != (gid_t)q->gid) {
		polo_log(j->lg, LOG_WARNING, "uid %u (%.32s) home %.200s: "
			 "refused: gid %u, the passwd gid is %u", q->uid,
			 pw.pw_name, q->home, q->gid, (unsigned)pw.pw_gid);
		answer(j, EPERM, NULL, "gid does not match");
	} else {
		place(j, &pw, c);
	}
	free(buf);
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
