/* lib/conf.c: defaults, the INI file (with file:line errors), PAM arguments.
 * Runs as root and non-root: the temp dir and its files belong to the
 * running user, whom polo_conf_load trusts (geteuid()). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "tap.h"
#include "testlog.h"

static char dir[64];

/* An exact LOG_ERR message "FILE:LINE: reason". */
static const char *err_at(const char *path, int line, const char *reason)
{
	return fmt("<%d>%s:%d: %s\n", LOG_ERR, path, line, reason);
}

/* Each call gets its own slot: paths outlive fmt()'s short ring. */
static const char *path_of(const char *name)
{
	static char paths[64][128];
	static int n;
	int w;

	if (n == 64)
		goto bail;
	w = snprintf(paths[n], sizeof paths[n], "%s/%s", dir, name);
	if (w < 0 || (size_t)w >= sizeof paths[n])
		goto bail;
	return paths[n++];
bail:
	printf("Bail out! path_of(%s)\n", name);
	exit(255);
}

static const char *write_filen(const char *name, const char *data, size_t len,
			       mode_t mode)
{
	const char *p = path_of(name);
	FILE *f = fopen(p, "w");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0 ||
	    chmod(p, mode) != 0) {
		printf("Bail out! cannot write %s\n", p);
		exit(255);
	}
	return p;
}

static const char *write_file(const char *name, const char *data)
{
	return write_filen(name, data, strlen(data), 0644);
}

static int load(struct polo_conf *c, const char *path)
{
	polo_conf_defaults(c);
	cap_reset();
	return polo_conf_load(c, path, &lg);
}

static void cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d) {
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				if (unlinkat(dirfd(d), e->d_name, 0) < 0)
					unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
		closedir(d);
	}
	rmdir(dir);
}

static void test_defaults(void)
{
	struct polo_conf c;

	memset(&c, 0x5a, sizeof c);
	polo_conf_defaults(&c);
	is_str(c.conf, "", "default: no config read");
	is_str(c.hookdir, POLO_DEFAULT_HOOKDIR, "default hookdir");
	is_str(c.statedir, POLO_DEFAULT_STATEDIR, "default statedir");
	is_str(c.tmphome, "", "default: tmphome off");
	is_str(c.skel, POLO_DEFAULT_SKEL, "default skel");
	is_str(c.optin, "", "default: no opt-in");
	is_str(c.runner, POLO_DEFAULT_RUNNER, "default runner");
	is_int(c.umask, 0077, "default umask");
	is_int(c.timeout, 15, "default timeout");
	is_int(c.batch_timeout, 300, "default batch_timeout");
	is_int(c.onerr, POLO_ONERR_SUCCEED, "default onerr");
	ok(!c.debug && !c.quiet && !c.bad, "default: not debug, quiet or bad");
}

static void test_all_keys(void)
{
	struct polo_conf c;
	const char *p = write_file("all.conf",
		"; every key\n"
		"# comment\n"
		"\n"
		"[hooks]\n"
		"timeout = 20\n"
		"batch_timeout=600 ; inline comment\n"
		"onerr = fail\n"
		"optin = .session\n"
		"hookdir = /srv/hooks\n"
		"debug = yes\n"
		"quiet = on\n"
		"[session]\n"
		"statedir = /run/polo-test\n"
		"[home]\n"
		"tmphome = /tmphome\n"
		"skel = /etc/skel-lab\r\n"
		"  umask = 027\n");

	is_int(load(&c, p), 0, "all keys: load returns 0");
	is_int(cap.n, 0, "all keys: nothing logged");
	is_str(c.conf, p, "all keys: c->conf is the file read");
	is_int(c.timeout, 20, "timeout");
	is_int(c.batch_timeout, 600, "batch_timeout, inline comment stripped");
	is_int(c.onerr, POLO_ONERR_FAIL, "onerr = fail");
	is_str(c.optin, ".session", "optin");
	is_str(c.hookdir, "/srv/hooks", "hookdir");
	ok(c.debug, "debug = yes");
	ok(c.quiet, "quiet = on");
	is_str(c.statedir, "/run/polo-test", "statedir");
	is_str(c.tmphome, "/tmphome", "tmphome");
	is_str(c.skel, "/etc/skel-lab", "skel, CRLF line end");
	is_int(c.umask, 027, "umask, indented key line");
	is_str(c.runner, POLO_DEFAULT_RUNNER, "runner is not a file key");
	ok(!c.bad, "all keys: not bad");
}

