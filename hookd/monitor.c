/* hookd: the monitor, the part that stays root: it starts the worker
 * (worker.c), restarts it when it dies and stops it with its connection
 * children, takes from it one fd per connection, serves each
 * connection's one request through hookd_priv.c, and handles the
 * signals (TERM and INT stop, HUP reloads the config) through a signalfd.
 *
 * MUST rules for this file:
 *  - no network byte is read here: the worker sends only the ends of
 *    SEQPACKET unix socket pairs, one per message, and any other fd is
 *    closed; each carries one fixed-size request that hookd_priv.c trusts
 *    no byte of;
 *  - every resource is bounded: requests pending (max_conns, and
 *    CONNS_LIMIT, again here), fds taken per poll round (PER_WAKEUP),
 *    worker restarts (one per RESTART_MS), a stopping worker (STOP_MS,
 *    then SIGKILL); the monitor waits for nothing without a deadline but
 *    its own poll;
 *  - every fd is CLOEXEC (those received too), and the forked worker
 *    closes what it does not own;
 *  - the worker's process group is killed only while the worker is not
 *    yet reaped, so that its pid cannot have been reused. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "hookd.h"
#include "log.h"
#include "util.h"

#define STOP_MS		2000	/* a worker gets this long after SIGTERM */
#define RESTART_MS	1000	/* at most one worker restart per second */

static void drop_requests(struct monitor *m)
{
	while (m->nreq > 0)
		close(m->req[--m->nreq]);
}

int hookd_worker_start(struct monitor *m)
{
	int sp[2];
	pid_t pid, me = getpid();

	m->restart_at = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		polo_log(&hookd_log, LOG_ERR, "socketpair: %s", strerror(errno));
		goto retry;
	}
	pid = fork();
	if (pid < 0) {
		polo_log(&hookd_log, LOG_ERR, "fork: %s", strerror(errno));
		close(sp[0]);
		close(sp[1]);
		goto retry;
	}
	if (pid == 0) {
		close(sp[0]);
		close(m->sfd);
		drop_requests(m);
		hookd_worker_main(&m->s, sp[1], me);
	}
	(void)setpgid(pid, pid);	/* the worker does it too: no race */
	close(sp[1]);
	(void)fcntl(sp[0], F_SETFL, O_NONBLOCK);
	m->ctl = sp[0];
	m->worker = pid;
	m->started = polo_now_ms();
	return 0;
retry:
	m->restart_at = polo_now_ms() + RESTART_MS;
	return -1;
}

static void log_exit(pid_t pid, int st)
{
	if (WIFEXITED(st))
		polo_log(&hookd_log, LOG_ERR, "worker %ld exited with status %d",
			 (long)pid, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		polo_log(&hookd_log, LOG_ERR, "worker %ld killed by signal %d",
			 (long)pid, WTERMSIG(st));
}

/* Has the worker exited? Not reaped yet (WNOWAIT): while it is a zombie
 * its pid, and so its process group id, cannot be reused, and killing
 * the group cannot hit anyone else. */
static bool worker_exited(pid_t pid)
{
	siginfo_t si = { 0 };

	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0
	       && si.si_pid == pid;
}

/* Stop the worker and its connection children (one process group):
 * SIGTERM, at most STOP_MS, then SIGKILL. */
void hookd_worker_stop(struct monitor *m)
{
	unsigned long until = polo_now_ms() + STOP_MS;
	struct timespec ten = { 0, 10 * 1000 * 1000 };
	bool gone;

	if (m->ctl >= 0)
		close(m->ctl);
	m->ctl = -1;
	drop_requests(m);
	if (m->worker < 0)
		return;
	(void)kill(-m->worker, SIGTERM);
	while (!(gone = worker_exited(m->worker)) && polo_now_ms() < until)
		(void)nanosleep(&ten, NULL);
	if (!gone)
		polo_log(&hookd_log, LOG_WARNING, "worker %ld did not stop: killed",
			 (long)m->worker);
	/* and any connection child still there */
	(void)kill(-m->worker, SIGKILL);
	while (waitpid(m->worker, NULL, 0) < 0 && errno == EINTR)
		;
	m->worker = -1;
}

static void reap_worker(struct monitor *m)
{
	unsigned long now = polo_now_ms();
	int st;

	if (m->worker < 0 || !worker_exited(m->worker))
		return;
	(void)kill(-m->worker, SIGKILL);	/* its children, if any */
	while (waitpid(m->worker, &st, 0) < 0)
		if (errno != EINTR)
			return;
	log_exit(m->worker, st);
	m->worker = -1;
	if (m->ctl >= 0)
		close(m->ctl);
	m->ctl = -1;
	drop_requests(m);
	m->restart_at = m->started + RESTART_MS > now ?
			m->started + RESTART_MS : now;
	polo_log(&hookd_log, LOG_NOTICE, "restarting the worker in %lu ms",
		 m->restart_at - now);
}

static void reload(struct monitor *m)
{
	struct settings ns;

	polo_log(&hookd_log, LOG_NOTICE, "SIGHUP: reading %.300s", m->path);
	if (hookd_settings_load(&ns, m->path, &m->s, m->debug) < 0) {
		polo_log(&hookd_log, LOG_ERR, "config %.300s not reloaded: keeping the "
			 "running settings", m->path);
		hookd_log.debug = m->debug || m->s.conf.debug;
		return;
	}
	/* open connections are cut: they were accepted under the old
	 * settings, and their clients retry within their own deadlines */
	hookd_worker_stop(m);
	hookd_settings_free(&m->s);
	m->s = ns;
	(void)hookd_worker_start(m);
	polo_log(&hookd_log, LOG_NOTICE, "config %.300s reloaded", m->path);
}

/* Is fd what a worker should send: a SEQPACKET unix socket? */
static bool is_pair_end(int fd)
{
	int type = 0, dom = 0;
	socklen_t l1 = sizeof type, l2 = sizeof dom;

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) == 0 &&
	       getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l2) == 0 &&
	       type == SOCK_SEQPACKET && dom == AF_UNIX;
}

