#!/bin/sh
# polohookctl, as an administrator sees it: the sessions table and its JSON,
# gc (dead sessions; as root, tmphomes left behind by a crash) with and
# without --dry-run, and check on a sample hook tree and a bad config.
. "$(dirname "$0")/lib.sh"
O=$T/out
S=$T/state
TH=$T/th
CTL=$B/polohookctl
[ -x "$CTL" ] || { echo "1..0 # SKIP $CTL is not built"; exit 0; }

# ctl CONF ARGS...: polohookctl with the fake users, like pamh.
ctl() {
	_c=$1; shift
	LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group \
		timeout 60 "$CTL" -c "$_c" "$@"
}
# waitstate ID: the session is recorded (bounded)
waitstate() {
	_i=0
	while [ ! -e "$S/sessions/$1" ] && [ $_i -lt 600 ]; do
		sleep 0.05; _i=$((_i + 1))
	done
}
# snapshot DIR...: every path with type, mode, owner and size
snapshot() { find "$@" 2>/dev/null | sort | xargs -r stat -c '%n %F %a %u %s'; }

cat >"$T"/polo.conf <<EOC
[hooks]
hookdir = $T/hooks
[session]
statedir = $S
EOC
if is_root; then
	mkdir -m 0755 "$TH" "$T"/skel "$T"/victim
	echo hello >"$T"/skel/.profile
	echo precious >"$T"/victim/file
	cat >>"$T"/polo.conf <<EOC
[home]
tmphome = $TH
skel = $T/skel
EOC
	sed -i "s|^alice:.*|alice:x:1500:1500::$TH/alice:/bin/sh|; s|^bob:.*|bob:x:1501:1501::$TH/bob:/bin/sh|" "$T"/passwd
	echo "carol:x:1502:1502::$TH/carol:/bin/sh" >>"$T"/passwd
fi
service

# --- sessions ----------------------------------------------------------------
pamh -u alice -t pts/7 -r 10.1.2.3 -e XDG_SESSION_ID=live1 open wait:"$O"/go close >/dev/null &
plive=$!
waitstate live1
leader=$(sed -n 's/^leader=//p' "$S"/sessions/live1)
sleep 1		# "oldest first" is by the second the session opened
pamh -u bob -e XDG_SESSION_ID=dead1 open crash >/dev/null
is_root && pamh -u carol -e XDG_SESSION_ID=dead2 open crash >/dev/null

ctl "$T"/polo.conf sessions >"$T"/sess 2>"$T"/err
is "$?" 0 "sessions exits 0"
like "$T"/sess '^ID +USER +UID +SERVICE +TTY +FROM +SINCE +LEADER +STATE$' "the table has a header"
like "$T"/sess "^live1 +alice +1500 +polotest +pts/7 +10\.1\.2\.3 +$(date +%Y-%m-)[0-9]{2} [0-9]{2}:[0-9]{2} +$leader +live$" \
	"a live session shows user, uid, service, tty, from, since, its leader and 'live'"
like "$T"/sess '^dead1 +bob +1501 +polotest +- +- +[0-9-]{10} [0-9:]{5} +[0-9]+ +dead$' \
	"a crashed session shows 'dead', and '-' for no tty and no remote host"
is "$(awk 'NR == 2 {print $1}' "$T"/sess)" "live1" "oldest first"
is "$(cat "$T"/err)" "" "... and nothing on stderr"

ctl "$T"/polo.conf sessions --json >"$T"/json
is "$?" 0 "sessions --json exits 0"
is "$(python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
keys = ["id", "user", "uid", "service", "tty", "rhost", "opened", "leader", "alive"]
print(type(v) is list, all(list(o) == keys for o in v), end=" ")
for o in v:
    if o["id"] in ("live1", "dead1"):
        print(o["id"], o["user"], o["uid"], o["service"], repr(o["tty"]),
              repr(o["rhost"]), o["leader"], o["alive"], end=" ")
' "$T"/json)" "True True live1 alice 1500 polotest 'pts/7' '10.1.2.3' $leader True dead1 bob 1501 polotest '' '' $(sed -n 's/^leader=//p' "$S"/sessions/dead1) False " \
	"the JSON is an array of objects with the fields in order and the right values"
opened=$(sed -n 's/^opened=//p' "$S"/sessions/live1)
is "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["opened"])' "$T"/json)" "$opened" \
	"... opened is the epoch second recorded"

printf '[session]\nstatedir = %s\n' "$T/nostate" >"$T"/empty.conf
is "$(ctl "$T"/empty.conf sessions)" "ID  USER  UID  SERVICE  TTY  FROM  SINCE  LEADER  STATE" \
	"no state directory: only the header"