static void test_bad_lines(void)
{
	struct polo_conf c;
	const char *p = write_file("bad.conf",
		"timeout = 7\n"			/* 1 */
		"[hooks]\n"			/* 2 */
		"timeot = 5\n"			/* 3 */
		"timeout = abc\n"		/* 4 */
		"batch_timeout = 60\n"		/* 5 */
		"[foo]\n"			/* 6 */
		"bar = 1\n"			/* 7: reported at 6 only */
		"[home]\n"			/* 8 */
		"umask = 8\n"			/* 9 */
		"this is not a pair\n"		/* 10 */
		"umask = 027\n"			/* 11 */
		"[tls]\n"			/* 12 */
		"cafile = /etc/ca.pem\n"	/* 13 */
		"[hooks] timeout = 9\n"		/* 14 */
		"onerr = maybe\n"		/* 15 */
		"debug = perhaps\n"		/* 16 */
		"hookdir = relative/dir\n"	/* 17 */
		"optin = a/b\n"			/* 18 */
		"timeout = 0\n"			/* 19 */
		"timeout = 86401\n"		/* 20 */
		"[home\n"			/* 21 */
		"skel = /etc/skel2\n");		/* 22: still [hooks] */

	is_int(load(&c, p), -EINVAL, "bad lines: -EINVAL");
	ok(c.bad, "bad lines: c->bad set");
	is_str(c.conf, p, "bad lines: file still recorded as read");
	like(cap.buf, err_at(p, 1, "key 'timeout' outside any section"),
	     "key before any section");
	like(cap.buf, err_at(p, 3, "unknown key 'timeot' in [hooks]"),
	     "unknown key");
	like(cap.buf, err_at(p, 4, "bad value for timeout: 'abc' (want 1..86400)"),
	     "bad timeout");
	like(cap.buf, err_at(p, 6, "unknown section [foo]"), "unknown section");
	ok(!strstr(cap.buf, fmt("%s:7:", p)), "keys of an unknown section not reported again");
	like(cap.buf, err_at(p, 9, "bad value for umask: '8' (want octal 0..0777)"),
	     "bad umask");
	like(cap.buf, err_at(p, 10, "syntax error: expected 'key = value'"),
	     "line without '='");
	like(cap.buf, err_at(p, 13, "unknown key 'cafile' in [tls]"),
	     "cluster section: an unknown key is reported");
	like(cap.buf, err_at(p, 14, "text after section header"),
	     "text after a section header");
	like(cap.buf, err_at(p, 15, "bad value for onerr: 'maybe' (want succeed or fail)"),
	     "bad onerr");
	like(cap.buf, err_at(p, 16, "bad value for debug: 'perhaps' (want yes or no)"),
	     "bad bool");
	like(cap.buf, err_at(p, 17, "bad value for hookdir: 'relative/dir' (want an absolute path)"),
	     "relative hookdir");
	like(cap.buf, err_at(p, 18, "bad value for optin: 'a/b' (want a file name, or empty for none)"),
	     "optin not a file name");
	like(cap.buf, err_at(p, 19, "bad value for timeout: '0' (want 1..86400)"),
	     "timeout 0");
	like(cap.buf, err_at(p, 20, "bad value for timeout: '86401' (want 1..86400)"),
	     "timeout 86401");
	like(cap.buf, err_at(p, 21, "syntax error: unterminated section header"),
	     "unterminated section header");
	like(cap.buf, err_at(p, 22, "unknown key 'skel' in [hooks]"),
	     "after a broken header the previous section goes on (as inih)");
	is_int(cap.n, 16, "bad lines: one message per bad line, nothing else");
	is_int(c.timeout, 15, "rejected timeouts leave the default");
	is_int(c.batch_timeout, 60, "good line between bad ones applies");
	is_int(c.umask, 027, "good umask after a bad one applies");
	is_int(c.onerr, POLO_ONERR_SUCCEED, "bad onerr leaves the default");
	is_str(c.hookdir, POLO_DEFAULT_HOOKDIR, "bad hookdir leaves the default");
	is_str(c.optin, "", "bad optin leaves the default");
	is_str(c.skel, POLO_DEFAULT_SKEL, "misplaced skel not applied");
}

