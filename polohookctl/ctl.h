/* polohookctl's private header: what its files share (struct ctl, where
 * log lines go, a command's options, the exit codes), the helpers of
 * common.c, each command's entry point, and what discover.c and
 * discover_net.c share.
 *
 * Rules every file of polohookctl keeps:
 *  - every decision about safety is the library's (lib/policy.c,
 *    lib/state.c, lib/home.c, lib/hookdir.c, lib/fsutil.c), made with
 *    geteuid() as the trusted uid, exactly as the module makes it (gc
 *    removes a tmphome by the module's own rule, polo_tmphome_end);
 *    polohookctl only asks and reports;
 *  - every string from the state, a directory or a log line is printed
 *    through ctl_clean(): printable ASCII only, bounded;
 *  - no global mutable state: main owns struct ctl.
 * Exit status: 0 ok, 1 problems found or an operation failed, 2 usage. */
#ifndef POLOHOOKCTL_CTL_H
#define POLOHOOKCTL_CTL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "cluster.h"
#include "conf.h"
#include "discover.h"
#include "log.h"
#include "proto.h"
#include "tls.h"

#define EXIT_PROBLEM	1
#define EXIT_USAGE	2

#define HELD_MAX	16	/* log lines kept for check's config report */
#define HELD_LEN	600

/* Where log lines go: stderr, or (for check's config step) held back to
 * be printed under their heading. */
struct sink {
	bool hold;
	unsigned held, dropped;
	char lines[HELD_MAX][HELD_LEN];
};

struct ctl {
	struct polo_conf conf;
	struct polo_log lg;
	struct sink sink;
	const char *confpath;
	bool conf_given;
	bool quiet;		/* -q: no report on stdout */
	bool to_syslog;		/* gc: what it does also goes to syslog */
	int conf_r;		/* what polo_conf_load returned */
	uid_t trust;
};

/* What a command did or its options, parsed by command_args(). */
struct cmd_opts {
	bool flag;		/* the command's one flag (--json, --dry-run) */
	bool has_uid;		/* gc --uid UID */
	uid_t uid;
};

/* common.c: output */
void ctl_clean(char *dst, size_t len, const char *src, size_t cap);
void ctl_emit(void *ctx, int prio, const char *msg);
json_t *ctl_json_text(const char *s);
int ctl_json_put(json_t *o, const char *key, json_t *val);
int ctl_dump_json(json_t *a, int r, size_t flags);

/* common.c: config */
int ctl_absolute(const char *path, char *out, size_t len);
void ctl_load_conf(struct ctl *x);
bool ctl_conf_usable(const struct ctl *x);

/* The commands: each returns the exit status. */
int ctl_sessions(struct ctl *x, const struct cmd_opts *o);
int ctl_gc(struct ctl *x, const struct cmd_opts *o);
int ctl_check(struct ctl *x, const struct cmd_opts *o);
int ctl_discover(struct ctl *x, const struct cmd_opts *o);

/* discover.c and discover_net.c */

/* Where a node came from (any number of them). */
enum { SRC_STATIC = 1, SRC_MCAST = 2, SRC_SRV = 4, SRC_SEEN = 8 };

/* One node in the listing. */
struct dnode {
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr key;			/* IPv4 as ::ffff:a.b.c.d */
	unsigned src;				/* SRC_* */
	char host[POLO_HOSTNAME_MAX + 1];	/* "" = no Polo from it */
	uint64_t rtt_us;			/* send → OK */
	bool answered;
	char tls[160];				/* "verified" or the reason */
};

struct dlist {
	struct dnode *v;	/* DISC_MAX slots */
	size_t n;
};

struct dnode *ctl_dl_find(struct dlist *l, const char *addr, bool add,
			  unsigned src);
int ctl_ask_group(const struct polo_disc_conf *dc, int af, bool marco,
		  struct dlist *l, char *why, size_t whylen);
void ctl_tls_check(const struct polo_cluster_conf *cl, SSL_CTX *ctx,
		   struct dnode *d);

#endif
