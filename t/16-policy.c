/* lib/policy.c and its callers in lib/, without a daemon or PAM: when a
 * temporary home may be removed (the one rule pam_polohook's last logout
 * and polohookctl gc share), and when hookd may serve a Create-Home
 * request. Runs as root and non-root: the temp dir belongs to the running
 * user, whom every call here trusts; what needs a uid that runs no
 * process (the removal itself) is root's, and skipped otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "env.h"
#include "home.h"
#include "policy.h"
#include "state.h"
#include "util.h"
#include "tap.h"
#include "testlog.h"
#include "tfs.h"

static uid_t me;

/* ---- the rule itself: a table of facts ---- */

static struct polo_home_facts good(void)
{
	struct polo_home_facts f = {
		.counted = 0, .live = 0, .recorded = true, .rec_uid = 1500,
		.present = true, .is_dir = true, .same = true, .owner = 1500,
		.uid = 1500, .procs = 0,
	};
	return f;
}

static void test_rule(void)
{
	struct polo_home_facts f;

	f = good();
	is_int(polo_home_may_remove(&f), POLO_HOME_REMOVE,
	       "no session, recorded, the same directory, its owner, no "
	       "process: remove");
	f = good(); f.counted = -EIO;
	is_int(polo_home_may_remove(&f), POLO_HOME_UNCOUNTED,
	       "sessions not counted: kept, however ready the home is");
	f = good(); f.live = 1;
	is_int(polo_home_may_remove(&f), POLO_HOME_LIVE,
	       "one live session: kept");
	f = good(); f.live = 3; f.same = false;
	is_int(polo_home_may_remove(&f), POLO_HOME_LIVE,
	       "a live session is decisive before anything on disk");
	f = good(); f.looked = -EPERM;
	is_int(polo_home_may_remove(&f), POLO_HOME_UNSEEN,
	       "the root or registry could not be looked at: kept");
	f = good(); f.looked = -EPERM; f.live = 1;
	is_int(polo_home_may_remove(&f), POLO_HOME_LIVE,
	       "... a live session says so first");
	f = good(); f.recorded = false;
	is_int(polo_home_may_remove(&f), POLO_HOME_NOT_OURS,
	       "no record: left (not made by polohook)");
	f = good(); f.recorded = false; f.owner = 0; f.procs = 1;
	is_int(polo_home_may_remove(&f), POLO_HOME_NOT_OURS,
	       "... whoever owns it, whatever runs");
	f = good(); f.present = false; f.procs = 1;
	is_int(polo_home_may_remove(&f), POLO_HOME_GONE,
	       "recorded but gone: only the record goes");
	f = good(); f.is_dir = false;
	is_int(polo_home_may_remove(&f), POLO_HOME_CHANGED,
	       "no longer a directory (a symlink in its place): refused");
	f = good(); f.same = false;
	is_int(polo_home_may_remove(&f), POLO_HOME_CHANGED,
	       "another directory than the one made (device, inode): refused");
	f = good(); f.owner = 1501;
	is_int(polo_home_may_remove(&f), POLO_HOME_OWNER,
	       "chowned to another uid: refused");
	f = good(); f.rec_uid = 1501;
	is_int(polo_home_may_remove(&f), POLO_HOME_OWNER,
	       "recorded for another uid: refused");
	f = good(); f.procs = 1;
	is_int(polo_home_may_remove(&f), POLO_HOME_BUSY,
	       "uid still runs a process: kept for gc");
	f = good(); f.procs = -EACCES;
	is_int(polo_home_may_remove(&f), POLO_HOME_BUSY,
	       "cannot tell whether uid runs a process: kept for gc");
	f = good(); f.owner = 1501; f.procs = 1;
	is_int(polo_home_may_remove(&f), POLO_HOME_OWNER,
	       "a wrong owner is refused before the processes are asked");
}

/* ---- the rule applied: polo_tmphome_end on a real tree ---- */

struct tree {
	struct polo_conf c;
	struct polo_session s;
};