static void test_long_lines(void)
{
	struct polo_conf c;
	char text[2048], xs[301];
	const char *p;
	int n;

	memset(xs, 'x', 300);
	xs[300] = '\0';
	/* Line 2 would end in "timeout = 9" if it were split at 200 bytes. */
	n = snprintf(text, sizeof text,
		     "[hooks]\n"
		     "#%.198stimeout = 9\n"
		     "batch_timeout = 7\n"
		     "optin = %s\n"
		     "timeout = 8\n"
		     "hookdir = /%.150s\n",
		     xs, xs, xs);
	ok(n > 0 && (size_t)n < sizeof text, "long lines: test file built");
	p = write_file("long.conf", text);
	is_int(load(&c, p), -EINVAL, "long lines: -EINVAL");
	like(cap.buf, err_at(p, 2, "line too long"), "long line 2 reported at its own line");
	like(cap.buf, err_at(p, 4, "line too long"), "300-byte line 4 reported at its own line");
	is_int(cap.n, 2, "long lines: nothing else reported (no split halves)");
	is_int(c.timeout, 8, "the line after a long one applies as the next line");
	is_int(c.batch_timeout, 7, "batch_timeout between long lines applies");
	is_str(c.optin, "", "the long optin is not applied");
	ok(strlen(c.hookdir) == 151, "a 161-byte line is fine");
}

static void test_continuation(void)
{
	struct polo_conf c;
	const char *p = write_file("cont.conf",
		"[hooks]\n"
		"optin = a\n"
		"  b\n"
		"\ttimeout = 9\n");

	is_int(load(&c, p), -EINVAL, "continuation: -EINVAL");
	like(cap.buf, err_at(p, 3, "syntax error: expected 'key = value'"),
	     "an indented line is not a continuation");
	is_int(cap.n, 1, "continuation: one message");
	is_str(c.optin, "a", "optin not merged with the next line");
	is_int(c.timeout, 9, "an indented key line is a key line");
	ok(c.bad, "continuation: bad");
}

static void test_misc_file(void)
{
	struct polo_conf c;
	static const char nul[] = "[hooks]\ntimeout = 5\0x\nbatch_timeout = 9\n";
	const char *p;

	p = write_file("dup.conf", "[hooks]\ntimeout = 5\n[home]\n[hooks]\ntimeout = 6\n");
	is_int(load(&c, p), 0, "duplicate key: no error");
	is_int(c.timeout, 6, "duplicate key: the later wins");

	p = write_file("empty.conf", "");
	is_int(load(&c, p), 0, "empty file: 0");
	is_str(c.conf, p, "empty file: recorded");

	p = write_file("bom.conf", "\xEF\xBB\xBF[hooks]\ntimeout = 4\n");
	is_int(load(&c, p), 0, "UTF-8 BOM: 0");
	is_int(c.timeout, 4, "UTF-8 BOM: applies");

	p = write_filen("nul.conf", nul, sizeof nul - 1, 0644);
	is_int(load(&c, p), -EINVAL, "NUL byte: -EINVAL");
	like(cap.buf, err_at(p, 2, "NUL byte in line"), "NUL byte reported at its line");
	is_int(c.timeout, 15, "NUL line not applied");
	is_int(c.batch_timeout, 9, "line after a NUL line applies");

	p = write_file("tmp.conf", "[home]\ntmphome = /th\ntmphome =\n");
	is_int(load(&c, p), 0, "tmphome empty in the file: 0");
	is_str(c.tmphome, "", "tmphome empty in the file: off");
}

