/* The MarcoPolo / polousers messages (PROTOCOL.md) with jansson.
 *
 * Every parser here reads bytes from the network. The rules this file
 * keeps, in the order the code applies them:
 *  - a message is at most POLO_DGRAM_MAX / POLO_REQ_MAX bytes, not empty,
 *    without a NUL byte, and exactly one JSON object (no trailing bytes,
 *    no duplicate keys: two "Params" must not mean different things to
 *    us and to another parser);
 *  - no member is trusted for its type: every value is checked with
 *    json_is_* before use, and a string with an embedded NUL is refused;
 *  - names (hostname, service) pass an allowlist, numbers a bounded
 *    parser, paths a canonical-form check, before they reach a struct;
 *  - text that goes into a reason (why) is made printable and capped, as
 *    it ends up in logs.
 * Formatters validate what they write the same way, so that we never emit
 * a message our own parser (or a peer's) would refuse. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "proto.h"
#include "util.h"

#define UID_DIGITS_MAX	10		/* 4294967294 */
#define UID_MAX_WIRE	4294967294UL	/* (uid_t)-1 means "no user" */
#define WHY_QUOTE_MAX	40		/* untrusted text quoted in a reason */
#define WHY_ERROR_MAX	200		/* a peer's error message */
#define STATUS_MAX	64		/* the Status we send */

/* ---- reasons ---- */

/* Copy at most n bytes of untrusted src (not NUL-terminated) into dst as
 * printable ASCII: a peer's bytes must not become terminal escapes or fake
 * log lines. */
