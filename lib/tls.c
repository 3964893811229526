/*
 * Mutual TLS for hookd and polo-mkhome. MUST rules:
 *  - a context is built one step at a time; a failed step logs exactly one
 *    line "tls: <step> <file>: <reason>", where the reason is every error
 *    queued by OpenSSL (oldest first), and leaves nothing allocated;
 *  - the CA, the CRL, the certificate and the key are trusted files (polo_open_trusted
 *    for root or our euid); the key is read from the fd that was checked,
 *    never by name, and only if it is a regular file no group or other may
 *    read;
 *  - no I/O ever blocks: every SSL call runs on a non-blocking socket and
 *    every wait is a poll() bounded by the caller's absolute deadline;
 *  - the OpenSSL error queue is cleared before each call we inspect and
 *    before every return, so no error of one connection is blamed on the
 *    next;
 *  - the only state is the caller's: nothing global of ours, no exit/abort.
 * OpenSSL writes with write(2), so a peer that went away raises SIGPIPE:
 * programs using this file ignore SIGPIPE.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "fsutil.h"
#include "tls.h"
#include "util.h"

#define TLS_REASON_MAX	700	/* fits one polo_log record with a path */
#define SUBJECT_MAX	512


/* Append "; "-separated text at out[*n], never past len (truncation is
 * fine: this is a log reason). */
static void append(char *out, size_t len, size_t *n, const char *s)
{
	int w;

	if (*n >= len)
		return;
	w = snprintf(out + *n, len - *n, "%s%s", *n ? "; " : "", s);
	if (w > 0)
		*n += (size_t)w < len - *n ? (size_t)w : len - *n - 1;
}

/* Every queued OpenSSL error, oldest first, with the extra data OpenSSL
 * attached (often the file or the verification detail); the queue is left
 * empty. "unknown error" when nothing was queued. */
static void drain_errors(char *out, size_t len)
{
	const char *data;
	char one[256], full[512];
	unsigned long e, last = 0;
	size_t n = 0;
	int flags;

	if (len == 0)
		return;
	out[0] = '\0';
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if (e == last)
			continue;	/* a decoder retrying says it again */
		last = e;
		ERR_error_string_n(e, one, sizeof one);
		if ((flags & ERR_TXT_STRING) && data != NULL && data[0] != '\0')
			(void)snprintf(full, sizeof full, "%s (%.200s)", one,
				       data);
		else
			(void)snprintf(full, sizeof full, "%s", one);
		append(out, len, &n, full);
	}
	if (n == 0)
		(void)snprintf(out, len, "unknown error");
}

/* The one log line of a failed context step, with OpenSSL's reasons. */
static void log_ssl_fail(const struct polo_log *lg, const char *step,
			 const char *file)
{
	char reason[TLS_REASON_MAX];

	drain_errors(reason, sizeof reason);
	polo_log(lg, LOG_ERR, "tls: %s%s%.300s: %s", step, file[0] ? " " : "",
		 file, reason);
}

/* polo_open_trusted's reason names the offending path ("P: reason" or
 * "P is ..."); drop it when it is the file our log line names already. */
static const char *strip_path(const char *why, const char *file)
{
	size_t n = strlen(file);

	if (n == 0 || strncmp(why, file, n) != 0)
		return why;
	if (strncmp(why + n, ": ", 2) == 0)
		return why + n + 2;
	if (why[n] == ' ')
		return why + n + 1;
	return why;
}

/* Open `file` as a trusted file (root or our euid, no group/other write
 * anywhere on its path). O_NONBLOCK: a FIFO put there must not hang us
 * (it is then refused as not a regular file). -errno, logged as
 * "tls: <step> <file>: ...". */
static int open_trusted_file(const char *file, const char *step,
			     const struct polo_log *lg, int *fd)
{
	char why[512];
	int r;

	r = polo_open_trusted(file, O_RDONLY | O_NONBLOCK | O_NOCTTY, geteuid(),
			      fd, NULL, 0, why, sizeof why);
	if (r < 0)
		polo_log(lg, LOG_ERR, "tls: %s %.300s: %s", step, file,
			 strip_path(why, file));
	return r;
}

