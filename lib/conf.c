/* Settings: compiled-in defaults, then the INI config file, then PAM
 * arguments (see conf.h).
 *
 * Rules this file keeps:
 * - The config file is read from the fd that polo_open_trusted() checked,
 *   never reopened by name, and it must be a regular file.
 * - libinih's exported globals (ini_allow_multiline, ...) are never written:
 *   we live inside sshd, and another part of the process may use the same
 *   shared library. Debian builds it with its defaults (multiline
 *   continuation on, no line number in the handler, 200-byte lines), so our
 *   own reader hands inih one physical line at a time, counts the lines,
 *   strips leading whitespace (which turns continuation off) and replaces an
 *   over-long line by an empty one instead of letting it split in two.
 * - Every rejected line is logged as "FILE:LINE: reason" and the other lines
 *   still apply; the file's values are committed only after the whole file
 *   was read.
 * - No global mutable state: everything lives in struct conf_ctx.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <ini.h>

#include "conf.h"
#include "fsutil.h"
#include "log.h"
#include "util.h"

#define STR_(x) #x
#define STR(x) STR_(x)

_Static_assert(sizeof(POLO_DEFAULT_HOOKDIR) <= PATH_MAX, "hookdir");
_Static_assert(sizeof(POLO_DEFAULT_STATEDIR) <= PATH_MAX, "statedir");
_Static_assert(sizeof(POLO_DEFAULT_SKEL) <= PATH_MAX, "skel");
_Static_assert(sizeof(POLO_DEFAULT_RUNNER) <= PATH_MAX, "runner");

enum conf_id {
	KEY_TIMEOUT, KEY_BATCH_TIMEOUT, KEY_ONERR, KEY_OPTIN, KEY_HOOKDIR,
	KEY_DEBUG, KEY_QUIET, KEY_STATEDIR, KEY_TMPHOME, KEY_SKEL, KEY_UMASK,
	KEY_RUNNER,
	KEY_GROUP, KEY_IPV6, KEY_GROUP6, KEY_SRV, KEY_SRV_MS, KEY_DPORT, KEY_IFACE, KEY_IDLE_MS, KEY_MAX_MS, KEY_NODES,
	KEY_NODES_STATE, KEY_CA, KEY_CERT, KEY_KEY, KEY_CRL, KEY_VERIFY_NAME,
	KEY_HPORT, KEY_LISTEN, KEY_MIN_UID, KEY_MAX_UID, KEY_ACK, KEY_USER, KEY_MAX_CONNS,
	KEY_HANDSHAKE_MS, KEY_CONN_MS, KEY_CONNECT_MS, KEY_REQUEST_MS,
};

struct conf_key {
	const char *section;	/* where it lives in the file; NULL: not there */
	const char *name;
	bool arg;		/* also accepted as a name=value PAM argument */
	enum conf_id id;
	const char *hint;	/* for "bad value" messages */
};

#define HINT_SECONDS	"want 1.." STR(POLO_MAX_TIMEOUT)
#define HINT_PATH	"want an absolute path"

