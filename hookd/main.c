/* hookd: the polohook node daemon. Answers MarcoPolo discovery for the
 * service "polousers" and creates users' homes on request over mutual
 * TLS (PROTOCOL.md).
 *
 * Privilege separation, as OpenSSH:
 *   monitor (root)   reads the config, opens the sockets, reads the TLS
 *                    key, and then only makes the homes that
 *                    lib/policy.c allows (hookd_priv.c), for fixed-size
 *                    requests it trusts no byte of;
 *   worker           the [hookd] user, no way back to root: answers
 *                    discovery, accepts connections, forks one child per
 *                    connection and hands the monitor that child's end of
 *                    a SEQPACKET pair;
 *   connection child the [hookd] user: TLS, reads and parses the request,
 *                    asks the monitor, replies, exits. Every deadline is
 *                    its own, so one slow peer stalls nobody else.
 *
 * The files, each with the MUST rules that govern it in its header:
 *   main.c       this: the options, the logger, the start and the stop;
 *   settings.c   the config, the [hookd] user, the TLS context and the
 *                listening sockets (read and opened as root);
 *   monitor.c    the monitor: the worker's life, the fds and requests
 *                from the connection children, the signals, reload;
 *   hookd_priv.c what the monitor does for one request, once
 *                lib/policy.c polo_may_serve has allowed it;
 *   worker.c     the worker;
 *   conn.c       one connection child;
 *   daemon.h     what they share; hookd.h, the child-monitor messages.
 *
 * MUST rules for this file:
 *  - the signals the monitor handles are blocked before anything is
 *    forked and read from a signalfd (CLOEXEC): no signal handler;
 *  - a log line carries no control byte (emit: each becomes '?'). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "util.h"

/* ---- logging ---- */

static bool foreground;

static void emit(void *ctx, int prio, const char *msg)
{
	char line[1100];
	size_t i;

	(void)ctx;
	(void)polo_strlcpy(line, "", sizeof line);
	for (i = 0; msg[i] != '\0' && i < sizeof line - 1; i++)
		line[i] = ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f) ?
			  '?' : msg[i];
	line[i] = '\0';
	if (foreground)
		fprintf(stderr, "hookd[%ld]: %s: %s\n", (long)getpid(),
			polo_log_level(prio), line);
	else
		syslog(prio, "%s", line);
}

struct polo_log hookd_log = { .emit = emit };

static void usage(FILE *f)
{
	fprintf(f, "usage: hookd -c CONFIG [-f] [-d]\n"
		"  -c CONFIG  the config file (session-scripts.conf(5))\n"
		"  -f         log to stderr instead of syslog\n"
		"  -d         log debug messages too\n");
}

int main(int argc, char **argv)
{
	struct monitor m = { .worker = -1, .ctl = -1, .sfd = -1,
			     .s = { .lfd = -1, .dfd = -1, .dfd6 = -1 } };
	sigset_t set;
	int opt, rc;

	while ((opt = getopt(argc, argv, "c:fdh")) != -1) {
		switch (opt) {
		case 'c': m.path = optarg; break;
		case 'f': foreground = true; break;
		case 'd': m.debug = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (m.path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!foreground)
		openlog("hookd", LOG_PID, LOG_AUTHPRIV);
	hookd_log.debug = m.debug;
	if (geteuid() != 0) {
		polo_log(&hookd_log, LOG_ERR, "must be started as root");
		return 1;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (m.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		polo_log(&hookd_log, LOG_ERR, "signalfd: %s", strerror(errno));
		return 1;
	}
	if (hookd_settings_load(&m.s, m.path, NULL, m.debug) < 0) {
		close(m.sfd);
		return 1;
	}
	polo_log(&hookd_log, LOG_NOTICE, "started: config %.300s, ack %s",
		 m.path, m.s.conf.cl.ack == POLO_ACK_EARLY ? "early" : "done");
	(void)hookd_worker_start(&m);
	rc = hookd_monitor_loop(&m);
	hookd_worker_stop(&m);
	hookd_settings_free(&m.s);
	close(m.sfd);
	polo_log(&hookd_log, LOG_NOTICE, "stopped");
	if (!foreground)
		closelog();
	return rc;
}