is "$(ctl "$T"/empty.conf sessions --json)" "[]" "... and [] as JSON"
[ -e "$T"/nostate ] && fail "... and it is not created" || pass "... and it is not created"

# --- gc --dry-run ----------------------------------------------------------
if is_root; then
	mv "$TH"/carol "$T"/carol-moved
	ln -s "$T"/victim "$TH"/carol	# carol's home replaced by a symlink
	# a home whose creator was killed mid-copy, and one being made now
	mkdir -m 0700 "$TH"/.polohook-new.dave "$TH"/.polohook-new.erin
	echo half >"$TH"/.polohook-new.dave/.profile
	# the lock holder is one process (exec'd into sleep, holding fd 9),
	# so that killing it ends it all, and it keeps no TAP pipe open
	( exec 9<"$TH"/.polohook-new.erin; flock 9; exec sleep 100 ) >/dev/null 2>&1 &
	pflock=$!
	n=0; while ! grep -q "$(stat -c %i "$TH"/.polohook-new.erin)" /proc/locks && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done
fi
snapshot "$S" "$TH" "$T"/victim >"$T"/before
ctl "$T"/polo.conf gc --dry-run >"$T"/gc 2>"$T"/err
rc=$?
like "$T"/gc '^would prune dead session dead1 of bob$' "gc --dry-run reports the dead session it would prune"
unlike "$T"/gc 'live1' "... and not the live one"
snapshot "$S" "$TH" "$T"/victim >"$T"/after
is "$(diff "$T"/before "$T"/after)" "" "... and changes nothing in the state or the homes"
if is_root; then
	like "$T"/gc "^would remove $TH/bob$" "... reports the home of a crashed session it would remove"
	like "$T"/gc "^kept $TH/alice: 1 live session$" "... keeps the home of a user with a live session"
	like "$T"/gc "^not removed $TH/carol: " "... and refuses a home replaced by a symlink"
	like "$T"/gc "^would remove 1 unfinished home in $TH$" "... reports the home a killed creator left unfinished"
	is "$rc" 1 "... which makes it exit 1"
else
	is "$rc" 0 "... and exits 0"
	skip "needs root: tmphome in gc --dry-run"
	skip "needs root: tmphome in gc --dry-run"
	skip "needs root: tmphome in gc --dry-run"
	skip "needs root: tmphome in gc --dry-run"
fi

