/* Paths we execute or read as root are walked one component at a time from
 * "/" through directory fds, so what is checked is what is used (the idea
 * of OpenSSH's safe_path and systemd's chase, written for our rules). */
#ifndef POLO_FSUTIL_H
#define POLO_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Is an object with this stat trusted? Owner 0 or trust_uid, and not
 * group/other-writable. A directory owned by root with the sticky bit
 * (like /tmp) is accepted although world-writable, since nobody else can
 * replace what a trusted user made inside it. */
int polo_stat_trusted(const struct stat *st, uid_t trust_uid, char *why,
		      size_t whylen, const char *what);

/* Resolve the absolute path `path`, following symlinks by hand (at most
 * 40), checking every directory passed through, every symlink that lies in
 * a sticky directory, and the final object, with polo_stat_trusted().
 * On success *fd is the final object opened with open_flags | O_CLOEXEC |
 * O_NOFOLLOW (use O_PATH to only check; add O_DIRECTORY for a directory),
 * and canon (if non-NULL) holds its canonical path. On failure returns
 * -errno and writes a one-line reason naming the offending path to why. */
int polo_open_trusted(const char *path, int open_flags, uid_t trust_uid,
		      int *fd, char *canon, size_t canonlen,
		      char *why, size_t whylen);

/* Replace the file `name` in dirfd with buf, atomically: written whole
 * under ".NAME.new" (mode, O_NOFOLLOW), fsync'ed if asked, then renamed
 * over name. 0 or -errno (the temporary file removed). */
int polo_write_at(int dirfd, const char *name, const void *buf, size_t len,
		  mode_t mode, bool sync);

/* Each entry of the directory open at fd, from its current offset (a
 * fresh fd: the start; lseek it to 0 to read it again; "." and ".."
 * left out): fn(ctx, name) until it returns nonzero, which is returned.
 * Read with getdents64 into a buffer on the stack: no DIR, no allocation,
 * no extra system call. 0, fn's nonzero return, or -errno. */
int polo_dir_each(int fd, int (*fn)(void *ctx, const char *name), void *ctx);

/* Create the file `name` in dirfd with buf, whole or not at all, and only
 * if nothing is there: written under ".NAME.PID.new", then renamed with
 * RENAME_NOREPLACE. 0, -EEXIST (nothing changed) or -errno. */
int polo_write_new_at(int dirfd, const char *name, const void *buf,
		      size_t len, mode_t mode);

/* Is the directory open at fd the directory `top` (device and inode) or
 * one below it? Walks up through ".." to "/", so the answer is about the
 * directory itself, whatever name reached it (a symlink, a bind mount of
 * top or of a directory above it). 1 yes, 0 no, -errno (-ELOOP past
 * PATH_MAX / 2 levels). */
int polo_dir_within(int fd, const struct stat *top);

#endif
