/*
 * pambench: time PAM session open+close pairs, the bare spawn of
 * programs, or runs of a command, and print latency statistics.
 *
 *   pambench [COMMON] -c CONFDIR -s SERVICE [-u USER | -U PREFIX]
 *   pambench [COMMON] --spawn PATH [--spawn PATH ...] [--nowait]
 *   pambench [COMMON] --fork PATH
 *   pambench [COMMON] [-u USER | -U PREFIX] --cmd PROG [ARG ...]
 *
 *   COMMON: [-n N] [-w WARMUP] [--drain DIR COUNT] [--rss MB]
 *
 * PAM mode: each timed pair is one pam_start_confdir (a private service
 * directory: nothing under /etc/pam.d is read), pam_open_session,
 * pam_close_session and pam_end: what a login costs the PAM stack,
 * module loading included.
 *
 * --spawn mode, the floor: each timed run is, for each PATH in order,
 * posix_spawn of PATH with argv {PATH, "session_added"} and an
 * environment holding only PATH, then waitpid of that pid: the bare cost
 * of running the same programs one after another, with nothing around
 * them. With --nowait the run only starts them all; they are reaped after
 * the clock stopped (the floor of hooks a login does not wait for).
 * --fork: the same with fork + execve instead of posix_spawn (one PATH).
 *
 * --cmd mode: each timed run is posix_spawnp of PROG ARG... with this
 * process's environment plus PAM_USER (with -u or -U), its stdout on our
 * stderr, and waitpid; it must exit 0.
 *
 * -U PREFIX: run i (counted from 1 over warm-up and timed runs) is for the
 * user PREFIX<i>, so that every run can meet a new user.
 *
 * --drain DIR COUNT: for hooks that outlive the login (batch and detached
 * ones). pambench makes itself a child subreaper, and after each run,
 * outside the clock, waits (at most 30 s) until DIR holds COUNT entries
 * and every process started by the run has exited and been reaped, then
 * empties DIR. So no run's hooks compete with the next run for the CPU,
 * and nothing is left behind.
 *
 * --rss MB: before the first run, allocate MB MiB and write every page of
 * it, so that this process is as large a host as an sshd or gdm that has
 * grown to that resident size (what a fork of it must copy page tables
 * for); it stays resident until exit.
 *
 * N runs (default 1000) are timed with CLOCK_MONOTONIC, after WARMUP
 * untimed ones (default 50). Output, one line on stdout:
 *
 *   n=N fail=F median_ms=.. p90_ms=.. p99_ms=.. mean_ms=.. min_ms=..
 *   max_ms=.. rss_kb=.. hwm_kb=.. stack_kb=..
 *
 * Percentiles are nearest-rank. rss_kb and hwm_kb are this process's
 * VmRSS and VmHWM (/proc/self/status) after the last run, stack_kb the
 * resident part of its stack then (/proc/self/smaps). The exit status
 * is 1 if any run failed (a PAM call not returning PAM_SUCCESS, a child
 * not exiting 0, a drain that timed out).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "stats.h"

#define SPAWN_MAX	32
#define DRAIN_MS	30000

extern char **environ;

struct opts {
	const char *confdir, *service, *user, *uprefix;
	const char *spawn[SPAWN_MAX];
	int nspawn;
	int fork;		/* --fork: fork + execve instead of posix_spawn */
	int nowait;		/* --nowait: reap the spawned after the clock */
	char **cmd;		/* --cmd PROG ARG... */
	const char *drain;	/* --drain DIR COUNT */
	long drain_count;
	long n, warmup;
	long rss_mb;		/* --rss MB */
};

static int conv(int n, const struct pam_message **msg,
		struct pam_response **resp, void *data)
{
	(void)msg;
	(void)data;
	*resp = calloc((size_t)n, sizeof **resp);
	return *resp ? PAM_SUCCESS : PAM_BUF_ERR;
}

/* The user of run i: USER, or PREFIX<i>. */
static const char *user_of(const struct opts *o, long i)
{
	static char buf[64];

	if (o->uprefix == NULL)
		return o->user;
	(void)snprintf(buf, sizeof buf, "%.40s%ld", o->uprefix, i);
	return buf;
}

/* One open+close pair on a fresh handle. 0 on success. */
static int pam_pair(const struct opts *o, const char *user)
{
	struct pam_conv c = { conv, NULL };
	static int told;
	pam_handle_t *pamh = NULL;
	const char *what = NULL;
	int r;

	r = pam_start_confdir(o->service, user, &c, o->confdir, &pamh);
	if (r != PAM_SUCCESS) {
		if (!told)
			fprintf(stderr, "pambench: pam_start_confdir: %s "
				"(reported once)\n", pam_strerror(pamh, r));
		told = 1;
		return 1;
	}
	r = pam_open_session(pamh, 0);
	if (r != PAM_SUCCESS) {
		what = "pam_open_session";
	} else {
		r = pam_close_session(pamh, 0);
		if (r != PAM_SUCCESS)
			what = "pam_close_session";
	}
	if (what != NULL && !told) {
		fprintf(stderr, "pambench: %s: %s (reported once)\n", what,
			pam_strerror(pamh, r));
		told = 1;
	}
	pam_end(pamh, r);
	return what != NULL;
}

