/*
 * MUST rules for code that starts children inside the host process:
 *  - no fork(): children are started with posix_spawn, which never copies
 *    the host (no page tables copied, no atfork handler run, nothing
 *    running in a half-copied multithreaded process); argv/envp are built
 *    before it;
 *  - the child gets its signal mask emptied and every ignored signal reset,
 *    a new session, "/" as its working directory, /dev/null on stdin, and
 *    no fd of the host beyond 0-2;
 *  - the parent reaps exactly its own pid (never "any child"), and never
 *    waits without a deadline; it never waits for EOF on the output
 *    pipe (a daemon started by a hook may hold it forever);
 *  - the module reaps only its own children, each by its exact pid: never
 *    "any child", never a child of the host's;
 *  - the host's SIGCHLD disposition is changed only when a handler could
 *    take our child's exit from us, only between spawn and reap, and
 *    restored; what the handler missed meanwhile is made up for then
 *    (sigchld_hold/sigchld_release). Where the host has the kernel reap its
 *    children (SIG_IGN, SA_NOCLDWAIT) it is not changed at all: setting it
 *    aside would leave the host's own children that end meanwhile as
 *    zombies that only a reap of a child not ours could clear. Our child
 *    is then reaped by the kernel too, so a waiter (polohook-run -x) runs
 *    the hook and reports how it ended through a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"
#include "util.h"

/* The signals this process ignores, from /proc/self/status: only those
 * survive an exec (a caught signal is reset to default by execve itself,
 * and glibc's spawn child resets handlers first), so only those need
 * POSIX_SPAWN_SETSIGDEF — a few system calls in the child instead of one
 * per signal, while the host waits. All signals when it cannot be read. */
static void ignored_signals(sigset_t *set)
{
	char buf[4096], *p;
	unsigned long long mask;
	ssize_t n;
	int fd, sig;

	sigfillset(set);
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	p = strstr(buf, "\nSigIgn:");
	if (p == NULL || sscanf(p + 8, "%llx", &mask) != 1)
		return;
	sigemptyset(set);
	for (sig = 1; sig <= 64 && sig < NSIG; sig++)
		if (mask & (1ULL << (sig - 1)))
			(void)sigaddset(set, sig);
}

/* A W hook is started with posix_spawn: glibc uses clone(CLONE_VM |
 * CLONE_VFORK), so the host's page tables are not copied (a fork of sshd
 * costs more than the hook), nothing runs in a half-copied multithreaded
 * process, and an exec failure comes back as the return value. The
 * attributes give the child what child_exec() gives the detached one. */
static int spawn_child(pid_t *pid, const char *path, char *const argv[],
		       char *const envp[], int in, int out, int fd3)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t ign, none;
	int r;

	ignored_signals(&ign);
	sigemptyset(&none);
	if (posix_spawnattr_init(&at) != 0)
		return -ENOMEM;
	if (posix_spawn_file_actions_init(&fa) != 0) {
		posix_spawnattr_destroy(&at);
		return -ENOMEM;
	}
	r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID |
				     POSIX_SPAWN_SETSIGMASK |
				     POSIX_SPAWN_SETSIGDEF);
	r = r ? r : posix_spawnattr_setsigmask(&at, &none);
	r = r ? r : posix_spawnattr_setsigdefault(&at, &ign);
	r = r ? r : posix_spawn_file_actions_adddup2(&fa, in, 0);
	r = r ? r : posix_spawn_file_actions_adddup2(&fa, out, 1);
	r = r ? r : posix_spawn_file_actions_adddup2(&fa, out, 2);
	if (fd3 >= 0)	/* the waiter's report pipe */
		r = r ? r : posix_spawn_file_actions_adddup2(&fa, fd3, 3);
	r = r ? r : posix_spawn_file_actions_addclosefrom_np(&fa,
							     fd3 >= 0 ? 4 : 3);
	r = r ? r : posix_spawn_file_actions_addchdir_np(&fa, "/");
	r = r ? r : posix_spawn(pid, path, &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return -r;
}

