/* The two decisions that more than one program makes, each in one place:
 *
 *  - may this temporary home be removed now? — pam_polohook at a user's
 *    last logout and `polohookctl gc` (lib/home.c polo_tmphome_end applies
 *    it to what it finds under the user's state lock);
 *  - may this Create-Home request be served? — hookd's privileged monitor
 *    (hookd/hookd_priv.c), for a request that came over the network.
 *
 * polo_home_may_remove is a pure function of what was found, so that the
 * rule can be read, and tested, apart from the file system walks that
 * gather its facts. polo_may_serve checks the request in a fixed order and
 * does no more than it must to refuse: the user is looked up only after
 * the checks that need no lookup, the parent directory opened only after
 * the checks on the user. Nothing here knows of PAM or of a program. */
#ifndef POLO_POLICY_H
#define POLO_POLICY_H

#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "log.h"

/* ---- may this temporary home be removed now? ---- */

/* What was found, for the tmphome `name` asked for on behalf of uid. */
struct polo_home_facts {
	int counted;		/* 0: `live` is the user's count; -errno: the
				 * sessions could not be counted */
	unsigned long live;	/* the user's live sessions */
	int looked;		/* 0: what follows was found; -errno: the root,
				 * the registry or the name could not be
				 * looked at (a refused root, say) */
	bool recorded;		/* the registry has an entry for the name */
	uid_t rec_uid;		/* ... made for this uid */
	bool present;		/* something stands at the name */
	bool is_dir;		/* ... a directory (the name not followed) */
	bool same;		/* ... the very directory recorded (device,
				 * inode) */
	uid_t owner;		/* ... and its owner */
	uid_t uid;		/* the uid the home is asked for */
	/* uid still runs a process: 1, 0 none, -errno cannot tell. The
	 * dearest fact (a walk of /proc): a caller may leave it 0 and
	 * find it only when the verdict without it is POLO_HOME_REMOVE. */
	int procs;
};

enum polo_home_verdict {
	POLO_HOME_REMOVE,	/* remove the home, then its record */
	POLO_HOME_UNCOUNTED,	/* kept: whether the user is logged in is
				 * unknown */
	POLO_HOME_LIVE,		/* kept: the user has a live session */
	POLO_HOME_UNSEEN,	/* kept: what is there could not be looked at */
	POLO_HOME_NOT_OURS,	/* left: polohook did not make it, so never
				 * removes it */
	POLO_HOME_GONE,		/* nothing there: only the record goes */
	POLO_HOME_CHANGED,	/* refused: no longer a directory, or not the
				 * one made (replaced, renamed over) */
	POLO_HOME_OWNER,	/* refused: owned by, or recorded for, another
				 * uid than the one asked for */
	POLO_HOME_BUSY,		/* kept: uid still runs processes, or it
				 * cannot be told (gc tries again later) */
};

/* In this order: not counted, or a live session, keeps it (a login of
 * the same user may be using it), and so does a home that could not be
 * looked at; no record leaves it (not ours); nothing at the name drops
 * the record; anything but the recorded directory, or another owner, is
 * refused; a process of uid keeps it. Else remove. The facts are read in
 * the order of the struct and the first rule that holds decides: a
 * gatherer may stop at it (polo_tmphome_end looks at the disk only for a
 * user counted with no session, and at /proc last). */
enum polo_home_verdict polo_home_may_remove(const struct polo_home_facts *f);

/* ---- may this Create-Home request be served? ---- */

/* A request as the unprivileged side parsed it: nothing in it is
 * trusted (home is NUL-terminated; that is all that is known of it). */
struct polo_home_ask {
	uint32_t uid;
	uint32_t gid;
	const char *home;
};

struct polo_serve_rules {
	unsigned long min_uid, max_uid;	/* [cluster] */
	const char *tmphome;	/* this node's tmphome root, "" for none */
	uid_t trust;		/* who may own the home's parent directories
				 * besides root (hookd: 0, root only) */
	/* The user of uid as this node's NSS says: 0 found (*buf malloc'd,
	 * freed by polo_serve_end), -ENOENT none, -errno. NULL: this node's
	 * NSS (polo_getpw). */
	int (*getpw)(uid_t uid, struct passwd *pw, char **buf);
};

/* The verdict. With code 0 the request may be served: the home `name`
 * is to be made, if missing, in the trusted directory parentfd, for pw.
 * Otherwise code is the errno to answer with and text the answer's line
 * (our own words, safe to send to the peer). user is the passwd name
 * once the uid was found (for the unprivileged side's log line). */
struct polo_serve_verdict {
	int code;
	char text[200];
	char user[33];
	struct passwd pw;
	char *pwbuf;
	int parentfd;
	const char *name;	/* points into the request's home */
};

/* Check q against rules and this node, in order: the path is clean and
 * absolute; min_uid <= uid; it is not below the tmphome root (by name);
 * uid <= max_uid; the uid has a user, whose passwd home is the path byte
 * for byte and whose primary gid is the gid asked for; the last component
 * is a name we make (not a temporary creator's name); the parent is
 * reached by the trusted walk; and it is not the tmphome root or below it
 * by device and inode (another spelling of it). Every refusal is logged
 * (LOG_WARNING; a lying NSS module LOG_ERR). 0 may be served, or -code.
 * Release v with polo_serve_end either way. */
int polo_may_serve(const struct polo_home_ask *q,
		   const struct polo_serve_rules *rules,
		   struct polo_serve_verdict *v, const struct polo_log *lg);

void polo_serve_end(struct polo_serve_verdict *v);

#endif
