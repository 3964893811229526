#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookdir.h"
#include "run.h"
#include "spawn.h"
#include "util.h"

char **polo_runner_argv(const char *runner, const char *arg,
			unsigned long timeout_s, bool debug, bool quiet,
			const struct polo_hook *const *hooks, size_t n)
{
	char **v = calloc(2 * n + 10, sizeof *v);
	char t[32];
	size_t k = 0, i;
	bool ok;

	if (v == NULL)
		return NULL;
	(void)snprintf(t, sizeof t, "%lu", timeout_s);
	v[k++] = strdup(runner);
	v[k++] = strdup("-a");
	v[k++] = strdup(arg);
	v[k++] = strdup("-t");
	v[k++] = strdup(t);
	if (debug)
		v[k++] = strdup("-d");
	if (quiet)
		v[k++] = strdup("-q");
	v[k++] = strdup("--");
	for (i = 0; i < n; i++) {
		v[k++] = strdup(hooks[i]->name);
		v[k++] = strdup(hooks[i]->path);
	}
	for (ok = true, i = 0; i < k; i++)
		ok = ok && v[i] != NULL;
	if (!ok) {
		for (i = 0; i < k; i++)
			free(v[i]);
		free(v);
		return NULL;
	}
	return v;
}

/* One W hook, waited for (under the runner as its waiter where the host
 * has the kernel reap its children). 0 if it succeeded. */
static int run_wait(const struct polo_conf *c, const struct polo_session *s,
		    const struct polo_hook *h, char **envp, const char *runner,
		    const struct polo_log *lg)
{
	char *argv[] = { (char *)h->path, (char *)polo_phase_arg(s->phase), NULL };
	struct polo_spawn sp = {
		.name = h->name, .path = h->path, .argv = argv, .envp = envp,
		.timeout_ms = c->timeout * 1000UL,
		.grace_ms = POLO_KILL_GRACE_MS, .lg = lg, .waiter = runner,
	};
	struct polo_result res;
	char what[160];
	int r;

	r = polo_spawn_wait(&sp, &res);
	if (r < 0) {
		polo_log(lg, LOG_ERR, "hook %s: cannot start: %s", h->name,
			 strerror(-r));
		return r;
	}
	polo_describe_result(&res, what, sizeof what);
	if (res.dropped)
		polo_log(lg, LOG_WARNING, "hook %s: %zu more bytes of output "
			 "not logged", h->name, res.dropped);
	if (polo_result_ok(&res)) {
		polo_log(lg, LOG_INFO, "hook %s %s", h->name, what);
		return 0;
	}
	polo_log(lg, LOG_ERR, "hook %s %s", h->name, what);
	return -ECANCELED;
}

/* Start polohook-run for hooks: it starts the D hooks among them
 * detached, then runs the others one after another within timeout_s. */
static void run_detached(const struct polo_conf *c, const char *runner,
			 const struct polo_session *s,
			 const struct polo_hook *const *hooks, size_t n,
			 unsigned long timeout_s, char **envp,
			 const struct polo_log *lg)
{
	char **argv;

	argv = polo_runner_argv(runner, polo_phase_arg(s->phase), timeout_s,
				c->debug, c->quiet, hooks, n);
	if (argv == NULL) {
		polo_log(lg, LOG_ERR, "out of memory starting %s", runner);
		return;
	}
	if (polo_spawn_detached(runner, argv, envp, c->timeout * 1000UL,
				lg) == 0)
		polo_log(lg, LOG_DEBUG, "started %s for %zu hook(s)%s%s",
			 runner, n, n == 1 ? ": " : "",
			 n == 1 ? hooks[0]->name : "");
	polo_strv_free(argv);
}

struct walk {
	const struct polo_conf *c;
	const struct polo_session *s;
	const struct polo_log *lg;
	char **envp;
	char runner[PATH_MAX];	/* "" when unsafe: no D or batch hooks */
	const struct polo_hook **batch;	/* and the D hooks after the last W */
	size_t nbatch;
	size_t last_wait;	/* index of the last W hook + 1; 0: none */
	size_t i;		/* the hook being walked */
	int result;
};