/* A public file (CA, certificate, CRL) opened as trusted: a regular file,
 * its fd in *fd; -errno, logged, with nothing open. */
static int open_public_file(const char *file, const char *step,
			    const struct polo_log *lg, int *fd)
{
	struct stat st;
	int r;

	r = open_trusted_file(file, step, lg, fd);
	if (r < 0)
		return r;
	if (fstat(*fd, &st) < 0) {
		r = -errno;
		polo_log(lg, LOG_ERR, "tls: %s %.300s: %s", step, file,
			 strerror(-r));
	} else if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		polo_log(lg, LOG_ERR, "tls: %s %.300s: not a regular file",
			 step, file);
	}
	if (r < 0) {
		close(*fd);
		*fd = -1;
	}
	return r;
}

/* A CA or certificate file: checked as trusted, then handed to OpenSSL by
 * name; a trusted path cannot be swapped by anyone we do not trust. */
static int check_public_file(const char *file, const char *step,
			     const struct polo_log *lg)
{
	int fd, r;

	r = open_public_file(file, step, lg, &fd);
	if (r == 0)
		close(fd);
	return r;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;	/* an encrypted key is an error, never a prompt */
}

/* The private key, read from the fd that was checked. */
static EVP_PKEY *read_key_fd(int fd, const char *file,
			     const struct polo_log *lg)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio = BIO_new_fd(fd, BIO_NOCLOSE);

	if (bio != NULL)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (pkey == NULL)
		log_ssl_fail(lg, "load key", file);
	BIO_free(bio);
	return pkey;
}

