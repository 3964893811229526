/* The walk: run one phase's hook directory as the hook contract says. */
#ifndef POLO_RUN_H
#define POLO_RUN_H

#include <sys/types.h>

#include "conf.h"
#include "hookdir.h"
#include "env.h"
#include "log.h"

/* Run <hookdir>/added (open) or <hookdir>/removed (close) for session s.
 * W hooks run and are waited for (conf->timeout); D hooks are started
 * detached through conf->runner; batch hooks are collected and started as
 * one detached runner job after the walk. Returns 0, or -ECANCELED when
 * something failed that counts under onerr=fail (a W hook failed or could
 * not be run, the directory was refused). Under onerr=fail at open, the
 * first such failure ends the walk and the batch is not started; at close
 * every hook runs regardless. */
int polo_run_phase(const struct polo_conf *c, const struct polo_session *s,
		   uid_t trust_uid, const struct polo_log *lg);

/* The argv polohook-run gets: runner -a ARG -t SECONDS [-d] [-q] --
 * NAME PATH [NAME PATH ...]. Exposed for polohook-run's own parser and
 * tests. */
char **polo_runner_argv(const char *runner, const char *arg,
			unsigned long timeout_s, bool debug, bool quiet,
			const struct polo_hook *const *hooks, size_t n);

#endif