/* The host's SIGCHLD while a child of ours runs. At SIG_DFL it cannot
 * touch our child: left alone. A handler could reap it (hosts that wait
 * for any child) and its status would be lost, so a handler is set to
 * SIG_DFL until our child is reaped. SIG_IGN or SA_NOCLDWAIT (the kernel
 * reaps every child, ours too) is left as it is: autoreap says so, and the
 * caller runs the child under the waiter. */
struct sigchld_hold {
	struct sigaction old;
	bool changed;
	bool autoreap;
};

static bool autoreaps(const struct sigaction *sa)
{
	return sa->sa_handler == SIG_IGN || (sa->sa_flags & SA_NOCLDWAIT);
}

static void sigchld_hold(struct sigchld_hold *h)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	h->changed = h->autoreap = false;
	if (sigaction(SIGCHLD, NULL, &h->old) < 0)
		return;
	h->autoreap = autoreaps(&h->old);
	if (h->autoreap || h->old.sa_handler == SIG_DFL)
		return;
	h->changed = sigaction(SIGCHLD, &dfl, NULL) == 0;
}

bool polo_spawn_host_autoreaps(void)
{
	struct sigaction sa;

	return sigaction(SIGCHLD, NULL, &sa) == 0 && autoreaps(&sa);
}

/* Give the handler back, and what it missed meanwhile: a child of the
 * host's own that ended while SIGCHLD was at SIG_DFL got no signal
 * (SIG_DFL discards it). So, with SIGCHLD blocked in this thread while we
 * look, if a child of the host is waitable now (looked at, WNOWAIT, never
 * reaped), one SIGCHLD carrying its siginfo is queued to the process, and
 * is delivered when the mask is restored. Queued while blocked, it merges
 * with a SIGCHLD that came in the meantime (one pending instance per
 * signal), so the handler runs once, not twice; at worst it runs for a
 * child whose signal it already had and has not reaped yet, never not at
 * all. */
static void sigchld_release(const struct sigchld_hold *h)
{
	sigset_t chld, mask;
	siginfo_t si;
	int flags = WEXITED | WNOHANG | WNOWAIT;

	if (!h->changed)
		return;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	(void)pthread_sigmask(SIG_BLOCK, &chld, &mask);
	(void)sigaction(SIGCHLD, &h->old, NULL);
	if (!(h->old.sa_flags & SA_NOCLDSTOP))
		flags |= WSTOPPED | WCONTINUED;
	memset(&si, 0, sizeof si);
	if (waitid(P_ALL, 0, &si, flags) == 0 && si.si_pid != 0) {
		si.si_signo = SIGCHLD;
		if (syscall(SYS_rt_sigqueueinfo, getpid(), SIGCHLD, &si) < 0)
			(void)kill(getpid(), SIGCHLD);
	}
	(void)pthread_sigmask(SIG_SETMASK, &mask, NULL);
}

/* The host may run with fds 0-2 closed, so a pipe or /dev/null of ours
 * can land there: move it clear (above `low`), so that no dup2 onto 0-2
 * (and 3, for the waiter) clobbers another of ours. */
static int lift_fd_above(int *fd, int low)
{
	int n;

	if (*fd > low)
		return 0;
	n = fcntl(*fd, F_DUPFD_CLOEXEC, low + 1);
	if (n < 0)
		return -errno;
	close(*fd);
	*fd = n;
	return 0;
}

static int reap(pid_t pid, int *status, int flags)
{
	pid_t r;

	do
		r = waitpid(pid, status, flags);
	while (r < 0 && errno == EINTR);
	return r == pid ? 1 : r == 0 ? 0 : -errno;
}

/* Output: split into lines, made printable, logged under a budget. */
struct relay {
	const struct polo_spawn *sp;
	char line[POLO_OUTPUT_LINE_MAX];
	size_t len, bytes, lines, dropped;
};

