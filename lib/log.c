#include <stdarg.h>
#include <stdio.h>

#include "log.h"

/* One syslog record: long enough for a path and a reason, short enough
 * that a hostile string cannot flood the log. */
#define POLO_LOG_MAX 1024

void polo_log(const struct polo_log *lg, int prio, const char *fmt, ...)
{
	char buf[POLO_LOG_MAX];
	va_list ap;

	if (lg == NULL || lg->emit == NULL)
		return;
	if (prio == LOG_DEBUG && !lg->debug)
		return;
	if ((prio == LOG_INFO || prio == LOG_NOTICE) && lg->quiet)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof buf, fmt, ap);	/* truncation is fine */
	va_end(ap);
	lg->emit(lg->ctx, prio, buf);
}

void polo_log_output(const struct polo_log *lg, const char *hook,
		     const char *line)
{
	char buf[POLO_LOG_MAX + 300];

	if (lg == NULL || lg->emit == NULL)
		return;
	(void)snprintf(buf, sizeof buf, "%s: %s", hook, line);
	lg->emit(lg->ctx, LOG_INFO, buf);
}

const char *polo_log_level(int prio)
{
	static const char *const names[] = { "emergency", "alert",
		"critical", "error", "warning", "notice", "info", "debug" };

	return names[prio & 7];
}
