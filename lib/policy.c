/*
 * The shared decisions (see policy.h).
 *
 * MUST rules for polo_may_serve (PROTOCOL.md, "What the original server
 * did", and what it did not):
 *  - nothing in the request is trusted: not one byte of the path, not the
 *    uid or gid; only our own fixed words go back into v->text;
 *  - the user is resolved through this node's NSS; a request is served
 *    only if that user exists, min_uid <= uid <= max_uid, its passwd home
 *    equals the path asked for byte for byte, and its primary gid equals
 *    the gid asked for;
 *  - the home's parent is reached by the trusted walk, and a home is
 *    never made in the tmphome root or below it, by name or by device and
 *    inode (a root-owned symlink or bind mount is another name for it):
 *    temporary homes are made at login only, and recorded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "home.h"
#include "mkhome.h"
#include "policy.h"
#include "util.h"

enum polo_home_verdict polo_home_may_remove(const struct polo_home_facts *f)
{
	if (f->counted < 0)
		return POLO_HOME_UNCOUNTED;
	if (f->live > 0)
		return POLO_HOME_LIVE;
	if (f->looked < 0)
		return POLO_HOME_UNSEEN;
	if (!f->recorded)
		return POLO_HOME_NOT_OURS;
	if (!f->present)
		return POLO_HOME_GONE;
	if (!f->is_dir || !f->same)
		return POLO_HOME_CHANGED;
	if (f->owner != f->uid || f->rec_uid != f->uid)
		return POLO_HOME_OWNER;
	if (f->procs != 0)
		return POLO_HOME_BUSY;
	return POLO_HOME_REMOVE;
}

/* The default lookup: this node's NSS. */
static int nss_getpw(uid_t uid, struct passwd *pw, char **buf)
{
	return polo_getpw(NULL, uid, pw, buf);
}

