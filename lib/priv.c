#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "priv.h"

int polo_drop_privileges(uid_t uid, gid_t gid, const char *who,
			 const struct polo_log *lg)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		polo_log(lg, LOG_ERR, "%s: cannot drop privileges to %u:%u: %s",
			 who, (unsigned)uid, (unsigned)gid, strerror(errno));
		return -1;
	}
	/* verify, as OpenSSH's permanently_set_uid does */
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1 ||
	    getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 ||
	    ru != uid || eu != uid || su != uid || rg != gid || eg != gid ||
	    sg != gid || getgroups(0, NULL) != 0) {
		polo_log(lg, LOG_ERR, "%s: privileges not dropped: root could "
			 "be regained", who);
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		polo_log(lg, LOG_ERR, "%s: PR_SET_NO_NEW_PRIVS: %s", who,
			 strerror(errno));
		return -1;
	}
	return 0;
}