static int check_key_stat(int fd, const char *file, const struct polo_log *lg)
{
	struct stat st;
	int e;

	if (fstat(fd, &st) < 0) {
		e = errno;
		polo_log(lg, LOG_ERR, "tls: key %.300s: %s", file, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		polo_log(lg, LOG_ERR, "tls: key %.300s: not a regular file",
			 file);
		return -EINVAL;
	}
	if (st.st_mode & 077) {
		polo_log(lg, LOG_ERR, "tls: key %.300s: readable or writable "
			 "by group or others (mode %04lo, want 0600 or "
			 "stricter)", file, (unsigned long)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

static int load_key(SSL_CTX *ctx, const char *file, const struct polo_log *lg)
{
	EVP_PKEY *pkey = NULL;
	int fd, r;

	r = open_trusted_file(file, "key", lg, &fd);
	if (r < 0)
		return r;
	r = check_key_stat(fd, file, lg);
	if (r == 0) {
		pkey = read_key_fd(fd, file, lg);
		r = pkey ? 0 : -EINVAL;
	}
	close(fd);
	if (r == 0 && SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
		log_ssl_fail(lg, "use key", file);
		r = -EINVAL;
	}
	EVP_PKEY_free(pkey);	/* the context holds its own reference */
	if (r == 0 && SSL_CTX_check_private_key(ctx) != 1) {
		log_ssl_fail(lg, "check key", file);
		r = -EINVAL;
	}
	return r;
}

static int load_ca(SSL_CTX *ctx, const char *file, const struct polo_log *lg)
{
	int r = check_public_file(file, "CA", lg);

	if (r == 0 && SSL_CTX_load_verify_file(ctx, file) != 1) {
		log_ssl_fail(lg, "load CA", file);
		r = -EINVAL;
	}
	return r;
}

/* After a PEM read loop: did it stop only because no PEM block was left? */
static bool at_pem_end(void)
{
	unsigned long e = ERR_peek_last_error();

	return e != 0 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
	       ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

/* "2027-01-31 12:00 UTC", or "?" */
static void asn1_date(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		(void)snprintf(buf, len, "?");
}

/* Is crl signed by one of the CAs loaded (issuer name and signature)? */
static bool crl_from_ca(X509_STORE *store, X509_CRL *crl)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
	EVP_PKEY *pk;
	X509 *ca;
	int i;

	for (i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
		if (ca == NULL || X509_NAME_cmp(X509_CRL_get_issuer(crl),
						X509_get_subject_name(ca)) != 0)
			continue;
		pk = X509_get0_pubkey(ca);
		if (pk != NULL && X509_CRL_verify(crl, pk) == 1)
			return true;
	}
	ERR_clear_error();
	return false;
}

/* One CRL of the file: from the CA, current, then in the store. */
static int take_crl(X509_STORE *store, X509_CRL *crl, const char *file,
		    const struct polo_log *lg)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	const ASN1_TIME *last = X509_CRL_get0_lastUpdate(crl);
	char date[64];

	if (!crl_from_ca(store, crl)) {
		polo_log(lg, LOG_ERR, "tls: CRL %.300s: not signed by the "
			 "cluster CA", file);
		return -EINVAL;
	}
	/* OpenSSL would refuse every peer with it: say so now, once */
	if (next != NULL && X509_cmp_current_time(next) < 0) {
		asn1_date(next, date, sizeof date);
		polo_log(lg, LOG_ERR, "tls: CRL %.300s: expired (next update "
			 "was due %s): make a new one", file, date);
		return -EINVAL;
	}
	if (last == NULL || X509_cmp_current_time(last) > 0) {
		asn1_date(last, date, sizeof date);
		polo_log(lg, LOG_ERR, "tls: CRL %.300s: not valid before %s "
			 "(is this clock right?)", file, date);
		return -EINVAL;
	}
	if (X509_STORE_add_crl(store, crl) != 1) {
		log_ssl_fail(lg, "add CRL", file);
		return -EINVAL;
	}
	return 0;
}

/* The revocation lists, read from the fd that was checked: every CRL in
 * the file must be the CA's and current, and there must be at least one.
 * Then every peer certificate is checked against them (the CA itself is
 * the trust anchor, not checked). */
static int load_crl(SSL_CTX *ctx, const char *file, const struct polo_log *lg)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509_CRL *crl;
	BIO *bio = NULL;
	int fd, r, n = 0;

	if (file[0] == '\0')
		return 0;
	r = open_public_file(file, "CRL", lg, &fd);
	if (r < 0)
		return r;
	if ((bio = BIO_new_fd(fd, BIO_NOCLOSE)) == NULL) {
		log_ssl_fail(lg, "read CRL", file);
		r = -ENOMEM;
	}
	ERR_clear_error();
	while (r == 0 &&
	       (crl = PEM_read_bio_X509_CRL(bio, NULL, no_passphrase, NULL))) {
		r = take_crl(store, crl, file, lg);
		X509_CRL_free(crl);	/* the store holds its own reference */
		n++;
	}
	/* the loop ends at the end of the file ("no start line") or at
	 * something that is not a whole CRL, which refuses the file */
	if (r == 0 && (n == 0 || !at_pem_end())) {
		log_ssl_fail(lg, "read CRL", file);
		r = -EINVAL;
	}
	BIO_free(bio);
	close(fd);
	if (r == 0 && X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK) != 1) {
		log_ssl_fail(lg, "enable CRL checks", file);
		r = -EINVAL;
	}
	ERR_clear_error();	/* the end of the file reads as an error */
	return r;
}

static int load_cert(SSL_CTX *ctx, const char *file, const struct polo_log *lg)
{
	int r = check_public_file(file, "certificate", lg);

	if (r == 0 && SSL_CTX_use_certificate_chain_file(ctx, file) != 1) {
		log_ssl_fail(lg, "load certificate", file);
		r = -EINVAL;
	}
	return r;
}

/* TLS 1.2 suites: forward secrecy (ECDHE) and AEAD only, for EC and RSA
 * keys alike (the original polousers certificates are RSA). OpenSSL's
 * default list also offers CBC suites with SHA-1/SHA-2 MACs (LUCKY13,
 * "cipherlist AVERAGE" in testssl.sh). TLS 1.3 keeps OpenSSL's default
 * suites, all of them AEAD. */
#define POLO_TLS12_CIPHERS						\
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"	\
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"	\
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* Protocol policy: TLS 1.2 (with the suites above) or newer, no
 * renegotiation, no session reuse (one request per connection), and a
 * peer that closes without close_notify (the original peers do) is an end
 * of stream, not an error. */
static int set_policy(SSL_CTX *ctx, bool server, const struct polo_log *lg)
{
	uint64_t opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
			SSL_OP_NO_TICKET;

	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		log_ssl_fail(lg, "set minimum version", "");
		return -EINVAL;
	}
	if (SSL_CTX_set_cipher_list(ctx, POLO_TLS12_CIPHERS) != 1) {
		log_ssl_fail(lg, "set TLS 1.2 ciphers", "");
		return -EINVAL;
	}
	if (server)
		opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
	SSL_CTX_set_options(ctx, opts);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (server && SSL_CTX_set_num_tickets(ctx, 0) != 1) {
		log_ssl_fail(lg, "disable tickets", "");
		return -EINVAL;
	}
	SSL_CTX_set_verify(ctx, server ? SSL_VERIFY_PEER |
			   SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER,
			   NULL);
	return 0;
}