static int wait_ok(pid_t pid)
{
	pid_t w;
	int st = 0;

	do
		w = waitpid(pid, &st, 0);
	while (w < 0 && errno == EINTR);
	return w != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0;
}

static void tell_once(const char *what, const char *path, int err)
{
	static int told;

	if (!told)
		fprintf(stderr, "pambench: %s %s: %s (reported once)\n", what,
			path, strerror(err));
	told = 1;
}

/* Start one child: posix_spawn (or fork + execve) of path. 0 or errno. */
static int start_one(const char *path, int use_fork, pid_t *pid)
{
	static char arg1[] = "session_added";
	static char envpath[] =
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	char *argv[] = { (char *)path, arg1, NULL };
	char *envp[] = { envpath, NULL };

	if (!use_fork)
		return posix_spawn(pid, path, NULL, NULL, argv, envp);
	/* the literal floor: fork + exec + wait */
	*pid = fork();
	if (*pid == 0) {
		execve(path, argv, envp);
		_exit(127);
	}
	return *pid < 0 ? errno : 0;
}

/* Each path in order: start it, and wait for it unless nowait (then its
 * pid is left in pids[] for reap_all). The number of failures. */
static int spawn_run(const struct opts *o, pid_t *pids)
{
	int i, r, fails = 0;

	for (i = 0; i < o->nspawn; i++) {
		pids[i] = -1;
		r = start_one(o->spawn[i], o->fork, &pids[i]);
		if (r != 0) {
			tell_once("posix_spawn", o->spawn[i], r);
			pids[i] = -1;
			fails++;
		} else if (!o->nowait) {
			fails += wait_ok(pids[i]);
			pids[i] = -1;
		}
	}
	return fails;
}

static int reap_all(const struct opts *o, pid_t *pids)
{
	int i, fails = 0;

	for (i = 0; i < o->nspawn; i++)
		if (pids[i] > 0) {
			fails += wait_ok(pids[i]);
			pids[i] = -1;
		}
	return fails;
}

static int cmd_run(const struct opts *o, const char *user)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r;

	if (user != NULL && setenv("PAM_USER", user, 1) < 0)
		return 1;
	/* the command's stdout goes to our stderr: ours is the result */
	if (posix_spawn_file_actions_init(&fa) != 0)
		return 1;
	r = posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO,
					     STDOUT_FILENO);
	if (r == 0)
		r = posix_spawnp(&pid, o->cmd[0], &fa, NULL, o->cmd, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		tell_once("posix_spawnp", o->cmd[0], r);
		return 1;
	}
	r = wait_ok(pid);
	if (r != 0) {
		static int told;

		if (!told)
			fprintf(stderr, "pambench: %s did not exit 0 "
				"(reported once)\n", o->cmd[0]);
		told = 1;
	}
	return r;
}

/* The entries of dir, or -1. */
static long count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

/* Reap every child (orphans come to us: we are a subreaper). 1 while
 * some are still running, 0 when none is left. */