static void test_unsafe(void)
{
	struct polo_conf c, ref;
	const char *p;
	int r;

	polo_conf_defaults(&ref);
	ref.timeout = 99;
	c = ref;
	cap_reset();
	p = path_of("missing.conf");
	is_int(polo_conf_load(&c, p, &lg), -ENOENT, "missing file: -ENOENT");
	is_int(cap.n, 0, "missing file: nothing logged");
	ok(memcmp(&c, &ref, sizeof c) == 0, "missing file: c untouched");

	p = write_filen("gw.conf", "[hooks]\ntimeout = 5\n", 20, 0664);
	c = ref;
	cap_reset();
	r = polo_conf_load(&c, p, &lg);
	ok(r < 0 && r != -ENOENT, "group-writable: refused");
	like(cap.buf, fmt("<%d>config %s refused: ", LOG_ERR, p), "group-writable: logged");
	like(cap.buf, "writable", "group-writable: reason says writable");
	ok(memcmp(&c, &ref, sizeof c) == 0, "group-writable: c untouched");

	p = write_filen("ow.conf", "[hooks]\ntimeout = 5\n", 20, 0646);
	c = ref;
	cap_reset();
	r = polo_conf_load(&c, p, &lg);
	ok(r < 0 && r != -ENOENT, "other-writable: refused");
	ok(memcmp(&c, &ref, sizeof c) == 0, "other-writable: c untouched");

	p = path_of("adir");
	mkdir(p, 0755);
	c = ref;
	cap_reset();
	r = polo_conf_load(&c, p, &lg);
	ok(r < 0 && r != -ENOENT, "a directory: refused");
	ok(memcmp(&c, &ref, sizeof c) == 0, "a directory: c untouched");
}

static void test_symlink(void)
{
	struct polo_conf c;

	write_file("target.conf", "[hooks]\ntimeout = 42\n");
	if (symlink("target.conf", path_of("link.conf")) < 0) {
		printf("Bail out! symlink: %s\n", strerror(errno));
		exit(255);
	}
	is_int(load(&c, path_of("link.conf")), 0, "symlink to a trusted file: 0");
	is_int(c.timeout, 42, "symlink to a trusted file: read");
}

static void test_root_only(void)
{
	struct polo_conf c, ref;
	const char *p, *args[2];
	int r;

	if (geteuid() != 0) {
		for (r = 0; r < 4; r++)
			printf("ok %d # SKIP needs root\n", ++tap_n);
		return;
	}
	p = write_file("other.conf", "[hooks]\ntimeout = 5\n");
	if (chown(p, 12345, 12345) < 0) {
		printf("Bail out! chown: %s\n", strerror(errno));
		exit(255);
	}
	polo_conf_defaults(&ref);
	c = ref;
	cap_reset();
	r = polo_conf_load(&c, p, &lg);
	ok(r < 0 && r != -ENOENT, "owned by another uid: refused");
	like(cap.buf, fmt("<%d>config %s refused: ", LOG_ERR, p), "other owner: logged");
	ok(memcmp(&c, &ref, sizeof c) == 0, "other owner: c untouched");

	args[0] = fmt("conf=%s", p);
	args[1] = "onerr=fail";
	cap_reset();
	polo_conf_from_args(&c, 2, args, &lg);
	ok(c.bad && c.timeout == 15 && c.onerr == POLO_ONERR_FAIL && !c.conf[0],
	   "conf= unsafe: bad, file not used, args still apply");
}