static void check_runner(struct walk *w, uid_t trust_uid)
{
	char why[512];

	if (polo_hook_check(w->c->runner, trust_uid, w->runner,
			    sizeof w->runner, why, sizeof why) != 0) {
		polo_log(w->lg, LOG_ERR, "not running D and batch hooks "
			 "(nor waiting for W hooks in a host that ignores "
			 "SIGCHLD): runner %s: %s", w->c->runner, why);
		w->runner[0] = '\0';
	}
}

/* One hook of the walk. false: stop the walk (onerr=fail at open). */
static bool walk_one(struct walk *w, const struct polo_hook *h)
{
	bool stop_on_fail = w->c->onerr == POLO_ONERR_FAIL &&
			    w->s->phase == POLO_OPEN;

	switch (h->mode) {
	case POLO_MODE_WAIT:
		if (h->unsafe || run_wait(w->c, w->s, h, w->envp, w->runner,
					  w->lg) < 0) {
			w->result = -ECANCELED;
			return !stop_on_fail;
		}
		return true;
	case POLO_MODE_DETACH:
		/* before a W hook it starts now, in its turn; after the last
		 * one it goes with the batch, whose runner starts it first:
		 * one detached start for all of them */
		if (w->i >= w->last_wait)
			w->batch[w->nbatch++] = h;
		else if (w->runner[0])
			run_detached(w->c, w->runner, w->s, &h, 1, 0, w->envp,
				     w->lg);
		return true;
	case POLO_MODE_BATCH:
	default:
		w->batch[w->nbatch++] = h;
		return true;
	}
}

static int walk_list(struct walk *w, const struct polo_hooklist *l,
		     uid_t trust_uid)
{
	size_t i;

	/* the runner starts D and batch hooks, and is the W hooks' waiter
	 * where the host has the kernel reap its children */
	for (i = 0; i < l->n; i++)
		if (l->v[i].mode != POLO_MODE_WAIT ||
		    polo_spawn_host_autoreaps()) {
			check_runner(w, trust_uid);
			break;
		}
	for (i = 0; i < l->n; i++)
		if (l->v[i].mode == POLO_MODE_WAIT)
			w->last_wait = i + 1;
	w->batch = calloc(l->n ? l->n : 1, sizeof *w->batch);
	if (w->batch == NULL)
		return -ENOMEM;
	for (w->i = 0; w->i < l->n; w->i++)
		if (!walk_one(w, &l->v[w->i]))
			return w->result;
	if (w->nbatch && w->runner[0])
		run_detached(w->c, w->runner, w->s, w->batch, w->nbatch,
			     w->c->batch_timeout, w->envp, w->lg);
	return w->result;
}

int polo_run_phase(const struct polo_conf *c, const struct polo_session *s,
		   uid_t trust_uid, const struct polo_log *lg)
{
	struct walk w = { .c = c, .s = s, .lg = lg };
	struct polo_hooklist l = { 0 };
	char dir[PATH_MAX];
	int n, r;

	/* optin gates the hooks only: the state and a temporary home are
	 * there for every user (a new tmphome user could not opt in yet) */
	if (c->optin[0] && !polo_session_opted_in(s, c->optin, lg))
		return 0;
	n = snprintf(dir, sizeof dir, "%s/%s", c->hookdir,
		     s->phase == POLO_OPEN ? "added" : "removed");
	if (n < 0 || (size_t)n >= sizeof dir)
		return -ENAMETOOLONG;
	if (polo_hooks_scan(dir, trust_uid, &l, lg) < 0)
		return -ECANCELED;
	if (l.n == 0)
		return 0;
	r = polo_env_build(s, &w.envp);
	if (r < 0) {
		polo_log(lg, LOG_ERR, "cannot build the hooks' environment: %s",
			 strerror(-r));
		polo_hooks_free(&l);
		return -ECANCELED;
	}
	r = walk_list(&w, &l, trust_uid);
	free(w.batch);
	polo_strv_free(w.envp);
	polo_hooks_free(&l);
	return r < 0 ? -ECANCELED : 0;
}