/* New connections from the worker: one fd per message. */
static void take_fds(struct monitor *m)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct cmsghdr *cm;
	char byte;
	int i, k, n, fd;
	ssize_t got;

	for (i = 0; i < PER_WAKEUP && m->ctl >= 0; i++) {
		struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = u.buf,
				      .msg_controllen = sizeof u.buf };

		got = recvmsg(m->ctl, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (got <= 0) {		/* worker gone: reap_worker restarts */
			close(m->ctl);
			m->ctl = -1;
			return;
		}
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level != SOL_SOCKET ||
			    cm->cmsg_type != SCM_RIGHTS)
				continue;
			n = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (k = 0; k < n; k++) {
				memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int),
				       sizeof fd);
				if (k > 0 || !is_pair_end(fd)) {
					polo_log(&hookd_log, LOG_WARNING, "worker sent "
						 "an unexpected fd: closed");
					close(fd);
				} else if (m->nreq >= m->s.conf.cl.max_conns ||
					   m->nreq >= CONNS_LIMIT) {
					polo_log(&hookd_log, LOG_WARNING, "max_conns "
						 "(%lu) requests pending: new "
						 "one closed",
						 m->s.conf.cl.max_conns);
					close(fd);
				} else {
					m->req[m->nreq++] = fd;
				}
			}
		}
	}
}

static void serve_requests(struct monitor *m, const struct pollfd *p,
			   size_t np)
{
	size_t i, j;

	/* p[i] is m->req[i]: fds only removed below, after the scan */
	for (i = 0; i < np && i < m->nreq; i++) {
		if (p[i].revents == 0)
			continue;
		if (p[i].revents & POLLIN)
			(void)hookd_priv_serve(m->req[i], &m->s.conf, &hookd_log);
		close(m->req[i]);	/* one request per connection */
		m->req[i] = -1;
	}
	for (i = j = 0; i < m->nreq; i++)
		if (m->req[i] >= 0)
			m->req[j++] = m->req[i];
	m->nreq = j;
}

/* 1: stop asked, 0: go on */
static int on_signals(struct monitor *m)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(m->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			polo_log(&hookd_log, LOG_NOTICE, "signal %u: stopping",
				 si.ssi_signo);
			stop = 1;
			break;
		case SIGHUP:
			if (!stop)
				reload(m);
			break;
		case SIGCHLD:
			reap_worker(m);
			break;
		default:
			break;
		}
	}
	return stop;
}

int hookd_monitor_loop(struct monitor *m)
{
	struct pollfd p[CONNS_LIMIT + 2];
	unsigned long now;
	size_t i, np;
	int timeout;

	for (;;) {
		for (i = 0; i < m->nreq; i++)
			p[i] = (struct pollfd){ .fd = m->req[i],
						.events = POLLIN };
		np = m->nreq;
		p[np] = (struct pollfd){ .fd = m->sfd, .events = POLLIN };
		p[np + 1] = (struct pollfd){ .fd = m->ctl, .events = POLLIN };
		timeout = -1;
		if (m->restart_at != 0) {
			now = polo_now_ms();
			timeout = m->restart_at > now ?
				  (int)(m->restart_at - now) : 0;
		}
		if (poll(p, np + 2, timeout) < 0) {
			if (errno == EINTR)
				continue;
			polo_log(&hookd_log, LOG_ERR, "poll: %s", strerror(errno));
			return 1;
		}
		if (p[np].revents && on_signals(m))
			return 0;
		if (m->ctl >= 0 && p[np + 1].revents)
			take_fds(m);
		serve_requests(m, p, np);
		if (m->restart_at != 0 && polo_now_ms() >= m->restart_at &&
		    m->worker < 0)
			(void)hookd_worker_start(m);
	}
}