static int reap_orphans(void)
{
	pid_t w;
	int st;

	for (;;) {
		w = waitpid(-1, &st, WNOHANG);
		if (w > 0)
			continue;
		if (w < 0 && errno == EINTR)
			continue;
		return w == 0;
	}
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* After a run: DIR holds COUNT entries and nobody is left running. */
static int drain(const struct opts *o)
{
	struct timespec nap = { 0, 200 * 1000 };
	double end = now_ms() + DRAIN_MS;
	static int told;
	long got = -1;
	int running = 1;

	for (;;) {
		running = reap_orphans();
		got = count_entries(o->drain);
		if (!running && got >= o->drain_count)
			break;
		if (now_ms() > end) {
			if (!told)
				fprintf(stderr, "pambench: drain: %ld of %ld "
					"entries in %s after %d ms%s "
					"(reported once)\n", got,
					o->drain_count, o->drain, DRAIN_MS,
					running ? ", children still running" :
						  "");
			told = 1;
			empty_dir(o->drain);
			return 1;
		}
		nanosleep(&nap, NULL);
	}
	empty_dir(o->drain);
	return got != o->drain_count;
}

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* VmRSS or VmHWM of this process, kB, or -1. */
static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	size_t kl = strlen(key);
	long v = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Rss of the [stack] mapping (/proc/self/smaps), kB, or -1: stack pages
 * a module touched stay resident after it is unloaded. */
static long stack_kb(void)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	int in = 0;
	long v = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strstr(line, "[stack]") != NULL) {
			in = 1;
		} else if (in && strncmp(line, "Rss:", 4) == 0) {
			v = strtol(line + 4, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static long parse_count(const char *s, const char *what, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < min || v > 100000000L) {
		fprintf(stderr, "pambench: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: pambench [COMMON] -c CONFDIR -s SERVICE [-u USER | -U PREFIX]\n"
		"       pambench [COMMON] --spawn PATH [--spawn PATH ...] [--nowait]\n"
		"       pambench [COMMON] --fork PATH\n"
		"       pambench [COMMON] [-u USER | -U PREFIX] --cmd PROG [ARG ...]\n"
		"  COMMON: [-n N] [-w WARMUP] [--drain DIR COUNT] [--rss MB]\n");
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	int a;

	for (a = 1; a < argc; a++) {
		const char *f = argv[a];

		if (strcmp(f, "--cmd") == 0) {
			if (a + 1 >= argc)
				usage();
			o->cmd = &argv[a + 1];
			break;
		}
		if (strcmp(f, "--nowait") == 0) {
			o->nowait = 1;
			continue;
		}
		if (a + 1 >= argc)
			usage();
		if (strcmp(f, "--spawn") == 0 || strcmp(f, "--fork") == 0) {
			if (o->nspawn == SPAWN_MAX)
				usage();
			o->spawn[o->nspawn++] = argv[++a];
			o->fork |= f[2] == 'f';
		} else if (strcmp(f, "--drain") == 0) {
			if (a + 2 >= argc)
				usage();
			o->drain = argv[++a];
			o->drain_count = parse_count(argv[++a], "COUNT", 0);
		} else if (strcmp(f, "--rss") == 0) {
			o->rss_mb = parse_count(argv[++a], "MB", 0);
		} else if (strcmp(f, "-c") == 0) {
			o->confdir = argv[++a];
		} else if (strcmp(f, "-s") == 0) {
			o->service = argv[++a];
		} else if (strcmp(f, "-u") == 0) {
			o->user = argv[++a];
		} else if (strcmp(f, "-U") == 0) {
			o->uprefix = argv[++a];
		} else if (strcmp(f, "-n") == 0) {
			o->n = parse_count(argv[++a], "N", 1);
		} else if (strcmp(f, "-w") == 0) {
			o->warmup = parse_count(argv[++a], "WARMUP", 0);
		} else {
			usage();
		}
	}
	/* exactly one mode */
	if ((o->nspawn > 0) + (o->cmd != NULL) + (o->service != NULL) != 1)
		usage();
	if ((o->service != NULL) != (o->confdir != NULL))
		usage();
	if (o->fork && (o->nspawn != 1 || o->nowait))
		usage();
	if (o->nowait && o->nspawn == 0)
		usage();
}

/* One run of whatever mode, timed into *ms. The number of failures. */
static int one(const struct opts *o, long i, double *ms)
{
	pid_t pids[SPAWN_MAX];
	const char *user = user_of(o, i);
	struct timespec t0, t1;
	int fails;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (o->nspawn > 0)
		fails = spawn_run(o, pids);
	else if (o->cmd != NULL)
		fails = cmd_run(o, user);
	else
		fails = pam_pair(o, user);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*ms = ms_between(&t0, &t1);
	if (o->nspawn > 0 && o->nowait)
		fails += reap_all(o, pids);
	if (o->drain != NULL)
		fails += drain(o);
	return fails;
}

int main(int argc, char **argv)
{
	struct opts o = { .n = 1000, .warmup = 50 };
	double *ms, sum = 0, dummy;
	char *ballast = NULL;
	long i, fails = 0;

	parse(argc, argv, &o);
	if (o.service != NULL && o.user == NULL && o.uprefix == NULL)
		o.user = "root";
	if (o.drain != NULL) {
		if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
			perror("pambench: PR_SET_CHILD_SUBREAPER");
			return 2;
		}
		if (count_entries(o.drain) != 0) {
			fprintf(stderr, "pambench: %s is not an empty "
				"directory\n", o.drain);
			return 2;
		}
	}
	if (o.rss_mb > 0) {
		size_t len = (size_t)o.rss_mb << 20;

		ballast = malloc(len);
		if (ballast == NULL) {
			perror("pambench: --rss");
			return 2;
		}
		memset(ballast, 0xa5, len);	/* every page resident */
		__asm__ volatile("" : : "r"(ballast) : "memory"); /* kept */
	}
	ms = calloc((size_t)o.n, sizeof *ms);
	if (ms == NULL) {
		perror("pambench");
		return 2;
	}
	for (i = 0; i < o.warmup; i++)
		fails += one(&o, i + 1, &dummy) != 0;
	for (i = 0; i < o.n; i++) {
		fails += one(&o, o.warmup + i + 1, &ms[i]) != 0;
		sum += ms[i];
	}
	qsort(ms, (size_t)o.n, sizeof *ms, cmp_double);
	printf("n=%ld fail=%ld median_ms=%.4f p90_ms=%.4f p99_ms=%.4f "
	       "mean_ms=%.4f min_ms=%.4f max_ms=%.4f rss_kb=%ld hwm_kb=%ld "
	       "stack_kb=%ld\n",
	       o.n, fails, pct(ms, o.n, 50), pct(ms, o.n, 90),
	       pct(ms, o.n, 99), sum / (double)o.n, ms[0], ms[o.n - 1],
	       status_kb("VmRSS"), status_kb("VmHWM"), stack_kb());
	free(ms);
	free(ballast);
	return fails ? 1 : 0;
}