static const struct conf_key conf_keys[] = {
	{ "hooks", "timeout", true, KEY_TIMEOUT, HINT_SECONDS },
	{ "hooks", "batch_timeout", true, KEY_BATCH_TIMEOUT, HINT_SECONDS },
	{ "hooks", "onerr", true, KEY_ONERR, "want succeed or fail" },
	{ "hooks", "optin", true, KEY_OPTIN, "want a file name, or empty for none" },
	{ "hooks", "hookdir", true, KEY_HOOKDIR, HINT_PATH },
	/* As PAM arguments these two are bare flags, handled apart. */
	{ "hooks", "debug", false, KEY_DEBUG, "want yes or no" },
	{ "hooks", "quiet", false, KEY_QUIET, "want yes or no" },
	{ "session", "statedir", true, KEY_STATEDIR, HINT_PATH },
	{ "home", "tmphome", true, KEY_TMPHOME, "want an absolute path, or empty for off" },
	{ "home", "skel", true, KEY_SKEL, HINT_PATH },
	{ "home", "umask", true, KEY_UMASK, "want octal 0..0777" },
	{ "hooks", "runner", true, KEY_RUNNER, HINT_PATH },
	{ "discovery", "group", false, KEY_GROUP, "want an IPv4 multicast address" },
	{ "discovery", "ipv6", false, KEY_IPV6, "want yes or no" },
	{ "discovery", "group6", false, KEY_GROUP6, "want an IPv6 multicast address" },
	{ "discovery", "srv", false, KEY_SRV, "want a DNS name (letters, digits, '-', '_', '.'), or empty for none" },
	{ "discovery", "srv_ms", false, KEY_SRV_MS, "want 100..30000" },
	{ "discovery", "port", false, KEY_DPORT, "want 1..65535" },
	{ "discovery", "interface", false, KEY_IFACE, "want an interface name, or empty" },
	{ "discovery", "idle_ms", false, KEY_IDLE_MS, "want 1..10000" },
	{ "discovery", "max_ms", false, KEY_MAX_MS, "want 1..60000" },
	{ "discovery", "nodes", false, KEY_NODES, "want IPv4 or IPv6 addresses separated by spaces or commas" },
	{ "discovery", "state", false, KEY_NODES_STATE, HINT_PATH },
	{ "tls", "ca", false, KEY_CA, HINT_PATH },
	{ "tls", "cert", false, KEY_CERT, HINT_PATH },
	{ "tls", "key", false, KEY_KEY, HINT_PATH },
	{ "tls", "crl", false, KEY_CRL, "want an absolute path, or empty for none" },
	{ "tls", "verify_name", false, KEY_VERIFY_NAME, "want yes or no" },
	{ "hookd", "port", false, KEY_HPORT, "want 1..65535" },
	{ "hookd", "listen", false, KEY_LISTEN, "want an IPv4 or IPv6 address of this node, or empty for all" },
	{ "hookd", "min_uid", false, KEY_MIN_UID, "want 1..4294967294" },
	{ "hookd", "max_uid", false, KEY_MAX_UID, "want 1..4294967294" },
	{ "hookd", "ack", false, KEY_ACK, "want early or done" },
	{ "hookd", "user", false, KEY_USER, "want a login name" },
	{ "hookd", "max_conns", false, KEY_MAX_CONNS, "want 1..1024" },
	{ "hookd", "handshake_ms", false, KEY_HANDSHAKE_MS, "want 100..60000" },
	{ "hookd", "idle_ms", false, KEY_CONN_MS, "want 100..600000" },
	{ "hookd", "connect_ms", false, KEY_CONNECT_MS, "want 100..60000" },
	{ "hookd", "request_ms", false, KEY_REQUEST_MS, "want 100..600000" },
};

/* [discovery] [tls] [hookd] are for hookd and polo-mkhome; the module
 * validates them too, so a mistake anywhere in the file is reported. */
static const char *const conf_sections[] = {
	"hooks", "session", "home", "discovery", "tls", "hookd",
};

struct conf_ctx {
	FILE *fp;
	const char *path;
	const struct polo_log *lg;
	struct polo_conf *c;	/* the copy being filled */
	int lineno;		/* physical lines handed to inih so far */
	int expect;		/* a key = value line not yet seen by the handler */
	int handled;		/* the last line the handler was called for */
	int first_syntax;	/* first line that inih itself counts as an error */
	bool skip_section;	/* inside a section already reported as unknown */
	bool bad;
};

void polo_conf_defaults(struct polo_conf *c)
{
	memset(c, 0, sizeof *c);
	/* The _Static_asserts above make these fit. */
	(void)polo_strlcpy(c->hookdir, POLO_DEFAULT_HOOKDIR, sizeof c->hookdir);
	(void)polo_strlcpy(c->statedir, POLO_DEFAULT_STATEDIR, sizeof c->statedir);
	(void)polo_strlcpy(c->skel, POLO_DEFAULT_SKEL, sizeof c->skel);
	(void)polo_strlcpy(c->runner, POLO_DEFAULT_RUNNER, sizeof c->runner);
	c->umask = POLO_DEFAULT_UMASK;
	c->timeout = POLO_DEFAULT_TIMEOUT;
	c->batch_timeout = POLO_DEFAULT_BATCH_TIMEOUT;
	c->onerr = POLO_ONERR_SUCCEED;
	polo_cluster_defaults(&c->cl);
}