static void make_tree(struct tree *t, const char *user, uid_t uid)
{
	polo_conf_defaults(&t->c);
	must(polo_strlcpy(t->c.tmphome, at("th"), sizeof t->c.tmphome) == 0,
	     "tmphome");
	must(polo_strlcpy(t->c.statedir, at("state"), sizeof t->c.statedir) ==
	     0, "statedir");
	must(polo_strlcpy(t->c.skel, at("skel"), sizeof t->c.skel) == 0,
	     "skel");
	memset(&t->s, 0, sizeof t->s);
	t->s.phase = POLO_OPEN;
	(void)polo_strlcpy(t->s.user, user, sizeof t->s.user);
	(void)polo_strlcpy(t->s.service, "login", sizeof t->s.service);
	t->s.uid = uid;
	t->s.gid = uid;
	must(polo_strlcpy(t->s.home, at("th/%s", user), sizeof t->s.home) ==
	     0, "home");
	must(polo_session_set_id(&t->s, NULL, 0) == 0, "session id");
}

/* The user's one live session (led by this process), the home made for
 * it as the module makes it. */
static void login(struct tree *t)
{
	struct polo_state st;

	must(polo_state_begin(&st, t->c.statedir, t->s.user, me, &lg) == 0,
	     "state begin");
	must(polo_state_add(&st, &t->s, &lg) == 0, "state add");
	polo_state_end(&st);
	t->s.counted = true;
	t->s.user_sessions = 1;
	must(polo_tmphome_prepare(&t->c, &t->s, me, &lg) == 0, "prepare");
}

static void logout(struct tree *t)
{
	struct polo_state st;

	must(polo_state_begin(&st, t->c.statedir, t->s.user, me, &lg) == 0,
	     "state begin");
	must(polo_state_remove(&st, t->s.id) == 0, "state remove");
	polo_state_end(&st);
}

static int end(struct tree *t, const char *name, uid_t uid, bool dry_run,
	       struct polo_home_outcome *o)
{
	struct polo_home_end e = {
		.statedir = t->c.statedir, .root = t->c.tmphome, .name = name,
		.user = t->s.user, .uid = uid, .trust = me,
		.dry_run = dry_run,
	};

	cap_reset();
	return polo_tmphome_end(&e, o, &lg);
}