static SSL_CTX *new_ctx(const struct polo_tls_conf *c,
			const struct polo_log *lg, bool server)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL) {
		log_ssl_fail(lg, server ? "new server context" :
			     "new client context", "");
		return NULL;
	}
	if (set_policy(ctx, server, lg) < 0 || load_ca(ctx, c->ca, lg) < 0 ||
	    load_crl(ctx, c->crl, lg) < 0 || load_cert(ctx, c->cert, lg) < 0 ||
	    load_key(ctx, c->key, lg) < 0) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	ERR_clear_error();
	return ctx;
}

SSL_CTX *polo_tls_server_ctx(const struct polo_tls_conf *c,
			     const struct polo_log *lg)
{
	return new_ctx(c, lg, true);
}

SSL_CTX *polo_tls_client_ctx(const struct polo_tls_conf *c,
			     const struct polo_log *lg)
{
	return new_ctx(c, lg, false);
}

/* A DNS name as SNI and X509_check_host take it: letters, digits, '-',
 * '_' and '.', at most 253 bytes. */
static bool valid_host_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

static bool is_ip_literal(const char *addr)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, addr, a) == 1 ||
	       inet_pton(AF_INET6, addr, a) == 1;
}

int polo_tls_expect_peer(SSL *ssl, const char *addr, bool verify_name)
{
	X509_VERIFY_PARAM *vp;
	int ok = 1;

	if (ssl == NULL || addr == NULL)
		return -EINVAL;
	if (is_ip_literal(addr)) {
		vp = SSL_get0_param(ssl);
		if (verify_name)
			ok = X509_VERIFY_PARAM_set1_ip_asc(vp, addr);
	} else if (!valid_host_name(addr)) {
		ok = 0;		/* a ':' here is a malformed IPv6 literal */
	} else {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
				  X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
		ok = SSL_set_tlsext_host_name(ssl, addr) == 1 &&
		     (!verify_name || SSL_set1_host(ssl, addr) == 1);
	}
	ERR_clear_error();
	return ok == 1 ? 0 : -EINVAL;
}

/* One connection's I/O: where to wait, until when, and where to explain. */
struct io {
	SSL *ssl;
	int fd;
	unsigned long deadline;
	char *why;
	size_t whylen;
};

static int io_start(struct io *io, SSL *ssl, unsigned long deadline,
		    char *why, size_t whylen)
{
	int fl, e;

	*io = (struct io){ .ssl = ssl, .fd = -1, .deadline = deadline,
			   .why = why, .whylen = whylen };
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	io->fd = ssl ? SSL_get_fd(ssl) : -1;
	if (io->fd < 0) {
		polo_why(why, whylen, "no socket");
		return -EBADF;
	}
	/* a blocking socket would ignore our deadline */
	fl = fcntl(io->fd, F_GETFL);
	if (fl < 0 || (!(fl & O_NONBLOCK) &&
		       fcntl(io->fd, F_SETFL, fl | O_NONBLOCK) < 0)) {
		e = errno;
		polo_why(why, whylen, "socket: %s", strerror(e));
		return -e;
	}
	return 0;
}

