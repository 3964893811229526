/* The MarcoPolo / polousers wire messages (see PROTOCOL.md), parsed and
 * formatted with jansson. Every parser takes raw bytes from the network
 * (not NUL-terminated, any content) and either fills a validated struct
 * or refuses with a reason; nothing here trusts a length, a type or a
 * character it has not checked. Formatters write compact JSON into a
 * caller's buffer and return its length, or -ENOSPC. */
#ifndef POLO_PROTO_H
#define POLO_PROTO_H

#include <limits.h>
#include <stddef.h>

#define POLO_DGRAM_MAX		4096	/* one discovery datagram */
#define POLO_REQ_MAX		4096	/* one Create-Home request or reply */
#define POLO_SERVICE_MAX	64
#define POLO_HOSTNAME_MAX	253
#define POLO_DISCOVERY_PORT	1337
#define POLO_DISCOVERY_GROUP	"224.0.0.112"
/* polohook's extension ([discovery] ipv6): site-local scope, so that a
 * requester sends from, and is answered from, addresses a certificate can
 * name (ff02:: would make both ends use link-local ones) */
#define POLO_DISCOVERY_GROUP6	"ff05::112"
#define POLO_HOOKD_PORT		1343

enum polo_disc_cmd {
	POLO_DISC_MARCO,	/* "Marco" or "Discover" */
	POLO_DISC_POLO,		/* reply to Marco, with a hostname */
	POLO_DISC_REQUEST_FOR,	/* "Request-For" or "Request-for", service */
	POLO_DISC_OK,		/* reply to Request-For */
};

struct polo_disc_msg {
	enum polo_disc_cmd cmd;
	char service[POLO_SERVICE_MAX + 1];	/* REQUEST_FOR */
	char hostname[POLO_HOSTNAME_MAX + 1];	/* POLO */
};

/* One datagram. Accepts Params of Polo as an object {"hostname": "x"} or
 * as the string the original Python sends ("{'hostname': 'x'}"). A
 * hostname must be 1..253 bytes of [A-Za-z0-9.-] (and '_'), a service
 * 1..64 of [A-Za-z0-9_.-]. 0, or -EINVAL with a reason in why. */
int polo_disc_parse(const char *buf, size_t len, struct polo_disc_msg *m,
		    char *why, size_t whylen);
int polo_disc_format(char *buf, size_t len, const struct polo_disc_msg *m);

/* {"Command":"Create-Home","Params":"<home>,<uid>,<gid>"} */
struct polo_home_req {
	char home[PATH_MAX];	/* absolute, no ',' and no control chars */
	unsigned long uid, gid;	/* decimal, < 2^32 - 1 */
};

/* 0; -ENOTSUP for a well-formed message with another Command (the server
 * answers {"Error": 1}, as the original); -EINVAL for anything else. */
int polo_home_req_parse(const char *buf, size_t len, struct polo_home_req *r,
			char *why, size_t whylen);
int polo_home_req_format(char *buf, size_t len, const struct polo_home_req *r);

/* Replies. ok: {"OK": 0, "Status": "created"|"exists"} (status may be
 * NULL: {"OK": 0}); error: {"Error": "<reason>"}; unknown command:
 * {"Error": 1}. */
int polo_home_reply_ok(char *buf, size_t len, const char *status);
int polo_home_reply_error(char *buf, size_t len, const char *reason);
int polo_home_reply_unknown(char *buf, size_t len);

/* A reply as a client sees it: 0 for {"OK": 0} (other fields allowed;
 * a string "Status" is copied to status), else -EPROTO with the reply's
 * error (or what was wrong with it) in why. */
int polo_home_reply_parse(const char *buf, size_t len, char *status,
			  size_t slen, char *why, size_t whylen);

#endif
