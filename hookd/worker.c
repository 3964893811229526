/* hookd: the worker, forked by the monitor and run as the [hookd] user:
 * answers discovery datagrams, accepts connections, and forks one child
 * per connection (conn.c), after handing the monitor that child's end of
 * a SEQPACKET pair. It reaps its children by exact pid.
 *
 * MUST rules for this file:
 *  - the worker drops privilege and verifies that root cannot be regained
 *    before it touches the network: no network byte is read by a process
 *    that holds privilege;
 *  - every resource is bounded: connections (max_conns, and CONNS_LIMIT;
 *    the monitor counts them again), accepts and datagrams per poll
 *    round (PER_WAKEUP);
 *  - every fd is CLOEXEC, and a connection child closes what it does not
 *    own before it serves. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon.h"
#include "discover.h"
#include "log.h"
#include "priv.h"
#include "proto.h"
#include "tls.h"
#include "util.h"

static const char *const services[] = { "polousers" };

/* "a.b.c.d:port" for IPv4 (also when it came over the dual-stack socket
 * as ::ffff:a.b.c.d), "[a:b::c]:port" for IPv6. */
static void peer_name(const struct sockaddr_storage *ss, char *buf,
		      size_t len)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	char a[INET6_ADDRSTRLEN] = "?";
	bool v6 = false;

	if (ss->ss_family == AF_INET) {
		(void)inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
	} else if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		(void)inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], a,
				sizeof a);
	} else {
		(void)inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
		v6 = true;
	}
	(void)snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", a,
		       ss->ss_family == AF_INET ? ntohs(s4->sin_port) :
		       ntohs(s6->sin6_port));
}

struct worker {
	const struct settings *s;
	int ctl;		/* to the monitor */
	int sfd;		/* signalfd: SIGCHLD */
	pid_t kids[CONNS_LIMIT];
	size_t nkids;
	char host[POLO_HOSTNAME_MAX + 1];
};

static void reap_kids(struct worker *w)
{
	struct signalfd_siginfo si;
	size_t i = 0;

	while (read(w->sfd, &si, sizeof si) == (ssize_t)sizeof si)
		;
	while (i < w->nkids) {
		if (waitpid(w->kids[i], NULL, WNOHANG) == w->kids[i])
			w->kids[i] = w->kids[--w->nkids];
		else
			i++;
	}
}

static int send_fd(int ctl, int fd)
{
	char byte = 'c';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof u.buf };
	struct cmsghdr *cm;

	memset(&u, 0, sizeof u);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	return sendmsg(ctl, &m, MSG_DONTWAIT | MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

static void child_signals(void)
{
	sigset_t none;

	sigemptyset(&none);
	(void)signal(SIGCHLD, SIG_DFL);
	(void)signal(SIGHUP, SIG_DFL);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

static void accept_one(struct worker *w, int cfd, const char *peer,
		       unsigned long start)
{
	int sp[2] = { -1, -1 }, r;
	pid_t pid, me = getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		polo_log(&hookd_log, LOG_ERR, "connection from %s dropped: socketpair: "
			 "%s", peer, strerror(errno));
		return;
	}
	r = send_fd(w->ctl, sp[0]);
	if (r < 0) {
		polo_log(&hookd_log, LOG_WARNING, "connection from %s dropped: monitor "
			 "busy: %s", peer, strerror(-r));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		polo_log(&hookd_log, LOG_ERR, "connection from %s dropped: fork: %s",
			 peer, strerror(errno));
		goto out;
	}
	if (pid == 0) {
		child_signals();
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
		    getppid() != me)
			_exit(1);	/* the worker is gone already */
		close(sp[0]);
		close(w->ctl);
		close(w->sfd);
		close(w->s->lfd);
		close(w->s->dfd);
		if (w->s->dfd6 >= 0)
			close(w->s->dfd6);
		hookd_conn_main(w->s, cfd, sp[1], peer, start);
		_exit(0);
	}
	w->kids[w->nkids++] = pid;
	polo_log(&hookd_log, LOG_DEBUG, "connection from %s: child %ld", peer,
		 (long)pid);
out:
	close(sp[0]);
	close(sp[1]);
}

