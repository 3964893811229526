/* The session state tree: root-only, so that close knows what open did and
 * "the user's last session" is known with crashes and concurrent logins.
 *
 *   STATEDIR/                   root, 0700 (a pre-existing 0755 is fine)
 *   STATEDIR/sessions/ID        one file per session: key=value lines
 *   STATEDIR/users/USER/        per user; flock()ed while its sessions change
 *   STATEDIR/users/USER/ID      an empty file per session of the user
 *
 * A session is live while its leader (the process that opened it) runs:
 * pid and its start time (/proc/PID/stat field 22), so a recycled pid does
 * not count. Dead entries are ignored, and pruned under the user's lock. */
#ifndef POLO_STATE_H
#define POLO_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "env.h"
#include "log.h"

#define POLO_LOCK_TIMEOUT_MS 30000	/* then go on without the state */

struct polo_state_rec {
	char id[POLO_SESSION_ID_MAX + 1];
	char user[33];
	uid_t uid;
	char service[POLO_ITEM_MAX], tty[POLO_ITEM_MAX], rhost[POLO_ITEM_MAX];
	pid_t leader;
	unsigned long long leader_start;
	long long opened;		/* seconds since the epoch */
	bool alive;			/* the leader still runs */
};

struct polo_state {
	int rootfd;		/* STATEDIR */
	int sessfd;		/* STATEDIR/sessions */
	int userfd;		/* STATEDIR/users/USER, locked */
	char user[33];
	/* the session polo_state_add recorded under this lock: a count that
	 * meets it knows it is alive without reading it back */
	char added[POLO_SESSION_ID_MAX + 1];
	bool walked;		/* userfd was read: rewind it before reading again */
};

/* Open (creating safely: the last component never a symlink, every
 * directory owned by root or trust_uid and not group/other-writable) the
 * tree, and take USER's lock (bounded wait). 0 or -errno (logged). */
int polo_state_begin(struct polo_state *st, const char *statedir,
		     const char *user, uid_t trust_uid,
		     const struct polo_log *lg);
void polo_state_end(struct polo_state *st);

/* Record session s (leader: this process). An id that is already
 * recorded is never overwritten: s->id is then replaced by a fresh one. */
int polo_state_add(struct polo_state *st, struct polo_session *s,
		   const struct polo_log *lg);

/* At close: the session of s. A known s->id must name a session of this
 * user. Without an id: the user's live session with the same service and
 * tty — the one led by this process if there is one, else the only one
 * (several: ambiguous, none is taken). Fills s->id. -ENOENT if none. */
int polo_state_find(struct polo_state *st, struct polo_session *s,
		    const struct polo_log *lg);

/* Forget session id (both entries). Missing is not an error. */
int polo_state_remove(struct polo_state *st, const char *id);

/* The user's live sessions; dead entries are pruned. */
int polo_state_count(struct polo_state *st, unsigned long *n,
		     const struct polo_log *lg);

/* Every session in the tree (for polohookctl), sorted by opening time,
 * with `alive` set. *v is malloc'd (free it). A missing tree is empty. */
int polo_state_list(const char *statedir, uid_t trust_uid,
		    struct polo_state_rec **v, size_t *n,
		    const struct polo_log *lg);

/* The start time of a process (field 22 of /proc/PID/stat), 0 if gone. */
unsigned long long polo_proc_start_time(pid_t pid);

#endif
