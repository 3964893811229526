/* hookd: what the unprivileged connection children and the privileged
 * monitor say to each other (one fixed-size message each way, on a
 * SOCK_SEQPACKET pair per connection), and the monitor's request handler
 * (hookd_priv.c). */
#ifndef HOOKD_H
#define HOOKD_H

#include <limits.h>
#include <stdint.h>

#include "conf.h"
#include "log.h"

/* child → monitor: what the client asked for, already parsed by the
 * child, and therefore not trusted by the monitor at all. */
struct hookd_req {
	uint32_t uid;
	uint32_t gid;
	char home[PATH_MAX];	/* must hold a NUL */
};

/* monitor → child: code 0 (status "created" or "exists") or an errno
 * value with a one-line reason that is safe to send to the client. */
struct hookd_ans {
	int code;
	char status[16];
	char text[200];
	char user[33];		/* the passwd name, for the child's log line */
};

/* Read one request from fd (a connection's SEQPACKET end), decide, make
 * the home if it is due, and answer on fd (with ack = early, as soon as
 * the empty directory exists). Everything is logged. Returns 0 when an
 * answer was sent, -errno when the message was not a request (the caller
 * closes fd either way: one request per connection). */
int hookd_priv_serve(int fd, const struct polo_conf *c,
		     const struct polo_log *lg);

#endif