void polo_cluster_defaults(struct polo_cluster_conf *cl)
{
	memset(cl, 0, sizeof *cl);
	(void)polo_strlcpy(cl->group, "224.0.0.112", sizeof cl->group);
	(void)polo_strlcpy(cl->group6, "ff05::112", sizeof cl->group6);
	cl->srv_ms = 1000;
	cl->port = 1337;
	cl->idle_ms = 50;
	cl->max_ms = 1000;
	(void)polo_strlcpy(cl->nodes_state, POLO_DEFAULT_NODES_STATE,
			   sizeof cl->nodes_state);
	(void)polo_strlcpy(cl->ca, POLO_DEFAULT_TLSDIR "/ca.pem", sizeof cl->ca);
	(void)polo_strlcpy(cl->cert, POLO_DEFAULT_TLSDIR "/node.pem",
			   sizeof cl->cert);
	(void)polo_strlcpy(cl->key, POLO_DEFAULT_TLSDIR "/node.key",
			   sizeof cl->key);
	cl->verify_name = true;
	cl->hookd_port = 1343;
	cl->min_uid = 1000;
	/* Debian's normal users: 1000..59999 (65534 is nobody, whose home
	 * /nonexistent must never exist) */
	cl->max_uid = 59999;
	cl->ack = POLO_ACK_DONE;
	(void)polo_strlcpy(cl->user, "nobody", sizeof cl->user);
	cl->max_conns = 64;
	cl->handshake_ms = 2000;
	cl->idle_ms_conn = 5000;
	cl->connect_ms = 2000;
	cl->request_ms = 5000;
}

/* ---- values ---- */

static int set_seconds(unsigned long *dst, const char *v)
{
	unsigned long n;

	if (polo_parse_uint(v, 1, POLO_MAX_TIMEOUT, &n) < 0)
		return -EINVAL;
	*dst = n;
	return 0;
}

static int set_umask(unsigned long *dst, const char *v)
{
	unsigned long n;

	if (polo_parse_octal(v, 0777, &n) < 0)
		return -EINVAL;
	*dst = n;
	return 0;
}

static int set_bool(bool *dst, const char *v)
{
	bool b;

	if (polo_parse_bool(v, &b) < 0)
		return -EINVAL;
	*dst = b;
	return 0;
}

static int set_onerr(enum polo_onerr *dst, const char *v)
{
	if (strcmp(v, "succeed") == 0)
		*dst = POLO_ONERR_SUCCEED;
	else if (strcmp(v, "fail") == 0)
		*dst = POLO_ONERR_FAIL;
	else
		return -EINVAL;
	return 0;
}

static int set_path(char *dst, size_t size, const char *v, bool empty_is_off)
{
	if (empty_is_off && *v == '\0') {
		dst[0] = '\0';
		return 0;
	}
	if (!polo_valid_abs_path(v))
		return -EINVAL;
	return polo_strlcpy(dst, v, size);
}

/* "" switches the opt-in off, as the struct says. */
static int set_name(char *dst, size_t size, const char *v)
{
	if (*v != '\0' && !polo_valid_file_name(v))
		return -EINVAL;
	return polo_strlcpy(dst, v, size);
}

static int set_range(unsigned long *dst, const char *v, unsigned long min,
		     unsigned long max)
{
	unsigned long n;

	if (polo_parse_uint(v, min, max, &n) < 0)
		return -EINVAL;
	*dst = n;
	return 0;
}

static int set_group(char *dst, size_t size, const char *v)
{
	struct in_addr a;

	if (inet_pton(AF_INET, v, &a) != 1 || !IN_MULTICAST(ntohl(a.s_addr)))
		return -EINVAL;
	return polo_strlcpy(dst, v, size);
}

