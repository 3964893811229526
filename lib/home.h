/* tmphome: a fresh home from skel at login, removed when the user's last
 * session ends — for walk-up terminals. Only a home that is a direct child
 * of the tmphome root is handled; what polohook created is recorded in a
 * root-only registry inside the root itself (ROOT/.polohook/NAME: uid,
 * device, inode), so the record lives exactly as long as the homes do. */
#ifndef POLO_HOME_H
#define POLO_HOME_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf.h"
#include "env.h"
#include "log.h"
#include "policy.h"

#define POLO_REGISTRY ".polohook"

/* Is home a direct child of root (by path components, after dropping
 * repeated and trailing slashes)? Its name into name[NAME_MAX + 1].
 * 0 yes; -ENOENT no (not a tmphome user); -EINVAL a home that is the root
 * itself, or a name we never handle (".polohook", ".", ".."). */
int polo_tmphome_name(const char *root, const char *home, char *name,
		      size_t len);

/* At open: make s->home from c->skel if it is missing (root-owned 0700
 * while filled, chowned to the user last, recorded). A home polohook made
 * is used as it is while the user has other live sessions; at the user's
 * only session (s->counted, s->user_sessions == 1) it is left from an
 * earlier one — kept at that logout because processes lingered — and is
 * retired (moved out of reach into REGISTRY/trash and removed) and made
 * afresh. A home not made by polohook is used but never removed; anything
 * else in its place (a symlink, a FIFO, a directory of another uid) is
 * refused. 0 or -errno (logged). */
int polo_tmphome_prepare(const struct polo_conf *c,
			 const struct polo_session *s, uid_t trust_uid,
			 const struct polo_log *lg);

/* A temporary home at what may be its end: the user's last logout
 * (pam_polohook) or polohookctl gc. Under user's state lock (held while
 * the home is removed, so that a login of the same user waits), the
 * user's live sessions are counted, the home `name` of uid in root and
 * its registry entry looked at, and polo_home_may_remove (policy.h)
 * decides; what it decides is done and logged here. Without a user (a
 * uid that has no login name the state tree can hold) or with dry_run
 * (which changes nothing, not even the state: counting prunes), no lock is
 * taken and `live` is the caller's count. */
struct polo_home_end {
	const char *statedir;
	const char *root;	/* the tmphome root */
	const char *name;	/* the home, a direct child of root */
	const char *user;	/* whose lock; NULL: none */
	uid_t uid;
	uid_t trust;
	bool dry_run;		/* only say what would be done */
	unsigned long live;	/* without the lock: the caller's count */
};

struct polo_home_outcome {
	enum polo_home_verdict verdict;
	unsigned long live;	/* the count it used */
	bool locked;		/* the user's lock was taken (without it,
				 * a verdict of UNCOUNTED is the lock's fault) */
};

/* 0: the verdict was carried out (removed, or record dropped, or kept
 * or left as it says); -EBUSY kept for processes of uid; -EPERM refused
 * (POLO_HOME_CHANGED, POLO_HOME_OWNER); -errno the state could not be
 * locked or counted (verdict POLO_HOME_UNCOUNTED), the root or registry
 * was refused, or the removal failed (all logged but the count). */
int polo_tmphome_end(const struct polo_home_end *e,
		     struct polo_home_outcome *o, const struct polo_log *lg);

/* Remove the retired homes waiting in root's trash. Returns how many are
 * left (or would be removed, with dry_run), or -errno. */
int polo_tmphome_empty_trash(const char *root, uid_t trust_uid, bool dry_run,
			     const struct polo_log *lg);

/* Remove the temporary directories (.polohook-new.*) that creators which
 * died left in root (polo_home_sweep). How many were (or would be)
 * removed, or -errno. */
int polo_tmphome_sweep(const char *root, uid_t trust_uid, bool dry_run,
		       const struct polo_log *lg);

/* Each registry entry of root: fn(name, uid) until fn returns nonzero. */
int polo_tmphome_each(const char *root, uid_t trust_uid,
		      int (*fn)(const char *name, uid_t uid, void *ctx),
		      void *ctx, const struct polo_log *lg);

#endif
