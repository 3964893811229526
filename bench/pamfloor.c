/*
 * pamfloor.so: the least a PAM session module can do to run one hook: at
 * open, posix_spawn the script named by the first argument and waitpid
 * for it. No checks, no environment, no output handling, no timeout.
 * It measures what the PAM stack itself (pam_start, dlopen, pam_end)
 * adds to a bare spawn, so that bench/RESULTS.md can show what is
 * polohook's own cost and what any module pays. Benchmark only: never
 * install it.
 */
#include <spawn.h>
#include <sys/wait.h>

#define PAM_SM_SESSION
#include <security/pam_modules.h>

extern char **environ;

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
				   const char **argv)
{
	char *args[] = { (char *)argv[0], (char *)"session_added", NULL };
	char *envp[] = { (char *)"PATH=/usr/bin:/bin", NULL };
	int status;
	pid_t pid;

	(void)pamh;
	(void)flags;
	if (argc < 1 || posix_spawn(&pid, argv[0], NULL, NULL, args, envp) != 0)
		return PAM_SESSION_ERR;
	return waitpid(pid, &status, 0) == pid ? PAM_SUCCESS : PAM_SESSION_ERR;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
				    const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