static bool is_group6(const char *v)
{
	struct in6_addr a;

	return inet_pton(AF_INET6, v, &a) == 1 && IN6_IS_ADDR_MULTICAST(&a);
}

/* v when ok(v) says it is one ("" too, when empty is allowed). */
static int set_checked(char *dst, size_t size, const char *v,
		       bool (*ok)(const char *), bool empty)
{
	if ((*v != '\0' || !empty) && !ok(v))
		return -EINVAL;
	return polo_strlcpy(dst, v, size);
}

/* A node address: IPv4, or IPv6 without a scope (a link-local address
 * cannot be named in a certificate usefully, nor reached without one). */
static bool node_addr(const char *v)
{
	struct in_addr a;
	struct in6_addr a6;

	if (inet_pton(AF_INET, v, &a) == 1)
		return true;
	return inet_pton(AF_INET6, v, &a6) == 1 &&
	       !IN6_IS_ADDR_MULTICAST(&a6) && !IN6_IS_ADDR_LINKLOCAL(&a6) &&
	       !IN6_IS_ADDR_UNSPECIFIED(&a6) && !IN6_IS_ADDR_V4MAPPED(&a6);
}

/* A unicast IPv4 or IPv6 address to bind to; "" (or 0.0.0.0, or ::) for
 * all addresses of both families. */
static int set_listen(char *dst, size_t size, const char *v)
{
	struct in_addr a;
	uint32_t h;

	if (*v == '\0' || strcmp(v, "0.0.0.0") == 0 || strcmp(v, "::") == 0) {
		dst[0] = '\0';
		return 0;
	}
	if (strchr(v, ':') != NULL)
		return node_addr(v) ? polo_strlcpy(dst, v, size) : -EINVAL;
	if (inet_pton(AF_INET, v, &a) != 1)
		return -EINVAL;
	h = ntohl(a.s_addr);
	if (IN_MULTICAST(h) || h == INADDR_BROADCAST || IN_EXPERIMENTAL(h))
		return -EINVAL;
	return polo_strlcpy(dst, v, size);
}

static int set_iface(char *dst, size_t size, const char *v)
{
	size_t i;

	for (i = 0; v[i]; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("_.-@", v[i]))
			return -EINVAL;
	return i < size && i < IF_NAMESIZE ? polo_strlcpy(dst, v, size)
					   : -EINVAL;
}

