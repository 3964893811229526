/* hookd's private header: what the files of the daemon share, and the
 * functions one of them calls in another (prefixed hookd_). hookd.h is
 * the other header: the messages between the connection children and the
 * monitor, and hookd_priv.c's entry. */
#ifndef HOOKD_DAEMON_H
#define HOOKD_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "conf.h"
#include "log.h"

#define CONNS_LIMIT	1024	/* the largest max_conns the config allows */
#define PER_WAKEUP	64	/* accepts / datagrams / fds per poll round */
#define PEER_MAX	64	/* "[ffff:...:255.255.255.255]:65535" */

/* The program's one logger (main.c): to stderr with -f, else syslog. */
extern struct polo_log hookd_log;

/* ---- settings: what one reading of the config gives ---- */

struct settings {
	struct polo_conf conf;
	SSL_CTX *ctx;		/* holds the key: read as root, here */
	uid_t uid;		/* the [hookd] user */
	gid_t gid;
	int lfd;		/* TCP, [hookd] port */
	int dfd;		/* UDP, discovery */
	int dfd6;		/* UDP, IPv6 discovery ([discovery] ipv6), or -1 */
};

/* ---- monitor ---- */

struct monitor {
	const char *path;
	bool debug;
	struct settings s;
	pid_t worker;		/* -1: none */
	int ctl;		/* our end of the control pair, -1: none */
	int sfd;		/* signalfd: TERM INT HUP CHLD */
	int req[CONNS_LIMIT];	/* connections' pairs, oldest first */
	size_t nreq;
	unsigned long started;	/* when the worker last started */
	unsigned long restart_at; /* 0: no restart pending */
};

/* settings.c */
void hookd_settings_free(struct settings *s);
int hookd_settings_load(struct settings *s, const char *path,
			struct settings *old, bool debug);

/* conn.c */
void hookd_conn_main(const struct settings *s, int fd, int mon,
		     const char *peer, unsigned long start);

/* worker.c */
void __attribute__((noreturn))
hookd_worker_main(const struct settings *s, int ctl, pid_t monitor);

/* monitor.c */
int hookd_worker_start(struct monitor *m);
void hookd_worker_stop(struct monitor *m);
int hookd_monitor_loop(struct monitor *m);

#endif
