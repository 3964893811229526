/*
 * hookload: a load generator for hookd's Create-Home service, its floor,
 * and a process-tree sampler. Benchmark only: never install it.
 *
 *   hookload -a ADDR -p PORT -C CA -e CERT -k KEY -r REQFILE -n N -c K
 *            [-w PID] [--nodelay]
 *     N Create-Home requests over mutual TLS, K at a time (K threads, one
 *     connection per request, as polo-mkhome makes them), request i for
 *     line i mod L of REQFILE ("home,uid,gid" per line). Each is timed
 *     from connect to the parsed reply. With -w, the processes of PID's
 *     tree (PID and its descendants) are sampled every SAMPLE_MS while the
 *     load runs: the peak of their summed VmRSS, of their summed private
 *     (anonymous) resident memory, of their open fds and of their number.
 *     --nodelay sets TCP_NODELAY on the client's sockets. Output, one
 *     line:
 *       n= k= fail= secs= rps= p50_ms= p90_ms= p99_ms= max_ms= created=
 *       exists= peak_rss_kb= peak_anon_kb= peak_fds= peak_procs=
 *
 *   hookload --serve -p PORT -C CA -e CERT -k KEY [-t THREADS]
 *     The floor: the least a server must do for one request — accept,
 *     the same TLS context as hookd (lib/tls.c: TLS 1.2+, client
 *     certificate required and verified against the CA), read one message,
 *     answer {"OK":0,"Status":"exists"} — with THREADS (default 64)
 *     threads each accepting and serving one connection at a time. No
 *     fork, no privilege separation, no NSS, no file system. Runs until
 *     killed.
 *
 *   hookload --mem PID
 *     One sample of PID's tree: rss_kb= anon_kb= pss_kb= fds= procs=
 *     (VmRSS summed over the processes, which counts shared pages once per
 *     process; anon: resident minus shared pages of /proc/PID/statm, the
 *     private part; Pss from smaps_rollup shares the shared pages out).
 *
 * The client uses lib/tls.c and lib/proto.c, the code polo-mkhome uses:
 * non-blocking sockets, per-step deadlines, the server's certificate
 * checked against the address (verify_name).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "stats.h"
#include "proto.h"
#include "tls.h"
#include "util.h"

#define REQ_DEADLINE_MS	10000
#define SAMPLE_MS	20
#define TREE_MAX	4096
#define WHY_LEN		256

struct opts {
	const char *addr, *reqfile;
	unsigned long port;
	struct polo_tls_conf tls;
	long n, k, threads;
	pid_t watch;
	bool serve, nodelay;
};

struct load {
	const struct opts *o;
	SSL_CTX *ctx;
	char (*req)[POLO_REQ_MAX];	/* formatted requests, one per line */
	size_t *reqlen;
	size_t nreq;
	double *ms;			/* per request */
	atomic_long next, fails, created, exists;
	atomic_bool done;
	pthread_mutex_t tell;		/* the first failure is printed once */
	bool told;
};

struct tree {
	long rss_kb, anon_kb, pss_kb, fds, procs;
};

static void emit(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	(void)prio;
	fprintf(stderr, "hookload: %s\n", msg);
}

static const struct polo_log lg = { .emit = emit };

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* ---- sampling a process tree ---- */

static long read_long_at(const char *path, int field)
{
	char buf[512], *p = buf, *end;
	long v = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC), i;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (i = 0; i < field && p != NULL; i++) {
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	if (p != NULL) {
		v = strtol(p, &end, 10);
		if (end == p)
			v = -1;
	}
	return v;
}

static long count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	long n = 0;

	(void)snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* "Pss:" of /proc/PID/smaps_rollup, kB, or 0. */
