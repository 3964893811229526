/*
 * pamh: the PAM test harness. Runs sessions through the real libpam with a
 * private service directory (pam_start_confdir), so no file under
 * /etc/pam.d is read or touched.
 *
 *   pamh -c CONFDIR [-s SERVICE] [-u USER] [-t TTY] [-r RHOST] [-R RUSER]
 *        [-e NAME=VALUE]... [-l LOGFILE] [-n CYCLES] [-S ign|reaper|count]
 *        [-F] [-A] ACTION...
 *
 * ACTIONs run in order on one handle: open, close, env (print the PAM
 * environment), new (pam_end and a fresh handle: a close "from another
 * process"), wait:FILE (until FILE exists, at most 60 s), crash (_exit at
 * once, as a login program that dies), fork:MS (a child of the host of its
 * own, which exits with status 7 after MS ms: like sshd's, it is not the
 * module's to reap), reap (waitpid with WNOHANG for that child: "reap:
 * exited 7", "reap: still running" or "reap: none"). Each PAM action prints
 * "ACTION: <pam_strerror>". With -n, the whole
 * list runs CYCLES times, each on its own handle, printing only failures.
 *
 * What libpam and the module log is captured: this program exports
 * syslog() and friends, which take precedence over libc's for every
 * library in the process; lines go to LOGFILE as "LEVEL message".
 * -F compares the open fds before and after (with -n: after the first
 * cycle, so that one-time opens by NSS do not count) and looks for
 * children left behind; -S sets SIGCHLD to SIG_IGN, to a handler that reaps every child
 * (as some hosts do) or to one that only counts its calls ("sigchld calls:
 * N" at the end), and checks that it is unchanged afterwards. -A counts the
 * forks of this process made by anyone but the harness itself (a
 * pthread_atfork handler: posix_spawn runs none) and prints "forks: N".
 */
#undef _FORTIFY_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

static int log_fd = 2;
/* -S count, -A, fork:MS: what the host saw (not the module's: ours) */
static volatile sig_atomic_t chld_calls;
static int forks_seen, forks_own;
static pid_t own_child = -1;

void vsyslog(int prio, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void syslog(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void __vsyslog_chk(int prio, int flag, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
void __syslog_chk(int prio, int flag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void vsyslog(int prio, const char *fmt, va_list ap)
{
	static const char *const names[] = { "emerg", "alert", "crit", "err",
		"warning", "notice", "info", "debug" };
	char buf[4096];
	int n;

	n = snprintf(buf, sizeof buf, "%s ", names[prio & 7]);
	n += vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	(void)!write(log_fd, buf, (size_t)n);
}

void syslog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(prio, fmt, ap);
	va_end(ap);
}

void __vsyslog_chk(int prio, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	vsyslog(prio, fmt, ap);
}

void __syslog_chk(int prio, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	vsyslog(prio, fmt, ap);
	va_end(ap);
}

static int conv(int n, const struct pam_message **msg,
		struct pam_response **resp, void *data)
{
	(void)msg;
	(void)data;
	*resp = calloc((size_t)n, sizeof **resp);
	return *resp ? PAM_SUCCESS : PAM_BUF_ERR;
}

struct opts {
	const char *confdir, *service, *user, *tty, *rhost, *ruser;
	const char *env[16];
	int nenv;
	long cycles;
};

static pam_handle_t *start(const struct opts *o)
{
	struct pam_conv c = { conv, NULL };
	pam_handle_t *pamh = NULL;
	int r, i;

	r = pam_start_confdir(o->service, o->user, &c, o->confdir, &pamh);
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "pam_start_confdir: %d\n", r);
		exit(2);
	}
	if (o->tty)
		pam_set_item(pamh, PAM_TTY, o->tty);
	if (o->rhost)
		pam_set_item(pamh, PAM_RHOST, o->rhost);
	if (o->ruser)
		pam_set_item(pamh, PAM_RUSER, o->ruser);
	for (i = 0; i < o->nenv; i++)
		pam_putenv(pamh, o->env[i]);
	return pamh;
}

static int run_actions(const struct opts *o, char **acts, int n, int verbose)
{
	pam_handle_t *pamh = start(o);
	int i, r, last = PAM_SUCCESS, fails = 0;

	for (i = 0; i < n; i++) {
		if (strcmp(acts[i], "open") == 0) {
			r = pam_open_session(pamh, 0);
		} else if (strcmp(acts[i], "close") == 0) {
			r = pam_close_session(pamh, 0);
		} else if (strcmp(acts[i], "new") == 0) {
			pam_end(pamh, last);
			pamh = start(o);
			r = PAM_SUCCESS;
		} else if (strncmp(acts[i], "wait:", 5) == 0) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			int k;

			for (k = 0; k < 6000 && access(acts[i] + 5, F_OK) != 0; k++)
				nanosleep(&ts, NULL);
			continue;
		} else if (strncmp(acts[i], "fork:", 5) == 0) {
			long ms = strtol(acts[i] + 5, NULL, 10);
			struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

			fflush(stdout);
			forks_own++;
			own_child = fork();
			if (own_child == 0) {
				nanosleep(&ts, NULL);
				_exit(7);
			}
			if (own_child < 0) {
				perror("fork");
				exit(2);
			}
			continue;
		} else if (strcmp(acts[i], "reap") == 0) {
			int st = 0;
			pid_t w = waitpid(own_child, &st, WNOHANG);

			if (w == own_child && WIFEXITED(st))
				printf("reap: exited %d\n", WEXITSTATUS(st));
			else
				printf("reap: %s\n", w == 0 ? "still running" :
				       w < 0 ? "none" : "other");
			continue;
		} else if (strcmp(acts[i], "crash") == 0) {
			fflush(stdout);
			_exit(0);
		} else if (strcmp(acts[i], "env") == 0) {
			char **e = pam_getenvlist(pamh), **p;

			for (p = e; p && *p; p++) {
				printf("env: %s\n", *p);
				free(*p);
			}
			free(e);
			continue;
		} else {
			fprintf(stderr, "unknown action %s\n", acts[i]);
			exit(2);
		}
		if (verbose || r != PAM_SUCCESS)
			printf("%s: %s\n", acts[i], pam_strerror(pamh, r));
		fails += r != PAM_SUCCESS;
		last = r;
	}
	pam_end(pamh, last);
	return fails;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n - 3;	/* ".", ".." and the DIR's own fd */
}

