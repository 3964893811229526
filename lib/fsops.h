/* Building and removing directory trees as root, through directory fds
 * only (the ideas of Linux-PAM's mkhomedir_helper and systemd's rm-rf,
 * written for our rules). Nothing here takes a path that it resolves by
 * name: every operation is relative to a directory fd the caller checked. */
#ifndef POLO_FSOPS_H
#define POLO_FSOPS_H

#include <stdbool.h>
#include <sys/types.h>

#include "log.h"

#define POLO_TREE_MAX_DEPTH	64	/* deeper trees are refused */
#define POLO_TREE_MAX_ENTRIES	100000	/* per copy or removal */

/* Copy the contents of the directory skelfd into the (empty) directory
 * dstfd: subdirectories with mkdirat, files with O_CREAT|O_EXCL|O_NOFOLLOW
 * and their bytes, symlinks as symlinks (readlinkat + symlinkat: the target
 * is never followed or checked); FIFOs, sockets and devices are skipped and
 * logged. Each new entry gets the skel entry's permission bits & ~umask
 * (setuid, setgid and sticky bits dropped) and is chowned to uid:gid —
 * a directory only after everything inside it is done. dstfd itself is
 * left as it is (the caller chowns it last). `what` names dstfd in log
 * lines ("/tmphome/alice"). Returns 0, or the first -errno (logged with
 * the path); on error what was copied so far stays (the caller removes the
 * whole tree). Deeper than POLO_TREE_MAX_DEPTH or more than
 * POLO_TREE_MAX_ENTRIES entries is -ELOOP / -EFBIG. */
int polo_copy_tree(int skelfd, int dstfd, uid_t uid, gid_t gid,
		   mode_t umask, const char *what, const struct polo_log *lg);

/* Remove everything inside the directory dirfd (not dirfd itself). Never
 * follows a symlink (symlinks are unlinked as such), never descends into a
 * directory on another mount (compared by statx mount id, so a bind mount
 * of the same filesystem counts) — such a directory is left in place, with
 * everything above it, and reported. Depth and entry caps as above.
 * Returns 0 when everything is gone, else -errno (the first problem,
 * logged with the path relative to `what`). */
int polo_rm_contents(int dirfd, const char *what, const struct polo_log *lg);

/* Remove the directory `name` inside parentfd, contents first, but only if
 * it is still the directory (st_dev, st_ino) the caller checked, and not a
 * mount point. `what` names that directory ("/tmphome/alice") in log
 * lines. 0, or -errno (logged). */
int polo_rm_tree_at(int parentfd, const char *name, dev_t dev, ino_t ino,
		    const char *what, const struct polo_log *lg);

/* Does any process run with real, effective, saved or filesystem uid
 * `uid`? (/proc/<pid>/status) 1 yes, 0 no, -errno if /proc or a process
 * cannot be read (never "no" then). The caller's own process and zombies
 * (which hold no file any more) are not counted; a process whose main
 * thread has exited (a zombie leader) counts while any other of its
 * threads (/proc/<pid>/task/<tid>) is alive. */
int polo_uid_has_processes(uid_t uid);

#endif
