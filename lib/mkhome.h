/* Making a home: the one implementation behind tmphome (lib/home.c) and
 * hookd's Create-Home.
 *
 * A home appears under its name only complete, or not at all. It is made
 * and filled from skel (through directory fds, lib/fsops.c) under a
 * temporary sibling name, POLO_HOME_TMP_PREFIX + name ("/home/.polohook-
 * new.alice"), root-owned 0700; only when it is complete is it chmod'ed,
 * chowned to the user and renamed onto its name (RENAME_NOREPLACE). A
 * creator that dies on the way (hookd killed, sshd killed during a tmphome
 * login, a power cut) leaves at most the temporary name, never a half home
 * that would be taken for a finished one.
 *
 * The creator holds flock(LOCK_EX) on the temporary directory from mkdir
 * to rename. Whoever finds a temporary directory tries that lock: if it
 * gets it, the creator is dead, and the leftover is removed (by device and
 * inode, lib/fsops.c) and the home made afresh; if it is busy, another
 * creator is at work, and we wait for it, bounded, and then look again. */
#ifndef POLO_MKHOME_H
#define POLO_MKHOME_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "log.h"

/* The temporary name of a home being made. polo_valid_file_name accepts
 * it (a leading dot is allowed there), so it is reserved instead:
 * polo_home_make_at refuses a home whose own name starts with it. */
#define POLO_HOME_TMP_PREFIX	".polohook-new."
/* How long to wait for another creator of the same home by default. */
#define POLO_HOME_WAIT_MS	3000

enum polo_home_stage {
	POLO_HOME_CREATED,	/* the empty directory exists (root's, 0700,
				 * under the temporary name) */
	POLO_HOME_FILLED,	/* skel copied; about to be handed over and
				 * renamed (the rename keeps dev and inode) */
};

struct polo_home_spec {
	const char *what;	/* its full path, for log lines */
	const char *skel;	/* absolute; missing = an empty home */
	uid_t uid;
	gid_t gid;
	mode_t umask;		/* the home gets 0755 & ~umask */
	uid_t trust;		/* who may own skel and its directories */
	unsigned wait_ms;	/* for another creator; 0: POLO_HOME_WAIT_MS */
	/* optional: called at each stage with the directory's stat; a
	 * nonzero return aborts (the directory is removed, that is returned) */
	int (*step)(void *ctx, enum polo_home_stage stage, const struct stat *st);
	void *ctx;
};

/* Make `name` in parentfd. Returns
 *   0        made, complete, the user's;
 *   -EEXIST  something is already there, or appeared while we worked (it
 *            is not touched; what we made is removed);
 *   -EBUSY   another creator still holds the temporary name after the
 *            wait (logged; nothing touched);
 *   -errno   anything else (logged; nothing left, neither the name nor
 *            the temporary one). -EINVAL for a name that is not a valid
 *            file name or starts with POLO_HOME_TMP_PREFIX. */
int polo_home_make_at(int parentfd, const char *name,
		      const struct polo_home_spec *h, const struct polo_log *lg);

/* A temporary directory (tmpname starts with POLO_HOME_TMP_PREFIX) in
 * parentfd whose creator died: removed if its lock is free and the name
 * is still the directory locked (what: its path for the log). 1 removed
 * (or would be, with dry_run), 0 a live creator holds it or it is gone,
 * -errno. For polohookctl gc; a creator does the same for its own name. */
int polo_home_sweep(int parentfd, const char *tmpname, const char *what,
		    bool dry_run, const struct polo_log *lg);

#endif