static void test_args(void)
{
	struct polo_conf c;
	const char *a1[] = { "frobnicate", "debug=yes", "conf=/nowhere", "timeout=30" };
	const char *a2[] = { "timeout=abc", "batch_timeout=86400", "timeout=0" };
	const char *a3[] = { "umask=077" }, *a4[] = { "umask=0027" };
	const char *a5[] = { "umask=8", "umask=01000" };
	const char *a6[] = { "tmphome=/th", "skel=/sk", "statedir=/st",
			     "hookdir=/hk", "runner=/rn", "optin=.session",
			     "onerr=fail", "debug", "quiet", "tmphome=" };
	const char *a7[] = { "hookdir=rel", "optin=a/b", "onerr=", "=x", "timeout" };

	polo_conf_defaults(&c);
	cap_reset();
	polo_conf_apply_args(&c, 4, a1, &lg);
	like(cap.buf, fmt("<%d>unknown option: frobnicate\n", LOG_ERR), "unknown argument logged");
	like(cap.buf, fmt("<%d>unknown option: debug=yes\n", LOG_ERR), "debug=yes is unknown");
	is_int(cap.n, 2, "conf= ignored by apply_args");
	ok(!c.bad, "unknown arguments do not make it bad");
	is_int(c.timeout, 30, "timeout= applies");

	polo_conf_defaults(&c);
	cap_reset();
	polo_conf_apply_args(&c, 3, a2, &lg);
	like(cap.buf, fmt("<%d>bad value for timeout: 'abc' (want 1..86400)\n", LOG_ERR),
	     "bad timeout= logged");
	like(cap.buf, fmt("<%d>bad value for timeout: '0' (want 1..86400)\n", LOG_ERR),
	     "timeout=0 logged");
	ok(c.bad, "bad timeout= sets bad");
	is_int(c.timeout, 15, "bad timeout= skipped");
	is_int(c.batch_timeout, 86400, "batch_timeout=86400 applies");

	polo_conf_defaults(&c);
	polo_conf_apply_args(&c, 1, a3, &lg);
	is_int(c.umask, 077, "umask=077");
	polo_conf_apply_args(&c, 1, a4, &lg);
	is_int(c.umask, 027, "umask=0027");
	ok(!c.bad, "good umasks: not bad");
	cap_reset();
	polo_conf_apply_args(&c, 2, a5, &lg);
	is_int(c.umask, 027, "umask=8 and umask=01000 rejected");
	like(cap.buf, fmt("<%d>bad value for umask: '8' (want octal 0..0777)\n", LOG_ERR),
	     "umask=8 logged");
	like(cap.buf, fmt("<%d>bad value for umask: '01000' (want octal 0..0777)\n", LOG_ERR),
	     "umask=01000 logged");
	ok(c.bad, "bad umask sets bad");

	polo_conf_defaults(&c);
	cap_reset();
	polo_conf_apply_args(&c, 10, a6, &lg);
	is_int(cap.n, 0, "all arguments: nothing logged");
	is_str(c.tmphome, "", "empty tmphome= turns it off");
	ok(!strcmp(c.skel, "/sk") && !strcmp(c.statedir, "/st") &&
	   !strcmp(c.hookdir, "/hk") && !strcmp(c.runner, "/rn") &&
	   !strcmp(c.optin, ".session"), "path and name arguments apply");
	ok(c.onerr == POLO_ONERR_FAIL && c.debug && c.quiet && !c.bad,
	   "onerr=fail, debug, quiet");

	polo_conf_defaults(&c);
	cap_reset();
	polo_conf_apply_args(&c, 5, a7, &lg);
	like(cap.buf, fmt("<%d>bad value for hookdir: 'rel' (want an absolute path)\n", LOG_ERR),
	     "relative hookdir= logged");
	like(cap.buf, fmt("<%d>bad value for onerr: '' (want succeed or fail)\n", LOG_ERR),
	     "empty onerr= logged");
	like(cap.buf, fmt("<%d>unknown option: =x\n", LOG_ERR), "=x unknown");
	like(cap.buf, fmt("<%d>unknown option: timeout\n", LOG_ERR), "timeout without = unknown");
	is_int(cap.n, 5, "bad arguments: 5 messages");
	ok(c.bad && !strcmp(c.hookdir, POLO_DEFAULT_HOOKDIR) && !c.optin[0],
	   "bad arguments: bad, values kept");
}

