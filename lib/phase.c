#include <errno.h>
#include <limits.h>

#include "home.h"
#include "phase.h"
#include "run.h"
#include "state.h"

int polo_phase_open(const struct polo_conf *c, struct polo_session *s,
		    uid_t trust_uid, const struct polo_log *lg)
{
	struct polo_state st;
	unsigned long n;
	int home = 0, r;

	/* without the state (unsafe statedir, lock timeout) the login still
	 * goes on: the hooks just do not get the session count */
	if (polo_state_begin(&st, c->statedir, s->user, trust_uid, lg) == 0) {
		if (polo_state_add(&st, s, lg) == 0 &&
		    polo_state_count(&st, &n, lg) == 0) {
			s->counted = true;
			s->user_sessions = n;
		}
		/* made under the user's lock: a logout of the same user
		 * cannot be removing it at the same time */
		home = polo_tmphome_prepare(c, s, trust_uid, lg);
		/* a session that fails does not stay recorded */
		if (home < 0 && c->onerr == POLO_ONERR_FAIL)
			(void)polo_state_remove(&st, s->id);
		polo_state_end(&st);
	} else {
		home = polo_tmphome_prepare(c, s, trust_uid, lg);
	}
	if (home < 0 && c->onerr == POLO_ONERR_FAIL)
		return -ECANCELED;
	r = polo_run_phase(c, s, trust_uid, lg);
	return home < 0 ? -ECANCELED : r;
}

/* After the last session's hooks: remove the temporary home, if the user
 * has not come back meanwhile (counted again under the user's lock). */
static void last_home(const struct polo_conf *c, const struct polo_session *s,
		      uid_t trust_uid, const struct polo_log *lg)
{
	char name[NAME_MAX + 1];
	struct polo_home_end e = {
		.statedir = c->statedir, .root = c->tmphome, .name = name,
		.user = s->user, .uid = s->uid, .trust = trust_uid,
	};
	struct polo_home_outcome o;

	if (c->tmphome[0] == '\0' ||
	    polo_tmphome_name(c->tmphome, s->home, name, sizeof name) < 0)
		return;
	(void)polo_tmphome_end(&e, &o, lg);
	if (o.locked && (o.verdict == POLO_HOME_LIVE ||
			 o.verdict == POLO_HOME_UNCOUNTED))
		polo_log(lg, LOG_INFO, "tmphome %s kept: %s logged in again",
			 s->home, s->user);
}

int polo_phase_close(const struct polo_conf *c, struct polo_session *s,
		     uid_t trust_uid, const struct polo_log *lg)
{
	struct polo_state st;
	unsigned long n;
	int r;

	if (polo_state_begin(&st, c->statedir, s->user, trust_uid, lg) == 0) {
		if (polo_state_find(&st, s, lg) == 0)
			(void)polo_state_remove(&st, s->id);
		if (polo_state_count(&st, &n, lg) == 0) {
			s->counted = true;
			s->user_sessions = n;
			s->last_session = n == 0;
		}
		polo_state_end(&st);
	}
	r = polo_run_phase(c, s, trust_uid, lg);
	if (s->counted && s->last_session)
		last_home(c, s, trust_uid, lg);
	return r;
}