static void accept_some(struct worker *w)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	char peer[PEER_MAX];
	int i, cfd;

	for (i = 0; i < PER_WAKEUP; i++) {
		salen = sizeof sa;
		memset(&sa, 0, sizeof sa);
		cfd = accept4(w->s->lfd, (struct sockaddr *)&sa, &salen,
			      SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				polo_log(&hookd_log, LOG_ERR, "accept: %s",
					 strerror(errno));
			return;
		}
		peer_name(&sa, peer, sizeof peer);
		polo_tcp_nodelay(cfd);
		/* a connection that ended may not have been reaped yet */
		if (w->nkids >= w->s->conf.cl.max_conns)
			reap_kids(w);
		if (w->nkids >= w->s->conf.cl.max_conns ||
		    w->nkids >= CONNS_LIMIT)
			polo_log(&hookd_log, LOG_WARNING, "connection from %s refused: "
				 "max_conns (%lu) reached", peer,
				 w->s->conf.cl.max_conns);
		else
			accept_one(w, cfd, peer, polo_now_ms());
		close(cfd);
	}
}

static void answer_some(struct worker *w, int fd)
{
	const char *const *sv = services;
	int i;

	for (i = 0; i < PER_WAKEUP; i++)
		if (polo_disc_answer(fd, w->host, sv, 1, &hookd_log) < 0)
			return;
}

void __attribute__((noreturn))
hookd_worker_main(const struct settings *s, int ctl, pid_t monitor)
{
	struct worker w = { .s = s, .ctl = ctl, .sfd = -1 };
	struct pollfd p[5];
	sigset_t chld;

	(void)setpgid(0, 0);	/* so the monitor can stop us and our kids */
	(void)signal(SIGHUP, SIG_IGN);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	(void)sigprocmask(SIG_SETMASK, &chld, NULL);
	if (polo_drop_privileges(s->uid, s->gid, "worker", &hookd_log) < 0)
		_exit(1);
	/* the drop cleared any parent-death signal: set it now */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 ||
	    getppid() != monitor)
		_exit(1);
	w.sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w.sfd < 0) {
		polo_log(&hookd_log, LOG_ERR, "worker: signalfd: %s", strerror(errno));
		_exit(1);
	}
	if (gethostname(w.host, sizeof w.host - 1) < 0)
		(void)polo_strlcpy(w.host, "localhost", sizeof w.host);
	w.host[sizeof w.host - 1] = '\0';
	polo_log(&hookd_log, LOG_INFO, "worker running as uid %u: TCP %s%s%s:%lu, "
		 "discovery %s:%lu%s%s%s", (unsigned)getuid(),
		 strchr(s->conf.cl.listen, ':') ? "[" : "",
		 s->conf.cl.listen[0] ? s->conf.cl.listen : "*",
		 strchr(s->conf.cl.listen, ':') ? "]" : "",
		 s->conf.cl.hookd_port, s->conf.cl.group, s->conf.cl.port,
		 s->dfd6 >= 0 ? " and [" : "",
		 s->dfd6 >= 0 ? s->conf.cl.group6 : "",
		 s->dfd6 >= 0 ? "]" : "");
	for (;;) {
		p[0] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = s->dfd, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = w.sfd, .events = POLLIN };
		p[3] = (struct pollfd){ .fd = ctl, .events = POLLIN };
		p[4] = (struct pollfd){ .fd = s->dfd6, .events = POLLIN };
		if (poll(p, 5, -1) < 0) {
			if (errno == EINTR)
				continue;
			polo_log(&hookd_log, LOG_ERR, "worker: poll: %s",
				 strerror(errno));
			_exit(1);
		}
		if (p[3].revents)	/* the monitor never writes: gone */
			_exit(0);
		if (p[2].revents)
			reap_kids(&w);
		if (p[1].revents)
			answer_some(&w, s->dfd);
		if (p[4].revents)
			answer_some(&w, s->dfd6);
		if (p[0].revents)
			accept_some(&w);
	}
}
