/* lib/proto.c: the MarcoPolo / polousers messages. The exact bytes we
 * send, the bytes the 2015 original sends (Python spacing, Polo Params as
 * a Python repr string), round trips, and refusals, each with a reason.
 * Formatters are held to their buffer with a canary byte. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "tap.h"

#define CANARY	'\xa5'

static char why[256];

static int disc(const char *s, struct polo_disc_msg *m)
{
	why[0] = '\0';
	return polo_disc_parse(s, strlen(s), m, why, sizeof why);
}

static int req(const char *s, struct polo_home_req *r)
{
	why[0] = '\0';
	return polo_home_req_parse(s, strlen(s), r, why, sizeof why);
}

static int reply(const char *s, char *status, size_t slen)
{
	why[0] = '\0';
	return polo_home_reply_parse(s, strlen(s), status, slen, why,
				     sizeof why);
}

static struct polo_disc_msg disc_msg(enum polo_disc_cmd cmd,
				     const char *service, const char *host)
{
	struct polo_disc_msg m;

	memset(&m, 0, sizeof m);
	m.cmd = cmd;
	snprintf(m.service, sizeof m.service, "%s", service);
	snprintf(m.hostname, sizeof m.hostname, "%s", host);
	return m;
}

static struct polo_home_req home_req(const char *home, unsigned long uid,
				     unsigned long gid)
{
	struct polo_home_req r;

	memset(&r, 0, sizeof r);
	snprintf(r.home, sizeof r.home, "%s", home);
	r.uid = uid;
	r.gid = gid;
	return r;
}

/* A string of n copies of c (n < 8192), for length limits. */
static const char *rep(char c, size_t n)
{
	static char s[8192];

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* a, b and c joined (a message around a long value); one static slot. */
static const char *cat3(const char *a, const char *b, const char *c)
{
	static char s[16384];
	size_t na = strlen(a), nb = strlen(b), nc = strlen(c);

	if (na + nb + nc >= sizeof s) {
		fprintf(stderr, "cat3: too long\n");
		exit(2);
	}
	memcpy(s, a, na);
	memcpy(s + na, b, nb);
	memcpy(s + na + nb, c, nc + 1);
	return s;
}

/* ---- what we send ---- */

static void test_disc_format(void)
{
	char buf[POLO_DGRAM_MAX];
	struct polo_disc_msg m;
	int n;

	m = disc_msg(POLO_DISC_MARCO, "", "");
	n = polo_disc_format(buf, sizeof buf, &m);
	is_str(buf, "{\"Command\":\"Marco\"}", "Marco bytes");
	is_int(n, strlen(buf), "Marco: returns its length");

	m = disc_msg(POLO_DISC_REQUEST_FOR, "polousers", "");
	n = polo_disc_format(buf, sizeof buf, &m);
	is_str(buf, "{\"Command\":\"Request-For\",\"Params\":\"polousers\"}",
	       "Request-For bytes");
	is_int(n, strlen(buf), "Request-For: returns its length");

	m = disc_msg(POLO_DISC_POLO, "", "node1");
	n = polo_disc_format(buf, sizeof buf, &m);
	is_str(buf, "{\"Command\":\"Polo\",\"Params\":{\"hostname\":\"node1\"}}",
	       "Polo bytes");
	is_int(n, strlen(buf), "Polo: returns its length");

	m = disc_msg(POLO_DISC_OK, "", "");
	n = polo_disc_format(buf, sizeof buf, &m);
	is_str(buf, "{\"Command\":\"OK\",\"Params\":{}}", "OK bytes");
	is_int(n, strlen(buf), "OK: returns its length");
}

static void test_disc_format_refused(void)
{
	char buf[POLO_DGRAM_MAX];
	struct polo_disc_msg m;

	m = disc_msg(POLO_DISC_POLO, "", "bad host");
	is_int(polo_disc_format(buf, sizeof buf, &m), -EINVAL,
	       "format: hostname with a space refused");
	m = disc_msg(POLO_DISC_POLO, "", "");
	is_int(polo_disc_format(buf, sizeof buf, &m), -EINVAL,
	       "format: empty hostname refused");
	m = disc_msg(POLO_DISC_REQUEST_FOR, "a/b", "");
	is_int(polo_disc_format(buf, sizeof buf, &m), -EINVAL,
	       "format: service with '/' refused");
	m = disc_msg(POLO_DISC_REQUEST_FOR, "", "");
	is_int(polo_disc_format(buf, sizeof buf, &m), -EINVAL,
	       "format: empty service refused");
	/* a caller's field without its NUL */
	m = disc_msg(POLO_DISC_POLO, "", "");
	memset(m.hostname, 'a', sizeof m.hostname);
	is_int(polo_disc_format(buf, sizeof buf, &m), -EINVAL,
	       "format: unterminated hostname refused");
	m = disc_msg((enum polo_disc_cmd)42, "", "");
	is_int(polo_disc_format(buf, sizeof buf, &m), -EINVAL,
	       "format: unknown command refused");
}

static void test_home_format(void)
{
	char buf[POLO_REQ_MAX];
	struct polo_home_req r;
	int n;

	r = home_req("/home/alice", 1234, 1234);
	n = polo_home_req_format(buf, sizeof buf, &r);
	is_str(buf, "{\"Command\":\"Create-Home\","
	       "\"Params\":\"/home/alice,1234,1234\"}", "Create-Home bytes");
	is_int(n, strlen(buf), "Create-Home: returns its length");

	n = polo_home_reply_ok(buf, sizeof buf, NULL);
	is_str(buf, "{\"OK\":0}", "reply OK bytes");
	is_int(n, 8, "reply OK: returns its length");
	polo_home_reply_ok(buf, sizeof buf, "created");
	is_str(buf, "{\"OK\":0,\"Status\":\"created\"}", "reply OK+Status bytes");
	polo_home_reply_error(buf, sizeof buf, "no such user");
	is_str(buf, "{\"Error\":\"no such user\"}", "reply Error bytes");
	polo_home_reply_unknown(buf, sizeof buf);
	is_str(buf, "{\"Error\":1}", "reply unknown-command bytes");
	polo_home_reply_error(buf, sizeof buf, "bad\n\x1b[31mhome \xff");
	is_str(buf, "{\"Error\":\"bad??[31mhome ?\"}",
	       "reply Error: reason made printable");
	polo_home_reply_error(buf, sizeof buf, rep('e', 1000));
	is_int(strlen(buf), strlen("{\"Error\":\"\"}") + 200,
	       "reply Error: reason capped at 200");
}

static void test_home_format_refused(void)
{
	char buf[POLO_REQ_MAX];
	struct polo_home_req r;

	r = home_req("/home/../etc", 1234, 1234);
	is_int(polo_home_req_format(buf, sizeof buf, &r), -EINVAL,
	       "format: home with '..' refused");
	r = home_req("/home/a,b", 1234, 1234);
	is_int(polo_home_req_format(buf, sizeof buf, &r), -EINVAL,
	       "format: home with a comma refused");
	r = home_req("home/alice", 1234, 1234);
	is_int(polo_home_req_format(buf, sizeof buf, &r), -EINVAL,
	       "format: relative home refused");
	r = home_req("/home/alice", 4294967295UL, 1234);
	is_int(polo_home_req_format(buf, sizeof buf, &r), -EINVAL,
	       "format: uid 2^32-1 refused");
	r = home_req("/home/alice", 1234, 4294967295UL);
	is_int(polo_home_req_format(buf, sizeof buf, &r), -EINVAL,
	       "format: gid 2^32-1 refused");
	r = home_req("/home/\xff\xfe", 1234, 1234);
	is_int(polo_home_req_format(buf, sizeof buf, &r), -EINVAL,
	       "format: home not UTF-8 refused");
	r = home_req("/", 1234, 1234);
	memset(r.home + 1, 'a', 4090);
	r.home[4091] = '\0';
	is_int(polo_home_req_format(buf, sizeof buf, &r), -EMSGSIZE,
	       "format: request longer than POLO_REQ_MAX refused");
	is_int(polo_home_reply_ok(buf, sizeof buf, "bad status"), -EINVAL,
	       "format: status with a space refused");
	is_int(polo_home_reply_ok(buf, sizeof buf, ""), -EINVAL,
	       "format: empty status refused");
	is_int(polo_home_reply_error(buf, sizeof buf, NULL), -EINVAL,
	       "format: NULL reason refused");
}

/* Each formatter, given one byte less than it needs, says ENOSPC and
 * writes nothing; given exactly what it needs, writes no NUL past it. */
static void check_space(const char *name, int (*fmt)(char *, size_t,
						       const void *),
			const void *arg)
{
	char buf[POLO_REQ_MAX + 1], label[128];
	int n, i, clean = 1;

	n = fmt(buf, sizeof buf, arg);
	if (n <= 0) {
		snprintf(label, sizeof label, "%s: formats", name);
		ok(0, label);
		return;
	}
	memset(buf, CANARY, sizeof buf);
	snprintf(label, sizeof label, "%s: -ENOSPC one byte short", name);
	is_int(fmt(buf, (size_t)n - 1, arg), -ENOSPC, label);
	for (i = 0; i < (int)sizeof buf; i++)
		clean &= buf[i] == CANARY;
	snprintf(label, sizeof label, "%s: short buffer untouched", name);
	ok(clean, label);
	snprintf(label, sizeof label, "%s: exact fit", name);
	is_int(fmt(buf, (size_t)n, arg), n, label);
	snprintf(label, sizeof label, "%s: exact fit, canary intact", name);
	ok(buf[n] == CANARY, label);
	snprintf(label, sizeof label, "%s: zero length", name);
	is_int(fmt(buf, 0, arg), -ENOSPC, label);
}

static int fmt_disc(char *b, size_t l, const void *a)
{
	return polo_disc_format(b, l, a);
}

static int fmt_req(char *b, size_t l, const void *a)
{
	return polo_home_req_format(b, l, a);
}

static int fmt_ok(char *b, size_t l, const void *a)
{
	return polo_home_reply_ok(b, l, a);
}

static int fmt_error(char *b, size_t l, const void *a)
{
	return polo_home_reply_error(b, l, a);
}

static int fmt_unknown(char *b, size_t l, const void *a)
{
	(void)a;
	return polo_home_reply_unknown(b, l);
}

static void test_space(void)
{
	struct polo_disc_msg marco = disc_msg(POLO_DISC_MARCO, "", "");
	struct polo_disc_msg rf = disc_msg(POLO_DISC_REQUEST_FOR, "polousers", "");
	struct polo_disc_msg polo = disc_msg(POLO_DISC_POLO, "", "node1");
	struct polo_disc_msg okm = disc_msg(POLO_DISC_OK, "", "");
	struct polo_home_req r = home_req("/home/alice", 1234, 1234);

	check_space("Marco", fmt_disc, &marco);
	check_space("Request-For", fmt_disc, &rf);
	check_space("Polo", fmt_disc, &polo);
	check_space("OK", fmt_disc, &okm);
	check_space("Create-Home", fmt_req, &r);
	check_space("reply OK", fmt_ok, NULL);
	check_space("reply OK+Status", fmt_ok, "exists");
	check_space("reply Error", fmt_error, "no such user");
	check_space("reply unknown", fmt_unknown, NULL);
}

/* ---- round trips ---- */

static void test_round_trips(void)
{
	char buf[POLO_REQ_MAX], status[32];
	struct polo_disc_msg m, back;
	struct polo_home_req r, rback;
	int n;

	m = disc_msg(POLO_DISC_MARCO, "", "");
	n = polo_disc_format(buf, sizeof buf, &m);
	is_int(polo_disc_parse(buf, (size_t)n, &back, why, sizeof why), 0,
	       "round trip Marco");
	is_int(back.cmd, POLO_DISC_MARCO, "round trip Marco: command");

	m = disc_msg(POLO_DISC_REQUEST_FOR, "polousers", "");
	n = polo_disc_format(buf, sizeof buf, &m);
	is_int(polo_disc_parse(buf, (size_t)n, &back, why, sizeof why), 0,
	       "round trip Request-For");
	is_int(back.cmd, POLO_DISC_REQUEST_FOR, "round trip Request-For: command");
	is_str(back.service, "polousers", "round trip Request-For: service");

	m = disc_msg(POLO_DISC_POLO, "", rep('h', POLO_HOSTNAME_MAX));
	n = polo_disc_format(buf, sizeof buf, &m);
	is_int(polo_disc_parse(buf, (size_t)n, &back, why, sizeof why), 0,
	       "round trip Polo (253-byte hostname)");
	is_int(back.cmd, POLO_DISC_POLO, "round trip Polo: command");
	is_str(back.hostname, m.hostname, "round trip Polo: hostname");

	m = disc_msg(POLO_DISC_OK, "", "");
	n = polo_disc_format(buf, sizeof buf, &m);
	is_int(polo_disc_parse(buf, (size_t)n, &back, why, sizeof why), 0,
	       "round trip OK");
	is_int(back.cmd, POLO_DISC_OK, "round trip OK: command");

	r = home_req("/srv/home/a b/élan", 0, 4294967294UL);
	n = polo_home_req_format(buf, sizeof buf, &r);
	is_int(polo_home_req_parse(buf, (size_t)n, &rback, why, sizeof why), 0,
	       "round trip Create-Home");
	is_str(rback.home, r.home, "round trip Create-Home: home");
	is_int(rback.uid, 0, "round trip Create-Home: uid");
	is_int(rback.gid, 4294967294UL, "round trip Create-Home: gid");

	n = polo_home_reply_ok(buf, sizeof buf, "exists");
	is_int(polo_home_reply_parse(buf, (size_t)n, status, sizeof status,
				     why, sizeof why), 0, "round trip reply OK");
	is_str(status, "exists", "round trip reply OK: status");
	n = polo_home_reply_error(buf, sizeof buf, "home mismatch");
	is_int(polo_home_reply_parse(buf, (size_t)n, status, sizeof status,
				     why, sizeof why), -EPROTO,
	       "round trip reply Error");
	is_str(why, "home mismatch", "round trip reply Error: reason");
	n = polo_home_reply_unknown(buf, sizeof buf);
	is_int(polo_home_reply_parse(buf, (size_t)n, status, sizeof status,
				     why, sizeof why), -EPROTO,
	       "round trip reply unknown");
	is_str(why, "error 1", "round trip reply unknown: reason");
}

/* ---- what the original sends ---- */

static void test_original_wire(void)
{
	struct polo_disc_msg m;

	is_int(disc("{\"Command\": \"Marco\"}", &m), 0, "original Marco");
	is_int(m.cmd, POLO_DISC_MARCO, "original Marco: command");
	is_int(disc("{\"Command\": \"Discover\"}", &m), 0, "Discover");
	is_int(m.cmd, POLO_DISC_MARCO, "Discover is Marco");

	is_int(disc("{\"Command\": \"Request-For\", \"Params\": \"polousers\"}",
		    &m), 0, "original Request-For");
	is_int(m.cmd, POLO_DISC_REQUEST_FOR, "original Request-For: command");
	is_str(m.service, "polousers", "original Request-For: service");
	is_int(disc("{\"Command\":\"Request-for\",\"Params\":\"polousers\"}",
		    &m), 0, "Request-for");
	is_int(m.cmd, POLO_DISC_REQUEST_FOR, "Request-for is Request-For");

	is_int(disc("{\"Command\": \"Polo\", \"Params\": \"{'hostname': 'martin'}\"}",
		    &m), 0, "original Polo, Params a Python repr");
	is_int(m.cmd, POLO_DISC_POLO, "original Polo: command");
	is_str(m.hostname, "martin", "original Polo: hostname");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":{\"hostname\":\"node1\"}}",
		    &m), 0, "Polo, Params an object");
	is_str(m.hostname, "node1", "Polo object: hostname");

	is_int(disc("{\"Command\": \"OK\", \"Params\": {}}", &m), 0,
	       "original OK");
	is_int(m.cmd, POLO_DISC_OK, "original OK: command");
	is_int(disc("{\"Command\": \"OK\"}", &m), 0, "OK without Params");
	is_int(disc("{\"Command\": \"OK\", \"Params\": \"{}\"}", &m), 0,
	       "OK with Params a string");
	is_int(disc("{\"Command\": \"Marco\", \"Extra\": [1, {\"x\": null}]}",
		    &m), 0, "unknown top-level keys ignored");
	is_int(disc(" \n{\"Command\": \"Marco\"}\r\n ", &m), 0,
	       "whitespace around the object accepted");
}