static void printable_n(char *dst, size_t dlen, const char *src, size_t n)
{
	size_t i;

	if (dst == NULL || dlen == 0)
		return;
	for (i = 0; i < n && i + 1 < dlen; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[i] = '\0';
}

/* The same for a C string, capped at cap bytes. */
static void printable(char *dst, size_t dlen, const char *src, size_t cap)
{
	printable_n(dst, dlen, src, strnlen(src, cap));
}

/* ---- names and values ---- */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* s[0..n) is 1..max bytes of [A-Za-z0-9_.-]: what a hostname or a
 * service may be. Works on a length, as Python-repr values are not
 * NUL-terminated. */
static bool valid_name(const char *s, size_t n, size_t max)
{
	size_t i;

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

/* A field of a caller's struct: NUL-terminated inside its array, and a
 * valid name. */
static bool valid_field(const char *s, size_t size, size_t max)
{
	size_t n = strnlen(s, size);

	return n < size && valid_name(s, n, max);
}

/* The string value of obj[key], or NULL if it is missing, not a string, or
 * holds a NUL (jansson refuses "\u0000" without JSON_ALLOW_NUL; checking
 * again costs nothing and keeps C strings honest). */
static const char *get_str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

/* Parse buf[0..len) as exactly one JSON object, or NULL with a reason. */
static json_t *load_object(const char *buf, size_t len, size_t max,
			   char *why, size_t whylen)
{
	json_error_t err;
	json_t *root;
	char text[WHY_QUOTE_MAX * 2];

	if (buf == NULL || len == 0) {
		polo_why(why, whylen, "empty message");
		return NULL;
	}
	if (len > max) {
		polo_why(why, whylen, "message of %zu bytes (at most %zu)",
			len, max);
		return NULL;
	}
	if (memchr(buf, '\0', len) != NULL) {
		polo_why(why, whylen, "NUL byte in message");
		return NULL;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		/* jansson quotes the offending token: make it printable */
		printable(text, sizeof text, err.text, sizeof text - 1);
		polo_why(why, whylen, "not JSON: %s", text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		polo_why(why, whylen, "not a JSON object");
		return NULL;
	}
	return root;
}

/* The Command of a loaded message, or NULL with a reason. */
static const char *get_command(const json_t *root, char *why, size_t whylen)
{
	const char *cmd = get_str(root, "Command");

	if (cmd == NULL)
		polo_why(why, whylen, "no Command string");
	return cmd;
}

static int why_unknown(const char *cmd, char *why, size_t whylen)
{
	char text[WHY_QUOTE_MAX + 1];

	printable(text, sizeof text, cmd, WHY_QUOTE_MAX);
	polo_why(why, whylen, "unknown command '%s'", text);
	return -EINVAL;
}

/* ---- Polo Params as the original's Python writes them ---- */

/* The original sends str(dict): "{'hostname': 'x'}". This reads that shape
 * and nothing more, never evaluating anything: '{', pairs of a quoted key,
 * ':' and a quoted or bare value, separated by ',', then '}'. A quoted
 * token may not contain its quote or a backslash (repr would only then
 * use escapes, and no valid hostname needs one). */
struct pyscan {
	const char *p, *end;
};

static void py_space(struct pyscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
				 *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static bool py_char(struct pyscan *s, char c)
{
	py_space(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

/* 'x', "x", or Python 2's u'x'; the token without quotes in tok/n. */
static bool py_quoted(struct pyscan *s, const char **tok, size_t *n)
{
	const char *q;
	char quote;

	py_space(s);
	q = s->p;
	if (q < s->end && *q == 'u')
		q++;
	if (q >= s->end || (*q != '\'' && *q != '"'))
		return false;
	quote = *q++;
	*tok = q;
	while (q < s->end && *q != quote) {
		if (*q == '\\')
			return false;
		q++;
	}
	if (q >= s->end)
		return false;
	*n = (size_t)(q - *tok);
	s->p = q + 1;
	return true;
}

/* A value we skip: quoted, or a bare number, True, False or None. */
static bool py_skip_value(struct pyscan *s)
{
	const char *tok, *start;
	size_t n;

	if (py_quoted(s, &tok, &n))
		return true;
	py_space(s);
	start = s->p;
	while (s->p < s->end && (name_char(*s->p) || *s->p == '+'))
		s->p++;
	return s->p > start;
}

/* The hostname of a Python dict repr in str[0..len), exactly once. */
static bool py_hostname(const char *str, size_t len, const char **host,
			size_t *hn)
{
	struct pyscan s = { str, str + len };
	const char *key;
	size_t kn;
	bool found = false;

	if (!py_char(&s, '{'))
		return false;
	do {
		if (!py_quoted(&s, &key, &kn) || !py_char(&s, ':'))
			return false;
		if (kn == 8 && memcmp(key, "hostname", 8) == 0) {
			if (found || !py_quoted(&s, host, hn))
				return false;
			found = true;
		} else if (!py_skip_value(&s)) {
			return false;
		}
	} while (py_char(&s, ','));
	if (!py_char(&s, '}'))
		return false;
	py_space(&s);
	return found && s.p == s.end;
}

/* ---- discovery ---- */

static int set_hostname(struct polo_disc_msg *m, const char *h, size_t n,
			char *why, size_t whylen)
{
	char text[WHY_QUOTE_MAX + 1];

	if (!valid_name(h, n, POLO_HOSTNAME_MAX)) {
		/* h may not be NUL-terminated (a Python-repr token) */
		printable_n(text, sizeof text, h, n);
		polo_why(why, whylen, "invalid hostname '%s'", text);
		return -EINVAL;
	}
	memcpy(m->hostname, h, n);
	m->hostname[n] = '\0';
	return 0;
}

static int hostname_from_object(const json_t *params, struct polo_disc_msg *m,
				char *why, size_t whylen)
{
	const char *h = get_str(params, "hostname");

	if (h == NULL) {
		polo_why(why, whylen, "Polo without a hostname string");
		return -EINVAL;
	}
	return set_hostname(m, h, strlen(h), why, whylen);
}

/* Params as a string: JSON text first (it may hold escapes), then the
 * Python repr a stock original sends. */
static int hostname_from_string(const char *str, struct polo_disc_msg *m,
				char *why, size_t whylen)
{
	size_t len = strlen(str), hn;
	const char *h;
	json_t *inner;
	int rc;

	inner = json_loadb(str, len, JSON_REJECT_DUPLICATES, NULL);
	if (inner != NULL) {
		if (json_is_object(inner)) {
			rc = hostname_from_object(inner, m, why, whylen);
		} else {
			polo_why(why, whylen, "Polo Params is not a dict");
			rc = -EINVAL;
		}
		json_decref(inner);
		return rc;
	}
	if (!py_hostname(str, len, &h, &hn)) {
		polo_why(why, whylen, "Polo Params is not a dict with a hostname");
		return -EINVAL;
	}
	return set_hostname(m, h, hn, why, whylen);
}

static int parse_polo(const json_t *root, struct polo_disc_msg *m,
		      char *why, size_t whylen)
{
	const json_t *params = json_object_get(root, "Params");
	const char *str = get_str(root, "Params");

	m->cmd = POLO_DISC_POLO;
	if (json_is_object(params))
		return hostname_from_object(params, m, why, whylen);
	if (str != NULL)
		return hostname_from_string(str, m, why, whylen);
	polo_why(why, whylen, "Polo without Params");
	return -EINVAL;
}

static int parse_request_for(const json_t *root, struct polo_disc_msg *m,
			     char *why, size_t whylen)
{
	const char *svc = get_str(root, "Params");
	char text[WHY_QUOTE_MAX + 1];

	m->cmd = POLO_DISC_REQUEST_FOR;
	if (svc == NULL) {
		polo_why(why, whylen, "Request-For without a Params string");
		return -EINVAL;
	}
	if (!valid_name(svc, strlen(svc), POLO_SERVICE_MAX)) {
		printable(text, sizeof text, svc, WHY_QUOTE_MAX);
		polo_why(why, whylen, "invalid service '%s'", text);
		return -EINVAL;
	}
	memcpy(m->service, svc, strlen(svc) + 1);
	return 0;
}

/* The service parameters of OK are not used; their type is still checked
 * so that a malformed reply is not taken for a good one. */
static int parse_ok(const json_t *root, struct polo_disc_msg *m,
		    char *why, size_t whylen)
{
	const json_t *params = json_object_get(root, "Params");

	m->cmd = POLO_DISC_OK;
	if (params != NULL && !json_is_object(params) &&
	    get_str(root, "Params") == NULL) {
		polo_why(why, whylen, "OK with Params neither a dict nor a string");
		return -EINVAL;
	}
	return 0;
}

static int parse_disc_command(const json_t *root, const char *cmd,
			      struct polo_disc_msg *m, char *why,
			      size_t whylen)
{
	if (strcmp(cmd, "Marco") == 0 || strcmp(cmd, "Discover") == 0) {
		m->cmd = POLO_DISC_MARCO;
		return 0;
	}
	if (strcmp(cmd, "Request-For") == 0 || strcmp(cmd, "Request-for") == 0)
		return parse_request_for(root, m, why, whylen);
	if (strcmp(cmd, "Polo") == 0)
		return parse_polo(root, m, why, whylen);
	if (strcmp(cmd, "OK") == 0)
		return parse_ok(root, m, why, whylen);
	return why_unknown(cmd, why, whylen);
}

int polo_disc_parse(const char *buf, size_t len, struct polo_disc_msg *m,
		    char *why, size_t whylen)
{
	struct polo_disc_msg tmp;
	const char *cmd;
	json_t *root;
	int rc = -EINVAL;

	memset(&tmp, 0, sizeof tmp);
	root = load_object(buf, len, POLO_DGRAM_MAX, why, whylen);
	if (root == NULL)
		return -EINVAL;
	cmd = get_command(root, why, whylen);
	if (cmd != NULL)
		rc = parse_disc_command(root, cmd, &tmp, why, whylen);
	json_decref(root);
	/* the caller's struct changes only for a valid message */
	if (rc == 0)
		*m = tmp;
	return rc;
}

/* ---- formatting ---- */

/* Write j as compact JSON into buf[len] and drop j. buf is written only
 * when the whole message fits, NUL-terminated if there is room; a message
 * longer than a peer accepts (max) is refused as EMSGSIZE. It is dumped to
 * the stack first: json_dumpb writes what fits of a message too long. */
static int dump(json_t *j, char *buf, size_t len, size_t max)
{
	char tmp[POLO_DGRAM_MAX > POLO_REQ_MAX ? POLO_DGRAM_MAX : POLO_REQ_MAX];
	size_t n;

	/* NULL: json_pack refused a value (not UTF-8) or ran out of memory */
	if (j == NULL)
		return -EINVAL;
	n = json_dumpb(j, tmp, sizeof tmp, JSON_COMPACT);
	json_decref(j);
	if (n == 0)
		return -EINVAL;
	if (n > max || n > sizeof tmp)
		return -EMSGSIZE;
	if (buf == NULL || n > len)
		return -ENOSPC;
	memcpy(buf, tmp, n);
	if (n < len)
		buf[n] = '\0';
	return (int)n;
}

int polo_disc_format(char *buf, size_t len, const struct polo_disc_msg *m)
{
	json_t *j;

	switch (m->cmd) {
	case POLO_DISC_MARCO:
		j = json_pack("{s:s}", "Command", "Marco");
		break;
	case POLO_DISC_REQUEST_FOR:
		if (!valid_field(m->service, sizeof m->service,
				 POLO_SERVICE_MAX))
			return -EINVAL;
		j = json_pack("{s:s,s:s}", "Command", "Request-For",
			      "Params", m->service);
		break;
	case POLO_DISC_POLO:
		if (!valid_field(m->hostname, sizeof m->hostname,
				 POLO_HOSTNAME_MAX))
			return -EINVAL;
		j = json_pack("{s:s,s:{s:s}}", "Command", "Polo",
			      "Params", "hostname", m->hostname);
		break;
	case POLO_DISC_OK:
		j = json_pack("{s:s,s:{}}", "Command", "OK", "Params");
		break;
	default:
		return -EINVAL;
	}
	return dump(j, buf, len, POLO_DGRAM_MAX);
}

/* ---- Create-Home ---- */

/* p[0..n) is an absolute path in canonical form: clean text, no comma,
 * each component non-empty and not "." or "..", no trailing '/'. The
 * server compares it with a passwd home, but a path that could mean
 * something else after resolution is refused before anyone looks. */
static bool canonical_home(const char *p, size_t n)
{
	size_t i, start;

	if (n == 0 || n >= PATH_MAX || p[0] != '/')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f || c == ',')
			return false;
	}
	for (start = 1; start <= n; start = i + 1) {
		for (i = start; i < n && p[i] != '/'; i++)
			;
		if (i == start ||
		    (i - start == 1 && p[start] == '.') ||
		    (i - start == 2 && p[start] == '.' && p[start + 1] == '.'))
			return false;
	}
	return true;
}

/* An id: 1..10 decimal digits, nothing else, below 2^32 - 1. */
static bool parse_id(const char *s, size_t n, unsigned long *out)
{
	char digits[UID_DIGITS_MAX + 1];

	if (n == 0 || n > UID_DIGITS_MAX)
		return false;
	memcpy(digits, s, n);
	digits[n] = '\0';
	return polo_parse_uint(digits, 0, UID_MAX_WIRE, out) == 0;
}

/* "<home>,<uid>,<gid>" with exactly two commas (a home has none). */
static int split_params(const char *params, struct polo_home_req *r,
			char *why, size_t whylen)
{
	const char *c1 = strchr(params, ',');
	const char *c2 = c1 != NULL ? strchr(c1 + 1, ',') : NULL;
	unsigned long uid, gid;
	size_t hn;

	if (c2 == NULL || strchr(c2 + 1, ',') != NULL) {
		polo_why(why, whylen, "Params is not <home>,<uid>,<gid>");
		return -EINVAL;
	}
	hn = (size_t)(c1 - params);
	if (!canonical_home(params, hn)) {
		polo_why(why, whylen, "home is not a canonical absolute path");
		return -EINVAL;
	}
	if (!parse_id(c1 + 1, (size_t)(c2 - c1 - 1), &uid) ||
	    !parse_id(c2 + 1, strlen(c2 + 1), &gid)) {
		polo_why(why, whylen, "uid or gid is not a decimal id");
		return -EINVAL;
	}
	/* r changes only now, for a request that passed every check */
	memcpy(r->home, params, hn);
	r->home[hn] = '\0';
	r->uid = uid;
	r->gid = gid;
	return 0;
}

static int parse_create_home(const json_t *root, struct polo_home_req *r,
			     char *why, size_t whylen)
{
	const char *cmd = get_command(root, why, whylen);
	const char *params;
	char text[WHY_QUOTE_MAX + 1];

	if (cmd == NULL)
		return -EINVAL;
	if (strcmp(cmd, "Create-Home") != 0) {
		printable(text, sizeof text, cmd, WHY_QUOTE_MAX);
		polo_why(why, whylen, "unknown command '%s'", text);
		return -ENOTSUP;
	}
	params = get_str(root, "Params");
	if (params == NULL) {
		polo_why(why, whylen, "Create-Home without a Params string");
		return -EINVAL;
	}
	return split_params(params, r, why, whylen);
}

int polo_home_req_parse(const char *buf, size_t len, struct polo_home_req *r,
			char *why, size_t whylen)
{
	json_t *root;
	int rc;

	root = load_object(buf, len, POLO_REQ_MAX, why, whylen);
	if (root == NULL)
		return -EINVAL;
	rc = parse_create_home(root, r, why, whylen);
	json_decref(root);
	return rc;
}

int polo_home_req_format(char *buf, size_t len, const struct polo_home_req *r)
{
	char params[PATH_MAX + 2 * (UID_DIGITS_MAX + 1)];
	size_t hn = strnlen(r->home, sizeof r->home);
	int w;

	if (hn >= sizeof r->home || !canonical_home(r->home, hn) ||
	    r->uid > UID_MAX_WIRE || r->gid > UID_MAX_WIRE)
		return -EINVAL;
	w = snprintf(params, sizeof params, "%s,%lu,%lu", r->home, r->uid,
		     r->gid);
	if (w < 0 || (size_t)w >= sizeof params)
		return -EINVAL;
	return dump(json_pack("{s:s,s:s}", "Command", "Create-Home",
			      "Params", params), buf, len, POLO_REQ_MAX);
}

/* ---- replies ---- */

int polo_home_reply_ok(char *buf, size_t len, const char *status)
{
	size_t i, n;

	if (status == NULL)
		return dump(json_pack("{s:i}", "OK", 0), buf, len,
			    POLO_REQ_MAX);
	/* a status is a word of ours ("created", "exists"), never peer text */
	n = strlen(status);
	if (n == 0 || n > STATUS_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!name_char(status[i]))
			return -EINVAL;
	return dump(json_pack("{s:i,s:s}", "OK", 0, "Status", status), buf,
		    len, POLO_REQ_MAX);
}

/* A reason may quote what a client sent: it goes out printable and capped,
 * so that a reply can always be formed (never refused for its text). */
int polo_home_reply_error(char *buf, size_t len, const char *reason)
{
	char text[WHY_ERROR_MAX + 1];

	if (reason == NULL)
		return -EINVAL;
	printable(text, sizeof text, reason, WHY_ERROR_MAX);
	return dump(json_pack("{s:s}", "Error", text), buf, len, POLO_REQ_MAX);
}

int polo_home_reply_unknown(char *buf, size_t len)
{
	return dump(json_pack("{s:i}", "Error", 1), buf, len, POLO_REQ_MAX);
}

/* What an Error member says, for the log. */
static void error_why(const json_t *err, char *why, size_t whylen)
{
	char text[WHY_ERROR_MAX + 1];

	if (json_is_string(err)) {
		printable(text, sizeof text, json_string_value(err),
			  WHY_ERROR_MAX);
		polo_why(why, whylen, "%s", text[0] ? text : "(empty error)");
	} else if (json_is_integer(err)) {
		polo_why(why, whylen, "error %lld",
			(long long)json_integer_value(err));
	} else {
		polo_why(why, whylen, "not a reply: Error of an unexpected type");
	}
}

/* Fail closed: only an integer OK of 0, and no Error, is success. */
static int reply_verdict(const json_t *root, char *status, size_t slen,
			 char *why, size_t whylen)
{
	const json_t *ok = json_object_get(root, "OK");
	const json_t *err = json_object_get(root, "Error");
	const char *st;

	if (ok != NULL && err != NULL) {
		polo_why(why, whylen, "not a reply: both OK and Error");
	} else if (err != NULL) {
		error_why(err, why, whylen);
	} else if (ok == NULL) {
		polo_why(why, whylen, "not a reply: neither OK nor Error");
	} else if (!json_is_integer(ok) || json_integer_value(ok) != 0) {
		polo_why(why, whylen, "not a reply: OK is not 0");
	} else {
		st = get_str(root, "Status");
		if (st != NULL)
			printable(status, slen, st, STATUS_MAX);
		return 0;
	}
	return -EPROTO;
}

int polo_home_reply_parse(const char *buf, size_t len, char *status,
			  size_t slen, char *why, size_t whylen)
{
	char reason[WHY_QUOTE_MAX * 3];
	json_t *root;
	int rc;

	if (status != NULL && slen > 0)
		status[0] = '\0';
	root = load_object(buf, len, POLO_REQ_MAX, reason, sizeof reason);
	if (root == NULL) {
		polo_why(why, whylen, "not a reply: %s", reason);
		return -EPROTO;
	}
	rc = reply_verdict(root, status, slen, why, whylen);
	json_decref(root);
	return rc;
}
