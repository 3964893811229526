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
 *  - the host's SIGCHLD disposition is changed only when it would take our
 *    child's exit from us (a handler, SIG_IGN, SA_NOCLDWAIT), only between
 *    spawn and reap, and restored; what the host missed meanwhile is made
 *    up for then (sigchld_hold/sigchld_release): under SIG_IGN or
 *    SA_NOCLDWAIT the host's children that ended meanwhile are reaped, as
 *    the kernel would have, each by its exact pid, never by waitpid(-1).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
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
		       char *const envp[], int in, int out)
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
	r = r ? r : posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	r = r ? r : posix_spawn_file_actions_addchdir_np(&fa, "/");
	r = r ? r : posix_spawn(pid, path, &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return -r;
}

/* The host's SIGCHLD while a child of ours runs. At SIG_DFL it cannot
 * touch our child: left alone. A handler could reap it (hosts that wait
 * for any child), SIG_IGN or SA_NOCLDWAIT would have the kernel reap it:
 * either way its status would be lost, so those are set to SIG_DFL until
 * it is reaped. */
struct sigchld_hold {
	struct sigaction old;
	bool changed;
};

static void sigchld_hold(struct sigchld_hold *h)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	h->changed = false;
	if (sigaction(SIGCHLD, NULL, &h->old) < 0 ||
	    (h->old.sa_handler == SIG_DFL &&
	     !(h->old.sa_flags & SA_NOCLDWAIT)))
		return;
	h->changed = sigaction(SIGCHLD, &dfl, NULL) == 0;
}

/* Under SIG_IGN or SA_NOCLDWAIT the host asked the kernel to reap its
 * children, so any of them that ended while SIGCHLD was SIG_DFL here is a
 * zombie nobody will wait for. Each is found without being reaped
 * (WNOWAIT), then reaped by that exact pid: never "any child", so a
 * child that ends meanwhile is not taken by accident, and bounded, so a
 * host forking in another thread cannot keep us here. */
#define REAP_MAX 64
static void reap_ended_by_pid(void)
{
	siginfo_t si;
	int n;

	for (n = 0; n < REAP_MAX; n++) {
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
		    si.si_pid == 0 ||
		    waitpid(si.si_pid, NULL, WNOHANG) != si.si_pid)
			return;
	}
}

/* Give the host its disposition back, and what it missed meanwhile: a
 * child of the host's own that ended while SIGCHLD was at SIG_DFL got no
 * signal (SIG_DFL discards it), and under SIG_IGN or SA_NOCLDWAIT it was
 * not reaped. So, with SIGCHLD blocked in this thread while we look:
 * under SIG_IGN/SA_NOCLDWAIT the children that ended are reaped, as the
 * kernel would have done (only those: the host asked for exactly that);
 * under a handler, if a child of the host is waitable now, one SIGCHLD
 * carrying its siginfo is queued to the process, and is delivered when the
 * mask is restored. Queued while blocked, it merges with a SIGCHLD that
 * came in the meantime (one pending instance per signal), so the handler
 * runs once, not twice; at worst it runs for a child whose signal it
 * already had and has not reaped yet, never not at all. */
static void sigchld_release(const struct sigchld_hold *h)
{
	bool autoreap, handler;
	sigset_t chld, mask;
	siginfo_t si;
	int flags = WEXITED | WNOHANG | WNOWAIT;

	if (!h->changed)
		return;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	(void)pthread_sigmask(SIG_BLOCK, &chld, &mask);
	(void)sigaction(SIGCHLD, &h->old, NULL);
	autoreap = h->old.sa_handler == SIG_IGN ||
		   (h->old.sa_flags & SA_NOCLDWAIT);
	handler = h->old.sa_handler != SIG_IGN &&
		  h->old.sa_handler != SIG_DFL;
	if (handler && !(h->old.sa_flags & SA_NOCLDSTOP))
		flags |= WSTOPPED | WCONTINUED;
	memset(&si, 0, sizeof si);
	if (waitid(P_ALL, 0, &si, flags) == 0 && si.si_pid != 0) {
		if (handler) {
			si.si_signo = SIGCHLD;
			if (syscall(SYS_rt_sigqueueinfo, getpid(), SIGCHLD,
				    &si) < 0)
				(void)kill(getpid(), SIGCHLD);
		}
		if (autoreap)
			reap_ended_by_pid();
	}
	(void)pthread_sigmask(SIG_SETMASK, &mask, NULL);
}

/* The host may run with fds 0-2 closed, so a pipe or /dev/null of ours
 * can land there: move it clear, so that no dup2 onto 0-2 clobbers
 * another of ours. */
static int lift_fd(int *fd)
{
	int n;

	if (*fd > 2)
		return 0;
	n = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
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

/* Wait for pid, relaying outfd, under the deadline. */
static void supervise(const struct polo_spawn *sp, pid_t pid, int outfd,
		      struct polo_result *res)
{
	struct relay rl = { .sp = sp };
	unsigned long deadline = sp->timeout_ms ? polo_now_ms() + sp->timeout_ms : 0;
	enum phase ph = RUNNING;
	struct pollfd pf[2];
	int pidfd, r;

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
			res->reaped = reap(pid, &res->status, 0) > 0;
			break;
		}
		if (outfd >= 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !relay_read(&rl, outfd, 65536)) {
			close(outfd);
			outfd = -1;
		}
		r = reap(pid, &res->status, WNOHANG);
		if (r != 0) {
			res->reaped = r > 0;
			break;
		}
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

int polo_spawn_wait(const struct polo_spawn *sp, struct polo_result *res)
{
	struct sigchld_hold hold;
	int outp[2] = { -1, -1 }, devnull = -1, r = 0;
	pid_t pid;

	*res = (struct polo_result){ .timeout_ms = sp->timeout_ms };
	if (pipe2(outp, O_CLOEXEC) < 0 ||
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		r = -errno;
		goto out;
	}
	if ((r = lift_fd(&outp[0])) < 0 || (r = lift_fd(&outp[1])) < 0 ||
	    (r = lift_fd(&devnull)) < 0)
		goto out;
	sigchld_hold(&hold);
	r = spawn_child(&pid, sp->path, sp->argv, sp->envp, devnull, outp[1]);
	if (r == 0) {
		/* our write end stays open until the child is reaped: else the
		 * pipe hangs up while the child is still exiting, and we wake
		 * once for that and once more for its exit */
		(void)fcntl(outp[0], F_SETFL, O_NONBLOCK);
		supervise(sp, pid, outp[0], res);
		outp[0] = -1;	/* supervise closed it */
	} else if (r != -ENOMEM) {
		/* glibc reports a failed execve here, child already reaped */
		res->exec_errno = -r;
		res->reaped = true;
		r = 0;
	}
	sigchld_release(&hold);
out:
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
	if ((r = lift_fd(&devnull)) < 0)
		goto out;
	sigchld_hold(&hold);
	r = spawn_child(&pid, path, argv, envp, devnull, devnull);
	if (r == 0)
		supervise(&sp, pid, -1, &res);
	sigchld_release(&hold);
	if (r == 0 && !polo_result_ok(&res)) {
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
	return r->reaped && !r->exec_errno && !r->timed_out &&
	       WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}