static void test_python_repr(void)
{
	struct polo_disc_msg m;

	is_int(disc("{\"Command\":\"Polo\",\"Params\":\"{'hostname':'n1'}\"}",
		    &m), 0, "repr without spaces");
	is_str(m.hostname, "n1", "repr without spaces: hostname");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":\" { 'hostname' :  'n2' } \"}",
		    &m), 0, "repr with extra spaces");
	is_str(m.hostname, "n2", "repr with extra spaces: hostname");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":\"{u'hostname': u'n3'}\"}",
		    &m), 0, "Python 2 unicode repr");
	is_str(m.hostname, "n3", "Python 2 repr: hostname");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":"
		    "\"{'port': 1337, 'hostname': 'n4', 'up': True, 'x': None}\"}",
		    &m), 0, "repr with other pairs");
	is_str(m.hostname, "n4", "repr with other pairs: hostname");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":"
		    "\"{\\\"hostname\\\": \\\"n5\\\"}\"}", &m), 0,
	       "Params a JSON text in a string");
	is_str(m.hostname, "n5", "JSON text in a string: hostname");

	is_int(disc("{\"Command\":\"Polo\",\"Params\":\"{'hostname': 'a', "
		    "'hostname': 'b'}\"}", &m), -EINVAL,
	       "repr with two hostnames refused");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":\"{'hostname': 'x'} y\"}",
		    &m), -EINVAL, "repr with trailing bytes refused");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":\"{'hostname': 'x'\"}",
		    &m), -EINVAL, "repr without '}' refused");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":\"{'hostname': 'a\\\\'b'}\"}",
		    &m), -EINVAL, "repr with a backslash refused");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":\"{'hostname': 5}\"}",
		    &m), -EINVAL, "repr with a bare hostname refused");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":\"{'name': 'x'}\"}",
		    &m), -EINVAL, "repr without hostname refused");
	like(why, "hostname", "repr without hostname: reason");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":\"{}\"}", &m), -EINVAL,
	       "empty repr dict refused");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":\"__import__('os')\"}",
		    &m), -EINVAL, "Python code refused");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":\"{'hostname': 'a b'}\"}",
		    &m), -EINVAL, "repr hostname with a space refused");
	like(why, "invalid hostname 'a b'", "repr bad hostname: reason");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":\"[1]\"}", &m), -EINVAL,
	       "Params a JSON array in a string refused");
}

