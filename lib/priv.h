/* Dropping root for good, as OpenSSH's permanently_set_uid: for hookd's
 * network side and polo-mkhome's per-node children. */
#ifndef POLO_PRIV_H
#define POLO_PRIV_H

#include <sys/types.h>

#include "log.h"

/* No supplementary groups, real/effective/saved gid and uid set, checked
 * that root cannot be regained, then PR_SET_NO_NEW_PRIVS. 0, or -1 with
 * the reason logged (who: the process, for the log line). */
int polo_drop_privileges(uid_t uid, gid_t gid, const char *who,
			 const struct polo_log *lg);

#endif
