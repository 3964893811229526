/*
 * polohookctl: the administrator's view of polohook.
 *
 *   polohookctl [-c CONFIG] [-v] sessions [--json]
 *   polohookctl [-c CONFIG] [-v] [-q] gc [--dry-run] [--uid UID]
 *   polohookctl [-c CONFIG] [-v] check
 *   polohookctl [-c CONFIG] [-v] discover [--json]
 *
 * This file: the global options, the command table, a command's own
 * arguments, and the dispatch. The commands live in sessions.c, gc.c,
 * check.c and discover.c (with discover_net.c), what they share in
 * common.c; ctl.h declares them and states the rules every file keeps.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: polohookctl [-c CONFIG] [-v] [-q] COMMAND "
		"[options]\n"
		"commands:\n"
		"  sessions [--json]  list the recorded sessions\n"
		"  gc [--dry-run] [--uid UID]\n"
		"                     prune dead sessions, remove abandoned "
		"tmphomes\n"
		"  check              check the config and the hook tree\n"
		"  discover [--json]  list the cluster nodes that answer, with "
		"TLS checks\n");
}

struct command {
	const char *name;
	const char *flag;	/* the one flag it takes, or NULL */
	bool takes_uid;		/* --uid UID */
	int (*run)(struct ctl *x, const struct cmd_opts *o);
};

static const struct command commands[] = {
	{ "sessions", "--json", false, ctl_sessions },
	{ "gc", "--dry-run", true, ctl_gc },
	{ "check", NULL, false, ctl_check },
	{ "discover", "--json", false, ctl_discover },
};

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* A uid as systemd's %i gives it: decimal digits only, not (uid_t)-1. */
static int parse_uid(const char *s, uid_t *uid)
{
	unsigned long long v = 0;

	if (*s == '\0' || strlen(s) > 10)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v >= (uid_t)-1)
		return -ERANGE;
	*uid = (uid_t)v;
	return 0;
}

/* The command's own arguments: its one flag, and --uid UID where it
 * takes one. */
static int command_args(const struct command *c, int argc, char **argv,
			struct cmd_opts *o)
{
	int i;

	*o = (struct cmd_opts){ .flag = false };
	for (i = 0; i < argc; i++) {
		if (c->flag != NULL && strcmp(argv[i], c->flag) == 0) {
			o->flag = true;
		} else if (c->takes_uid && strcmp(argv[i], "--uid") == 0 &&
			   i + 1 < argc && !o->has_uid) {
			if (parse_uid(argv[++i], &o->uid) < 0)
				return -EINVAL;
			o->has_uid = true;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_global(struct ctl *x, int argc, char **argv)
{
	int o;

	while ((o = getopt(argc, argv, "+c:vqh")) != -1) {
		switch (o) {
		case 'c':
			x->confpath = optarg;
			x->conf_given = true;
			break;
		case 'v':
			x->lg.debug = true;
			x->lg.quiet = false;
			break;
		case 'q':
			x->quiet = true;
			break;
		case 'h':
			return 1;
		default:
			return -EINVAL;
		}
	}
	return optind < argc ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct ctl x = { .conf_r = 0 };
	char confpath[PATH_MAX];
	const struct command *c;
	struct cmd_opts opt;
	int r;

	x.confpath = POLO_DEFAULT_CONF;
	x.trust = geteuid();
	x.lg = (struct polo_log){ .emit = ctl_emit, .ctx = &x, .quiet = true };
	r = parse_global(&x, argc, argv);
	if (r != 0) {
		usage(r > 0 ? stdout : stderr);
		return r > 0 ? 0 : EXIT_USAGE;
	}
	c = find_command(argv[optind]);
	if (c == NULL ||
	    command_args(c, argc - optind - 1, argv + optind + 1, &opt) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (ctl_absolute(x.confpath, confpath, sizeof confpath) < 0 ||
	    !polo_valid_abs_path(confpath)) {
		fprintf(stderr, "polohookctl: -c: not a usable path\n");
		return EXIT_USAGE;
	}
	x.confpath = confpath;
	x.sink.hold = c->run == ctl_check;
	ctl_load_conf(&x);
	x.sink.hold = false;
	/* discover: a peer that closes mid-write is an error, not our death */
	(void)signal(SIGPIPE, SIG_IGN);
	return c->run(&x, &opt);
}