static void reap_all(int sig)
{
	int e = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = e;
}

static void count_chld(int sig)
{
	(void)sig;
	chld_calls++;
}

static void count_fork(void)
{
	forks_seen++;
}

static void set_sigchld(const char *how)
{
	struct sigaction sa = { 0 };

	if (strcmp(how, "ign") == 0)
		sa.sa_handler = SIG_IGN;
	else if (strcmp(how, "reaper") == 0)
		sa.sa_handler = reap_all;
	else if (strcmp(how, "count") == 0)
		sa.sa_handler = count_chld;
	else
		exit(2);
	sigaction(SIGCHLD, &sa, NULL);
}

int main(int argc, char **argv)
{
	struct opts o = { .service = "polotest", .user = "root", .cycles = 0 };
	struct sigaction before, after;
	const char *sigchld = NULL;
	int opt, fds0 = 0, fds1, check = 0, fails = 0, atfork = 0;
	siginfo_t si;
	long i;

	while ((opt = getopt(argc, argv, "c:s:u:t:r:R:e:l:n:S:FA")) != -1) {
		switch (opt) {
		case 'c': o.confdir = optarg; break;
		case 's': o.service = optarg; break;
		case 'u': o.user = optarg; break;
		case 't': o.tty = optarg; break;
		case 'r': o.rhost = optarg; break;
		case 'R': o.ruser = optarg; break;
		case 'e':
			if (o.nenv < 16)
				o.env[o.nenv++] = optarg;
			break;
		case 'l':
			log_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND |
				      O_CLOEXEC, 0600);
			if (log_fd < 0) {
				perror(optarg);
				return 2;
			}
			break;
		case 'n': o.cycles = strtol(optarg, NULL, 10); break;
		case 'S': sigchld = optarg; break;
		case 'F': check = 1; break;
		case 'A': atfork = 1; break;
		default: return 2;
		}
	}
	if (o.confdir == NULL || optind >= argc) {
		fprintf(stderr, "usage: pamh -c CONFDIR [options] ACTION...\n");
		return 2;
	}
	if (sigchld)
		set_sigchld(sigchld);
	if (atfork && pthread_atfork(count_fork, NULL, NULL) != 0)
		return 2;
	sigaction(SIGCHLD, NULL, &before);
	fds0 = count_fds();
	if (o.cycles > 0) {
		for (i = 0; i < o.cycles; i++) {
			fails += run_actions(&o, argv + optind, argc - optind, 0) != 0;
			/* after one warm-up cycle: NSS (nss_wrapper) keeps its
			 * database open, which is not ours to count */
			if (i == 0)
				fds0 = count_fds();
		}
		printf("cycles: %ld, failed: %d\n", o.cycles, fails);
	} else {
		fails = run_actions(&o, argv + optind, argc - optind, 1);
	}
	sigaction(SIGCHLD, NULL, &after);
	if (sigchld)
		printf("sigchld: %s\n", before.sa_handler == after.sa_handler &&
		       before.sa_flags == after.sa_flags ? "unchanged" : "CHANGED");
	if (sigchld && strcmp(sigchld, "count") == 0)
		printf("sigchld calls: %d\n", (int)chld_calls);
	if (atfork)
		printf("forks: %d\n", forks_seen - forks_own);
	if (check) {
		fds1 = count_fds();
		printf("fds: before %d after %d\n", fds0, fds1);
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
			printf("children: %s\n", errno == ECHILD ? "none" : "?");
		else if (si.si_pid != 0)
			printf("children: zombie %d\n", (int)si.si_pid);
		else
			printf("children: running\n");
	}
	return fails ? 1 : 0;
}
