/* A whole session open or close, as pam_polohook does it: the session
 * state, the temporary home, the hooks — in that order at open; at close
 * the state, the hooks (which may still need the home), then the home. */
#ifndef POLO_PHASE_H
#define POLO_PHASE_H

#include <sys/types.h>

#include "conf.h"
#include "env.h"
#include "log.h"

/* 0, or -ECANCELED when something failed that onerr=fail turns into a
 * failed session (a W hook, the temporary home). s gains its id (at close,
 * found in the state if it was not known), the user's session count and,
 * at close, whether this was the user's last session. */
int polo_phase_open(const struct polo_conf *c, struct polo_session *s,
		    uid_t trust_uid, const struct polo_log *lg);
int polo_phase_close(const struct polo_conf *c, struct polo_session *s,
		     uid_t trust_uid, const struct polo_log *lg);

#endif
