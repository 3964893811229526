/* hookd: one connection, in its own child of the worker, as the [hookd]
 * user: the TLS handshake, one Create-Home request read and parsed, the
 * monitor asked (struct hookd_req, hookd.h), its answer sent back; then
 * the child exits.
 *
 * MUST rules for this file:
 *  - this is where the client's bytes are read: only ever in a process
 *    that holds no privilege (the worker dropped it, and checked that
 *    root cannot be regained, before it forked this child);
 *  - every resource is bounded: request size (POLO_REQ_MAX), time
 *    (handshake_ms, and idle_ms for the connection's whole life, the wait
 *    for the monitor included). Every deadline is this child's own, so
 *    one slow peer stalls nobody else;
 *  - the monitor is sent a fixed-size request and trusted for nothing
 *    more than a fixed-size answer, NUL-terminated here before use. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <syslog.h>

#include <openssl/ssl.h>

#include "daemon.h"
#include "hookd.h"
#include "log.h"
#include "proto.h"
#include "tls.h"
#include "util.h"

#define SUBJECT_LEN	300

struct conn {
	SSL *ssl;
	int fd;			/* the TCP connection */
	int mon;		/* our end of the pair whose other end the monitor holds */
	unsigned long deadline;	/* the connection's whole life */
	char peer[PEER_MAX];
	char subject[SUBJECT_LEN];
};

/* Ask the monitor; a fills with its answer or a local failure. */
static void ask_monitor(struct conn *c, const struct polo_home_req *rq,
			struct hookd_ans *a)
{
	struct hookd_req q = { .uid = (uint32_t)rq->uid,
			       .gid = (uint32_t)rq->gid };
	struct pollfd p = { .fd = c->mon, .events = POLLIN };
	unsigned long now;
	ssize_t n;
	int r;

	*a = (struct hookd_ans){ .code = EIO };
	(void)polo_strlcpy(a->text, "internal error", sizeof a->text);
	if (polo_strlcpy(q.home, rq->home, sizeof q.home) < 0 ||
	    send(c->mon, &q, sizeof q, MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    (ssize_t)sizeof q) {
		polo_log(&hookd_log, LOG_ERR, "%s: cannot reach the monitor: %s",
			 c->peer, strerror(errno));
		return;
	}
	for (;;) {
		now = polo_now_ms();
		if (now >= c->deadline) {
			(void)polo_strlcpy(a->text, "timed out",
					   sizeof a->text);
			return;
		}
		r = poll(&p, 1, (int)(c->deadline - now));
		if (r > 0)
			break;
		if (r < 0 && errno != EINTR)
			return;
	}
	n = recv(c->mon, a, sizeof *a, MSG_TRUNC | MSG_DONTWAIT);
	if (n != (ssize_t)sizeof *a) {
		*a = (struct hookd_ans){ .code = EIO };
		/* 0: the monitor's end closed — it died mid-request (the
		 * home it was making is never left half made: mkhome.h) */
		(void)polo_strlcpy(a->text, n == 0 ? "the node's hookd "
				   "monitor went away" : "internal error",
				   sizeof a->text);
		polo_log(&hookd_log, LOG_ERR, "%s: %s", c->peer, n == 0 ?
			 "the monitor went away during the request" :
			 "a malformed answer from the monitor");
		return;
	}
	a->status[sizeof a->status - 1] = '\0';
	a->text[sizeof a->text - 1] = '\0';
	a->user[sizeof a->user - 1] = '\0';
}

static void reply(struct conn *c, const char *msg, int len)
{
	char why[256];

	if (len < 0)
		return;
	if (polo_tls_write_all(c->ssl, msg, (size_t)len, c->deadline, why,
			       sizeof why) < 0)
		polo_log(&hookd_log, LOG_WARNING, "%s [%s]: reply not sent: %s",
			 c->peer, c->subject, why);
}

static void serve(struct conn *c)
{
	char buf[POLO_REQ_MAX + 1], out[POLO_REQ_MAX], why[512];
	struct polo_home_req rq;
	struct hookd_ans a;
	int n, r;

	n = polo_tls_read_msg(c->ssl, buf, POLO_REQ_MAX, c->deadline, why,
			      sizeof why);
	if (n < 0) {
		polo_log(&hookd_log, LOG_WARNING, "request from %s [%s]: no request: "
			 "%s", c->peer, c->subject, why);
		if (n == -EMSGSIZE)
			reply(c, out, polo_home_reply_error(out, sizeof out,
				"request too large"));
		return;
	}
	r = polo_home_req_parse(buf, (size_t)n, &rq, why, sizeof why);
	if (r == -ENOTSUP) {
		polo_log(&hookd_log, LOG_WARNING, "request from %s [%s]: unknown "
			 "command", c->peer, c->subject);
		reply(c, out, polo_home_reply_unknown(out, sizeof out));
		return;
	}
	if (r < 0) {
		polo_log(&hookd_log, LOG_WARNING, "request from %s [%s]: invalid "
			 "request: %s", c->peer, c->subject, why);
		reply(c, out, polo_home_reply_error(out, sizeof out, why));
		return;
	}
	ask_monitor(c, &rq, &a);
	polo_log(&hookd_log, a.code == 0 ? LOG_INFO : LOG_WARNING, "request from %s "
		 "[%s]: user %s uid %lu gid %lu home %.200s: %s%s", c->peer,
		 c->subject, a.user[0] ? a.user : "?", rq.uid, rq.gid, rq.home,
		 a.code == 0 ? "" : "refused: ",
		 a.code == 0 ? a.status : a.text);
	if (a.code == 0)
		reply(c, out, polo_home_reply_ok(out, sizeof out, a.status));
	else
		reply(c, out, polo_home_reply_error(out, sizeof out, a.text));
}

void hookd_conn_main(const struct settings *s, int fd, int mon,
		     const char *peer, unsigned long start)
{
	struct conn c = { .fd = fd, .mon = mon, .subject = "(none)",
			  .deadline = start + s->conf.cl.idle_ms_conn };
	unsigned long hs = start + s->conf.cl.handshake_ms;
	char why[512];
	int r;

	(void)polo_strlcpy(c.peer, peer, sizeof c.peer);
	c.ssl = SSL_new(s->ctx);
	if (c.ssl == NULL || SSL_set_fd(c.ssl, fd) != 1) {
		polo_log(&hookd_log, LOG_ERR, "%s: cannot set up TLS", peer);
		goto out;
	}
	r = polo_tls_handshake(c.ssl, true, hs < c.deadline ? hs : c.deadline,
			       why, sizeof why);
	polo_tls_peer_subject(c.ssl, c.subject, sizeof c.subject);
	if (r < 0) {
		polo_log(&hookd_log, LOG_WARNING, "connection from %s [%s]: handshake "
			 "failed: %s", peer, c.subject, why);
		goto out;
	}
	serve(&c);
	(void)SSL_shutdown(c.ssl);	/* best effort, never waited for */
out:
	SSL_free(c.ssl);
}