static long pss_kb(pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	long v = 0;

	(void)snprintf(path, sizeof path, "/proc/%ld/smaps_rollup", (long)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "Pss:", 4) == 0) {
			v = strtol(line + 4, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Append pid's children (from /proc/PID/task/PID/children) to v. */
static size_t children(pid_t pid, pid_t *v, size_t n)
{
	char path[80], buf[8192], *p, *end;
	int fd;
	ssize_t got;
	long c;

	(void)snprintf(path, sizeof path, "/proc/%ld/task/%ld/children",
		       (long)pid, (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return n;
	got = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (got <= 0)
		return n;
	buf[got] = '\0';
	for (p = buf; n < TREE_MAX; p = end) {
		c = strtol(p, &end, 10);
		if (end == p)
			break;
		v[n++] = (pid_t)c;
	}
	return n;
}

/* One sample of the tree under root (Pss only when asked: it is slow). */
static void sample(pid_t root, bool with_pss, struct tree *t)
{
	static pid_t v[TREE_MAX];
	char path[64];
	long pages, shared, psz = sysconf(_SC_PAGESIZE) / 1024;
	size_t i, n = 1;

	memset(t, 0, sizeof *t);
	v[0] = root;
	for (i = 0; i < n; i++)
		n = children(v[i], v, n);
	for (i = 0; i < n; i++) {
		(void)snprintf(path, sizeof path, "/proc/%ld/statm",
			       (long)v[i]);
		pages = read_long_at(path, 1);
		shared = read_long_at(path, 2);
		if (pages < 0 || shared < 0)
			continue;	/* gone meanwhile */
		t->procs++;
		t->rss_kb += pages * psz;
		t->anon_kb += (pages - shared) * psz;
		t->fds += count_fds(v[i]);
		if (with_pss)
			t->pss_kb += pss_kb(v[i]);
	}
}

static void *watcher(void *arg)
{
	struct load *l = arg;
	struct tree *peak = calloc(1, sizeof *peak), t;
	struct timespec nap = { 0, SAMPLE_MS * 1000000L };

	while (peak != NULL && !atomic_load(&l->done)) {
		sample(l->o->watch, false, &t);
		if (t.rss_kb > peak->rss_kb)
			peak->rss_kb = t.rss_kb;
		if (t.anon_kb > peak->anon_kb)
			peak->anon_kb = t.anon_kb;
		if (t.fds > peak->fds)
			peak->fds = t.fds;
		if (t.procs > peak->procs)
			peak->procs = t.procs;
		nanosleep(&nap, NULL);
	}
	return peak;
}

/* ---- the client ---- */

static int tcp_connect(const char *addr, unsigned long port, bool nodelay,
		       double deadline, char *why)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct pollfd p;
	socklen_t sl = sizeof(int);
	int fd, soerr = 0, r = 0, one = 1;

	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		polo_why(why, WHY_LEN, "not an IPv4 address: %s", addr);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		polo_why(why, WHY_LEN, "socket: %s", strerror(errno));
		return -1;
	}
	if (nodelay && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				  sizeof one) < 0) {
		polo_why(why, WHY_LEN, "TCP_NODELAY: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (errno != EINPROGRESS) {
			r = errno;
		} else {
			p = (struct pollfd){ .fd = fd, .events = POLLOUT };
			do
				r = poll(&p, 1, (int)(deadline - now_ms()));
			while (r < 0 && errno == EINTR);
			if (r == 0)
				r = ETIMEDOUT;
			else if (r < 0)
				r = errno;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
					    &sl) < 0)
				r = errno;
			else
				r = soerr;
		}
	}
	if (r == 0)
		return fd;
	polo_why(why, WHY_LEN, "connect: %s", strerror(r));
	close(fd);
	return -1;
}

/* One request: 0 and its status, or -1 with why. */
static int ask(struct load *l, size_t line, char *status, char *why)
{
	const struct opts *o = l->o;
	double t0 = now_ms();
	unsigned long dl = polo_now_ms() + REQ_DEADLINE_MS;
	char buf[POLO_REQ_MAX + 1];
	SSL *ssl = NULL;
	int fd, r = -1, n;

	fd = tcp_connect(o->addr, o->port, o->nodelay, t0 + REQ_DEADLINE_MS,
			 why);
	if (fd < 0)
		return -1;
	ssl = SSL_new(l->ctx);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    polo_tls_expect_peer(ssl, o->addr, true) < 0)
		polo_why(why, WHY_LEN, "cannot set up TLS");
	else if (polo_tls_handshake(ssl, false, dl, why, WHY_LEN) == 0 &&
		 polo_tls_write_all(ssl, l->req[line], l->reqlen[line], dl,
				    why, WHY_LEN) >= 0) {
		n = polo_tls_read_msg(ssl, buf, POLO_REQ_MAX, dl, why,
				      WHY_LEN);
		if (n == 0)
			polo_why(why, WHY_LEN, "closed without a reply");
		if (n > 0)
			r = polo_home_reply_parse(buf, (size_t)n, status, 32,
						  why, WHY_LEN) == 0 ? 0 : -1;
	}
	SSL_free(ssl);
	close(fd);
	ERR_clear_error();	/* the error queue is per thread */
	return r;
}

