/* Making a home: the one implementation behind tmphome (lib/home.c) and
 * hookd's Create-Home. Root-owned 0700 while filled from skel through
 * directory fds (lib/fsops.c), handed to the user (chmod, chown) only when
 * complete; anything that fails removes what was made. */
#ifndef POLO_MKHOME_H
#define POLO_MKHOME_H

#include <sys/stat.h>
#include <sys/types.h>

#include "log.h"

enum polo_home_stage {
	POLO_HOME_CREATED,	/* the empty directory exists (root's) */
	POLO_HOME_FILLED,	/* skel copied; about to be handed over */
};

struct polo_home_spec {
	const char *what;	/* its full path, for log lines */
	const char *skel;	/* absolute; missing = an empty home */
	uid_t uid;
	gid_t gid;
	mode_t umask;		/* the home gets 0755 & ~umask */
	uid_t trust;		/* who may own skel and its directories */
	/* optional: called at each stage with the directory's stat; a
	 * nonzero return aborts (the directory is removed, that is returned) */
	int (*step)(void *ctx, enum polo_home_stage stage, const struct stat *st);
	void *ctx;
};

/* Make `name` in parentfd. 0, -EEXIST if something is already there
 * (nothing touched), or -errno (logged, nothing left). */
int polo_home_make_at(int parentfd, const char *name,
		      const struct polo_home_spec *h, const struct polo_log *lg);

#endif
