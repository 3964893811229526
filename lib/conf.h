/* Settings: compiled-in defaults, then the INI config file
 * (/etc/session.d/session-scripts.conf, or conf=), then PAM arguments.
 * Every value is validated; a bad one is logged (with file:line for the
 * file) and the previous value kept, and conf->bad is set so that the
 * module can fail the session under onerr=fail. */
#ifndef POLO_CONF_H
#define POLO_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "log.h"

#ifndef POLO_SYSCONFDIR
#define POLO_SYSCONFDIR "/etc"
#endif
#ifndef POLO_LIBEXECDIR
#define POLO_LIBEXECDIR "/usr/libexec"
#endif

#define POLO_DEFAULT_HOOKDIR	POLO_SYSCONFDIR "/session.d"
#define POLO_DEFAULT_CONF	POLO_DEFAULT_HOOKDIR "/session-scripts.conf"
#define POLO_DEFAULT_STATEDIR	"/run/session.d"
#define POLO_DEFAULT_SKEL	POLO_SYSCONFDIR "/skel"
#define POLO_DEFAULT_RUNNER	POLO_LIBEXECDIR "/polohook/polohook-run"
#define POLO_DEFAULT_TIMEOUT	15	/* seconds, W hooks */
#define POLO_DEFAULT_BATCH_TIMEOUT 300	/* seconds, each batch hook */
#define POLO_DEFAULT_UMASK	0077
#define POLO_MAX_TIMEOUT	86400

enum polo_onerr { POLO_ONERR_SUCCEED = 0, POLO_ONERR_FAIL = 1 };
enum polo_ack { POLO_ACK_DONE = 0, POLO_ACK_EARLY = 1 };

#define POLO_MAX_NODES		64	/* static [discovery] nodes */
#define POLO_DEFAULT_TLSDIR	POLO_SYSCONFDIR "/polohook/tls"
#define POLO_DEFAULT_NODES_STATE "/var/lib/polohook/nodes"

/* [discovery] [tls] [hookd]: hookd and polo-mkhome (the module ignores
 * them, but the one config file is validated as a whole). */
struct polo_cluster_conf {
	char group[16];			/* IPv4 multicast group */
	bool ipv6;			/* also the IPv6 group (group6) */
	char group6[46];		/* IPv6 multicast group */
	unsigned long port;		/* discovery port (both groups) */
	char interface[16];		/* "" = the routing table decides */
	unsigned long idle_ms;		/* discovery idle gap */
	unsigned long max_ms;		/* discovery at most */
	char nodes[POLO_MAX_NODES][46];	/* static node addresses (v4 or v6) */
	unsigned long nnodes;
	char srv[254];			/* DNS SRV name; "" = none */
	unsigned long srv_ms;		/* the SRV lookup at most */
	char nodes_state[PATH_MAX];	/* where the last-seen set is kept */
	char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	char crl[PATH_MAX];		/* "" = no revocation list */
	bool verify_name;
	unsigned long hookd_port;
	char listen[46];		/* hookd's TCP address; "" = all */
	unsigned long min_uid, max_uid;	/* homes only for uids in between */
	enum polo_ack ack;
	char user[33];			/* hookd's unprivileged network side */
	unsigned long max_conns;
	unsigned long handshake_ms;	/* server: per connection */
	unsigned long idle_ms_conn;	/* server: a connection's whole life */
	unsigned long connect_ms;	/* client: connect + handshake */
	unsigned long request_ms;	/* client: the whole request to a node */
};

struct polo_conf {
	char conf[PATH_MAX];		/* the config file read (or "") */
	char hookdir[PATH_MAX];
	char statedir[PATH_MAX];
	char tmphome[PATH_MAX];		/* "" = tmphome off */
	char skel[PATH_MAX];
	char optin[256];		/* "" = no opt-in needed */
	char runner[PATH_MAX];		/* polohook-run, for batch and D hooks */
	unsigned long umask;
	unsigned long timeout;		/* W hooks, seconds */
	unsigned long batch_timeout;	/* each batch hook, seconds */
	enum polo_onerr onerr;
	struct polo_cluster_conf cl;
	bool debug;
	bool quiet;
	bool bad;			/* some setting was rejected */
};

/* Compiled-in defaults (of everything, and of the cluster part). */
void polo_conf_defaults(struct polo_conf *c);
void polo_cluster_defaults(struct polo_cluster_conf *cl);

/* Read an INI file into c. The file is opened through a trusted-path walk
 * (lib/fsutil.h): it must be a regular file owned by root (or by the
 * calling euid), not group/other-writable, in directories likewise.
 * Returns 0; -ENOENT if missing (c untouched); another -errno if unsafe or
 * unreadable (logged, c untouched); -EINVAL if some line was rejected
 * (logged as "FILE:LINE: reason", the other lines applied, c->bad set). */
int polo_conf_load(struct polo_conf *c, const char *path,
		   const struct polo_log *lg);

/* Apply PAM module arguments (argv as pam_sm_* gets them). conf= is not
 * handled here (see polo_conf_from_args). Unknown arguments are logged at
 * LOG_ERR and ignored; a bad value is logged, skipped and sets c->bad. */
void polo_conf_apply_args(struct polo_conf *c, int argc, const char **argv,
			  const struct polo_log *lg);

/* The whole sequence: defaults, the config file (conf= or the default;
 * the default may be missing, a conf= file may not), then the arguments.
 * debug/quiet in the arguments take effect before the file is read, so
 * its errors are reported as asked. Never fails: problems set c->bad. */
void polo_conf_from_args(struct polo_conf *c, int argc, const char **argv,
			 struct polo_log *lg);

#endif