/* Before each SSL call: SSL_get_error() and our reason read the error
 * queue and errno, so neither may hold anything older. */
static void io_clear(void)
{
	ERR_clear_error();
	errno = 0;
}

/* Wait until the socket is ready for `events`, or the deadline passes. */
static int io_poll(struct io *io, short events)
{
	struct pollfd p = { .fd = io->fd, .events = events };
	unsigned long now, left;
	int r;

	for (;;) {
		now = polo_now_ms();
		if (now >= io->deadline)
			return -ETIMEDOUT;
		left = io->deadline - now;
		r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0)
			return 0;	/* POLLHUP/POLLERR: the SSL call tells */
		if (r < 0 && errno != EINTR) {
			r = -errno;
			polo_why(io->why, io->whylen, "poll: %s", strerror(-r));
			return r;
		}
	}
}

/* Why did the last SSL call fail (err = SSL_get_error, e = its errno)? */
static void io_reason(struct io *io, int err, int e)
{
	if (ERR_peek_error() != 0) {
		drain_errors(io->why, io->whylen);
	} else if (err == SSL_ERROR_SYSCALL && e != 0) {
		polo_why(io->why, io->whylen, "%s", strerror(e));
	} else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN) {
		polo_why(io->why, io->whylen, "connection closed by peer");
	} else {
		polo_why(io->why, io->whylen, "TLS error %d", err);
	}
}

/* After an SSL call returned ret <= 0: 0 = call it again (what it wanted
 * is ready), or -ETIMEDOUT / -EPROTO / -errno. With `eof_ok`, a close by
 * the peer (close_notify, or a bare TCP end) is an end of stream: 1. */
static int io_retry(struct io *io, int ret, bool eof_ok)
{
	int e = errno, err = SSL_get_error(io->ssl, ret);
	unsigned long q;

	if (err == SSL_ERROR_WANT_READ)
		return io_poll(io, POLLIN);
	if (err == SSL_ERROR_WANT_WRITE)
		return io_poll(io, POLLOUT);
	q = ERR_peek_error();
	if (eof_ok && (err == SSL_ERROR_ZERO_RETURN ||
		       (err == SSL_ERROR_SYSCALL && q == 0 && e == 0) ||
		       (err == SSL_ERROR_SSL && ERR_GET_LIB(q) == ERR_LIB_SSL &&
			ERR_GET_REASON(q) == SSL_R_UNEXPECTED_EOF_WHILE_READING)))
		return 1;
	io_reason(io, err, e);
	return -EPROTO;
}

static int io_end(struct io *io, int r, const char *what)
{
	if (r == -ETIMEDOUT)
		polo_why(io->why, io->whylen, "%s timed out", what);
	ERR_clear_error();
	return r;
}

/* The handshake's outcome: a verification failure is named as such, and
 * a success without a verified peer certificate (impossible with our
 * contexts) still fails closed. */
static int handshake_verdict(struct io *io, int r)
{
	long v = SSL_get_verify_result(io->ssl);

	if (r == 0 && SSL_get0_peer_certificate(io->ssl) == NULL) {
		polo_why(io->why, io->whylen, "the peer presented no certificate");
		r = -EPROTO;
	}
	if ((r == 0 || r == -EPROTO) && v != X509_V_OK) {
		polo_why(io->why, io->whylen, "certificate verify failed: %s",
		    X509_verify_cert_error_string(v));
		r = -EPROTO;
	}
	return r;
}

int polo_tls_handshake(SSL *ssl, bool server, unsigned long deadline_ms,
		       char *why, size_t whylen)
{
	struct io io;
	int r, ret;

	r = io_start(&io, ssl, deadline_ms, why, whylen);
	if (r < 0)
		return io_end(&io, r, "handshake");
	while (r == 0) {
		io_clear();
		ret = server ? SSL_accept(ssl) : SSL_connect(ssl);
		if (ret == 1)
			break;
		r = io_retry(&io, ret, false);
	}
	return io_end(&io, handshake_verdict(&io, r), "handshake");
}