static void *client(void *arg)
{
	struct load *l = arg;
	char status[32], why[WHY_LEN];
	long i;
	double t0;

	while ((i = atomic_fetch_add(&l->next, 1)) < l->o->n) {
		status[0] = why[0] = '\0';
		t0 = now_ms();
		if (ask(l, (size_t)i % l->nreq, status, why) < 0) {
			atomic_fetch_add(&l->fails, 1);
			pthread_mutex_lock(&l->tell);
			if (!l->told)
				fprintf(stderr, "hookload: request %ld failed: "
					"%s (reported once)\n", i, why);
			l->told = true;
			pthread_mutex_unlock(&l->tell);
		} else if (strcmp(status, "created") == 0) {
			atomic_fetch_add(&l->created, 1);
		} else if (strcmp(status, "exists") == 0) {
			atomic_fetch_add(&l->exists, 1);
		}
		l->ms[i] = now_ms() - t0;
	}
	return NULL;
}

/* REQFILE: one "home,uid,gid" per line, formatted as requests. */
static int read_requests(struct load *l, const char *file)
{
	FILE *f = fopen(file, "re");
	char line[PATH_MAX + 64], *c1, *c2;
	struct polo_home_req rq;
	size_t cap = 0;
	int len;

	if (f == NULL) {
		perror(file);
		return -1;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		c1 = strchr(line, ',');
		c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		if (c2 == NULL)
			continue;
		*c1 = *c2 = '\0';
		if (polo_strlcpy(rq.home, line, sizeof rq.home) < 0 ||
		    polo_parse_uint(c1 + 1, 0, 4294967294UL, &rq.uid) < 0 ||
		    polo_parse_uint(c2 + 1, 0, 4294967294UL, &rq.gid) < 0)
			continue;
		if (l->nreq == cap) {
			cap = cap ? 2 * cap : 1024;
			l->req = realloc(l->req, cap * sizeof *l->req);
			l->reqlen = realloc(l->reqlen, cap * sizeof *l->reqlen);
			if (l->req == NULL || l->reqlen == NULL) {
				fclose(f);
				return -1;
			}
		}
		len = polo_home_req_format(l->req[l->nreq], POLO_REQ_MAX, &rq);
		if (len < 0)
			continue;
		l->reqlen[l->nreq++] = (size_t)len;
	}
	fclose(f);
	if (l->nreq == 0)
		fprintf(stderr, "hookload: no request in %s\n", file);
	return l->nreq ? 0 : -1;
}

static int run_load(const struct opts *o)
{
	struct load l = { .o = o };
	pthread_t *th, wt;
	struct tree *peak = NULL, none = { 0 };
	double t0, secs;
	long i, started = 0;
	int r = 1;

	pthread_mutex_init(&l.tell, NULL);
	l.ctx = polo_tls_client_ctx(&o->tls, &lg);
	l.ms = calloc((size_t)o->n, sizeof *l.ms);
	th = calloc((size_t)o->k, sizeof *th);
	if (l.ctx == NULL || l.ms == NULL || th == NULL ||
	    read_requests(&l, o->reqfile) < 0)
		goto out;
	if (o->watch > 0 && pthread_create(&wt, NULL, watcher, &l) != 0)
		goto out;
	t0 = now_ms();
	for (i = 0; i < o->k; i++)
		if (pthread_create(&th[i], NULL, client, &l) == 0)
			started++;
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	secs = (now_ms() - t0) / 1e3;
	atomic_store(&l.done, true);
	if (o->watch > 0)
		pthread_join(wt, (void **)&peak);
	if (peak == NULL)
		peak = &none;
	qsort(l.ms, (size_t)o->n, sizeof *l.ms, cmp_double);
	printf("n=%ld k=%ld fail=%ld secs=%.3f rps=%.1f p50_ms=%.3f "
	       "p90_ms=%.3f p99_ms=%.3f max_ms=%.3f created=%ld exists=%ld "
	       "peak_rss_kb=%ld peak_anon_kb=%ld peak_fds=%ld peak_procs=%ld\n",
	       o->n, started,
	       atomic_load(&l.fails), secs, (double)o->n / secs,
	       pct(l.ms, o->n, 50), pct(l.ms, o->n, 90), pct(l.ms, o->n, 99),
	       l.ms[o->n - 1], atomic_load(&l.created),
	       atomic_load(&l.exists), peak->rss_kb, peak->anon_kb, peak->fds,
	       peak->procs);
	r = atomic_load(&l.fails) || started != o->k ? 1 : 0;
	if (peak != &none)
		free(peak);
out:
	SSL_CTX_free(l.ctx);
	free(l.ms);
	free(l.req);
	free(l.reqlen);
	free(th);
	return r;
}