# --- gc ----------------------------------------------------------------------
ctl "$T"/polo.conf gc >"$T"/gc 2>"$T"/err
rc=$?
like "$T"/gc '^pruned dead session dead1 of bob$' "gc prunes the dead session"
[ -e "$S"/sessions/dead1 ] && fail "... its record is gone" || pass "... its record is gone"
[ -e "$S"/sessions/live1 ] && pass "... the live one stays" || fail "... the live one stays"
ctl "$T"/polo.conf sessions >"$T"/sess
is "$(awk 'NR > 1 {print $1, $NF}' "$T"/sess)" "live1 live" "... and sessions then lists only the live one"
if is_root; then
	like "$T"/gc "^removed $TH/bob$" "gc removes the tmphome a crashed session left behind"
	[ -e "$TH"/bob ] && fail "... it is gone" || pass "... it is gone"
	[ -e "$TH"/.polohook/bob ] && fail "... with its registry entry" || pass "... with its registry entry"
	like "$T"/gc "^kept $TH/alice: 1 live session$" "gc keeps the home of a user with a live session"
	[ -d "$TH"/alice ] && pass "... it is there" || fail "... it is there"
	like "$T"/gc "^not removed $TH/carol: " "gc refuses a home replaced by a symlink"
	like "$T"/err "error: tmphome $TH/carol is no longer a directory" "... and says why on stderr"
	is "$(snapshot "$T"/victim)" "$(grep "^$T/victim" "$T"/before)" "... and the directory it points to is untouched"
	like "$T"/gc "^removed 1 unfinished home in $TH$" "gc removes the home a killed creator left unfinished"
	[ -e "$TH"/.polohook-new.dave ] && fail "... it is gone" || pass "... it is gone"
	[ -d "$TH"/.polohook-new.erin ] && pass "... but not one whose creator is at work (its lock is held)" ||
		fail "... but not one whose creator is at work (its lock is held)"
	kill "$pflock"; wait "$pflock" 2>/dev/null
	is "$rc" 1 "... and exits 1"
	# a crashed session of bob's, and a process of his whose main thread
	# has exited (State: Z) while another thread works in the home
	pamh -u bob -e XDG_SESSION_ID=dead3 open crash >/dev/null
	setpriv --reuid=1501 --regid=1501 --clear-groups \
		"$B/t/leader-exit" "$TH/bob" 30 &
	lp=$!
	echo $lp >>"$T/pids"
	i=0; while [ ! -e "$TH/bob/leader-exited" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	ctl "$T"/polo.conf gc >"$T"/gc 2>"$T"/err
	like "$T"/gc "^kept $TH/bob: uid 1501 still has processes$" \
		"gc keeps a home while a thread lives on after its process's main thread exited"
	[ -e "$TH/bob/leader-exited" ] && pass "... it is there" || fail "... it is there"
	kill $lp; wait $lp 2>/dev/null
	ctl "$T"/polo.conf gc >"$T"/gc 2>"$T"/err
	like "$T"/gc "^removed $TH/bob$" "... and removes it once that process is gone"
	[ -e "$TH/bob" ] && fail "... it is gone" || pass "... it is gone"
else
	is "$rc" 0 "gc exits 0"
	i=0; while [ $i -lt 15 ]; do skip "needs root: tmphome in gc"; i=$((i + 1)); done
fi
touch "$O"/go; wait $plive

# --- gc --uid, as logind's stop of a user runs it ------------------------
# (the drop-in systemd/user-runtime-dir@.service.d/polohook.conf)
if is_root; then
	rm -rf $TH/carol; mv $T/carol-moved $TH/carol
	pamh -u alice -e XDG_SESSION_ID=u1 open crash >/dev/null
	pamh -u bob -e XDG_SESSION_ID=u2 open crash >/dev/null
	with_syslog $T/gcsys env LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd \
		NSS_WRAPPER_GROUP=$T/group "$CTL" -c $T/polo.conf -q gc --uid 1501 \
		>$T/gc 2>$T/err
	rc=$?
	is "$rc" 0 "gc --uid 1501 exits 0"
	is "$(cat $T/gc $T/err)" "" "... -q prints nothing"
	[ -e $TH/bob ] && fail "... bob's abandoned home is gone" || pass "... bob's abandoned home is gone"
	[ -e $S/sessions/u2 ] && fail "... with his dead session" || pass "... with his dead session"
	[ -d $TH/alice ] && pass "... alice's, abandoned too, is another uid's: left" ||
		fail "... alice's, abandoned too, is another uid's: left"
	[ -e $S/sessions/u1 ] && pass "... with her dead session" || fail "... with her dead session"
	like $T/gcsys "^<86>.*polohookctl\[[0-9]+\]: gc: removed $TH/bob\$" \
		"... and the removal is in the auth log (authpriv.info, tag polohookctl)"
	like $T/gcsys "polohookctl\[[0-9]+\]: gc: pruned dead session u2 of bob\$" "... as is the pruned session"
	unlike $T/gcsys "alice" "... and nothing of alice"
	ctl $T/polo.conf gc --dry-run --uid 1500 >$T/gc 2>&1
	is "$(cat $T/gc)" "would prune dead session u1 of alice
would remove $TH/alice" "gc --dry-run --uid reports only that uid"
else
	i=0; while [ $i -lt 10 ]; do skip "needs root: gc --uid with tmphome"; i=$((i + 1)); done
fi
for bad in "--uid" "--uid x1" "--uid -1" "--uid 4294967295" "--uid 1 --uid 2" "--uid 99999999999"; do
	# shellcheck disable=SC2086 # the words are the arguments
	ctl $T/polo.conf gc $bad >/dev/null 2>$T/err
	is "$?" 2 "gc $bad is a usage error"
done
ctl $T/polo.conf sessions --uid 1 >/dev/null 2>&1
is "$?" 2 "... and --uid is gc's only"

# --- check -------------------------------------------------------------------
H=$T/sample
mkdir -p "$H"/added "$H"/removed "$H"/scripts/start
mkhook() { printf '#!/bin/sh\n' >"$1"; chmod "$2" "$1"; }
mkhook "$H"/scripts/start/mount 0755
ln -s ../scripts/start/mount "$H"/added/10W-mount
mkhook "$H"/added/20W-bad 0755
chmod 0775 "$H"/added/20W-bad
mkhook "$H"/added/30W-off 0644
mkhook "$H"/added/50D-agent 0755
mkhook "$H"/added/90-audit 0755
mkhook "$H"/added/Z99-last 0755
mkhook "$H"/added/x.dpkg-old 0755
mkhook "$H"/added/.hidden 0755
mkhook "$H/added/a+b" 0755
cat >"$T"/check.conf <<EOC
[hooks]
hookdir = $H
[session]
statedir = $S
EOC
LC_ALL=en_US.UTF-8 ctl "$T"/check.conf check >"$T"/chk 2>"$T"/err
is "$?" 1 "check exits 1 when a hook is group-writable"
like "$T"/chk "^config $T/check.conf: ok$" "check says the config is fine"
is "$(sed -n '/added:$/,/^[^ ]/p' "$T"/chk | sed -n 's/^  \([^ ]*\) .*/\1/p' | tr '\n' ' ')" \
	".hidden 10W-mount 20W-bad 30W-off 50D-agent 90-audit Z99-last a+b x.dpkg-old " \
	"every entry is listed, in byte order whatever the locale"
like "$T"/chk "^  10W-mount +W +run +$H/scripts/start/mount$" "a W hook through a symlink: run, with the file that runs"
like "$T"/chk "^  20W-bad +W +UNSAFE: $H/added/20W-bad is writable by group or others \(mode 0775\)$" \
	"a group-writable hook is UNSAFE, with the reason"
like "$T"/chk '^  30W-off +W +skipped: not executable$' "a hook without x bits is skipped"
like "$T"/chk '^  50D-agent +D +run$' "a D hook"
like "$T"/chk '^  90-audit +batch +run$' "a batch hook"
like "$T"/chk '^  Z99-last +batch +run$' "... any other valid name is batch"
like "$T"/chk '^  x\.dpkg-old +- +skipped: package or editor leftover$' "a package leftover is skipped"
like "$T"/chk '^  \.hidden +- +skipped: not a valid hook name$' "a dot file is skipped"
like "$T"/chk '^  a\+b +- +skipped: not a valid hook name$' "a name outside [A-Za-z0-9_.-] is skipped"
like "$T"/chk "^$H/removed: \(empty\)$" "an empty directory says so"
like "$T"/chk '^runner ' "with D or batch hooks the runner is checked"
like "$T"/chk "^statedir $S: ok$" "the state directory is checked"
like "$T"/chk '^[1-9][0-9]* problems?$' "the problems are counted"

chmod 0755 "$H"/added/20W-bad
rm -f "$H"/added/50D-agent "$H"/added/90-audit "$H"/added/Z99-last
ctl "$T"/check.conf check >"$T"/chk 2>"$T"/err
is "$?" 0 "check exits 0 on a clean tree"
like "$T"/chk '^0 problems$' "... with 0 problems"
unlike "$T"/chk '^runner ' "... and without D or batch hooks no runner is needed"

chmod 0777 "$H"/removed
ctl "$T"/check.conf check >"$T"/chk 2>"$T"/err
is "$?" 1 "check exits 1 on a group/other-writable hook directory"
like "$T"/chk "^$H/removed: UNUSABLE: .*writable by group or others" "... and says why"
chmod 0755 "$H"/removed

cat >"$T"/bad.conf <<EOC
[hooks]
hookdir = $H
bogus = 1
[session]
statedir = relative/path
EOC
ctl "$T"/bad.conf check >"$T"/chk 2>"$T"/err
is "$?" 1 "check exits 1 on a config error"
like "$T"/chk "^  $T/bad.conf:3: unknown key 'bogus' in \[hooks\]$" "... and shows it as file:line"
like "$T"/chk "^  $T/bad.conf:5: bad value for statedir" "... every one of them"
ctl "$T"/bad.conf sessions >/dev/null 2>"$T"/err
is "$?" 1 "sessions refuses to work from a config with errors"
like "$T"/err "bad.conf:3: unknown key" "... and says what is wrong"

if is_root; then
	ctl "$T"/polo.conf check >"$T"/chk 2>"$T"/err
	like "$T"/chk "^tmphome $TH: ok$" "check looks at the tmphome root"
	chmod 1777 "$TH"
	ctl "$T"/polo.conf check >"$T"/chk 2>"$T"/err
	is "$?" 1 "check exits 1 when the tmphome root is world-writable, even sticky"
	like "$T"/chk "^tmphome $TH: PROBLEM: writable by group or others \(mode 1777\)$" "... and says why"
	chmod 0755 "$TH"
else
	skip "needs root: tmphome in check"
	skip "needs root: tmphome in check"
	skip "needs root: tmphome in check"
fi

# --- usage -------------------------------------------------------------------
ctl "$T"/nonexistent.conf sessions >/dev/null 2>"$T"/err
is "$?" 1 "a missing -c file is an error"
ctl "$T"/polo.conf frobnicate >/dev/null 2>&1
is "$?" 2 "an unknown command is a usage error"
ctl "$T"/polo.conf sessions --bogus >/dev/null 2>&1
is "$?" 2 "an unknown option is a usage error"
done_testing