int polo_tls_write_all(SSL *ssl, const char *buf, size_t len,
		       unsigned long deadline_ms, char *why, size_t whylen)
{
	struct io io;
	size_t off = 0, n;
	int r;

	r = io_start(&io, ssl, deadline_ms, why, whylen);
	if (r == 0 && len > INT_MAX) {
		polo_why(why, whylen, "message too long");
		r = -EMSGSIZE;
	}
	while (r == 0 && off < len) {
		io_clear();
		n = 0;
		if (SSL_write_ex(ssl, buf + off, len - off, &n) == 1) {
			off += n;
			continue;
		}
		r = io_retry(&io, 0, false);
	}
	return io_end(&io, r == 0 ? (int)len : r, "write");
}

/* Brace counting over a JSON text as it arrives. */
struct scan {
	int depth;
	bool started, in_str, esc, done, not_json;
};

/* Before the object: whitespace, then '{'; anything else can never be a
 * request: the read ends there, with what came so far, for the caller to
 * reject at once (a peer must not hold its slot until idle_ms for it). */
static void scan_start(struct scan *s, char ch)
{
	if (ch == '{') {
		s->started = true;
		s->depth = 1;
	} else if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') {
		s->not_json = true;
	}
}

static void scan_bytes(struct scan *s, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && !s->done && !s->not_json; i++) {
		char ch = p[i];

		if (!s->started) {
			scan_start(s, ch);
		} else if (s->in_str) {
			if (s->esc)
				s->esc = false;
			else if (ch == '\\')
				s->esc = true;
			else if (ch == '"')
				s->in_str = false;
		} else if (ch == '"') {
			s->in_str = true;
		} else if (ch == '{') {
			s->depth++;
		} else if (ch == '}' && --s->depth == 0) {
			s->done = true;
		}
	}
}

/* buf holds max + 1 bytes: reading one byte past max is how we tell a
 * message of exactly max bytes from a longer one, and the room for the
 * terminating NUL. */
int polo_tls_read_msg(SSL *ssl, char *buf, size_t max,
		      unsigned long deadline_ms, char *why, size_t whylen)
{
	struct scan s = { 0 };
	struct io io;
	size_t len = 0, n;
	int r;

	r = io_start(&io, ssl, deadline_ms, why, whylen);
	if (r == 0 && max >= INT_MAX) {
		polo_why(why, whylen, "limit too large");
		r = -EINVAL;
	}
	while (r == 0 && !s.done && !s.not_json) {
		io_clear();
		n = 0;
		if (SSL_read_ex(ssl, buf + len, max + 1 - len, &n) == 1) {
			scan_bytes(&s, buf + len, n);
			len += n;
			if (len > max) {
				polo_why(why, whylen, "message longer than %zu "
				    "bytes", max);
				r = -EMSGSIZE;
			}
			continue;
		}
		r = io_retry(&io, 0, true);
		if (r == 1)
			break;	/* the peer closed: what we have is all */
	}
	if (r >= 0) {
		buf[len] = '\0';
		r = (int)len;
	}
	return io_end(&io, r, "read");
}

/* Control bytes from a certificate never reach a log line. */
static void clean_text(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void polo_tls_peer_subject(SSL *ssl, char *buf, size_t len)
{
	X509 *cert = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	BIO *bio = NULL;
	int n = -1;

	if (buf == NULL || len == 0)
		return;
	if (cert == NULL) {
		polo_why(buf, len, "(none)");
		return;
	}
	bio = BIO_new(BIO_s_mem());
	if (bio != NULL)
		n = X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
				       XN_FLAG_RFC2253);
	if (n > 0 && len > 1)	/* an empty mem BIO reads as -1 */
		n = BIO_read(bio, buf, len - 1 > SUBJECT_MAX ? SUBJECT_MAX :
			     (int)(len - 1));
	else if (n >= 0)
		n = 0;
	BIO_free(bio);
	if (n < 0)
		polo_why(buf, len, "(unknown)");
	else
		buf[n] = '\0';
	clean_text(buf);
	ERR_clear_error();
}

void polo_tcp_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}
