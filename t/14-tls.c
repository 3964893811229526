/* lib/tls.c: contexts and their refusals, then real mutual TLS over
 * loopback. Certificates are made in a temp dir by examples/make-certs.sh
 * and plain openssl commands (a second CA, an RSA X.509 v1 client like the
 * original polousers ones, a not-yet-valid and an expired certificate made
 * with `openssl ca`). Each case forks a server child that accepts one
 * connection, reports what it saw through a pipe and exits; the client
 * runs here. No assertion depends on how long anything took. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "tls.h"
#include "tap.h"
#include "testlog.h"
#include "tfs.h"

extern char **environ;

#define LONG_MS		10000UL	/* a deadline no healthy case comes near */
#define SHORT_MS	300UL	/* for the cases that must time out */

static char top[PATH_MAX];	/* the source tree (for make-certs.sh) */
static int lfd = -1;		/* the listening socket, 127.0.0.1 */
static struct sockaddr_in laddr;
static int bad_children;	/* server children that did not exit 0 */
static int dirty_queue;		/* calls that left an OpenSSL error queued */

static const char M1[] =
	"{\"Command\":\"Create-Home\",\"Params\":\"/home/alice,1234,1234\"}";



static void check_queue(void)
{
	if (ERR_peek_error() != 0) {
		dirty_queue++;
		ERR_clear_error();
	}
}

/* ---- commands (posix_spawnp, stdout+stderr into a file) ---- */

