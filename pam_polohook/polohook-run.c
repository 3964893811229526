/*
 * polohook-run: the detached job behind D and batch hooks.
 *
 *   polohook-run -a session_added|session_removed -t SECONDS [-d] [-q] --
 *                NAME PATH [NAME PATH ...]
 *
 * pam_polohook starts it with posix_spawn (the host, sshd or gdm, is never
 * forked), in a new session, with the hooks' clean environment as its own,
 * and waits for it to exit, briefly: the first thing it does is detach
 * itself, so that nothing but a newly exec'd, single-threaded process runs
 * hooks in the background, and the login is not their parent. It forks; the
 * parent exits 0 at once (the module reaps it by its pid), the child goes
 * on, a child of no login, in a session with no controlling terminal whose
 * leader is gone (it can never acquire one). Should the fork fail, that is
 * logged here and the exit status is 1 (the module logs that too). Then it
 * starts each D hook (NND-name) of its list, in order, each in a process of
 * its own, fully detached (double fork, no deadline); then it runs the
 * other hooks, the batch, one after another, each bounded by -t. It relays
 * their output to syslog (LOG_AUTHPRIV, tag "polohook") and logs how each
 * ended. Each hook path is checked again just before it runs: a batch may
 * start minutes after the walk that checked it.
 *
 *   polohook-run -x -- PATH [ARG ...]
 *
 * The waiter, for a W hook in a host that has the kernel reap its children
 * (SIGCHLD ignored, or SA_NOCLDWAIT: the module leaves that as it is, so
 * the host's own children are still reaped for it, and so is every child
 * of the module's). The module starts this instead of the hook, with the
 * hook's stdio and environment and a pipe on fd 3: it runs PATH, waits for
 * it, writes how it ended on fd 3 (struct polo_waited) and exits. It stays
 * in the foreground, under the module's deadline: SIGTERM, SIGINT and SIGHUP
 * are passed on to the hook, and if the waiter is killed the hook gets
 * SIGKILL (PR_SET_PDEATHSIG).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "hookdir.h"
#include "spawn.h"
#include "util.h"

extern char **environ;

static void emit(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	syslog(prio, "%s", msg);
}

static void usage(void)
{
	fprintf(stderr, "usage: polohook-run -a session_added|session_removed "
		"-t SECONDS [-d] [-q] -- NAME PATH [NAME PATH ...]\n"
		"  (D hooks are started detached first, then the others run "
		"in order, each within SECONDS)\n"
		"       polohook-run -x -- PATH [ARG ...]\n"
		"  (run PATH, wait for it, report how it ended on fd 3)\n");
}

/* ---- -x: the waiter ---- */

static volatile sig_atomic_t hook_pid;

static void pass_on(int sig)
{
	if (hook_pid > 0)
		(void)kill((pid_t)hook_pid, sig);
}

static const int passed_on[] = { SIGTERM, SIGINT, SIGHUP };

static int waiter(char **argv)
{
	struct polo_waited w = { 0 };
	struct sigaction sa = { .sa_handler = pass_on };
	sigset_t block, old;
	pid_t parent = getpid(), pid;
	int ep[2], e = 0, st = 0;
	size_t i;
	ssize_t n;

	if (argv[0] == NULL || argv[0][0] != '/' ||
	    fcntl(3, F_SETFD, FD_CLOEXEC) < 0) {
		usage();
		return 2;
	}
	/* blocked until the hook's pid is known: one that comes before is
	 * passed on then */
	sigemptyset(&block);
	for (i = 0; i < sizeof passed_on / sizeof passed_on[0]; i++)
		sigaddset(&block, passed_on[i]);
	(void)sigprocmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < sizeof passed_on / sizeof passed_on[0]; i++)
		(void)sigaction(passed_on[i], &sa, NULL);
	if (pipe2(ep, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		w.exec_errno = errno;
		goto report;
	}
	if (pid == 0) {
		for (i = 0; i < sizeof passed_on / sizeof passed_on[0]; i++)
			(void)signal(passed_on[i], SIG_DFL);
		(void)sigprocmask(SIG_SETMASK, &old, NULL);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ||
		    getppid() != parent)
			_exit(127);
		execv(argv[0], argv);
		e = errno;
		(void)!write(ep[1], &e, sizeof e);
		_exit(127);
	}
	hook_pid = pid;
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	close(ep[1]);
	do	/* an execve error, or EOF once it succeeded */
		n = read(ep[0], &e, sizeof e);
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			w.exec_errno = errno;
			goto report;
		}
	if (n == (ssize_t)sizeof e && e > 0)
		w.exec_errno = e;
	else
		w.status = st;