/* ---- discovery refusals ---- */

static void test_disc_refused(void)
{
	struct polo_disc_msg m, before;
	char big[POLO_DGRAM_MAX + 2];

	m = disc_msg(POLO_DISC_OK, "keep", "keep");
	before = m;
	is_int(disc("not json", &m), -EINVAL, "not JSON refused");
	like(why, "not JSON", "not JSON: reason");
	ok(memcmp(&m, &before, sizeof m) == 0, "refused: struct untouched");
	is_int(disc("{\"Command\": \"Marco\"} x", &m), -EINVAL,
	       "trailing garbage refused");
	like(why, "not JSON", "trailing garbage: reason");
	is_int(disc("{\"Command\": \"Marco\"}{}", &m), -EINVAL,
	       "two objects refused");
	is_int(disc("[\"Marco\"]", &m), -EINVAL, "JSON array refused");
	like(why, "not a JSON object", "array: reason");
	is_int(disc("\"Marco\"", &m), -EINVAL, "JSON string refused");
	is_int(disc("{\"Command\": 1}", &m), -EINVAL, "Command a number refused");
	like(why, "Command", "Command a number: reason");
	is_int(disc("{\"Command\": [\"Marco\"]}", &m), -EINVAL,
	       "Command an array refused");
	is_int(disc("{}", &m), -EINVAL, "no Command refused");
	is_int(disc("{\"Command\": \"Marco\", \"Command\": \"Polo\"}", &m),
	       -EINVAL, "duplicate keys refused");
	like(why, "duplicate", "duplicate keys: reason");
	is_int(disc("{\"Command\": \"Ma\\u0000rco\"}", &m), -EINVAL,
	       "\\u0000 in a string refused");
	ok(why[0] != '\0', "\\u0000: a reason");
	is_int(polo_disc_parse("{\"Command\": \"Marco\"}\0", 21, &m, why,
			       sizeof why), -EINVAL, "NUL byte after the object refused");
	like(why, "NUL", "NUL byte: reason");
	is_int(disc("{\"Command\": \"Marco\xff\"}", &m), -EINVAL,
	       "invalid UTF-8 refused");

	memset(big, ' ', sizeof big);
	memcpy(big, "{\"Command\": \"Marco\"}", 20);
	is_int(polo_disc_parse(big, POLO_DGRAM_MAX, &m, why, sizeof why), 0,
	       "4096 bytes accepted");
	is_int(polo_disc_parse(big, POLO_DGRAM_MAX + 1, &m, why, sizeof why),
	       -EINVAL, "4097 bytes refused");
	like(why, "4097", "oversized: reason");
	is_int(polo_disc_parse(big, 0, &m, why, sizeof why), -EINVAL,
	       "zero length refused");
	like(why, "empty", "zero length: reason");
	is_int(polo_disc_parse(NULL, 0, &m, why, sizeof why), -EINVAL,
	       "NULL buffer refused");

	is_int(disc("{\"Command\": \"Polo\", \"Params\": {\"hostname\": \"a b\"}}",
		    &m), -EINVAL, "hostname with a space refused");
	like(why, "invalid hostname", "hostname with a space: reason");
	is_int(disc(cat3("{\"Command\":\"Polo\",\"Params\":{\"hostname\":\"",
		    rep('a', 254), "\"}}"), &m), -EINVAL, "254-byte hostname refused");
	like(why, "invalid hostname", "254-byte hostname: reason");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":{\"hostname\":\"\"}}", &m),
	       -EINVAL, "empty hostname refused");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":{\"hostname\":5}}", &m),
	       -EINVAL, "hostname a number refused");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":{\"hostname\":\"a\\u001b\"}}",
		    &m), -EINVAL, "hostname with ESC refused");
	ok(strchr(why, 0x1b) == NULL, "hostname with ESC: reason printable");
	is_int(disc("{\"Command\":\"Polo\"}", &m), -EINVAL,
	       "Polo without Params refused");
	is_int(disc("{\"Command\":\"Polo\",\"Params\":[\"x\"]}", &m), -EINVAL,
	       "Polo Params an array refused");

	is_int(disc("{\"Command\": \"Request-For\", \"Params\": \"a/b\"}", &m),
	       -EINVAL, "service with '/' refused");
	like(why, "invalid service", "service with '/': reason");
	is_int(disc("{\"Command\": \"Request-For\"}", &m), -EINVAL,
	       "Request-For without Params refused");
	like(why, "Params", "Request-For without Params: reason");
	is_int(disc("{\"Command\": \"Request-For\", \"Params\": {}}", &m),
	       -EINVAL, "Request-For with Params an object refused");
	is_int(disc(cat3("{\"Command\":\"Request-For\",\"Params\":\"",
		    rep('s', 65), "\"}"), &m), -EINVAL, "65-byte service refused");
	is_int(disc(cat3("{\"Command\":\"Request-For\",\"Params\":\"",
		    rep('s', 64), "\"}"), &m), 0, "64-byte service accepted");

	is_int(disc("{\"Command\": \"OK\", \"Params\": null}", &m), -EINVAL,
	       "OK with Params null refused");
	is_int(disc("{\"Command\": \"OK\", \"Params\": 3}", &m), -EINVAL,
	       "OK with Params a number refused");
	is_int(disc("{\"Command\": \"marco\"}", &m), -EINVAL,
	       "Command is case-sensitive");
	is_int(disc("{\"Command\": \"Create-Home\"}", &m), -EINVAL,
	       "unknown discovery command refused");
	is_str(why, "unknown command 'Create-Home'", "unknown command: reason");
	is_int(disc(cat3("{\"Command\": \"\\n", rep('X', 100), "\"}"), &m), -EINVAL, "long unknown command refused");
	is_int(strlen(why), strlen("unknown command ''") + 40,
	       "unknown command: quoted at most 40 bytes");
	ok(strchr(why, '\n') == NULL, "unknown command: reason printable");
	is_int(polo_disc_parse("x", 1, &m, NULL, 0), -EINVAL,
	       "no why buffer: still refused");
}