static void test_from_args(void)
{
	struct polo_conf c;
	const char *p, *args[4];

	p = write_file("main.conf", "[hooks]\ntimeout = 7\nonerr = fail\n"
			"batch_timeout = 9\n[home]\numask = 022\n");
	args[0] = fmt("conf=%s", p);
	args[1] = "timeout=3";
	args[2] = "onerr=succeed";
	args[3] = "quiet";
	cap_reset();
	lg.debug = true;
	polo_conf_from_args(&c, 4, args, &lg);
	is_int(cap.n, 0, "from_args: nothing logged");
	is_str(c.conf, p, "from_args: c->conf");
	is_int(c.timeout, 3, "args override the file (timeout)");
	is_int(c.onerr, POLO_ONERR_SUCCEED, "args override the file (onerr)");
	is_int(c.batch_timeout, 9, "file values not in args stay");
	is_int(c.umask, 022, "file umask");
	ok(!c.bad, "from_args: not bad");
	ok(!lg.debug && lg.quiet, "lg follows the final debug/quiet");

	args[0] = fmt("conf=%s", path_of("nope.conf"));
	cap_reset();
	polo_conf_from_args(&c, 2, args, &lg);
	like(cap.buf, fmt("<%d>config %s: No such file or directory\n", LOG_ERR,
			  path_of("nope.conf")), "missing conf= file logged");
	ok(c.bad, "missing conf= file: bad");
	is_str(c.conf, "", "missing conf= file: no file read");
	is_int(c.timeout, 3, "missing conf= file: args still apply");

	args[0] = "conf=relative.conf";
	cap_reset();
	polo_conf_from_args(&c, 1, args, &lg);
	like(cap.buf, fmt("<%d>bad value for conf: 'relative.conf' (want an absolute path)\n",
			  LOG_ERR), "bad conf= logged");
	ok(c.bad && !c.conf[0], "bad conf=: bad, no file read");

	p = write_file("errs.conf", "[hooks]\ntimeout = x\nbatch_timeout = 5\n");
	args[0] = fmt("conf=%s", p);
	args[1] = "debug";
	cap_reset();
	polo_conf_from_args(&c, 2, args, &lg);
	like(cap.buf, err_at(p, 2, "bad value for timeout: 'x' (want 1..86400)"),
	     "from_args: file error reported");
	ok(c.bad && c.batch_timeout == 5 && c.debug && lg.debug,
	   "from_args: file error sets bad, good lines and debug apply");
}

static void test_default_file(void)
{
	struct polo_conf c;
	const char *args[1] = { "debug" };

	if (access(POLO_DEFAULT_CONF, F_OK) == 0 || errno != ENOENT) {
		printf("ok %d # SKIP %s exists\n", ++tap_n, POLO_DEFAULT_CONF);
		printf("ok %d # SKIP %s exists\n", ++tap_n, POLO_DEFAULT_CONF);
		return;
	}
	cap_reset();
	polo_conf_from_args(&c, 0, NULL, &lg);
	ok(!c.bad && cap.n == 0 && !c.conf[0], "missing default file: fine and silent");
	cap_reset();
	polo_conf_from_args(&c, 1, args, &lg);
	ok(!c.bad && !strstr(cap.buf, fmt("<%d>", LOG_ERR)),
	   "missing default file: at most a debug message");
}