report:
	if (write(3, &w, sizeof w) != (ssize_t)sizeof w)
		return 1;
	return 0;
}

static void run_one(const char *name, const char *path, const char *arg,
		    unsigned long timeout_s, const struct polo_log *lg)
{
	char canon[PATH_MAX], why[512], what[160];
	char *argv[3] = { canon, (char *)arg, NULL };
	struct polo_result res;
	struct polo_spawn sp = {
		.name = name, .path = canon, .argv = argv, .envp = environ,
		.timeout_ms = timeout_s * 1000UL,
		.grace_ms = POLO_KILL_GRACE_MS, .lg = lg,
	};
	int r;

	if (polo_hook_skip_reason(name) != NULL) {
		polo_log(lg, LOG_ERR, "not running '%.100s': not a hook name",
			 name);
		return;
	}
	r = polo_hook_check(path, geteuid(), canon, sizeof canon, why,
			    sizeof why);
	if (r != 0) {
		polo_log(lg, r > 0 ? LOG_NOTICE : LOG_ERR, "not running %s "
			 "hook '%.100s': %s", r > 0 ? "disabled" : "unsafe",
			 name, why);
		return;
	}
	r = polo_spawn_wait(&sp, &res);
	if (r < 0) {
		polo_log(lg, LOG_ERR, "hook %s: cannot start: %s", name,
			 strerror(-r));
		return;
	}
	polo_describe_result(&res, what, sizeof what);
	if (res.dropped)
		polo_log(lg, LOG_WARNING, "hook %s: %zu more bytes of output "
			 "not logged", name, res.dropped);
	polo_log(lg, polo_result_ok(&res) ? LOG_INFO : LOG_ERR, "hook %s %s",
		 name, what);
}

/* A D hook: in a grandchild of ours, so that it belongs to no one once the
 * middle child is gone; we go on at once. */
static void start_detached(const char *name, const char *path,
			   const char *arg, const struct polo_log *lg)
{
	int status = 0;
	pid_t pid = fork(), g;

	if (pid == 0) {
		g = fork();
		if (g == 0) {
			run_one(name, path, arg, 0, lg);
			closelog();
			_exit(0);
		}
		_exit(g < 0 ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		polo_log(lg, LOG_ERR, "hook %s: cannot start: %s", name,
			 pid < 0 ? strerror(errno) : "fork failed");
}

/* Leave the login: the parent exits at once, the child goes on. */
static void detach(void)
{
	pid_t pid = fork();

	if (pid < 0) {
		syslog(LOG_ERR, "cannot detach from the login, no hook run: "
		       "fork: %s", strerror(errno));
		closelog();
		exit(1);
	}
	if (pid > 0)
		_exit(0);
}

int main(int argc, char **argv)
{
	struct polo_log lg = { .emit = emit };
	const char *arg = NULL;
	unsigned long timeout_s = 0;
	bool wait_mode = false;
	int opt, i;

	while ((opt = getopt(argc, argv, "a:t:dqx")) != -1) {
		switch (opt) {
		case 'x':
			wait_mode = true;
			break;
		case 'a':
			arg = optarg;
			break;
		case 't':
			if (polo_parse_uint(optarg, 0, 86400, &timeout_s) < 0) {
				usage();
				return 2;
			}
			break;
		case 'd':
			lg.debug = true;
			break;
		case 'q':
			lg.quiet = true;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (wait_mode)
		return waiter(argv + optind);
	if (arg == NULL || (strcmp(arg, "session_added") != 0 &&
			    strcmp(arg, "session_removed") != 0) ||
	    optind >= argc || (argc - optind) % 2 != 0) {
		usage();
		return 2;
	}
	openlog("polohook", LOG_PID, LOG_AUTHPRIV);
	detach();
	for (i = optind; i < argc; i += 2)
		if (polo_hook_mode(argv[i]) == POLO_MODE_DETACH)
			start_detached(argv[i], argv[i + 1], arg, &lg);
	for (i = optind; i < argc; i += 2)
		if (polo_hook_mode(argv[i]) != POLO_MODE_DETACH)
			run_one(argv[i], argv[i + 1], arg, timeout_s, &lg);
	closelog();
	return 0;
}