/* ---- Create-Home ---- */

static void test_home_parse(void)
{
	struct polo_home_req r;

	is_int(req("{\"Command\":\"Create-Home\",\"Params\":\"/home/alice,1234,1234\"}",
		   &r), 0, "original Create-Home");
	is_str(r.home, "/home/alice", "Create-Home: home");
	is_int(r.uid, 1234, "Create-Home: uid");
	is_int(r.gid, 1234, "Create-Home: gid");
	is_int(req("{\"Command\": \"Create-Home\", \"Params\": \"/h/..x/.y,0,4294967294\"}",
		   &r), 0, "names starting with dots, uid 0, gid 2^32-2");
	is_str(r.home, "/h/..x/.y", "dotted names: home");
	is_int(r.gid, 4294967294UL, "gid 2^32-2");
	is_int(req("{\"Command\":\"Create-Home\",\"Params\":\"/a,0000001000,1\"}",
		   &r), 0, "10 digits with leading zeros");
	is_int(r.uid, 1000, "leading zeros: value");
}

static void home_refused(const char *params, const char *name)
{
	struct polo_home_req r, before;
	char buf[8192], label[160];

	memset(&r, 0x5a, sizeof r);
	before = r;
	snprintf(buf, sizeof buf, "{\"Command\":\"Create-Home\",\"Params\":\"%s\"}",
		 params);
	is_int(req(buf, &r), -EINVAL, name);
	snprintf(label, sizeof label, "%s: a reason", name);
	ok(why[0] != '\0', label);
	snprintf(label, sizeof label, "%s: struct untouched", name);
	ok(memcmp(&r, &before, sizeof r) == 0, label);
}