/* [discovery] srv, srv_ms, ipv6, group6; IPv6 in nodes and listen */
static void test_cluster_v6_srv(void)
{
	struct polo_conf c;
	char long_label[80], line[200];
	const char *p;

	polo_conf_defaults(&c);
	is_str(c.cl.srv, "", "cluster default: no SRV name");
	is_int(c.cl.srv_ms, 1000, "cluster default: srv_ms 1000");
	ok(!c.cl.ipv6, "cluster default: no IPv6 discovery");
	is_str(c.cl.group6, "ff05::112", "cluster default: IPv6 group ff05::112");

	p = write_file("cluster6.conf",
		"[discovery]\n"
		"srv = _polousers._tcp.example.org.\n"
		"srv_ms = 2500\n"
		"ipv6 = yes\n"
		"group6 = ff02::112\n"
		"nodes = 10.0.0.1, fd00::2 2001:db8::3\n"
		"[hookd]\n"
		"listen = fd00::2\n");
	is_int(load(&c, p), 0, "SRV and IPv6 keys: loaded");
	is_str(c.cl.srv, "_polousers._tcp.example.org.", "srv");
	is_int(c.cl.srv_ms, 2500, "srv_ms");
	ok(c.cl.ipv6, "ipv6 = yes");
	is_str(c.cl.group6, "ff02::112", "group6");
	is_int(c.cl.nnodes, 3, "nodes: IPv4 and IPv6 together");
	is_str(c.cl.nodes[1], "fd00::2", "... an IPv6 node");
	is_str(c.cl.listen, "fd00::2", "listen on one IPv6 address");

	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	snprintf(line, sizeof line, "[discovery]\nsrv = _p._tcp.%s.org\n",
		 long_label);
	p = write_file("cluster6-bad.conf",
		"[discovery]\n"
		"srv = _polousers._tcp.exa mple.org\n"	/* 2 */
		"srv_ms = 50\n"				/* 3 */
		"ipv6 = maybe\n"				/* 4 */
		"group6 = fd00::1\n"			/* 5 */
		"nodes = fe80::1\n"			/* 6: no scope */
		"nodes = fd00::1%eth0\n"			/* 7 */
		"[hookd]\n"
		"listen = ff02::1\n"			/* 9 */
		"[discovery]\n");
	is_int(load(&c, p), -EINVAL, "bad SRV and IPv6 values: -EINVAL");
	like(cap.buf, err_at(p, 2, "bad value for srv: '_polousers._tcp.exa mple.org' (want a DNS name (letters, digits, '-', '_', '.'), or empty for none)"), "an SRV name with a space");
	like(cap.buf, err_at(p, 3, "bad value for srv_ms: '50' (want 100..30000)"), "srv_ms below 100");
	like(cap.buf, err_at(p, 4, "bad value for ipv6: 'maybe' (want yes or no)"), "ipv6 not a boolean");
	like(cap.buf, err_at(p, 5, "bad value for group6: 'fd00::1' (want an IPv6 multicast address)"), "group6 not multicast");
	like(cap.buf, err_at(p, 6, "bad value for nodes: 'fe80::1' (want IPv4 or IPv6 addresses separated by spaces or commas)"), "a link-local node (no scope to reach it by)");
	like(cap.buf, err_at(p, 7, "bad value for nodes: 'fd00::1%eth0' (want IPv4 or IPv6 addresses separated by spaces or commas)"), "a node with a scope");
	like(cap.buf, err_at(p, 9, "bad value for listen: 'ff02::1' (want an IPv4 or IPv6 address of this node, or empty for all)"), "listen on an IPv6 multicast address");
	is_str(c.cl.srv, "", "... no srv is taken");

	p = write_file("cluster6-long.conf", line);
	is_int(load(&c, p), -EINVAL, "an SRV name with a 64-character label: -EINVAL");
	like(cap.buf, fmt("%s:2: bad value for srv: '_p._tcp.%s.org'", p, long_label), "... at its line");
}

