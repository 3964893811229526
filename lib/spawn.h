/* Running one child from inside someone else's process (sshd, login, gdm):
 * exact-pid reaping with a deadline, no fd or signal state leaking either
 * way, output to the log line by line, bounded. */
#ifndef POLO_SPAWN_H
#define POLO_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

/* Per hook: this much output is logged, the rest counted and dropped. */
#define POLO_OUTPUT_MAX_BYTES	(64 * 1024)
#define POLO_OUTPUT_MAX_LINES	256
#define POLO_OUTPUT_LINE_MAX	512
#define POLO_KILL_GRACE_MS	2000

struct polo_spawn {
	const char *name;		/* tag for its output lines */
	const char *path;		/* executed by this absolute path */
	char *const *argv;		/* built before fork */
	char *const *envp;
	unsigned long timeout_ms;	/* 0 = no deadline */
	unsigned long grace_ms;		/* SIGTERM to SIGKILL */
	const struct polo_log *lg;
	/* polohook-run (checked), to wait for the child where the host has
	 * the kernel reap its children; NULL or "": none (see below) */
	const char *waiter;
};

/* What `polohook-run -x` writes on fd 3 once the child it ran ended. */
struct polo_waited {
	int exec_errno;		/* nonzero: execve failed with it */
	int status;		/* else its waitpid() status */
};

struct polo_result {
	int status;		/* waitpid() status, when reaped */
	int exec_errno;		/* nonzero: execve failed with it */
	bool reaped;		/* false: still running after SIGKILL+grace */
	bool timed_out;		/* the deadline passed: SIGTERM was sent */
	bool killed;		/* ... and SIGKILL too */
	bool unknown;		/* it ended, but how is not known: the host
				 * had the kernel reap it and no waiter said */
	unsigned long timeout_ms;
	size_t dropped;		/* output bytes not logged */
};

/* Run sp->path in a new session, stdin /dev/null, stdout+stderr to the log,
 * no other fd, default signals; wait for it to exit, at most timeout_ms,
 * then SIGTERM its process group, SIGKILL grace_ms later. Only our own
 * child is ever waited for, by its pid. The host's SIGCHLD is left alone
 * at SIG_DFL; a handler is set to SIG_DFL from spawn to reap and then
 * restored, and told of a child of the host's that ended meanwhile (see
 * spawn.c). Where the host has the kernel reap its children (SIGCHLD
 * ignored, SA_NOCLDWAIT) nothing is changed: the kernel goes on reaping
 * the host's children, and ours too, so sp->waiter runs the child and
 * reports how it ended (without one, res->unknown). Returns 0 with *res
 * filled, or -errno if it could not be started (nothing left behind). */
int polo_spawn_wait(const struct polo_spawn *sp, struct polo_result *res);

/* Start path (polohook-run), which detaches itself: posix_spawn as for a
 * W hook (no fork of the host), new session, stdio on /dev/null, no fd of
 * ours; then wait for exactly that pid to exit, which it does once it has
 * forked the process that does the work, at most timeout_ms (then SIGTERM
 * and SIGKILL to its process group, as for a W hook). 0 once it exited 0;
 * else -errno, logged: "cannot start PATH: <execve's error>", or "cannot
 * start PATH: it did not detach: <how it ended>". */
int polo_spawn_detached(const char *path, char *const argv[],
			char *const envp[], unsigned long timeout_ms,
			const struct polo_log *lg);

/* Does this process have the kernel reap its children (SIGCHLD ignored,
 * or SA_NOCLDWAIT)? Then a W hook needs the waiter. */
bool polo_spawn_host_autoreaps(void);

/* "exited with status 0", "killed by signal 9 (Killed)", ... */
void polo_describe_result(const struct polo_result *r, char *buf, size_t len);
bool polo_result_ok(const struct polo_result *r);

#endif