static void test_home_refused(void)
{
	struct polo_home_req r;

	home_refused("/home/alice,1234", "one comma refused");
	home_refused("/home/alice,1234,1234,5", "three commas refused");
	home_refused("/home/a,lice,1234,1234", "comma in home refused");
	home_refused("home/alice,1234,1234", "relative home refused");
	home_refused(",1234,1234", "empty home refused");
	home_refused("/,1234,1234", "home '/' refused");
	home_refused("/home/../etc,1234,1234", "/home/../etc refused");
	home_refused("/home/./x,1234,1234", "/home/./x refused");
	home_refused("/home/x/..,1234,1234", "trailing /.. refused");
	home_refused("/home/x/.,1234,1234", "trailing /. refused");
	home_refused("//etc,1234,1234", "//etc refused");
	home_refused("/home//x,1234,1234", "// inside refused");
	home_refused("/home/x/,1234,1234", "trailing '/' refused");
	home_refused("/home/a\\u0001b,1234,1234", "control char in home refused");
	home_refused("/home/a\\tb,1234,1234", "tab in home refused");
	home_refused("/home/a\\u007fb,1234,1234", "DEL in home refused");
	home_refused("/home/alice,-1,1234", "uid -1 refused");
	home_refused("/home/alice,+5,1234", "uid +5 refused");
	home_refused("/home/alice, 5,1234", "uid ' 5' refused");
	home_refused("/home/alice,5 ,1234", "uid '5 ' refused");
	home_refused("/home/alice,4294967295,1234", "uid 4294967295 refused");
	home_refused("/home/alice,12345678901,1234", "uid of 11 digits refused");
	home_refused("/home/alice,00000000001,1234", "11 digits, leading zeros, refused");
	home_refused("/home/alice,0x10,1234", "uid 0x10 refused");
	home_refused("/home/alice,,1234", "empty uid refused");
	home_refused("/home/alice,1234,", "gid missing refused");
	home_refused("/home/alice,1234,-0", "gid -0 refused");
	home_refused("/home/alice,1234,99999999999999999999999",
		     "gid overflowing refused");

	is_int(req(cat3("{\"Command\":\"Create-Home\",\"Params\":\"/",
			rep('p', PATH_MAX), ",1,1\"}"), &r), -EINVAL, "request over 4096 bytes refused");

	is_int(req("{\"Command\":\"Create-Home\"}", &r), -EINVAL,
	       "Create-Home without Params refused");
	like(why, "Params", "without Params: reason");
	is_int(req("{\"Command\":\"Create-Home\",\"Params\":[\"/home/a\",1,1]}",
		   &r), -EINVAL, "Params an array refused");
	is_int(req("{\"Command\":\"Create-Home\",\"Params\":null}", &r), -EINVAL,
	       "Params null refused");
	is_int(req("{\"Params\":\"/home/alice,1,1\"}", &r), -EINVAL,
	       "no Command refused");
	is_int(req("{\"Command\":7,\"Params\":\"/home/alice,1,1\"}", &r),
	       -EINVAL, "Command a number refused");
	is_int(req("{\"Command\":\"Delete-Home\",\"Params\":\"/home/alice,1,1\"}",
		   &r), -ENOTSUP, "unknown Command is ENOTSUP");
	like(why, "unknown command", "unknown Command: reason");
	is_int(req("{\"Command\":\"Create-Home\",\"Params\":\"/a,1,1\","
		   "\"Params\":\"/b,1,1\"}", &r), -EINVAL,
	       "duplicate Params refused");
	is_int(req("{\"Command\":\"Create-Home\",\"Params\":\"/a\\u0000,1,1\"}",
		   &r), -EINVAL, "\\u0000 in Params refused");
	is_int(req("[\"Create-Home\"]", &r), -EINVAL, "array refused");
	is_int(polo_home_req_parse("{}", 0, &r, why, sizeof why), -EINVAL,
	       "zero length refused");
}