static int run_to(const char *const argv[], const char *out)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r, st;

	must(posix_spawn_file_actions_init(&fa) == 0, "file actions");
	r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	r = r ? r : posix_spawn_file_actions_addopen(&fa, 1, out,
			O_WRONLY | O_CREAT | O_TRUNC, 0600);
	r = r ? r : posix_spawn_file_actions_adddup2(&fa, 1, 2);
	r = r ? r : posix_spawnp(&pid, argv[0], &fa, NULL,
				 (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -r;
	while (waitpid(pid, &st, 0) < 0)
		must(errno == EINTR, "waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *slurp(const char *path)
{
	static char buf[64 * 1024];
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void must_run(const char *const argv[])
{
	const char *log = at("cmd.log");

	if (run_to(argv, log) == 0)
		return;
	printf("# %s failed:\n", argv[0]);
	printf("# %s\n", slurp(log));
	errno = 0;
	must(0, "setting up certificates");
}

#define RUN(...) must_run((const char *const[]){ __VA_ARGS__, NULL })

static void copy_file(const char *from, const char *to, mode_t mode)
{
	put_file(to, slurp(from), mode);
}

/* ---- certificates ---- */

/* An `openssl ca` setup, only for its -startdate/-enddate (OpenSSL 3.0's
 * x509 cannot backdate or postdate). */
static void make_ca_conf(void)
{
	must(mkdir(at("ca"), 0700) == 0, "mkdir ca");
	put_file(at("ca/index.txt"), "", 0600);
	put_file(at("ca/serial"), "1000\n", 0600);
	put_file(at("ca.cnf"), fmt(
		"[ca]\ndefault_ca = tca\n"
		"[tca]\ndatabase = %s/ca/index.txt\n"
		"new_certs_dir = %s/ca\nserial = %s/ca/serial\n"
		"default_md = sha256\npolicy = pol\nunique_subject = no\n"
		"x509_extensions = ext\n"
		"[pol]\ncommonName = supplied\n"
		"[ext]\nbasicConstraints = CA:FALSE\n"
		"subjectAltName = IP:127.0.0.1\n"
		"extendedKeyUsage = serverAuth, clientAuth\n",
		dir, dir, dir), 0600);
}

static void make_dated(const char *name, const char *start, const char *end)
{
	RUN("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
	    "ec_paramgen_curve:P-256", "-out", at("%s.key", name));
	RUN("openssl", "req", "-new", "-key", at("%s.key", name), "-subj",
	    fmt("/CN=%s", name), "-out", at("%s.csr", name));
	RUN("openssl", "ca", "-batch", "-notext", "-config", at("ca.cnf"),
	    "-cert", at("c1/ca.pem"), "-keyfile", at("c1/ca.key"),
	    "-startdate", start, "-enddate", end,
	    "-in", at("%s.csr", name), "-out", at("%s.pem", name));
}

/* Like the original polousers clients: RSA 2048, X.509 v1, no extensions
 * (x509 -req without -extfile), signed by our EC CA. */
static void make_v1(void)
{
	RUN("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
	    "rsa_keygen_bits:2048", "-out", at("v1.key"));
	RUN("openssl", "req", "-new", "-key", at("v1.key"), "-subj",
	    "/O=polousers/CN=oldclient", "-out", at("v1.csr"));
	RUN("openssl", "x509", "-req", "-in", at("v1.csr"), "-CA",
	    at("c1/ca.pem"), "-CAkey", at("c1/ca.key"), "-set_serial", "4097",
	    "-days", "30", "-sha256", "-out", at("v1.pem"));
}

static void make_certs(void)
{
	char script[PATH_MAX];

	must(snprintf(script, sizeof script, "%s/examples/make-certs.sh",
		      top) < (int)sizeof script, "script path");
	RUN("sh", script, at("c1"), "node1=127.0.0.1", "node2=127.0.0.2");
	RUN("sh", script, at("c2"), "other=127.0.0.1");
	make_v1();
	make_ca_conf();
	make_dated("future", "20900101000000Z", "20900201000000Z");
	make_dated("expired", "20000101000000Z", "20000201000000Z");
	RUN("openssl", "pkey", "-in", at("c1/node1.key"), "-aes128",
	    "-passout", "pass:secret", "-out", at("enc.key"));
}

static const char *x509_text(const char *pem)
{
	RUN("openssl", "x509", "-in", pem, "-noout", "-text");
	return slurp(at("cmd.log"));
}

static void test_certs(void)
{
	struct stat st;

	like(x509_text(at("c1/ca.pem")), "Version: 3 (0x2)", "the CA is v3");
	like(x509_text(at("c1/ca.pem")), "CA:TRUE", "the CA has CA:TRUE");
	like(x509_text(at("c1/ca.pem")), "id-ecPublicKey", "the CA is EC");
	like(x509_text(at("c1/ca.pem")), "Certificate Sign",
	     "the CA has keyUsage keyCertSign");
	like(x509_text(at("c1/node1.pem")), "DNS:node1, IP Address:127.0.0.1",
	     "node1's SAN has its name and address");
	like(x509_text(at("c1/node1.pem")),
	     "TLS Web Server Authentication, TLS Web Client Authentication",
	     "node1 may serve and be a client");
	ok(stat(at("c1/node1.key"), &st) == 0 && (st.st_mode & 07777) == 0600,
	   "make-certs.sh makes keys 0600");
	ok(stat(at("c1/ca.key"), &st) == 0 && (st.st_mode & 07777) == 0600,
	   "make-certs.sh makes the CA key 0600");
	ok(run_to((const char *const[]){ "sh", fmt("%s/examples/make-certs.sh",
		  top), at("c1"), "node1=127.0.0.9", NULL }, at("cmd.log")) != 0,
	   "make-certs.sh refuses to overwrite a node's files");
	like(x509_text(at("c1/node1.pem")), "IP Address:127.0.0.1",
	     "and node1's certificate is unchanged");
	like(x509_text(at("v1.pem")), "Version: 1 (0x0)",
	     "the old-style client certificate is X.509 v1");
	like(x509_text(at("v1.pem")), "Public-Key: (2048 bit)",
	     "with an RSA 2048 key");
	ok(strstr(x509_text(at("v1.pem")), "X509v3") == NULL,
	   "and no extensions");
}

/* ---- contexts ---- */

static struct polo_tls_conf conf(const char *ca, const char *cert,
				 const char *key)
{
	struct polo_tls_conf c = { .verify_name = true };

	must(snprintf(c.ca, sizeof c.ca, "%s", ca) < (int)sizeof c.ca &&
	     snprintf(c.cert, sizeof c.cert, "%s", cert) < (int)sizeof c.cert &&
	     snprintf(c.key, sizeof c.key, "%s", key) < (int)sizeof c.key,
	     "conf");
	return c;
}

/* A context that must not be made: NULL, and exactly one LOG_ERR line
 * that contains `want`. */
static void refused(bool server, const char *ca, const char *cert,
		    const char *key, const char *want, const char *name)
{
	struct polo_tls_conf c = conf(ca, cert, key);
	SSL_CTX *ctx;

	cap_reset();
	ctx = server ? polo_tls_server_ctx(&c, &lg) : polo_tls_client_ctx(&c, &lg);
	ok(ctx == NULL, name);
	is_int(cap.n, 1, fmt("%s: one log line", name));
	like(cap.buf, want, fmt("%s: the line says why", name));
	printf("# %s", cap.buf);
	check_queue();
	SSL_CTX_free(ctx);
}

static void test_ctx_errors(void)
{
	const char *ca = at("c1/ca.pem"), *cert = at("c1/node1.pem");
	const char *key = at("c1/node1.key");

	copy_file(key, at("k644.key"), 0644);
	refused(true, ca, cert, at("k644.key"),
		fmt("<%d>tls: key %s: readable or writable by group or others "
		    "(mode 0644", LOG_ERR, at("k644.key")),
		"a key file readable by others is refused");
	refused(false, at("nope.pem"), cert, key,
		fmt("<%d>tls: CA %s: No such file or directory\n", LOG_ERR,
		    at("nope.pem")), "a missing CA file is refused");
	refused(true, ca, at("nope.pem"), key,
		fmt("<%d>tls: certificate %s: No such file or directory\n",
		    LOG_ERR, at("nope.pem")),
		"a missing certificate file is refused");
	copy_file(ca, at("ca666.pem"), 0666);
	refused(true, at("ca666.pem"), cert, key,
		fmt("<%d>tls: CA %s: is writable by group or others", LOG_ERR,
		    at("ca666.pem")), "a world-writable CA file is refused");
	refused(true, ca, cert, at("c1/node2.key"),
		fmt("<%d>tls: use key %s: error:05800074:x509 certificate "
		    "routines::key values mismatch\n", LOG_ERR,
		    at("c1/node2.key")),
		"a key that does not match the certificate is refused");
	put_file(at("junk.key"), "not a key\n", 0600);
	refused(false, ca, cert, at("junk.key"),
		fmt("<%d>tls: load key %s: ", LOG_ERR, at("junk.key")),
		"a file that holds no key is refused");
	refused(true, ca, cert, at("enc.key"),
		fmt("<%d>tls: load key %s: ", LOG_ERR, at("enc.key")),
		"an encrypted key is refused, without asking for a passphrase");
	refused(true, ca, cert, dir,
		fmt("<%d>tls: key %s: not a regular file\n", LOG_ERR, dir),
		"a directory as the key is refused");
	must(mkfifo(at("fifo.key"), 0600) == 0, "mkfifo");
	refused(true, ca, cert, at("fifo.key"),
		fmt("<%d>tls: key %s: not a regular file\n", LOG_ERR,
		    at("fifo.key")), "a FIFO as the key is refused, not waited on");
	refused(true, ca, at("junk.key"), key,
		fmt("<%d>tls: load certificate %s: ", LOG_ERR, at("junk.key")),
		"a file that holds no certificate is refused");
	if (geteuid() != 0) {
		skip(3, "needs root (chown)");
		return;
	}
	copy_file(key, at("k1500.key"), 0600);
	must(chown(at("k1500.key"), 1500, 1500) == 0, "chown");
	refused(true, ca, cert, at("k1500.key"),
		fmt("<%d>tls: key %s: is owned by uid 1500", LOG_ERR,
		    at("k1500.key")), "a key owned by another user is refused");
}

/* ---- a server child and a client, over loopback ---- */

enum srv_mode { SRV_ECHO, SRV_SILENT, SRV_MUTE };
struct srv {
	SSL_CTX *ctx;
	enum srv_mode mode;
	size_t max;		/* read_msg's limit */
	unsigned long rd_ms;	/* read_msg's deadline (default LONG_MS) */
};
struct srv_res {
	int hs, rd, wr;
	char why[512], subject[256], msg[2048];
};

enum cli_end { CLI_WAIT, CLI_NOTIFY, CLI_SHUT_WR };
struct cli {
	SSL_CTX *ctx;
	const char *peer;	/* what polo_tls_expect_peer is told */
	bool verify_name;
	unsigned long hs_ms, rd_ms;
	const char *parts[3];	/* written one by one, with pauses */
	enum cli_end end;	/* after writing: close_notify, or TCP EOF */
	const char *tls12;	/* TLS 1.2 only, offering these suites */
};
struct cli_res {
	int hs, wr, rd;
	char why[512], subject[256], small[6], reply[2048], cipher[64];
};

/* Wait (bounded) until the peer closes the TCP connection. */
static void drain_raw(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char b[512];

	while (poll(&p, 1, 20000) > 0 && read(fd, b, sizeof b) > 0)
		;
}

static void serve(SSL *ssl, const struct srv *sv, struct srv_res *res)
{
	char buf[2048];

	res->hs = polo_tls_handshake(ssl, true, polo_now_ms() + LONG_MS,
				     res->why, sizeof res->why);
	if (res->hs != 0)
		return;
	polo_tls_peer_subject(ssl, res->subject, sizeof res->subject);
	if (sv->mode == SRV_MUTE) {
		drain_raw(SSL_get_fd(ssl));
		return;
	}
	res->rd = polo_tls_read_msg(ssl, buf, sv->max, polo_now_ms() +
				    (sv->rd_ms ? sv->rd_ms : LONG_MS),
				    res->why, sizeof res->why);
	if (res->rd < 0)
		return;
	memcpy(res->msg, buf, (size_t)res->rd + 1);
	res->wr = polo_tls_write_all(ssl, buf, (size_t)res->rd,
				     polo_now_ms() + LONG_MS, res->why,
				     sizeof res->why);
	if (res->wr >= 0)
		(void)SSL_shutdown(ssl);
}

/* The child: one connection, the result down the pipe, _exit. The socket
 * is accepted blocking on purpose: tls.c must not rely on the caller. */
static void server_child(const struct srv *sv, int out)
{
	struct srv_res res = { .hs = 1, .rd = 1, .wr = 1 };
	SSL *ssl = NULL;
	int fd;

	alarm(60);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		_exit(3);
	if (sv->mode == SRV_SILENT) {
		drain_raw(fd);
	} else {
		ssl = SSL_new(sv->ctx);
		if (ssl == NULL || SSL_set_fd(ssl, fd) != 1)
			_exit(4);
		serve(ssl, sv, &res);
	}
	if (ERR_peek_error() != 0)
		res.hs = 77;	/* an error left queued */
	if (write(out, &res, sizeof res) != (ssize_t)sizeof res)
		_exit(5);
	SSL_free(ssl);
	close(fd);
	_exit(0);
}

static void pause_ms(long ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void client_talk(SSL *ssl, const struct cli *c, struct cli_res *res)
{
	char why[512];
	int i;

	polo_tls_peer_subject(ssl, res->subject, sizeof res->subject);
	polo_tls_peer_subject(ssl, res->small, sizeof res->small);
	for (i = 0; i < 3 && c->parts[i] && res->wr >= 0; i++) {
		if (i > 0)
			pause_ms(50);
		res->wr = polo_tls_write_all(ssl, c->parts[i],
					     strlen(c->parts[i]),
					     polo_now_ms() + LONG_MS, why,
					     sizeof why);
		check_queue();
	}
	if (res->wr < 0) {
		memcpy(res->why, why, sizeof why);
		return;
	}
	if (c->end == CLI_NOTIFY)
		(void)SSL_shutdown(ssl);
	else if (c->end == CLI_SHUT_WR)
		(void)shutdown(SSL_get_fd(ssl), SHUT_WR);
	res->rd = polo_tls_read_msg(ssl, res->reply, sizeof res->reply - 1,
				    polo_now_ms() + (c->rd_ms ? c->rd_ms : LONG_MS),
				    res->why, sizeof res->why);
	check_queue();
}

static void client(const struct cli *c, struct cli_res *res)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	SSL *ssl;

	must(fd >= 0, "socket");
	must(connect(fd, (const struct sockaddr *)&laddr, sizeof laddr) == 0 ||
	     errno == EINPROGRESS, "connect");
	ssl = SSL_new(c->ctx);
	must(ssl != NULL && SSL_set_fd(ssl, fd) == 1, "SSL_new");
	must(polo_tls_expect_peer(ssl, c->peer ? c->peer : "127.0.0.1",
				  c->verify_name) == 0, "expect_peer");
	if (c->tls12 != NULL)	/* a peer older than our own policy */
		must(SSL_set_max_proto_version(ssl, TLS1_2_VERSION) == 1 &&
		     SSL_set_cipher_list(ssl, c->tls12) == 1, "TLS 1.2 suites");
	res->hs = polo_tls_handshake(ssl, false, polo_now_ms() +
				     (c->hs_ms ? c->hs_ms : LONG_MS),
				     res->why, sizeof res->why);
	check_queue();
	(void)snprintf(res->cipher, sizeof res->cipher, "%s %s",
		       SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	if (res->hs == 0)
		client_talk(ssl, c, res);
	SSL_free(ssl);
	close(fd);
}

static void read_result(int fd, struct srv_res *sr)
{
	size_t got = 0;
	ssize_t n;

	while (got < sizeof *sr) {
		n = read(fd, (char *)sr + got, sizeof *sr - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != sizeof *sr) {
		memset(sr, 0, sizeof *sr);
		sr->hs = sr->rd = sr->wr = 99;	/* the child died */
	}
}

static void run_case(const struct srv *sv, const struct cli *c,
		     struct srv_res *sr, struct cli_res *cr)
{
	int p[2], st;
	pid_t pid;

	memset(cr, 0, sizeof *cr);
	cr->hs = cr->wr = cr->rd = 1;	/* "not reached" */
	must(pipe2(p, O_CLOEXEC) == 0, "pipe");
	fflush(stdout);
	pid = fork();
	must(pid >= 0, "fork");
	if (pid == 0) {
		close(p[0]);
		server_child(sv, p[1]);
	}
	close(p[1]);
	client(c, cr);
	read_result(p[0], sr);
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0)
		must(errno == EINTR, "waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("# server child: status 0x%x\n", st);
		bad_children++;
	}
	if (sr->hs == 77) {
		printf("# server child left an OpenSSL error queued\n");
		dirty_queue++;
	}
}

static bool client_failed(const struct cli_res *cr)
{
	return cr->hs != 0 || cr->wr < 0 || cr->rd <= 0;
}

/* ---- the cases ---- */

struct ctxs {
	SSL_CTX *srv1;		/* node1, CA 1 */
	SSL_CTX *srv2;		/* node2 (IP 127.0.0.2 only), CA 1 */
	SSL_CTX *srv_other;	/* a certificate of CA 2 */
	SSL_CTX *srv_future, *srv_expired;
	SSL_CTX *cli2;		/* node2, CA 1 */
	SSL_CTX *cli_other;	/* a certificate of CA 2, trusting CA 1 */
	SSL_CTX *cli_v1;	/* the RSA v1 client */
	SSL_CTX *cli_nocert;	/* trusts CA 1, presents nothing */
	SSL_CTX *srv_v1;	/* a server with the RSA v1 certificate */
	SSL_CTX *srv_cbc;	/* node1, TLS 1.2 CBC suites only (not ours) */
};

/* A round trip of `parts` joined: both sides handshake, the server reads
 * the whole message and echoes it, the client reads the echo. */
static void round_trip(const struct ctxs *x, const char *const parts[3],
		       const char *name)
{
	struct srv sv = { .ctx = x->srv1, .max = 1024 };
	struct cli c = { .ctx = x->cli2, .verify_name = true };
	char want[1024] = "";
	struct srv_res sr;
	struct cli_res cr;
	size_t n = 0;
	int i;

	for (i = 0; i < 3 && parts[i]; i++) {
		c.parts[i] = parts[i];
		n += (size_t)snprintf(want + n, sizeof want - n, "%s", parts[i]);
	}
	run_case(&sv, &c, &sr, &cr);
	ok(cr.hs == 0 && sr.hs == 0, fmt("%s: both handshakes succeed", name));
	is_int(sr.rd, (int)strlen(want), fmt("%s: the server reads it all", name));
	is_str(sr.msg, want, fmt("%s: and exactly it", name));
	is_int(cr.rd, (int)strlen(want), fmt("%s: the echo comes back", name));
	is_str(cr.reply, want, fmt("%s: unchanged", name));
}

static void test_round_trips(const struct ctxs *x)
{
	struct srv sv = { .ctx = x->srv1, .max = 1024 };
	struct cli c = { .ctx = x->cli2, .verify_name = true, .parts = { M1 } };
	struct srv_res sr;
	struct cli_res cr;

	run_case(&sv, &c, &sr, &cr);
	is_int(cr.hs, 0, "mutual TLS: the client's handshake succeeds");
	is_int(sr.hs, 0, "mutual TLS: the server's handshake succeeds");
	is_str(sr.subject, "CN=node2", "the server sees the client's subject");
	is_str(cr.subject, "CN=node1", "the client sees the server's subject");
	is_str(cr.small, "CN=no", "a subject is cut to the buffer");
	is_int(sr.rd, (int)strlen(M1), "the server reads the request");
	is_str(sr.msg, M1, "the request arrives whole");
	is_int(sr.wr, (int)strlen(M1), "write_all returns the length");
	is_str(cr.reply, M1, "the echo arrives whole");

	round_trip(x, (const char *const[3]){ "{\"Command\":\"Create-",
		   "Home\",\"Params\":\"/home/alice,", "1234,1234\"}" },
		   "split in 3 writes");
	round_trip(x, (const char *const[3]){
		   "{\"a\":\"}{\\\"}\",\"b\":{\"c\":\"\\\\\"},\"d\":\"{\"}" },
		   "braces and escapes inside strings");
	round_trip(x, (const char *const[3]){ "{\"a\":\"}{\\",
		   "\"}\",\"b\":{\"c\":\"\\\\", "\"},\"d\":\"{\"}" },
		   "the same, split inside escapes");
	round_trip(x, (const char *const[3]){ " \r\n\t{\"OK\": 0}" },
		   "leading whitespace");
}

static void test_ends(const struct ctxs *x)
{
	struct srv sv = { .ctx = x->srv1, .max = 1024 };
	struct cli c = { .ctx = x->cli2, .parts = { "hello" },
			 .end = CLI_NOTIFY };
	struct srv_res sr;
	struct cli_res cr;

	run_case(&sv, &c, &sr, &cr);
	is_int(sr.rd, 5, "not JSON, then the peer's close_notify: read");
	is_str(sr.msg, "hello", "and returned for the caller to reject");
	is_str(cr.reply, "hello", "the client still reads after close_notify");

	/* the client waits for the echo, so the server's read must end
	 * by itself: before, it waited for the client until LONG_MS */
	c.parts[0] = " \r\nnot json at all";
	c.end = CLI_WAIT;
	run_case(&sv, &c, &sr, &cr);
	is_int(sr.rd, 18, "not JSON, the peer waiting: returned at once");
	is_str(sr.msg, " \r\nnot json at all", "... with what was read");
	is_str(cr.reply, " \r\nnot json at all", "... and the client gets the echo");

	c.parts[0] = "{\"User\"";
	sv.rd_ms = SHORT_MS;
	run_case(&sv, &c, &sr, &cr);
	is_int(sr.rd, -ETIMEDOUT, "a truncated object still waits for the "
	       "rest until the deadline");
	is_str(sr.why, "read timed out", "... and why says so");
	sv.rd_ms = 0;

	c.parts[0] = "{\"a\":";
	c.end = CLI_SHUT_WR;
	run_case(&sv, &c, &sr, &cr);
	is_int(sr.rd, 5, "a TCP end without close_notify ends the message");
	is_str(sr.msg, "{\"a\":", "what came before it is returned");
	is_int(cr.rd, 5, "and the client gets the echo");

	c.parts[0] = M1;
	c.end = CLI_WAIT;
	sv.max = strlen(M1);
	run_case(&sv, &c, &sr, &cr);
	is_int(sr.rd, (int)strlen(M1), "a message of exactly max bytes is read");

	sv.max = 16;
	run_case(&sv, &c, &sr, &cr);
	is_int(sr.rd, -EMSGSIZE, "more than max bytes: -EMSGSIZE");
	like(sr.why, "longer than 16 bytes", "and why says so");
	ok(cr.rd <= 0, "the client gets no reply");
}

/* A case that must fail on the client side with -EPROTO and `why`. */
static void client_refuses(const struct srv *sv, const struct cli *c,
			   const char *why, const char *name)
{
	struct srv_res sr;
	struct cli_res cr;

	run_case(sv, c, &sr, &cr);
	printf("# client: %s\n# server: %s\n", cr.why, sr.why);
	is_int(cr.hs, -EPROTO, name);
	like(cr.why, why, fmt("%s: why", name));
	ok(sr.hs != 0, fmt("%s: the server's handshake fails too", name));
}

/* A case that must fail on the server side with -EPROTO and `why`. */
static void server_refuses(const struct srv *sv, const struct cli *c,
			   const char *why, const char *name)
{
	struct srv_res sr;
	struct cli_res cr;

	run_case(sv, c, &sr, &cr);
	printf("# server: %s\n# client: %s\n", sr.why, cr.why);
	is_int(sr.hs, -EPROTO, name);
	like(sr.why, why, fmt("%s: why", name));
	ok(client_failed(&cr), fmt("%s: the client notices", name));
	ok(cr.reply[0] == '\0', fmt("%s: and gets no reply", name));
}

static void test_refusals(const struct ctxs *x)
{
	struct srv sv = { .ctx = x->srv1, .max = 1024 };
	struct cli c = { .ctx = x->cli_nocert, .verify_name = true,
			 .parts = { M1 } };

	server_refuses(&sv, &c, "peer did not return a certificate",
		       "a client without a certificate is refused");
	c.ctx = x->cli_other;
	server_refuses(&sv, &c, "certificate verify failed: ",
		       "a client certificate of another CA is refused");

	c.ctx = x->cli2;
	sv.ctx = x->srv_other;
	client_refuses(&sv, &c, "certificate verify failed: unable to get "
		       "local issuer certificate",
		       "a server certificate of another CA is refused");
	sv.ctx = x->srv2;
	client_refuses(&sv, &c, "certificate verify failed: IP address mismatch",
		       "verify_name: a server without our address in its SAN "
		       "is refused");
	sv.ctx = x->srv1;
	c.peer = "node9";
	client_refuses(&sv, &c, "certificate verify failed: hostname mismatch",
		       "verify_name: a DNS name not in the SAN is refused");
	sv.ctx = x->srv_future;
	c.peer = NULL;
	client_refuses(&sv, &c, "certificate is not yet valid",
		       "a not-yet-valid server certificate is refused");
	sv.ctx = x->srv_expired;
	client_refuses(&sv, &c, "certificate has expired",
		       "an expired server certificate is refused");
}

static void accepted(const struct srv *sv, const struct cli *c,
		     const char *subject, const char *name)
{
	struct srv_res sr;
	struct cli_res cr;

	run_case(sv, c, &sr, &cr);
	ok(cr.hs == 0 && sr.hs == 0, name);
	is_str(cr.reply, M1, fmt("%s: the round trip works", name));
	if (subject != NULL)
		is_str(sr.subject, subject, fmt("%s: subject", name));
}

static void test_accepts(const struct ctxs *x)
{
	struct srv sv = { .ctx = x->srv2, .max = 1024 };
	struct cli c = { .ctx = x->cli2, .verify_name = false,
			 .parts = { M1 } };

	accepted(&sv, &c, NULL, "without verify_name the same server is "
		 "accepted");
	sv.ctx = x->srv1;
	c.verify_name = true;
	c.peer = "node1";
	accepted(&sv, &c, NULL, "verify_name: a DNS name in the SAN is "
		 "accepted");
	c.peer = NULL;
	c.ctx = x->cli_v1;
	accepted(&sv, &c, "CN=oldclient,O=polousers",
		 "an RSA X.509 v1 client certificate of our CA is accepted");
}

/* TLS 1.2: only ECDHE with AEAD, offered and accepted; TLS 1.3 as before. */
static void test_suites(const struct ctxs *x)
{
	struct srv sv = { .ctx = x->srv1, .max = 1024 };
	struct cli c = { .ctx = x->cli2, .verify_name = true,
			 .parts = { M1 } };
	struct srv_res sr;
	struct cli_res cr;

	run_case(&sv, &c, &sr, &cr);
	is_str(cr.cipher, "TLSv1.3 TLS_AES_256_GCM_SHA384",
	       "TLS 1.3 is preferred, with its default suite");
	c.tls12 = "AES128-SHA";
	server_refuses(&sv, &c, "no shared cipher",
		       "a TLS 1.2 client offering only AES128-SHA is refused");
	c.tls12 = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:"
		  "ECDHE-RSA-AES128-SHA256";
	server_refuses(&sv, &c, "no shared cipher",
		       "... and one offering only ECDHE with CBC suites");
	c.tls12 = "ALL";
	run_case(&sv, &c, &sr, &cr);
	is_str(cr.cipher, "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256",
	       "a TLS 1.2 client offering everything gets ECDHE with AES-GCM");

	/* the original polousers peers: RSA keys, X.509 v1 */
	c.ctx = x->cli_v1;
	run_case(&sv, &c, &sr, &cr);
	ok(cr.hs == 0 && sr.hs == 0 && strcmp(cr.reply, M1) == 0,
	   "the RSA X.509 v1 client in TLS 1.2 still talks to an EC node");
	is_str(sr.subject, "CN=oldclient,O=polousers", "... seen as itself");
	sv.ctx = x->srv_v1;
	c.verify_name = false;	/* a v1 certificate has no SAN */
	c.tls12 = "DEFAULT";
	run_case(&sv, &c, &sr, &cr);
	ok(cr.hs == 0 && sr.hs == 0 && strcmp(cr.reply, M1) == 0,
	   "RSA v1 client and RSA v1 server in TLS 1.2 interoperate");
	is_str(cr.cipher, "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256",
	       "... with ECDHE-RSA and AES-GCM");

	/* our client: a TLS 1.2 server with only CBC suites is refused */
	sv.ctx = x->srv_cbc;
	c.ctx = x->cli2;
	c.verify_name = true;
	c.tls12 = NULL;
	client_refuses(&sv, &c, "handshake failure",
		       "our client refuses a server offering only CBC suites");
}

static void test_timeouts(const struct ctxs *x)
{
	struct srv sv = { .ctx = x->srv1, .mode = SRV_SILENT };
	struct cli c = { .ctx = x->cli2, .verify_name = true,
			 .hs_ms = SHORT_MS, .parts = { M1 } };
	struct srv_res sr;
	struct cli_res cr;

	run_case(&sv, &c, &sr, &cr);
	is_int(cr.hs, -ETIMEDOUT, "a server that never speaks: -ETIMEDOUT");
	is_str(cr.why, "handshake timed out", "and why says so");

	sv.mode = SRV_MUTE;
	c.hs_ms = 0;
	c.rd_ms = SHORT_MS;
	run_case(&sv, &c, &sr, &cr);
	is_int(cr.hs, 0, "a server that handshakes and never answers");
	is_int(cr.rd, -ETIMEDOUT, "makes read_msg return -ETIMEDOUT");
	is_str(cr.why, "read timed out", "and why says so");
}

static void test_api_edges(SSL_CTX *cctx)
{
	SSL *ssl = SSL_new(cctx);
	char why[128], subj[32];

	must(ssl != NULL, "SSL_new");
	is_int(polo_tls_expect_peer(ssl, "127.0.0.1", true), 0,
	       "expect_peer: an IPv4 literal");
	is_int(polo_tls_expect_peer(ssl, "::1", true), 0,
	       "expect_peer: an IPv6 literal");
	is_int(polo_tls_expect_peer(ssl, "node1.example", true), 0,
	       "expect_peer: a DNS name");
	is_int(polo_tls_expect_peer(ssl, "", true), -EINVAL,
	       "expect_peer: an empty name is refused");
	is_int(polo_tls_expect_peer(ssl, "::zz", true), -EINVAL,
	       "expect_peer: a malformed IPv6 literal is refused");
	is_int(polo_tls_expect_peer(ssl, "a b", false), -EINVAL,
	       "expect_peer: a name with a space is refused");
	is_int(polo_tls_expect_peer(ssl, NULL, true), -EINVAL,
	       "expect_peer: NULL is refused");
	polo_tls_peer_subject(ssl, subj, sizeof subj);
	is_str(subj, "(none)", "no peer certificate: (none)");
	is_int(polo_tls_handshake(ssl, false, polo_now_ms() + 100, why,
				  sizeof why), -EBADF,
	       "a handshake without a socket: -EBADF");
	check_queue();
	SSL_free(ssl);
}

/* ---- setup ---- */

static SSL_CTX *good(bool server, const char *ca, const char *cert,
		     const char *key)
{
	struct polo_tls_conf c = conf(ca, cert, key);
	SSL_CTX *ctx = server ? polo_tls_server_ctx(&c, &lg) :
				polo_tls_client_ctx(&c, &lg);

	if (ctx == NULL)
		printf("# %s", cap.buf);
	must(ctx != NULL, "a context that should work");
	return ctx;
}

static SSL_CTX *nocert_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	must(ctx != NULL && SSL_CTX_load_verify_file(ctx, at("c1/ca.pem")) == 1,
	     "a client context without a certificate");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

/* node1's certificate with a policy that is not ours: TLS 1.2 at most,
 * ECDHE-ECDSA with CBC only (what hookd offered before, among others). */
static SSL_CTX *cbc_server_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	must(ctx != NULL &&
	     SSL_CTX_use_certificate_chain_file(ctx, at("c1/node1.pem")) == 1 &&
	     SSL_CTX_use_PrivateKey_file(ctx, at("c1/node1.key"),
					 SSL_FILETYPE_PEM) == 1 &&
	     SSL_CTX_load_verify_file(ctx, at("c1/ca.pem")) == 1 &&
	     SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) == 1 &&
	     SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-SHA:"
				     "ECDHE-ECDSA-AES256-SHA") == 1,
	     "a TLS 1.2 CBC-only server context");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

static void make_ctxs(struct ctxs *x)
{
	const char *ca = at("c1/ca.pem");

	cap_reset();
	x->srv1 = good(true, ca, at("c1/node1.pem"), at("c1/node1.key"));
	x->srv2 = good(true, ca, at("c1/node2.pem"), at("c1/node2.key"));
	x->srv_other = good(true, ca, at("c2/other.pem"), at("c2/other.key"));
	x->srv_future = good(true, ca, at("future.pem"), at("future.key"));
	x->srv_expired = good(true, ca, at("expired.pem"), at("expired.key"));
	x->cli2 = good(false, ca, at("c1/node2.pem"), at("c1/node2.key"));
	x->cli_other = good(false, ca, at("c2/other.pem"), at("c2/other.key"));
	x->cli_v1 = good(false, ca, at("v1.pem"), at("v1.key"));
	x->cli_nocert = nocert_ctx();
	x->srv_v1 = good(true, ca, at("v1.pem"), at("v1.key"));
	x->srv_cbc = cbc_server_ctx();
	is_int(cap.n, 0, "contexts that work log nothing");
	check_queue();
}

static void free_ctxs(struct ctxs *x)
{
	SSL_CTX_free(x->srv1);
	SSL_CTX_free(x->srv2);
	SSL_CTX_free(x->srv_other);
	SSL_CTX_free(x->srv_future);
	SSL_CTX_free(x->srv_expired);
	SSL_CTX_free(x->cli2);
	SSL_CTX_free(x->cli_other);
	SSL_CTX_free(x->cli_v1);
	SSL_CTX_free(x->cli_nocert);
	SSL_CTX_free(x->srv_v1);
	SSL_CTX_free(x->srv_cbc);
}

static void listen_loopback(void)
{
	socklen_t len = sizeof laddr;

	laddr.sin_family = AF_INET;
	laddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	must(lfd >= 0, "socket");
	must(bind(lfd, (struct sockaddr *)&laddr, sizeof laddr) == 0, "bind");
	must(listen(lfd, 8) == 0, "listen");
	must(getsockname(lfd, (struct sockaddr *)&laddr, &len) == 0,
	     "getsockname");
}

/* <top>/build/t/14-tls -> <top> */
static void find_top(const char *argv0)
{
	int i;

	must(realpath(argv0, top) != NULL, "realpath argv[0]");
	for (i = 0; i < 3; i++) {
		char *slash = strrchr(top, '/');

		must(slash != NULL && slash != top, "the source tree");
		*slash = '\0';
	}
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	must(d != NULL, "/proc/self/fd");
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void cleanup(void)
{
	struct stat st;

	if (dir[0] != '\0')
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	ok(stat(dir, &st) < 0 && errno == ENOENT, "the temp dir is removed");
}

int main(int argc, char **argv)
{
	char tmpl[] = "/tmp/polo14.XXXXXX";
	struct ctxs x;
	siginfo_t si;
	int fds, r;

	(void)argc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);	/* as the programs using tls.c do */
	alarm(900);
	umask(077);
	fds = count_fds();
	if (run_to((const char *const[]){ "openssl", "version", NULL },
		   "/dev/null") != 0) {
		printf("1..0 # SKIP the openssl command is not installed\n");
		return 0;
	}
	find_top(argv[0]);
	must(mkdtemp(tmpl) != NULL, "mkdtemp");
	must(realpath(tmpl, dir) != NULL, "realpath");

	make_certs();
	test_certs();
	test_ctx_errors();
	make_ctxs(&x);
	listen_loopback();
	test_api_edges(x.cli2);
	test_round_trips(&x);
	test_ends(&x);
	test_refusals(&x);
	test_accepts(&x);
	test_suites(&x);
	test_timeouts(&x);
	free_ctxs(&x);
	close(lfd);

	is_int(bad_children, 0, "every server child exited 0");
	is_int(dirty_queue, 0, "no call left an OpenSSL error queued");
	memset(&si, 0, sizeof si);
	r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
	ok(r < 0 && errno == ECHILD, "no child of ours is left (not even a zombie)");
	is_int(count_fds(), fds, "as many open fds as at the start");
	cleanup();
	return tap_done();
}
