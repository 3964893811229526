/*
 * pambench: time PAM session open+close pairs, or the bare spawn of a
 * program, and print latency statistics.
 *
 *   pambench -c CONFDIR -s SERVICE [-u USER] [-n N] [-w WARMUP]
 *   pambench --spawn PATH [-n N] [-w WARMUP]
 *   pambench --fork PATH [-n N] [-w WARMUP]
 *
 * PAM mode: each timed pair is one pam_start_confdir (a private service
 * directory: nothing under /etc/pam.d is read), pam_open_session,
 * pam_close_session and pam_end: what a login costs the PAM stack,
 * module loading included.
 *
 * --spawn mode, the floor: each timed run is posix_spawn of PATH with
 * argv {PATH, "session_added"} and an environment holding only PATH,
 * then waitpid of that pid: the bare cost of running the same program
 * once, with nothing around it.
 *
 * N runs (default 1000) are timed with CLOCK_MONOTONIC, after WARMUP
 * untimed ones (default 50). Output, one line on stdout:
 *
 *   n=N fail=F median_ms=.. p90_ms=.. p99_ms=.. mean_ms=.. min_ms=.. max_ms=..
 *
 * Percentiles are nearest-rank. The exit status is 1 if any run failed
 * (a PAM call not returning PAM_SUCCESS, or a child not exiting 0).
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

extern char **environ;

struct opts {
	const char *confdir, *service, *user, *spawn;
	int fork;		/* --fork: fork + execve instead of posix_spawn */
	long n, warmup;
};

static int conv(int n, const struct pam_message **msg,
		struct pam_response **resp, void *data)
{
	(void)msg;
	(void)data;
	*resp = calloc((size_t)n, sizeof **resp);
	return *resp ? PAM_SUCCESS : PAM_BUF_ERR;
}

/* One open+close pair on a fresh handle. 0 on success. */
static int pam_pair(const struct opts *o)
{
	struct pam_conv c = { conv, NULL };
	static int told;
	pam_handle_t *pamh = NULL;
	const char *what = NULL;
	int r;

	r = pam_start_confdir(o->service, o->user, &c, o->confdir, &pamh);
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

/* One posix_spawn (or fork + execve) + waitpid. 0 if the child ran and
 * exited 0. */
static int spawn_once(const char *path, int use_fork)
{
	static char arg1[] = "session_added";
	static char envpath[] =
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	char *argv[] = { (char *)path, arg1, NULL };
	char *envp[] = { envpath, NULL };
	static int told;
	pid_t pid, w;
	int r, st = 0;

	if (use_fork) {
		/* the literal floor: fork + exec + wait */
		pid = fork();
		if (pid == 0) {
			execve(path, argv, envp);
			_exit(127);
		}
		r = pid < 0 ? errno : 0;
	} else {
		r = posix_spawn(&pid, path, NULL, NULL, argv, envp);
	}
	if (r != 0) {
		if (!told)
			fprintf(stderr, "pambench: posix_spawn %s: %s "
				"(reported once)\n", path, strerror(r));
		told = 1;
		return 1;
	}
	do
		w = waitpid(pid, &st, 0);
	while (w < 0 && errno == EINTR);
	return w != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0;
}

static int run_once(const struct opts *o)
{
	return o->spawn ? spawn_once(o->spawn, o->fork) : pam_pair(o);
}

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least p% of runs at or below. */
static double pct(const double *sorted, long n, double p)
{
	long k = (long)((p / 100.0) * (double)n + 0.999999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return sorted[k - 1];
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
		"usage: pambench -c CONFDIR -s SERVICE [-u USER] [-n N] [-w WARMUP]\n"
		"       pambench --spawn|--fork PATH [-n N] [-w WARMUP]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = { .user = "root", .n = 1000, .warmup = 50 };
	struct timespec t0, t1;
	double *ms, sum = 0;
	long i, fails = 0;
	int a;

	for (a = 1; a < argc; a++) {
		const char *f = argv[a];

		if (a + 1 >= argc)
			usage();
		if (strcmp(f, "--spawn") == 0)
			o.spawn = argv[++a];
		else if (strcmp(f, "--fork") == 0) {
			o.spawn = argv[++a];
			o.fork = 1;
		}
		else if (strcmp(f, "-c") == 0)
			o.confdir = argv[++a];
		else if (strcmp(f, "-s") == 0)
			o.service = argv[++a];
		else if (strcmp(f, "-u") == 0)
			o.user = argv[++a];
		else if (strcmp(f, "-n") == 0)
			o.n = parse_count(argv[++a], "N", 1);
		else if (strcmp(f, "-w") == 0)
			o.warmup = parse_count(argv[++a], "WARMUP", 0);
		else
			usage();
	}
	if (o.spawn == NULL && (o.confdir == NULL || o.service == NULL))
		usage();
	if (o.spawn != NULL && (o.confdir != NULL || o.service != NULL))
		usage();

	ms = calloc((size_t)o.n, sizeof *ms);
	if (ms == NULL) {
		perror("pambench");
		return 2;
	}
	for (i = 0; i < o.warmup; i++)
		fails += run_once(&o) != 0;
	for (i = 0; i < o.n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		fails += run_once(&o) != 0;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms[i] = ms_between(&t0, &t1);
		sum += ms[i];
	}
	qsort(ms, (size_t)o.n, sizeof *ms, cmp_double);
	printf("n=%ld fail=%ld median_ms=%.4f p90_ms=%.4f p99_ms=%.4f "
	       "mean_ms=%.4f min_ms=%.4f max_ms=%.4f\n", o.n, fails,
	       pct(ms, o.n, 50), pct(ms, o.n, 90), pct(ms, o.n, 99),
	       sum / (double)o.n, ms[0], ms[o.n - 1]);
	free(ms);
	return fails ? 1 : 0;
}