static bool there(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void test_end_as_user(void)
{
	struct polo_home_outcome o;
	struct tree t;
	pid_t kid;
	int r;

	make_tree(&t, "alice", me);
	login(&t);
	ok(there(at("th/alice/.profile")), "the home was made from skel");

	r = end(&t, "alice", me, false, &o);
	is_int(r, 0, "a live session: 0");
	is_int(o.verdict, POLO_HOME_LIVE, "... verdict: live");
	is_int(o.live, 1, "... counted under the lock: 1");
	ok(o.locked, "... the user's lock was taken");
	ok(there(at("th/alice/.profile")), "... and the home is kept");

	logout(&t);
	/* a process of the uid besides this one (the check leaves out the
	 * process asking, and no other process of nobody's may exist) */
	kid = fork();
	must(kid >= 0, "fork");
	if (kid == 0) {
		pause();
		_exit(0);
	}
	r = end(&t, "alice", me, false, &o);
	is_int(o.verdict, POLO_HOME_BUSY,
	       "no session, but the uid runs a process: busy");
	is_int(r, -EBUSY, "... -EBUSY");
	ok(there(at("th/alice/.profile")), "... the home is kept");
	like(cap.buf, fmt("tmphome %s: uid %lu still has processes: left for "
			  "polohookctl gc", at("th/alice"), (unsigned long)me),
	     "... and the log says why");
	must(kill(kid, SIGKILL) == 0 && waitpid(kid, NULL, 0) == kid, "reap");

	r = end(&t, "alice", me + 1, false, &o);
	is_int(o.verdict, POLO_HOME_OWNER, "asked for another uid: owner");
	is_int(r, -EPERM, "... -EPERM");
	ok(there(at("th/alice")), "... not removed");
	like(cap.buf, fmt("is owned by uid %lu, recorded for %lu, asked for "
			  "%lu: not removed", (unsigned long)me,
			  (unsigned long)me, (unsigned long)me + 1),
	     "... logged with both uids");

	must(rename(at("th/alice"), at("th/alice.moved")) == 0, "rename");
	must(symlink("alice.moved", at("th/alice")) == 0, "symlink");
	r = end(&t, "alice", me, false, &o);
	is_int(o.verdict, POLO_HOME_CHANGED, "a symlink in its place: changed");
	is_int(r, -EPERM, "... -EPERM");
	ok(there(at("th/alice.moved/.profile")), "... what it points to is "
	   "untouched");
	like(cap.buf, "is no longer a directory (a symlink?): not removed",
	     "... logged");
	must(unlink(at("th/alice")) == 0, "unlink");

	must(mkdir(at("th/alice"), 0700) == 0, "mkdir");
	r = end(&t, "alice", me, false, &o);
	is_int(o.verdict, POLO_HOME_CHANGED,
	       "another directory under the name: changed");
	like(cap.buf, "is not the directory polohook made: not removed",
	     "... logged");
	must(rmdir(at("th/alice")) == 0, "rmdir");

	r = end(&t, "alice", me, true, &o);
	is_int(o.verdict, POLO_HOME_GONE, "nothing at the name: gone");
	ok(there(at("th/.polohook/alice")), "... a dry run keeps the record");
	r = end(&t, "alice", me, false, &o);
	is_int(r, 0, "... 0");
	ok(!there(at("th/.polohook/alice")), "... and the record is dropped");

	r = end(&t, "alice.moved", me, false, &o);
	is_int(o.verdict, POLO_HOME_NOT_OURS, "a directory never recorded: not "
	       "ours");
	ok(there(at("th/alice.moved/.profile")), "... left as it is");
	like(cap.buf, "alice.moved was not made by polohook: left", "... logged");

	must(chmod(at("th"), 0775) == 0, "chmod");
	r = end(&t, "alice.moved", me, false, &o);
	is_int(o.verdict, POLO_HOME_UNSEEN,
	       "a group-writable tmphome root: not looked into");
	is_int(r, -EPERM, "... -EPERM");
	ok(o.locked, "... though the sessions were counted under the lock");
	like(cap.buf, fmt("tmphome %s refused: %s is writable by group or "
			  "others", at("th"), at("th")),
	     "... the root's refusal is logged");
	ok(there(at("th/alice.moved/.profile")), "... and nothing removed");
	must(chmod(at("th"), 0755) == 0, "chmod");

	must(chmod(at("state"), 0775) == 0, "chmod");
	r = end(&t, "alice.moved", me, false, &o);
	is_int(o.verdict, POLO_HOME_UNCOUNTED,
	       "a state tree that cannot be trusted: uncounted");
	ok(!o.locked, "... no lock was taken");
	ok(r < 0, "... an error");
	ok(there(at("th/alice.moved/.profile")), "... and nothing removed");
	must(chmod(at("state"), 0700) == 0, "chmod");

	is_int(end(&t, ".polohook", me, false, &o), -EINVAL,
	       "the registry's own name: -EINVAL");
	is_int(o.verdict, POLO_HOME_UNSEEN, "... not looked at");
	ok(!o.locked, "... nor the state locked");
	is_int(end(&t, "../x", me, false, &o), -EINVAL,
	       "a name with a slash: -EINVAL");
}

/* A uid that runs no process: the home goes (root: chown to it). */
static void test_end_as_root(void)
{
	struct polo_home_outcome o;
	struct tree t;
	struct stat st;
	int r;

	if (me != 0) {
		skip(8, "the home's uid must run no process: needs root");
		return;
	}
	make_tree(&t, "bob", 4242);
	login(&t);
	ok(lstat(at("th/bob"), &st) == 0 && st.st_uid == 4242,
	   "bob's home is made, owned by uid 4242");
	logout(&t);
	r = end(&t, "bob", 4242, true, &o);
	is_int(o.verdict, POLO_HOME_REMOVE, "no session, no process: remove");
	ok(r == 0 && there(at("th/bob/.profile")), "... a dry run keeps it");
	like(cap.buf, fmt("tmphome %s: would be removed", at("th/bob")),
	     "... and says it would remove it");
	r = end(&t, "bob", 4242, false, &o);
	is_int(r, 0, "removed: 0");
	ok(!there(at("th/bob")), "... the home is gone");
	ok(!there(at("th/.polohook/bob")), "... and its record");
	like(cap.buf, fmt("tmphome %s: removed", at("th/bob")), "... logged");
}

/* ---- may this request be served? ---- */

struct fake_user {
	uid_t uid, says;	/* says: the uid NSS hands back */
	gid_t gid;
	const char *name, *home;
};

static struct fake_user users[8];
static size_t nusers;
static int lookups;

static int fake_getpw(uid_t uid, struct passwd *pw, char **buf)
{
	size_t i;

	lookups++;
	if (uid == 1666)
		return -EIO;
	for (i = 0; i < nusers; i++)
		if (users[i].uid == uid)
			break;
	if (i == nusers)
		return -ENOENT;
	*buf = malloc(1);	/* what polo_serve_end frees */
	if (*buf == NULL)
		return -ENOMEM;
	memset(pw, 0, sizeof *pw);
	pw->pw_name = (char *)users[i].name;
	pw->pw_uid = users[i].says;
	pw->pw_gid = users[i].gid;
	pw->pw_dir = (char *)users[i].home;
	return 0;
}

static void add_user(uid_t uid, uid_t says, const char *name,
		     const char *home)
{
	users[nusers++] = (struct fake_user){ uid, says, 1500, name, home };
}

static struct polo_serve_rules rules;

/* Ask for home as uid/gid 1500: the code, the answer line, the log. */
static int ask(uint32_t uid, const char *home, struct polo_serve_verdict *v)
{
	struct polo_home_ask q = { .uid = uid, .gid = 1500, .home = home };
	int r;

	cap_reset();
	lookups = 0;
	r = polo_may_serve(&q, &rules, v, &lg);
	return r;
}

static void refused(uint32_t uid, const char *home, int code,
		    const char *text, const char *logged, const char *what)
{
	struct polo_serve_verdict v;
	int r = ask(uid, home, &v);

	is_int(r, -code, fmt("%s: refused (%s)", what, strerror(code)));
	is_str(v.text, text, fmt("... answered \"%s\"", text));
	like(cap.buf, logged, "... and logged");
	ok(v.parentfd < 0, "... no directory left open");
	polo_serve_end(&v);
}

static void test_serve(void)
{
	struct polo_serve_verdict v;
	struct stat a, b;
	char *deep = malloc(PATH_MAX + 16);

	must(deep != NULL, "malloc");
	rules = (struct polo_serve_rules){
		.min_uid = 1000, .max_uid = 60000, .tmphome = at("th"),
		.trust = me, .getpw = fake_getpw,
	};
	must(mkdir(at("homes"), 0755) == 0 && mkdir(at("gw"), 0775) == 0,
	     "mkdir");
	must(chmod(at("gw"), 0775) == 0, "chmod");
	must(symlink("th", at("alias")) == 0, "symlink");
	add_user(1500, 1500, "alice", at("homes/alice"));
	add_user(1501, 1501, "bob", at("homes/elsewhere"));
	add_user(1502, 0, "mallory", at("homes/mallory"));
	add_user(1503, 1503, "carol", at("homes/.polohook-new.carol"));
	add_user(1504, 1504, "dave", at("nowhere/dave"));
	add_user(1505, 1505, "erin", at("gw/erin"));
	add_user(1506, 1506, "frank", at("alias/frank"));
	users[1].gid = 1501;	/* bob's gid differs from what is asked */

	is_int(ask(1500, at("homes/alice"), &v), 0, "alice's own home: served");
	is_int(v.code, 0, "... code 0");
	is_str(v.name, "alice", "... the name to make");
	is_str(v.user, "alice", "... the passwd name");
	is_int(v.pw.pw_uid, 1500, "... for uid 1500");
	ok(v.parentfd >= 0 && fstat(v.parentfd, &a) == 0 &&
	   stat(at("homes"), &b) == 0 && a.st_dev == b.st_dev &&
	   a.st_ino == b.st_ino, "... in the parent, opened");
	is_int(cap.n, 0, "... nothing logged");
	polo_serve_end(&v);
	is_int(v.parentfd, -1, "polo_serve_end closes the parent");

	refused(1500, "homes/alice", EINVAL, "home is not a clean absolute "
		"path", "uid 1500: refused: home is not a clean absolute path",
		"a relative path");
	refused(1500, "/", EINVAL, "home is not a clean absolute path",
		"not a clean absolute path", "\"/\"");
	refused(1500, fmt("%s/homes//alice", dir), EINVAL, "home is not a "
		"clean absolute path", "not a clean", "an empty component");
	refused(1500, fmt("%s/x/../homes/alice", dir), EINVAL, "home is not a "
		"clean absolute path", "not a clean", "a \"..\" component");
	refused(1500, fmt("%s/homes/alice/", dir), EINVAL, "home is not a "
		"clean absolute path", "not a clean", "a trailing slash");
	memset(deep, 'a', PATH_MAX + 8);
	deep[0] = '/';
	deep[PATH_MAX + 8] = '\0';
	refused(1500, deep, EINVAL, "home is not a clean absolute path",
		"not a clean", "a path of PATH_MAX bytes and more");
	free(deep);

	refused(999, at("homes/alice"), EPERM, "uid below min_uid",
		"uid 999 home", "uid below min_uid");
	is_int(lookups, 0, "... refused before NSS is asked");
	refused(UINT32_MAX, at("homes/alice"), EPERM, "uid below min_uid",
		"refused: uid below min_uid", "uid (uint32_t)-1");
	refused(60001, at("homes/alice"), EPERM, "uid above max_uid",
		"refused: uid above max_uid 60000", "uid above max_uid");
	refused(1500, at("th/alice"), EPERM, "a temporary home here",
		"(temporary homes are made at login, never by hookd)",
		"a home in this node's tmphome root");
	is_int(lookups, 0, "... refused before NSS is asked");
	refused(999, at("th/alice"), EPERM, "uid below min_uid",
		"uid below min_uid", "below min_uid and in the tmphome: the "
		"uid is checked first");

	refused(1600, at("homes/x"), ENOENT, "no such uid",
		"refused: no such uid", "a uid NSS does not know");
	is_int(lookups, 1, "... NSS asked once");
	refused(1666, at("homes/x"), EIO, "user lookup failed",
		"refused: Input/output error", "an NSS lookup that fails");
	refused(1502, at("homes/mallory"), EPERM, "user lookup failed",
		"<3>uid 1502: NSS returned uid 0", "NSS handing back another "
		"uid (an error)");
	refused(1500, at("homes/bob"), EPERM, "home does not match the passwd "
		"home", fmt("uid 1500 (alice) home %s: refused: the passwd "
			    "home is %s", at("homes/bob"), at("homes/alice")),
		"another user's home");
	refused(1501, at("homes/elsewhere"), EPERM, "gid does not match",
		"refused: gid 1500, the passwd gid is 1501",
		"the gid asked for is not the passwd gid");
	ask(1501, at("homes/elsewhere"), &v);
	is_str(v.user, "bob", "... the user is named for the log all the same");
	polo_serve_end(&v);

	refused(1503, at("homes/.polohook-new.carol"), EINVAL,
		"home name not allowed", "refused: not a valid directory name",
		"a home named like one being made");
	refused(1504, at("nowhere/dave"), ENOENT, "parent directory does not "
		"exist", "refused: parent directory:", "a missing parent");
	refused(1505, at("gw/erin"), EPERM, "parent directory not trusted",
		"refused: parent directory:", "a group-writable parent");
	refused(1506, at("alias/frank"), EPERM, "a temporary home here",
		"the same directory under another name",
		"the tmphome root under another name (a symlink)");
	is_int(lookups, 1, "... found only by device and inode, after NSS");

	rules.tmphome = "";
	is_int(ask(1506, at("alias/frank"), &v), 0,
	       "without a tmphome root the same request is served");
	polo_serve_end(&v);
	rules.tmphome = at("th");
}

int main(void)
{
	char tmpl[] = "/tmp/polo16.XXXXXX";
	int fds_before;

	setvbuf(stdout, NULL, _IOLBF, 0);
	me = geteuid();
	fds_before = count_entries("/proc/self/fd");
	must(mkdtemp(tmpl) != NULL, "mkdtemp");
	must(realpath(tmpl, dir) != NULL, "realpath");
	put_dir(at("th"), 0755);	/* the tmphome root */
	put_dir(at("skel"), 0755);
	put_file(at("skel/.profile"), "echo hi\n", 0644);

	test_rule();
	test_end_as_user();
	test_end_as_root();
	test_serve();

	is_int(count_entries("/proc/self/fd"), fds_before,
	       "as many open fds as at the start");
	must(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0, "rm -r");
	return tap_done();
}