static int refuse(struct polo_serve_verdict *v, int code, const char *text)
{
	v->code = code;
	(void)polo_strlcpy(v->text, text, sizeof v->text);
	return -code;
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

/* The checks that need neither the user nor the file system. */
static int check_ask(const struct polo_home_ask *q,
		     const struct polo_serve_rules *r,
		     struct polo_serve_verdict *v, const struct polo_log *lg)
{
	char tname[NAME_MAX + 1];

	if (!clean_path(q->home)) {
		polo_log(lg, LOG_WARNING, "uid %u: refused: home is not a "
			 "clean absolute path", q->uid);
		return refuse(v, EINVAL, "home is not a clean absolute path");
	}
	if (q->uid < r->min_uid || q->uid == (uint32_t)-1) {
		polo_log(lg, LOG_WARNING, "uid %u home %.200s: refused: uid "
			 "below min_uid %lu", q->uid, q->home, r->min_uid);
		return refuse(v, EPERM, "uid below min_uid");
	}
	if (r->tmphome[0] != '\0' &&
	    polo_tmphome_name(r->tmphome, q->home, tname, sizeof tname) !=
	    -ENOENT) {
		polo_log(lg, LOG_WARNING, "uid %u home %.200s: refused: below "
			 "this node's tmphome %.200s (temporary homes are made "
			 "at login, never by hookd)", q->uid, q->home,
			 r->tmphome);
		return refuse(v, EPERM, "a temporary home here");
	}
	if (q->uid > r->max_uid) {
		polo_log(lg, LOG_WARNING, "uid %u home %.200s: refused: uid "
			 "above max_uid %lu", q->uid, q->home, r->max_uid);
		return refuse(v, EPERM, "uid above max_uid");
	}
	return 0;
}

/* The user of q->uid, and the request against it. */
static int check_user(const struct polo_home_ask *q,
		      const struct polo_serve_rules *r,
		      struct polo_serve_verdict *v, const struct polo_log *lg)
{
	const struct passwd *pw = &v->pw;
	int e;

	e = (r->getpw ? r->getpw : nss_getpw)((uid_t)q->uid, &v->pw,
						  &v->pwbuf);
	if (e < 0) {
		v->pwbuf = NULL;
		polo_log(lg, LOG_WARNING, "uid %u home %.200s: refused: %s",
			 q->uid, q->home, e == -ENOENT ? "no such uid" :
			 strerror(-e));
		return refuse(v, -e, e == -ENOENT ? "no such uid" :
			      "user lookup failed");
	}
	(void)polo_strlcpy(v->user, pw->pw_name ? pw->pw_name : "",
			   sizeof v->user);
	if (pw->pw_uid != (uid_t)q->uid) {	/* a broken NSS module */
		polo_log(lg, LOG_ERR, "uid %u: NSS returned uid %u", q->uid,
			 (unsigned)pw->pw_uid);
		return refuse(v, EPERM, "user lookup failed");
	}
	if (pw->pw_dir == NULL || strcmp(pw->pw_dir, q->home) != 0) {
		polo_log(lg, LOG_WARNING, "uid %u (%.32s) home %.200s: "
			 "refused: the passwd home is %.200s", q->uid,
			 v->user, q->home, pw->pw_dir ? pw->pw_dir : "(none)");
		return refuse(v, EPERM, "home does not match the passwd home");
	}
	if (pw->pw_gid != (gid_t)q->gid) {
		polo_log(lg, LOG_WARNING, "uid %u (%.32s) home %.200s: "
			 "refused: gid %u, the passwd gid is %u", q->uid,
			 v->user, q->home, q->gid, (unsigned)pw->pw_gid);
		return refuse(v, EPERM, "gid does not match");
	}
	return 0;
}

/* Is the parent, open at pfd, this node's tmphome root or a directory
 * below it, however the path asked for spells it (a root-owned symlink,
 * a bind mount)? check_ask's test by name sees one spelling only; this
 * compares the directories. A home made there would be unrecorded, and
 * pam_polohook would keep it forever. */
static int check_not_tmphome(const struct polo_home_ask *q,
			     const struct polo_serve_rules *r, int pfd,
			     struct polo_serve_verdict *v,
			     const struct polo_log *lg)
{
	struct stat top;
	int fd, e;

	if (r->tmphome[0] == '\0')
		return 0;
	fd = open(r->tmphome, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;	/* no root here: nothing is below it */
	if (fd < 0) {
		e = -errno;
	} else {
		e = fstat(fd, &top) < 0 ? -errno : polo_dir_within(pfd, &top);
		close(fd);
	}
	if (e == 0)
		return 0;
	if (e == 1) {
		polo_log(lg, LOG_WARNING, "uid %u home %.200s: refused: below "
			 "this node's tmphome %.200s (the same directory under "
			 "another name; temporary homes are made at login, "
			 "never by hookd)", q->uid, q->home, r->tmphome);
		return refuse(v, EPERM, "a temporary home here");
	}
	polo_log(lg, LOG_WARNING, "uid %u home %.200s: refused: cannot tell "
		 "whether it is below the tmphome %.200s: %s", q->uid, q->home,
		 r->tmphome, strerror(-e));
	return refuse(v, -e, "cannot check the tmphome root");
}

/* The home's place: its name, its trusted parent. */
static int check_place(const struct polo_home_ask *q,
		       const struct polo_serve_rules *r,
		       struct polo_serve_verdict *v, const struct polo_log *lg)
{
	char parent[PATH_MAX], why[512];
	const char *name;
	size_t plen;
	int pfd = -1, e;

	name = strrchr(q->home, '/') + 1;	/* clean_path: there is one */
	plen = (size_t)(name - q->home - 1);
	memcpy(parent, q->home, plen);
	parent[plen] = '\0';
	if (plen == 0)
		(void)polo_strlcpy(parent, "/", sizeof parent);
	/* a home may not be named like one being made (lib/mkhome.h) */
	if (!polo_valid_file_name(name) ||
	    strncmp(name, POLO_HOME_TMP_PREFIX,
		    sizeof POLO_HOME_TMP_PREFIX - 1) == 0) {
		polo_log(lg, LOG_WARNING, "uid %u home %.200s: refused: not "
			 "a valid directory name", q->uid, q->home);
		return refuse(v, EINVAL, "home name not allowed");
	}
	e = polo_open_trusted(parent, O_RDONLY | O_DIRECTORY, r->trust, &pfd,
			      NULL, 0, why, sizeof why);
	if (e < 0) {
		polo_log(lg, LOG_WARNING, "uid %u home %.200s: refused: "
			 "parent directory: %.300s", q->uid, q->home, why);
		return refuse(v, -e, e == -ENOENT ? "parent directory does "
			      "not exist" : "parent directory not trusted");
	}
	e = check_not_tmphome(q, r, pfd, v, lg);
	if (e < 0) {
		close(pfd);
		return e;
	}
	v->parentfd = pfd;
	v->name = name;
	return 0;
}

int polo_may_serve(const struct polo_home_ask *q,
		   const struct polo_serve_rules *rules,
		   struct polo_serve_verdict *v, const struct polo_log *lg)
{
	int r;

	memset(v, 0, sizeof *v);
	v->parentfd = -1;
	r = check_ask(q, rules, v, lg);
	if (r == 0)
		r = check_user(q, rules, v, lg);
	if (r == 0)
		r = check_place(q, rules, v, lg);
	return r;
}

void polo_serve_end(struct polo_serve_verdict *v)
{
	free(v->pwbuf);
	v->pwbuf = NULL;
	if (v->parentfd >= 0)
		close(v->parentfd);
	v->parentfd = -1;
}
