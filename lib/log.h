/* Logging without global state: every lib/ function that reports takes a
 * struct polo_log, whose emit() is pam_syslog() in the module, syslog() in
 * polohook-run and a capture buffer in tests. The module never calls
 * openlog(): the host process owns its syslog identity. */
#ifndef POLO_LOG_H
#define POLO_LOG_H

#include <stdbool.h>
#include <syslog.h>

struct polo_log {
	void (*emit)(void *ctx, int prio, const char *msg);
	void *ctx;
	bool debug;	/* pass LOG_DEBUG messages */
	bool quiet;	/* drop our own LOG_INFO/LOG_NOTICE status lines */
};

/* Formats into a bounded buffer (truncated, never overflowing) and emits.
 * LOG_DEBUG needs lg->debug; LOG_INFO and LOG_NOTICE are dropped under
 * lg->quiet. A NULL lg or NULL emit drops everything. */
void polo_log(const struct polo_log *lg, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A line of a hook's output: never dropped by quiet, always LOG_INFO. */
void polo_log_output(const struct polo_log *lg, const char *hook,
		     const char *line);

/* The word for a syslog priority ("error", "warning", ...), for programs
 * that print their log lines on stderr. */
const char *polo_log_level(int prio);

#endif