/* ---- replies ---- */

static void test_replies(void)
{
	char status[16];

	snprintf(status, sizeof status, "junk");
	is_int(reply("{\"OK\": 0}", status, sizeof status), 0, "original OK reply");
	is_str(status, "", "OK reply: status empty");
	is_int(reply("{\"OK\": 0, \"Status\": \"created\"}", status,
		     sizeof status), 0, "OK reply with Status");
	is_str(status, "created", "OK reply: status copied");
	is_int(reply("{\"OK\": 0, \"Status\": 5}", status, sizeof status), 0,
	       "OK reply with a non-string Status");
	is_str(status, "", "non-string Status: empty");
	is_int(reply("{\"OK\": 0, \"Status\": \"a\\nb\\u001bcdefghijklmnopq\"}",
		     status, sizeof status), 0, "OK reply with a hostile Status");
	is_str(status, "a?b?cdefghijklm", "hostile Status: printable, capped");
	is_int(reply("{\"OK\": 0}", NULL, 0), 0, "OK reply, no status buffer");

	is_int(reply("{\"Error\": 1}", status, sizeof status), -EPROTO,
	       "original Error reply");
	is_str(why, "error 1", "Error 1: reason");
	is_int(reply("{\"Error\": \"no such user\"}", status, sizeof status),
	       -EPROTO, "Error string reply");
	is_str(why, "no such user", "Error string: reason");
	is_int(reply("{\"Error\": \"a\\u001b[2Jb\\n\"}", status, sizeof status),
	       -EPROTO, "Error with escapes");
	is_str(why, "a?[2Jb?", "Error with escapes: reason printable");
	is_int(reply("{\"Error\": null}", status, sizeof status), -EPROTO,
	       "Error null");
	like(why, "not a reply", "Error null: reason");

	is_int(reply("{\"OK\": 1}", status, sizeof status), -EPROTO,
	       "OK 1 is a failure");
	like(why, "not a reply", "OK 1: reason");
	is_int(reply("{\"OK\": \"0\"}", status, sizeof status), -EPROTO,
	       "OK \"0\" is a failure");
	is_int(reply("{\"OK\": 0.0}", status, sizeof status), -EPROTO,
	       "OK 0.0 is a failure");
	is_int(reply("{\"OK\": false}", status, sizeof status), -EPROTO,
	       "OK false is a failure");
	is_int(reply("{\"OK\": 0, \"Error\": \"x\"}", status, sizeof status),
	       -EPROTO, "OK and Error is a failure");
	is_int(reply("{}", status, sizeof status), -EPROTO, "empty object");
	like(why, "not a reply", "empty object: reason");
	is_int(reply("garbage", status, sizeof status), -EPROTO, "garbage");
	like(why, "not a reply", "garbage: reason");
	is_int(reply("{\"OK\": 0} trailing", status, sizeof status), -EPROTO,
	       "trailing bytes after OK");
	is_int(reply("{\"OK\": 0, \"OK\": 1}", status, sizeof status), -EPROTO,
	       "duplicate OK");
	is_int(reply("[0]", status, sizeof status), -EPROTO, "array reply");
	is_int(polo_home_reply_parse("", 0, status, sizeof status, why,
				     sizeof why), -EPROTO, "empty reply");
	like(why, "not a reply", "empty reply: reason");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_disc_format();
	test_disc_format_refused();
	test_home_format();
	test_home_format_refused();
	test_space();
	test_round_trips();
	test_original_wire();
	test_python_repr();
	test_disc_refused();
	test_home_parse();
	test_home_refused();
	test_replies();
	return tap_done();
}