static void test_cluster(void)
{
	struct polo_conf c;
	const char *p = write_file("cluster.conf",
		"[discovery]\n"
		"group = 239.1.2.3\n"
		"port = 1400\n"
		"interface = br-lab0\n"
		"idle_ms = 20\n"
		"max_ms = 800\n"
		"nodes = 10.0.0.1, 10.0.0.2 10.0.0.3\n"
		"state = /var/lib/x/nodes\n"
		"[tls]\n"
		"ca = /etc/p/ca.pem\n"
		"cert = /etc/p/n.pem\n"
		"key = /etc/p/n.key\n"
		"crl = /etc/p/crl.pem\n"
		"verify_name = no\n"
		"[hookd]\n"
		"port = 1444\n"
		"listen = 10.0.0.2\n"
		"min_uid = 2000\n"
		"max_uid = 29999\n"
		"ack = early\n"
		"user = polohook\n"
		"max_conns = 8\n"
		"handshake_ms = 1500\n"
		"idle_ms = 3000\n"
		"connect_ms = 700\n"
		"request_ms = 4000\n");

	polo_conf_defaults(&c);
	is_str(c.cl.group, "224.0.0.112", "cluster default: the MarcoPolo group");
	is_int(c.cl.port, 1337, "cluster default: discovery port 1337");
	is_int(c.cl.hookd_port, 1343, "cluster default: hookd port 1343");
	is_int(c.cl.min_uid, 1000, "cluster default: min_uid 1000");
	is_int(c.cl.max_uid, 59999, "cluster default: max_uid 59999 (never nobody)");
	is_int(c.cl.ack, POLO_ACK_DONE, "cluster default: ack done");
	ok(c.cl.verify_name, "cluster default: server names are verified");
	is_str(c.cl.crl, "", "cluster default: no CRL");
	is_str(c.cl.listen, "", "cluster default: hookd listens on every address");
	is_int(load(&c, p), 0, "cluster keys: all accepted");
	is_str(c.cl.group, "239.1.2.3", "group");
	is_int(c.cl.port, 1400, "discovery port");
	is_str(c.cl.interface, "br-lab0", "interface");
	is_int(c.cl.idle_ms * 1000 + c.cl.max_ms, 20800, "idle_ms and max_ms");
	is_int(c.cl.nnodes, 3, "three static nodes");
	is_str(c.cl.nodes[2], "10.0.0.3", "... separated by commas or spaces");
	is_str(c.cl.nodes_state, "/var/lib/x/nodes", "state");
	is_str(c.cl.key, "/etc/p/n.key", "tls key");
	is_str(c.cl.crl, "/etc/p/crl.pem", "tls crl");
	ok(!c.cl.verify_name, "verify_name = no");
	is_int(c.cl.hookd_port, 1444, "hookd port");
	is_str(c.cl.listen, "10.0.0.2", "hookd listen address");
	is_int(c.cl.min_uid, 2000, "min_uid");
	is_int(c.cl.max_uid, 29999, "max_uid");
	is_int(c.cl.ack, POLO_ACK_EARLY, "ack = early");
	is_str(c.cl.user, "polohook", "user");
	is_int(c.cl.max_conns + c.cl.handshake_ms + c.cl.idle_ms_conn +
	       c.cl.connect_ms + c.cl.request_ms, 8 + 1500 + 3000 + 700 + 4000,
	       "connection limits and deadlines");

	p = write_file("cluster-bad.conf",
		"[discovery]\n"
		"group = 10.0.0.1\n"		/* 2: not multicast */
		"nodes = 10.0.0.1 node2\n"	/* 3: not an address */
		"interface = eth0;rm\n"	/* 4 */
		"[hookd]\n"
		"ack = sometimes\n"		/* 6 */
		"min_uid = 0\n"		/* 7 */
		"user = ro ot\n"		/* 8 */
		"[tls]\n"
		"crl = crl.pem\n"		/* 10 */
		"[hookd]\n"
		"listen = 224.0.0.1\n"	/* 12 */
		"listen = eth0\n");		/* 13 */
	is_int(load(&c, p), -EINVAL, "bad cluster values: -EINVAL");
	like(cap.buf, err_at(p, 2, "bad value for group: '10.0.0.1' (want an IPv4 multicast address)"),
	     "a group that is not multicast");
	like(cap.buf, err_at(p, 3, "bad value for nodes: '10.0.0.1 node2' (want IPv4 or IPv6 addresses separated by spaces or commas)"), "a node that is not an address");
	is_int(c.cl.nnodes, 0, "... and none of that list is taken");
	like(cap.buf, err_at(p, 4, "bad value for interface: 'eth0;rm' (want an interface name, or empty)"), "a strange interface name");
	like(cap.buf, err_at(p, 6, "bad value for ack: 'sometimes' (want early or done)"), "bad ack");
	like(cap.buf, err_at(p, 7, "bad value for min_uid: '0' (want 1..4294967294)"), "min_uid 0 (root) refused");
	like(cap.buf, err_at(p, 8, "bad value for user: 'ro ot' (want a login name)"), "a user that is not a login name");
	like(cap.buf, err_at(p, 10, "bad value for crl: 'crl.pem' (want an absolute path, or empty for none)"), "a relative CRL path");
	like(cap.buf, err_at(p, 12, "bad value for listen: '224.0.0.1' (want an IPv4 or IPv6 address of this node, or empty for all)"), "listen on a multicast address");
	like(cap.buf, err_at(p, 13, "bad value for listen: 'eth0' (want an IPv4 or IPv6 address of this node, or empty for all)"), "listen on an interface name");
	test_cluster_v6_srv();
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/polo-conf-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 255;
	}
	test_defaults();
	test_all_keys();
	test_bad_lines();
	test_long_lines();
	test_continuation();
	test_misc_file();
	test_unsafe();
	test_symlink();
	test_root_only();
	test_args();
	test_from_args();
	test_default_file();
	test_cluster();
	cleanup();
	return tap_done();
}