static void relay_flush(struct relay *rl)
{
	if (rl->len == 0)
		return;
	rl->line[rl->len] = '\0';
	if (rl->bytes < POLO_OUTPUT_MAX_BYTES &&
	    rl->lines < POLO_OUTPUT_MAX_LINES) {
		polo_log_output(rl->sp->lg, rl->sp->name, rl->line);
		rl->lines++;
		rl->bytes += rl->len;
	} else {
		rl->dropped += rl->len;
	}
	rl->len = 0;
}

static void relay_feed(struct relay *rl, const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n') {
			relay_flush(rl);
			continue;
		}
		rl->line[rl->len++] = c == '\t' ? ' ' :
				      (c < 0x20 || c == 0x7f) ? '?' : (char)c;
		if (rl->len == sizeof rl->line - 1)
			relay_flush(rl);
	}
}

/* Read what is there now; false once the pipe is at EOF or broken. */
static bool relay_read(struct relay *rl, int fd, size_t max)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	while (total < max) {
		n = read(fd, buf, sizeof buf);
		if (n > 0) {
			relay_feed(rl, buf, (size_t)n);
			total += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && errno == EAGAIN;
	}
	return true;
}

enum phase { RUNNING, TERMED, KILLED };

/* The deadline passed: escalate. false when there is nothing left to do. */
static bool escalate(const struct polo_spawn *sp, pid_t pid, enum phase *ph,
		     struct polo_result *res, unsigned long *deadline)
{
	if (*ph == KILLED)
		return false;
	if (*ph == RUNNING) {
		res->timed_out = true;
		(void)kill(-pid, SIGTERM);
		(void)kill(pid, SIGTERM);
		*ph = TERMED;
	} else {
		res->killed = true;
		(void)kill(-pid, SIGKILL);
		(void)kill(pid, SIGKILL);
		*ph = KILLED;
	}
	*deadline = polo_now_ms() + sp->grace_ms;
	return true;
}

static int poll_timeout(unsigned long deadline, bool have_pidfd)
{
	unsigned long t, rem;

	if (deadline == 0)
		return have_pidfd ? -1 : 10;
	t = polo_now_ms();
	rem = deadline > t ? deadline - t : 0;
	if (!have_pidfd && rem > 10)
		rem = 10;	/* no pidfd: poll waitpid(WNOHANG) */
	return (int)rem;
}

/* Our child is gone: reaped by us (1), still there (0), or, where the
 * host has the kernel reap its children, reaped by the kernel (-ECHILD:
 * it ended, how is not known here). */
static int reaped(pid_t pid, struct polo_result *res, int flags,
		  bool autoreap)
{
	int r = reap(pid, &res->status, flags);

	if (r == -ECHILD && autoreap) {
		res->unknown = true;
		r = 1;
	}
	if (r != 0)
		res->reaped = r > 0;
	return r;
}

/* Wait for pid, relaying outfd, under the deadline. With autoreap, the
 * kernel reaps pid when it ends; until then it is ours and cannot be
 * reused, and waitpid says ECHILD once it is gone. (It is looked at just
 * before each kill at the deadline: for a kill to miss, it would have to
 * end, and its pid be taken by a new process, between the two calls.) */
