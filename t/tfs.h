/* Files for the C tests, in the test program's own temporary directory:
 * `dir` (its canonical path, set by main), at() to name paths in it, and
 * put_*() to make things there with exact modes, whatever the umask.
 * Header-only, after tap.h (must()); what a test does not use is fine. */
#ifndef POLO_TFS_H
#define POLO_TFS_H

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TFS_UNUSED __attribute__((unused))

static char dir[PATH_MAX];	/* canonical path of our temp dir */

/* "<dir>/<printf>"; 64 slots, so several paths can be live at once. */
static const char *at(const char *f, ...)
	__attribute__((format(printf, 1, 2))) TFS_UNUSED;
static const char *at(const char *f, ...)
{
	static char paths[64][PATH_MAX];
	static int i;
	char *b = paths[i++ % 64];
	size_t n = strlen(dir);
	va_list ap;
	int w;

	memcpy(b, dir, n);
	b[n++] = '/';
	va_start(ap, f);
	w = vsnprintf(b + n, PATH_MAX - n, f, ap);
	va_end(ap);
	must(w >= 0 && (size_t)w < PATH_MAX - n, "path too long");
	return b;
}

static TFS_UNUSED void put_bytes(const char *path, const char *data, size_t n,
				 mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	must(fd >= 0, path);
	must(write(fd, data, n) == (ssize_t)n, path);
	must(fchmod(fd, mode) == 0, path);	/* exact, whatever the umask */
	must(close(fd) == 0, path);
}

static TFS_UNUSED void put_file(const char *path, const char *text,
				mode_t mode)
{
	put_bytes(path, text, strlen(text), mode);
}

static TFS_UNUSED void put_dir(const char *path, mode_t mode)
{
	must(mkdir(path, 0700) == 0, path);
	must(chmod(path, mode) == 0, path);
}

static TFS_UNUSED void put_link(const char *target, const char *path)
{
	must(symlink(target, path) == 0, path);
}

/* How many entries path holds ("." and ".." aside), or -1. */
static TFS_UNUSED int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Root in a container may lack CAP_SYS_ADMIN: may a child make a private
 * mount namespace? (Tests that need one skip, not fail, without it.) */
static TFS_UNUSED bool probe_mount_ns(void)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	must(pid >= 0, "fork");
	if (pid == 0)
		_exit(unshare(CLONE_NEWNS) == 0 ? 0 : 1);
	must(waitpid(pid, &status, 0) == pid, "waitpid");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* fn(rep) in a forked child with a private mount namespace (what it
 * mounts vanishes with it); the len bytes at rep come back through a
 * pipe. True if the child ran fn and all of rep arrived. (mount()'s type
 * is "none" where the kernel ignores it: NULL would trouble valgrind.) */
static TFS_UNUSED bool in_mount_ns(void (*fn)(void *rep), void *rep,
				   size_t len)
{
	size_t got = 0;
	ssize_t n;
	int p[2], status;
	pid_t pid;

	memset(rep, 0, len);
	must(pipe2(p, O_CLOEXEC) == 0, "pipe");
	fflush(stdout);
	pid = fork();
	must(pid >= 0, "fork");
	if (pid == 0) {
		close(p[0]);
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(1);
		fn(rep);
		_exit(write(p[1], rep, len) == (ssize_t)len ? 0 : 1);
	}
	close(p[1]);
	while (got < len && (n = read(p[0], (char *)rep + got, len - got)) > 0)
		got += (size_t)n;
	close(p[0]);
	must(waitpid(pid, &status, 0) == pid, "waitpid");
	return got == len && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

#endif
