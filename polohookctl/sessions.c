/*
 * polohookctl sessions [--json]: the recorded sessions, as a table or as
 * JSON, read from the state tree as the module wrote it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <jansson.h>

#include "ctl.h"
#include "log.h"
#include "state.h"

enum { C_ID, C_USER, C_UID, C_SERVICE, C_TTY, C_FROM, C_SINCE, C_LEADER,
       C_STATE, NCOLS };

static const char *const col_head[NCOLS] = { "ID", "USER", "UID", "SERVICE",
	"TTY", "FROM", "SINCE", "LEADER", "STATE" };
static const size_t col_cap[NCOLS] = { 36, 32, 10, 16, 16, 32, 16, 10, 4 };

struct row {
	char cell[NCOLS][40];
};

static void format_since(long long opened, char *buf, size_t len)
{
	time_t t = (time_t)opened;
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
		(void)snprintf(buf, len, "?");
}

static void make_row(const struct polo_state_rec *r, struct row *w)
{
	char num[3][24], since[32];
	const char *src[NCOLS];
	int i;

	(void)snprintf(num[0], sizeof num[0], "%lu", (unsigned long)r->uid);
	(void)snprintf(num[1], sizeof num[1], "%ld", (long)r->leader);
	format_since(r->opened, since, sizeof since);
	src[C_ID] = r->id;
	src[C_USER] = r->user;
	src[C_UID] = num[0];
	src[C_SERVICE] = r->service[0] ? r->service : "-";
	src[C_TTY] = r->tty[0] ? r->tty : "-";
	src[C_FROM] = r->rhost[0] ? r->rhost : "-";
	src[C_SINCE] = since;
	src[C_LEADER] = num[1];
	src[C_STATE] = r->alive ? "live" : "dead";
	for (i = 0; i < NCOLS; i++)
		ctl_clean(w->cell[i], sizeof w->cell[i], src[i], col_cap[i]);
}

static void print_row(const char *const cell[NCOLS], const int width[NCOLS])
{
	int i;

	for (i = 0; i < NCOLS - 1; i++)
		printf("%-*s  ", width[i], cell[i]);
	printf("%s\n", cell[NCOLS - 1]);
}

static void print_table(const struct polo_state_rec *v, size_t n)
{
	int width[NCOLS];
	const char *cell[NCOLS];
	struct row w;
	size_t i;
	int c;

	for (c = 0; c < NCOLS; c++)
		width[c] = (int)strlen(col_head[c]);
	for (i = 0; i < n; i++) {
		make_row(&v[i], &w);
		for (c = 0; c < NCOLS; c++)
			if ((int)strlen(w.cell[c]) > width[c])
				width[c] = (int)strlen(w.cell[c]);
	}
	print_row(col_head, width);
	for (i = 0; i < n; i++) {
		make_row(&v[i], &w);
		for (c = 0; c < NCOLS; c++)
			cell[c] = w.cell[c];
		print_row(cell, width);
	}
}

static json_t *json_rec(const struct polo_state_rec *r)
{
	json_t *o = json_object();
	int bad;

	if (o == NULL)
		return NULL;
	bad = ctl_json_put(o, "id", ctl_json_text(r->id)) |
	      ctl_json_put(o, "user", ctl_json_text(r->user)) |
	      ctl_json_put(o, "uid", json_integer((json_int_t)r->uid)) |
	      ctl_json_put(o, "service", ctl_json_text(r->service)) |
	      ctl_json_put(o, "tty", ctl_json_text(r->tty)) |
	      ctl_json_put(o, "rhost", ctl_json_text(r->rhost)) |
	      ctl_json_put(o, "opened", json_integer((json_int_t)r->opened)) |
	      ctl_json_put(o, "leader", json_integer((json_int_t)r->leader)) |
	      ctl_json_put(o, "alive", json_boolean(r->alive));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int print_json(const struct polo_state_rec *v, size_t n)
{
	json_t *a = json_array();
	size_t i;
	int r = a == NULL ? -1 : 0;

	for (i = 0; r == 0 && i < n; i++)
		r = json_array_append_new(a, json_rec(&v[i]));
	return ctl_dump_json(a, r, 0);
}

int ctl_sessions(struct ctl *x, const struct cmd_opts *o)
{
	bool json = o->flag;
	struct polo_state_rec *v = NULL;
	size_t n = 0;
	int r;

	if (!ctl_conf_usable(x))
		return EXIT_PROBLEM;
	r = polo_state_list(x->conf.statedir, x->trust, &v, &n, &x->lg);
	if (r < 0) {
		polo_log(&x->lg, LOG_ERR, "cannot read the session state %s: "
			 "%s", x->conf.statedir, strerror(-r));
		return EXIT_PROBLEM;
	}
	if (json)
		r = print_json(v, n);
	else
		print_table(v, n);
	free(v);
	return r < 0 ? EXIT_PROBLEM : 0;
}
