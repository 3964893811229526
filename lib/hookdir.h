/* The hook directories: which names are hooks, in which order, in which
 * mode, and whether each is safe to execute. */
#ifndef POLO_HOOKDIR_H
#define POLO_HOOKDIR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "log.h"

enum polo_mode { POLO_MODE_BATCH = 0, POLO_MODE_WAIT, POLO_MODE_DETACH };

/* At most this many hooks in one directory; with more, none run. */
#define POLO_MAX_HOOKS 1024

struct polo_hook {
	char name[NAME_MAX + 1];	/* as in the directory */
	char path[PATH_MAX];		/* canonical path: what is executed */
	enum polo_mode mode;
	bool unsafe;	/* W hook that failed its checks: counts as failed */
};

struct polo_hooklist {
	struct polo_hook *v;
	size_t n;
};

/* NULL if `name` is a hook name; else why it is skipped ("invalid name",
 * "package leftover (.dpkg-old)", ...). */
const char *polo_hook_skip_reason(const char *name);

/* W for ^[0-9]+W-, D for ^[0-9]+D-, otherwise batch. */
enum polo_mode polo_hook_mode(const char *name);
char polo_mode_letter(enum polo_mode m);

/* Read directory `dir` (itself opened through a trusted walk), keep valid
 * names, sort them in byte order, resolve each through a trusted walk and
 * keep those that are executable regular files. Skipped names are logged
 * at LOG_DEBUG; unsafe hooks at LOG_ERR with the reason, and an unsafe W
 * hook stays in the list marked unsafe (it failed, for onerr=fail). A missing
 * directory is an empty list. Returns 0 or -errno (dir unsafe/unreadable,
 * logged). */
int polo_hooks_scan(const char *dir, uid_t trust_uid,
		    struct polo_hooklist *out, const struct polo_log *lg);
void polo_hooks_free(struct polo_hooklist *l);

/* Resolve and check one hook path (used again by polohook-run just before
 * running a batch hook). canon[PATH_MAX]. 0: safe to run; 1: safe but
 * without any x bit (disabled: skip quietly); -errno: unsafe or not there,
 * with the reason in why. */
int polo_hook_check(const char *path, uid_t trust_uid, char *canon,
		    size_t canonlen, char *why, size_t whylen);

#endif