static void supervise(const struct polo_spawn *sp, pid_t pid, int outfd,
		      bool autoreap, struct polo_result *res)
{
	struct relay rl = { .sp = sp };
	unsigned long deadline = sp->timeout_ms ? polo_now_ms() + sp->timeout_ms : 0;
	enum phase ph = RUNNING;
	struct pollfd pf[2];
	int pidfd;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		int nfds = 0;

		if (outfd >= 0)
			pf[nfds++] = (struct pollfd){ .fd = outfd, .events = POLLIN };
		if (pidfd >= 0)
			pf[nfds++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		if (poll(pf, (nfds_t)nfds, poll_timeout(deadline, pidfd >= 0)) < 0 &&
		    errno != EINTR) {
			/* cannot supervise it any more: end it, so that it
			 * can be reaped at once rather than left behind */
			res->timed_out = res->killed = true;
			(void)kill(-pid, SIGKILL);
			(void)kill(pid, SIGKILL);
			(void)reaped(pid, res, 0, autoreap);
			break;
		}
		if (outfd >= 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !relay_read(&rl, outfd, 65536)) {
			close(outfd);
			outfd = -1;
		}
		if (reaped(pid, res, WNOHANG, autoreap) != 0)
			break;
		if (deadline && polo_now_ms() >= deadline &&
		    !escalate(sp, pid, &ph, res, &deadline))
			break;
	}
	/* what is in the pipe now, once: a daemon may keep it open forever
	 * (and so do we: no EOF is expected here, only EAGAIN) */
	if (outfd >= 0) {
		(void)relay_read(&rl, outfd, POLO_OUTPUT_MAX_BYTES);
		close(outfd);
	}
	relay_flush(&rl);
	res->dropped = rl.dropped;
	if (pidfd >= 0)
		close(pidfd);
}

/* "WAITER -x -- PATH ARG...": the waiter runs PATH with PATH as its
 * argv[0] and the rest of sp->argv (malloc'd array, strings borrowed). */
static char **waiter_argv(const struct polo_spawn *sp)
{
	size_t n = 0, i;
	char **v;

	while (sp->argv[n] != NULL)
		n++;
	v = calloc(n + 4, sizeof *v);
	if (v == NULL)
		return NULL;
	v[0] = (char *)sp->waiter;
	v[1] = (char *)"-x";
	v[2] = (char *)"--";
	v[3] = (char *)sp->path;
	for (i = 1; i < n; i++)
		v[3 + i] = sp->argv[i];
	return v;
}

/* The waiter's report, once it is gone: how the child ended. None (the
 * waiter was killed, at the deadline say): res->unknown stays. */
static void take_report(int fd, struct polo_result *res)
{
	struct polo_waited w;
	ssize_t n;

	do
		n = read(fd, &w, sizeof w);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof w)
		return;
	res->unknown = false;
	if (w.exec_errno > 0)
		res->exec_errno = w.exec_errno;
	else
		res->status = w.status;
}