/* "10.0.0.1 10.0.0.2,10.0.0.3": all valid, or nothing changes. */
static int set_nodes(struct polo_cluster_conf *cl, const char *v)
{
	char buf[POLO_MAX_NODES * 47], *tok, *save = NULL;
	struct polo_cluster_conf t = *cl;

	if (polo_strlcpy(buf, v, sizeof buf) < 0)
		return -EINVAL;
	t.nnodes = 0;
	for (tok = strtok_r(buf, " ,\t", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,\t", &save)) {
		if (t.nnodes == POLO_MAX_NODES || !node_addr(tok))
			return -EINVAL;
		(void)polo_strlcpy(t.nodes[t.nnodes++], tok, sizeof t.nodes[0]);
	}
	*cl = t;
	return 0;
}

static int set_ack(enum polo_ack *dst, const char *v)
{
	if (strcmp(v, "early") == 0)
		*dst = POLO_ACK_EARLY;
	else if (strcmp(v, "done") == 0)
		*dst = POLO_ACK_DONE;
	else
		return -EINVAL;
	return 0;
}

static int conf_set_cluster(struct polo_cluster_conf *cl, enum conf_id id,
			    const char *v)
{
	switch (id) {
	case KEY_GROUP:		return set_group(cl->group, sizeof cl->group, v);
	case KEY_IPV6:		return set_bool(&cl->ipv6, v);
	case KEY_GROUP6:	return set_checked(cl->group6, sizeof cl->group6, v, is_group6, false);
	case KEY_SRV:		return set_checked(cl->srv, sizeof cl->srv, v, polo_valid_dns_name, true);
	case KEY_SRV_MS:	return set_range(&cl->srv_ms, v, 100, 30000);
	case KEY_DPORT:		return set_range(&cl->port, v, 1, 65535);
	case KEY_IFACE:		return set_iface(cl->interface, sizeof cl->interface, v);
	case KEY_IDLE_MS:	return set_range(&cl->idle_ms, v, 1, 10000);
	case KEY_MAX_MS:	return set_range(&cl->max_ms, v, 1, 60000);
	case KEY_NODES:		return set_nodes(cl, v);
	case KEY_NODES_STATE:	return set_path(cl->nodes_state, sizeof cl->nodes_state, v, false);
	case KEY_CA:		return set_path(cl->ca, sizeof cl->ca, v, false);
	case KEY_CERT:		return set_path(cl->cert, sizeof cl->cert, v, false);
	case KEY_KEY:		return set_path(cl->key, sizeof cl->key, v, false);
	case KEY_CRL:		return set_path(cl->crl, sizeof cl->crl, v, true);
	case KEY_VERIFY_NAME:	return set_bool(&cl->verify_name, v);
	case KEY_HPORT:		return set_range(&cl->hookd_port, v, 1, 65535);
	case KEY_LISTEN:	return set_listen(cl->listen, sizeof cl->listen, v);
	case KEY_MIN_UID:	return set_range(&cl->min_uid, v, 1, 4294967294UL);
	case KEY_MAX_UID:	return set_range(&cl->max_uid, v, 1, 4294967294UL);
	case KEY_ACK:		return set_ack(&cl->ack, v);
	case KEY_USER:		return polo_valid_user_name(v) ?
				       polo_strlcpy(cl->user, v, sizeof cl->user) : -EINVAL;
	case KEY_MAX_CONNS:	return set_range(&cl->max_conns, v, 1, 1024);
	case KEY_HANDSHAKE_MS:	return set_range(&cl->handshake_ms, v, 100, 60000);
	case KEY_CONN_MS:	return set_range(&cl->idle_ms_conn, v, 100, 600000);
	case KEY_CONNECT_MS:	return set_range(&cl->connect_ms, v, 100, 60000);
	case KEY_REQUEST_MS:	return set_range(&cl->request_ms, v, 100, 600000);
	default:		return -EINVAL;
	}
}

/* Sets one field; on a bad value returns < 0 and leaves c as it was. */
static int conf_set(struct polo_conf *c, enum conf_id id, const char *v)
{
	switch (id) {
	case KEY_TIMEOUT:	return set_seconds(&c->timeout, v);
	case KEY_BATCH_TIMEOUT:	return set_seconds(&c->batch_timeout, v);
	case KEY_ONERR:		return set_onerr(&c->onerr, v);
	case KEY_OPTIN:		return set_name(c->optin, sizeof c->optin, v);
	case KEY_HOOKDIR:	return set_path(c->hookdir, sizeof c->hookdir, v, false);
	case KEY_DEBUG:		return set_bool(&c->debug, v);
	case KEY_QUIET:		return set_bool(&c->quiet, v);
	case KEY_STATEDIR:	return set_path(c->statedir, sizeof c->statedir, v, false);
	case KEY_TMPHOME:	return set_path(c->tmphome, sizeof c->tmphome, v, true);
	case KEY_SKEL:		return set_path(c->skel, sizeof c->skel, v, false);
	case KEY_UMASK:		return set_umask(&c->umask, v);
	case KEY_RUNNER:	return set_path(c->runner, sizeof c->runner, v, false);
	default:		return conf_set_cluster(&c->cl, id, v);
	}
	return -EINVAL;
}

static bool conf_known_section(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof conf_sections / sizeof conf_sections[0]; i++)
		if (strlen(conf_sections[i]) == len &&
		    memcmp(conf_sections[i], s, len) == 0)
			return true;
	return false;
}