/* ---- the floor server ---- */

struct server {
	SSL_CTX *ctx;
	int lfd;
};

static void serve_one(SSL_CTX *ctx, int fd)
{
	static const char ok[] = "{\"OK\":0,\"Status\":\"exists\"}";
	char buf[POLO_REQ_MAX + 1], why[WHY_LEN];
	unsigned long dl = polo_now_ms() + REQ_DEADLINE_MS;
	SSL *ssl = SSL_new(ctx);

	if (ssl != NULL && SSL_set_fd(ssl, fd) == 1 &&
	    polo_tls_handshake(ssl, true, dl, why, sizeof why) == 0 &&
	    polo_tls_read_msg(ssl, buf, POLO_REQ_MAX, dl, why, sizeof why) > 0)
		(void)polo_tls_write_all(ssl, ok, sizeof ok - 1, dl, why,
					 sizeof why);
	SSL_free(ssl);
	ERR_clear_error();
}

static void *server_thread(void *arg)
{
	struct server *s = arg;
	int fd;

	for (;;) {
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EMFILE || errno == ENFILE)
				continue;
			return NULL;
		}
		serve_one(s->ctx, fd);
		close(fd);
	}
}

static int run_server(const struct opts *o)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	struct server s = { .lfd = -1 };
	pthread_t th;
	long i;
	int one = 1;

	sa.sin_port = htons((uint16_t)o->port);
	s.ctx = polo_tls_server_ctx(&o->tls, &lg);
	if (s.ctx == NULL)
		return 1;
	s.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s.lfd < 0 ||
	    setsockopt(s.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(s.lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(s.lfd, 128) < 0) {
		perror("hookload: listen");
		return 1;
	}
	for (i = 0; i < o->threads; i++)
		if (pthread_create(&th, NULL, server_thread, &s) != 0) {
			perror("hookload: thread");
			return 1;
		}
	for (;;)
		pause();
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr,
		"usage: hookload -a ADDR -p PORT -C CA -e CERT -k KEY -r REQFILE "
		"-n N -c K [-w PID] [--nodelay]\n"
		"       hookload --serve -p PORT -C CA -e CERT -k KEY [-t THREADS]\n"
		"       hookload --mem PID\n");
	exit(2);
}

static long num(const char *s, long max)
{
	unsigned long v;

	if (polo_parse_uint(s, 1, (unsigned long)max, &v) < 0)
		usage();
	return (long)v;
}

static void path(char *dst, const char *src)
{
	if (polo_strlcpy(dst, src, PATH_MAX) < 0)
		usage();
}

int main(int argc, char **argv)
{
	struct opts o = { .k = 1, .threads = 64 };
	struct tree t;
	int a;

	(void)signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && strcmp(argv[1], "--mem") == 0) {
		sample((pid_t)num(argv[2], 4194304), true, &t);
		printf("rss_kb=%ld anon_kb=%ld pss_kb=%ld fds=%ld procs=%ld\n",
		       t.rss_kb, t.anon_kb, t.pss_kb, t.fds, t.procs);
		return t.procs ? 0 : 1;
	}
	for (a = 1; a < argc; a++) {
		const char *f = argv[a];

		if (strcmp(f, "--nodelay") == 0) {
			o.nodelay = true;
			continue;
		}
		if (strcmp(f, "--serve") == 0) {
			o.serve = true;
			continue;
		}
		if (a + 1 >= argc || f[0] != '-' || f[1] == '\0' || f[2] != '\0')
			usage();
		switch (f[1]) {
		case 'a': o.addr = argv[++a]; break;
		case 'p': o.port = (unsigned long)num(argv[++a], 65535); break;
		case 'C': path(o.tls.ca, argv[++a]); break;
		case 'e': path(o.tls.cert, argv[++a]); break;
		case 'k': path(o.tls.key, argv[++a]); break;
		case 'r': o.reqfile = argv[++a]; break;
		case 'n': o.n = num(argv[++a], 10000000); break;
		case 'c': o.k = num(argv[++a], 1024); break;
		case 't': o.threads = num(argv[++a], 1024); break;
		case 'w': o.watch = (pid_t)num(argv[++a], 4194304); break;
		default: usage();
		}
	}
	if (o.port == 0 || !o.tls.ca[0] || !o.tls.cert[0] || !o.tls.key[0])
		usage();
	o.tls.verify_name = true;
	if (o.serve)
		return run_server(&o);
	if (o.addr == NULL || o.reqfile == NULL || o.n == 0)
		usage();
	return run_load(&o);
}