int polo_spawn_wait(const struct polo_spawn *sp, struct polo_result *res)
{
	struct sigchld_hold hold;
	int outp[2] = { -1, -1 }, rep[2] = { -1, -1 }, devnull = -1, r = 0;
	const char *path = sp->path;
	char *const *argv = sp->argv;
	char **wargv = NULL;
	pid_t pid;

	*res = (struct polo_result){ .timeout_ms = sp->timeout_ms };
	if (pipe2(outp, O_CLOEXEC) < 0 ||
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		r = -errno;
		goto out;
	}
	if ((r = lift_fd_above(&outp[0], 2)) < 0 ||
	    (r = lift_fd_above(&outp[1], 2)) < 0 ||
	    (r = lift_fd_above(&devnull, 2)) < 0)
		goto out;
	sigchld_hold(&hold);
	if (hold.autoreap && sp->waiter != NULL && sp->waiter[0] != '\0') {
		/* the kernel will reap our child: the waiter is that child,
		 * and reports on its fd 3 how the hook ended */
		wargv = waiter_argv(sp);
		if (wargv == NULL)
			r = -ENOMEM;
		else if (pipe2(rep, O_CLOEXEC | O_NONBLOCK) < 0)
			r = -errno;
		else if ((r = lift_fd_above(&rep[0], 2)) == 0)
			r = lift_fd_above(&rep[1], 3);
		path = sp->waiter;
		argv = wargv;
	}
	if (r == 0)
		r = spawn_child(&pid, path, argv, sp->envp, devnull, outp[1],
				rep[1]);
	if (rep[1] >= 0) {	/* the waiter's copy is the only writer */
		close(rep[1]);
		rep[1] = -1;
	}
	if (r == 0) {
		/* our write end stays open until the child is reaped: else the
		 * pipe hangs up while the child is still exiting, and we wake
		 * once for that and once more for its exit */
		(void)fcntl(outp[0], F_SETFL, O_NONBLOCK);
		supervise(sp, pid, outp[0], hold.autoreap, res);
		outp[0] = -1;	/* supervise closed it */
		if (rep[0] >= 0 && res->reaped)
			take_report(rep[0], res);
	} else if (r != -ENOMEM && wargv == NULL) {
		/* glibc reports a failed execve here, child already reaped */
		res->exec_errno = -r;
		res->reaped = true;
		r = 0;
	}
	sigchld_release(&hold);
out:
	free(wargv);
	if (rep[0] >= 0)
		close(rep[0]);
	if (outp[0] >= 0)
		close(outp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (devnull >= 0)
		close(devnull);
	return r;
}

int polo_spawn_detached(const char *path, char *const argv[],
			char *const envp[], unsigned long timeout_ms,
			const struct polo_log *lg)
{
	struct polo_spawn sp = {
		.name = path, .path = path, .timeout_ms = timeout_ms,
		.grace_ms = POLO_KILL_GRACE_MS, .lg = lg,
	};
	struct sigchld_hold hold;
	struct polo_result res = { .timeout_ms = timeout_ms };
	char what[160];
	int devnull, r;
	pid_t pid;

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		r = -errno;
		goto out;
	}
	if ((r = lift_fd_above(&devnull, 2)) < 0)
		goto out;
	sigchld_hold(&hold);
	r = spawn_child(&pid, path, argv, envp, devnull, devnull, -1);
	if (r == 0)
		supervise(&sp, pid, -1, hold.autoreap, &res);
	sigchld_release(&hold);
	/* where the kernel reaped it, its status is unknown: it logs a
	 * failure to detach itself */
	if (r == 0 && !polo_result_ok(&res) &&
	    !(res.unknown && res.reaped && !res.timed_out)) {
		polo_describe_result(&res, what, sizeof what);
		polo_log(lg, LOG_ERR, "cannot start %s: it did not detach: %s",
			 path, what);
		r = -ECHILD;
	}
out:
	if (devnull >= 0)
		close(devnull);
	if (r < 0 && r != -ECHILD)
		polo_log(lg, LOG_ERR, "cannot start %s: %s", path, strerror(-r));
	return r;
}

void polo_describe_result(const struct polo_result *r, char *buf, size_t len)
{
	int st = r->status;

	if (r->exec_errno)
		(void)snprintf(buf, len, "could not be run: %s",
			       strerror(r->exec_errno));
	else if (!r->reaped)
		(void)snprintf(buf, len, "still running after SIGKILL, "
			       "left behind");
	else if (r->timed_out)
		(void)snprintf(buf, len, "timed out after %lu %s, %s",
			       r->timeout_ms % 1000 ? r->timeout_ms :
						      r->timeout_ms / 1000,
			       r->timeout_ms % 1000 ? "ms" : "s",
			       r->killed ? "killed with SIGKILL" :
					   "terminated with SIGTERM");
	else if (r->unknown)
		(void)snprintf(buf, len, "ended, how is not known (the host "
			       "has the kernel reap its children and no "
			       "waiter could be used)");
	else if (WIFEXITED(st))
		(void)snprintf(buf, len, "exited with status %d",
			       WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		(void)snprintf(buf, len, "killed by signal %d (%s)%s",
			       WTERMSIG(st), strsignal(WTERMSIG(st)),
			       WCOREDUMP(st) ? ", core dumped" : "");
	else
		(void)snprintf(buf, len, "ended with wait status 0x%x", st);
}

bool polo_result_ok(const struct polo_result *r)
{
	return r->reaped && !r->exec_errno && !r->timed_out && !r->unknown &&
	       WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}