static const struct conf_key *conf_file_key(const char *section,
					    const char *name)
{
	size_t i;

	for (i = 0; i < sizeof conf_keys / sizeof conf_keys[0]; i++)
		if (conf_keys[i].section &&
		    strcmp(conf_keys[i].section, section) == 0 &&
		    strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

/* "name=value" → its key, with *value pointing after the '='. */
static const struct conf_key *conf_arg_key(const char *arg, const char **value)
{
	const char *eq = strchr(arg, '=');
	size_t i, len;

	if (!eq)
		return NULL;
	len = (size_t)(eq - arg);
	for (i = 0; i < sizeof conf_keys / sizeof conf_keys[0]; i++)
		if (conf_keys[i].arg && strlen(conf_keys[i].name) == len &&
		    memcmp(conf_keys[i].name, arg, len) == 0) {
			*value = eq + 1;
			return &conf_keys[i];
		}
	return NULL;
}

/* ---- the file ---- */

static void conf_err(struct conf_ctx *x, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void conf_err(struct conf_ctx *x, int line, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	/* Truncation would only shorten a log line: the inputs are capped. */
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	polo_log(x->lg, LOG_ERR, "%s:%d: %s", x->path, line, reason);
	x->bad = true;
}

/* An error inih counts too (it returns the first such line number). */
static void conf_syntax(struct conf_ctx *x, int line, const char *what)
{
	if (x->first_syntax == 0)
		x->first_syntax = line;
	conf_err(x, line, "syntax error: %s", what);
}

/* A key = value line that never reached the handler had no '=' or ':'. */
static void conf_check_pending(struct conf_ctx *x)
{
	if (x->expect && x->handled != x->expect)
		conf_syntax(x, x->expect, "expected 'key = value'");
	x->expect = 0;
}

/* The ']' ending a section header, found as inih finds it: an inline ';'
 * comment (after whitespace) ends the search. */
static const char *conf_header_end(const char *s)
{
	bool was_space = false;

	for (; *s && *s != ']' && !(was_space && *s == ';'); s++)
		was_space = isspace((unsigned char)*s);
	return *s == ']' ? s : NULL;
}

/* Unknown sections are reported once, here, not at each of their keys. */
static void conf_section_line(struct conf_ctx *x, const char *s)
{
	const char *end = conf_header_end(s + 1);
	size_t len;

	if (!end) {
		conf_syntax(x, x->lineno, "unterminated section header");
		return;	/* inih keeps the previous section, so do we */
	}
	len = (size_t)(end - (s + 1));
	x->skip_section = !conf_known_section(s + 1, len);
	if (x->skip_section)
		conf_err(x, x->lineno, "unknown section [%.*s]",
			 (int)(len > 100 ? 100 : len), s + 1);
	/* inih ignores the rest of the line: "[home] umask = 022" would
	 * silently drop the umask. Only a comment may follow. */
	for (s = end + 1; isspace((unsigned char)*s); s++)
		;
	if (*s != '\0' && *s != ';' && *s != '#')
		conf_err(x, x->lineno, "text after section header");
}

/* What inih will make of the line (already left-stripped). */
static void conf_classify(struct conf_ctx *x, const char *s)
{
	if (*s == '\0' || *s == ';' || *s == '#')
		return;
	if (*s == '[')
		conf_section_line(x, s);
	else
		x->expect = x->lineno;
}

enum conf_line { LINE_EOF, LINE_OK, LINE_LONG, LINE_NUL };

/* Reads one physical line, without its '\n', keeping at most max bytes. */
static enum conf_line conf_getline(FILE *fp, char *str, size_t max)
{
	enum conf_line ret = LINE_OK;
	size_t len = 0;
	int ch = getc(fp);

	if (ch == EOF)
		return LINE_EOF;
	for (; ch != EOF && ch != '\n'; ch = getc(fp)) {
		if (ch == '\0')
			ret = LINE_NUL;	/* would cut the line short in inih */
		else if (len < max)
			str[len++] = (char)ch;
		else if (ret == LINE_OK)
			ret = LINE_LONG;
	}
	str[len] = '\0';
	return ret;
}

static void conf_lstrip(char *s, bool first_line)
{
	size_t n = 0;

	/* Drop a UTF-8 BOM ourselves, so the line is what we classify. */
	if (first_line && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		n = 3;
	while (s[n] && isspace((unsigned char)s[n]))
		n++;
	if (n)
		memmove(s, s + n, strlen(s + n) + 1);
}

/* inih's fgets-style reader: one physical line per call, so that inih's
 * line count and ours agree, and never a leading blank (no continuation). */
static char *conf_reader(char *str, int num, void *stream)
{
	struct conf_ctx *x = stream;
	enum conf_line got;

	conf_check_pending(x);	/* the previous line is done with */
	if (num < 2)
		return NULL;
	got = conf_getline(x->fp, str, (size_t)num - 1);
	if (got == LINE_EOF)
		return NULL;
	x->lineno++;
	if (got != LINE_OK) {
		conf_err(x, x->lineno, got == LINE_LONG ? "line too long" :
			 "NUL byte in line");
		str[0] = '\0';
		return str;
	}
	conf_lstrip(str, x->lineno == 1);
	conf_classify(x, str);
	return str;
}

/* Returns 1 always, so that inih goes on and the other lines apply; a
 * rejected line is recorded in x->bad. */
static int conf_handler(void *user, const char *section, const char *name,
			const char *value)
{
	struct conf_ctx *x = user;
	const struct conf_key *k;

	x->handled = x->lineno;
	if (x->skip_section)
		return 1;	/* reported at the section header */
	if (*section == '\0') {
		conf_err(x, x->lineno, "key '%.100s' outside any section", name);
		return 1;
	}
	if (!conf_known_section(section, strlen(section))) {
		conf_err(x, x->lineno, "unknown section [%.100s]", section);
		return 1;
	}
	k = conf_file_key(section, name);
	if (!k)
		conf_err(x, x->lineno, "unknown key '%.100s' in [%s]", name,
			 section);
	else if (conf_set(x->c, k->id, value) < 0)
		conf_err(x, x->lineno, "bad value for %s: '%.100s' (%s)",
			 k->name, value, k->hint);
	/* A key given twice in the file: the later one wins, without an
	 * error, as administrators expect of INI files. */
	return 1;
}

static int conf_parse(struct conf_ctx *x)
{
	int r = ini_parse_stream(conf_reader, x, conf_handler, x);

	conf_check_pending(x);	/* in case inih stopped early */
	if (ferror(x->fp)) {
		polo_log(x->lg, LOG_ERR, "config %s: read error", x->path);
		return -EIO;
	}
	if (r < 0) {
		polo_log(x->lg, LOG_ERR, "config %s: out of memory", x->path);
		return -ENOMEM;
	}
	/* Our handler never fails, so r is a syntax error: normally one we
	 * reported already. */
	if (r > 0 && r != x->first_syntax)
		conf_err(x, r, "syntax error");
	return x->bad ? -EINVAL : 0;
}

/* Opens path through the trusted walk and checks the very fd we will read. */
static int conf_open(const char *path, int *fd, char *why, size_t whylen)
{
	struct stat st;
	int r;

	/* O_NONBLOCK: a FIFO in place of the file must not hang the login. */
	r = polo_open_trusted(path, O_RDONLY | O_NONBLOCK, geteuid(), fd,
			      NULL, 0, why, whylen);
	if (r < 0)
		return r;
	if (fstat(*fd, &st) < 0) {
		r = -errno;
		snprintf(why, whylen, "cannot stat it");
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EPERM;
		snprintf(why, whylen, "not a regular file");
		goto fail;
	}
	r = polo_stat_trusted(&st, geteuid(), why, whylen, path);
	if (r < 0)
		goto fail;
	return 0;
fail:
	close(*fd);
	*fd = -1;
	return r;
}

int polo_conf_load(struct polo_conf *c, const char *path,
		   const struct polo_log *lg)
{
	/* parsed into a copy, applied whole or not at all; on the heap: the
	 * module runs on its host's stack (42 KB would be a lot there) */
	struct polo_conf *copy = malloc(sizeof *copy);
	struct conf_ctx x = { .path = path, .lg = lg, .c = copy };
	char why[512] = "";
	int fd = -1, r;

	if (copy == NULL) {
		polo_log(lg, LOG_ERR, "config %s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	*copy = *c;
	r = conf_open(path, &fd, why, sizeof why);
	if (r == -ENOENT)
		goto out;	/* the caller decides whether that is fine */
	if (r < 0) {
		polo_log(lg, LOG_ERR, "config %s refused: %s", path, why);
		goto out;
	}
	x.fp = fdopen(fd, "r");
	if (!x.fp) {
		r = -errno;
		polo_log(lg, LOG_ERR, "config %s: %s", path, strerror(-r));
		goto out;
	}
	fd = -1;	/* fclose closes it */
	r = conf_parse(&x);
	if (r == 0 || r == -EINVAL) {
		copy->bad = copy->bad || x.bad;
		if (polo_strlcpy(copy->conf, path, sizeof copy->conf) < 0)
			copy->conf[0] = '\0';
		*c = *copy;
	}
out:
	if (x.fp)
		fclose(x.fp);
	if (fd >= 0)
		close(fd);
	free(copy);
	return r;
}

/* ---- PAM arguments ---- */

void polo_conf_apply_args(struct polo_conf *c, int argc, const char **argv,
			  const struct polo_log *lg)
{
	const struct conf_key *k;
	const char *arg, *value = NULL;
	int i;

	for (i = 0; i < argc; i++) {
		arg = argv[i];
		if (!arg || strncmp(arg, "conf=", 5) == 0)
			continue;	/* conf= is polo_conf_from_args' */
		if (strcmp(arg, "debug") == 0)
			c->debug = true;
		else if (strcmp(arg, "quiet") == 0)
			c->quiet = true;
		else if (!(k = conf_arg_key(arg, &value)))
			polo_log(lg, LOG_ERR, "unknown option: %.100s", arg);
		else if (conf_set(c, k->id, value) < 0) {
			polo_log(lg, LOG_ERR, "bad value for %s: '%.100s' (%s)",
				 k->name, value, k->hint);
			c->bad = true;
		}
	}
}

/* First pass: conf=, and debug/quiet so that the file's errors are
 * reported as asked. Returns the file to read, or NULL for none. */
static const char *conf_pick_file(struct polo_conf *c, int argc,
				  const char **argv, struct polo_log *lg,
				  bool *given)
{
	const char *path = POLO_DEFAULT_CONF, *arg;
	bool refused = false;
	int i;

	for (i = 0; i < argc; i++) {
		arg = argv[i];
		if (!arg)
			continue;
		if (strcmp(arg, "debug") == 0)
			lg->debug = true;
		else if (strcmp(arg, "quiet") == 0)
			lg->quiet = true;
		else if (strncmp(arg, "conf=", 5) == 0) {
			*given = true;
			if (polo_valid_abs_path(arg + 5))
				path = arg + 5;
			else {
				polo_log(lg, LOG_ERR, "bad value for conf: '%.100s' (%s)",
					 arg + 5, HINT_PATH);
				c->bad = true;
				refused = true;
			}
		}
	}
	return refused ? NULL : path;
}

void polo_conf_from_args(struct polo_conf *c, int argc, const char **argv,
			 struct polo_log *lg)
{
	const char *path;
	bool given = false;
	int r;

	polo_conf_defaults(c);
	path = conf_pick_file(c, argc, argv, lg, &given);
	if (path) {
		r = polo_conf_load(c, path, lg);	/* sets c->conf */
		if (r == -ENOENT && given)
			polo_log(lg, LOG_ERR, "config %s: No such file or directory",
				 path);
		else if (r == -ENOENT)
			polo_log(lg, LOG_DEBUG, "config %s: not there, using defaults",
				 path);
		if (r < 0 && (r != -ENOENT || given))
			c->bad = true;
	}
	polo_conf_apply_args(c, argc, argv, lg);
	lg->debug = c->debug;
	lg->quiet = c->quiet;
}
