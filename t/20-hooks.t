#!/bin/sh
# The hook contract through the real PAM library: what runs, in which
# order, with which arguments and environment, and what is refused.
. "$(dirname "$0")/lib.sh"
O=$T/out

# --- W hooks: argv[1], environment, at open and at close -----------------
service debug
hook added 10W-env "echo \"\$# \$1\" >$O/open.argv; env | sort >$O/open.env"
hook removed 10W-env "echo \"\$# \$1\" >$O/close.argv; env | sort >$O/close.env"
FOO=inherited pamh -u alice -t /dev/pts/7 -r 192.0.2.9 -R carol \
	-e FOO=pamenv -e XDG_SESSION_ID=c42 open close >"$T"/res
is "$(cat "$T"/res)" "open: Success
close: Success" "open and close succeed"
is "$(cat "$O"/open.argv)" "1 session_added" "W hook at open gets argv[1] session_added"
is "$(cat "$O"/close.argv)" "1 session_removed" "W hook at close gets argv[1] session_removed"
is "$(grep -v '^PWD=' "$O"/open.env)" "CK_SESSION_DISPLAY_DEVICE=/dev/pts/7
CK_SESSION_ID=c42
CK_SESSION_IS_LOCAL=false
CK_SESSION_REMOTE_HOST_NAME=192.0.2.9
CK_SESSION_SERVICE=polotest
CK_SESSION_USER_UID=1500
PAM_RHOST=192.0.2.9
PAM_RUSER=carol
PAM_SERVICE=polotest
PAM_TTY=/dev/pts/7
PAM_TYPE=open_session
PAM_USER=alice
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
POLO_LAST_SESSION=false
POLO_SESSION_ID=c42
POLO_SESSION_IS_LOCAL=false
POLO_USER_GID=1500
POLO_USER_HOME=$T/home/alice
POLO_USER_SESSIONS=1
POLO_USER_UID=1500" "environment at open: exactly the documented variables, nothing inherited"
like "$O"/close.env '^PAM_TYPE=close_session$' "PAM_TYPE at close"
like "$O"/close.env '^POLO_SESSION_ID=c42$' "close sees the session id of open"
like "$O"/close.env '^POLO_USER_SESSIONS=0$' "close counts the user's other sessions"
like "$O"/close.env '^POLO_LAST_SESSION=true$' "... and knows this was the last"

# session id: generated when pam_systemd did not set one, kept for close,
# found again by a close through another handle (POLO_SESSION_ID in env)
rm -f "$O"/*
pamh -u alice open env close >"$T"/res
id=$(sed -n 's/^env: POLO_SESSION_ID=//p' "$T"/res)
case $id in
????????????????????????????????) pass "a generated session id is 32 characters" ;;
*) fail "a generated session id is 32 characters (got '$id')" ;;
esac
like "$O"/open.env "^POLO_SESSION_ID=$id\$" "open hook sees the generated id"
like "$O"/close.env "^POLO_SESSION_ID=$id\$" "close hook sees the same id"
rm -f "$O"/*
pamh -u alice -e POLO_SESSION_ID=abc123 close >/dev/null
like "$O"/close.env '^POLO_SESSION_ID=abc123$' "close through another handle finds POLO_SESSION_ID"

# local or not
for rh in "" localhost 127.0.0.1 ::1; do
	rm -f "$O"/*
	if [ -n "$rh" ]; then pamh -u alice -r "$rh" open >/dev/null; else pamh -u alice open >/dev/null; fi
	like "$O"/open.env '^POLO_SESSION_IS_LOCAL=true$' "rhost '$rh' is local"
	like "$O"/open.env '^CK_SESSION_IS_LOCAL=true$' "CK_SESSION_IS_LOCAL for '$rh'"
done

# a remote host that cannot be passed on is dropped, and never "local"
rm -f "$O"/* "$LOG"
pamh -u alice -r "$(printf 'evil\nhost')" open >/dev/null
like "$O"/open.env '^PAM_RHOST=$' "a PAM_RHOST with a newline reaches hooks empty"
like "$O"/open.env '^POLO_SESSION_IS_LOCAL=false$' "... and the session is not taken for local"
like "$LOG" "^warning .*PAM_RHOST holds control characters" "... and that is logged"

# --- order: byte order of names whatever the locale ----------------------
rm -f "$T"/hooks/added/* "$T"/hooks/removed/* "$O"/*
for n in 10W-b 10W-B 10W-_x 10W-a 9W-z 100W-y 10W-a.b; do
	hook added $n "echo $n >>$O/order"
done
LC_ALL=en_US.UTF-8 LANG=en_US.UTF-8 pamh -u alice open >/dev/null
is "$(tr '\n' ' ' <"$O"/order)" "100W-y 10W-B 10W-_x 10W-a 10W-a.b 10W-b 9W-z " \
	"hooks run in strcmp byte order"

# --- skipped names --------------------------------------------------------
rm -f "$T"/hooks/added/* "$O"/* "$LOG"
for n in x.dpkg-old x.dpkg-new x.dpkg-dist x.dpkg-tmp x.rpmsave x.rpmnew \
	x.rpmorig x.ucf-dist x.swp x.bak x.orig .hidden 'sp ace' 'ti~lde'; do
	hook added "$n" "echo '$n' >>$O/ran"
done
hook added 10W-real "echo real >>$O/ran"
pamh -u alice open >/dev/null
is "$(cat "$O"/ran)" "real" "leftovers, hidden and invalid names are not run"
like "$LOG" "skipping 'x.dpkg-old': package or editor leftover" "a skipped leftover is logged (debug)"
like "$LOG" "skipping 'sp ace': not a valid hook name" "an invalid name is logged (debug)"

# more hooks than the limit: none run, rather than an arbitrary subset
rm -f "$T"/hooks/added/* "$O"/* "$LOG"
i=0
while [ $i -le 1024 ]; do
	printf '#!/bin/sh\necho >>%s/many\n' "$O" >"$T"/hooks/added/h$i
	i=$((i + 1))
done
chmod 0755 "$T"/hooks/added/*
pamh -u alice open >/dev/null
is "$(cat "$O"/many 2>/dev/null)" "" "with 1025 hooks in a directory none runs"
like "$LOG" "^err .*/added: more than 1024 hooks, running none" "... and that is logged"

# --- symlinks into scripts/start ------------------------------------------
rm -f "$T"/hooks/added/* "$O"/*
printf '#!/bin/sh\necho "linked $1 $0" >%s/linked\n' "$O" >"$T"/hooks/scripts/start/greet
chmod 0755 "$T"/hooks/scripts/start/greet
ln -s ../scripts/start/greet "$T"/hooks/added/10W-greet
pamh -u alice open >/dev/null
is "$(cat "$O"/linked)" "linked session_added $T/hooks/scripts/start/greet" \
	"a symlinked hook runs, executed by its resolved path"

# --- modes: W waited, D detached, batch in order after the walk -----------
rm -f "$T"/hooks/added/* "$O"/*
mkfifo "$O"/gate
hook added 10-b1 "echo b1-start >>$O/seq; sleep 0.2; echo b1-end >>$O/seq"
hook added 20W-w "echo w >>$O/seq"
hook added 30-b2 "echo b2 >>$O/seq; echo >$O/bdone"
hook added 40D-d "cat $O/gate >/dev/null; echo \"d \$PPID\" >$O/d"
pamh -u alice open >"$T"/res
is "$(cat "$T"/res)" "open: Success" "open returns while the D hook still waits on its gate"
wait_for "$O"/bdone
is "$(tr '\n' ' ' <"$O"/seq)" "w b1-start b1-end b2 " \
	"W ran during the walk; the batch ran after it, one hook after another, in order"
echo go >"$O"/gate
wait_for "$O"/d
like "$O"/d '^d [0-9]+$' "the D hook ran to its end after the login went on"
rm -f "$O"/gate

# --- D hooks: before a W hook each starts in its turn, on its own; after the
# last W hook they go with the batch, whose runner starts them first
rm -f "$T"/hooks/added/* "$O"/* "$LOG"
hook added 10D-early "echo early >$O/early"
hook added 20W-w "echo w >>$O/seq"
hook added 30-slow "sleep 1; echo slow-done >>$O/seq2; echo >$O/bdone"
hook added 40D-late "echo late-started >>$O/seq2"
pamh -u alice open >/dev/null
wait_for "$O"/bdone
wait_for "$O"/early
like "$LOG" "started $B/polohook-run for 1 hook\(s\): 10D-early$" \
	"a D hook before a W hook is started in its turn, by a runner of its own"
like "$LOG" "started $B/polohook-run for 2 hook\(s\)$" \
	"the D hooks after the last W hook go with the batch: one runner for both"
is "$(grep -c 'started .*polohook-run' "$LOG")" 2 "... two detached starts in all"
is "$(head -n1 "$O"/seq2)" "late-started" "... and that runner starts the D hook before the batch runs"

# --- refusals --------------------------------------------------------------
rm -f "$T"/hooks/added/* "$O"/* "$LOG"
hook added 10W-gw "echo gw >>$O/ran"
chmod 0775 "$T"/hooks/added/10W-gw
hook added 20W-plain "echo plain >>$O/ran"
hook added 30W-noexec "echo noexec >>$O/ran"
chmod 0644 "$T"/hooks/added/30W-noexec
pamh -u alice open >/dev/null
is "$(cat "$O"/ran)" "plain" "a group-writable hook and a non-executable one do not run"
like "$LOG" "^err .*not running unsafe hook '10W-gw': .*10W-gw is writable by group or others" \
	"the unsafe hook is logged at LOG_ERR with the reason"
like "$LOG" "skipping '30W-noexec': .* is not executable" "a non-executable hook is skipped (debug)"

rm -f "$T"/hooks/added/* "$O"/* "$LOG"
mkdir -p "$T"/gw && chmod 0777 "$T"/gw
printf '#!/bin/sh\necho evil >>%s/ran\n' "$O" >"$T"/gw/evil && chmod 0755 "$T"/gw/evil
ln -s "$T"/gw/evil "$T"/hooks/added/10W-evil
pamh -u alice open >/dev/null
is "$(cat "$O"/ran 2>/dev/null)" "" "a hook behind a world-writable directory does not run"
like "$LOG" "not running unsafe hook '10W-evil': $T/gw is writable by group or others" \
	"the refusal names the writable directory"
rm -rf "${T:?}"/gw

if is_root; then
	rm -f "$T"/hooks/added/* "$O"/* "$LOG"
	hook added 10W-alices "echo alice >>$O/ran"
	chown 1500 "$T"/hooks/added/10W-alices
	pamh -u alice open >/dev/null
	is "$(cat "$O"/ran 2>/dev/null)" "" "a hook owned by another user does not run"
	like "$LOG" "not running unsafe hook '10W-alices': .* is owned by uid 1500" \
		"the refusal names the owner"
	rm -f "$T"/hooks/added/* "$LOG"
	chown 1500 "$T"/hooks/added
	hook added 10W-x "echo x >>$O/ran"
	pamh -u alice open >/dev/null
	like "$LOG" "hook directory $T/hooks/added refused: .* is owned by uid 1500" \
		"a hook directory owned by a user is refused"
	chown 0 "$T"/hooks/added
else
	skip "needs root: hook owned by another user"
	skip "needs root: refusal names the owner"
	skip "needs root: hook directory owned by a user"
fi

# --- onerr ------------------------------------------------------------------
rm -f "$T"/hooks/added/* "$T"/hooks/removed/* "$O"/* "$LOG"
hook added 10W-fails "echo fails >>$O/ran; exit 1"
hook added 20W-after "echo after >>$O/ran"
hook added 30-batch "echo batch >>$O/ran; echo >$O/bdone"
hook removed 10W-fails "echo rfails >>$O/ran; exit 1"
hook removed 20W-after "echo rafter >>$O/ran"
pamh -u alice open >"$T"/res
is "$(cat "$T"/res)" "open: Success" "onerr=succeed (default): a failing W hook does not fail the session"
wait_for "$O"/bdone
is "$(sort "$O"/ran | tr '\n' ' ')" "after batch fails " "... and the later hooks and the batch run"
like "$LOG" "^err .*hook 10W-fails exited with status 1" "the failure is logged"
rm -f "$O"/* "$LOG"
service onerr=fail debug
pamh -u alice open >"$T"/res
is "$(cat "$T"/res)" "open: Cannot make/remove an entry for the specified session" \
	"onerr=fail: a failing W hook makes open return PAM_SESSION_ERR"
is "$(cat "$O"/ran)" "fails" "onerr=fail: the walk ends there (no later hook)"
unlike "$LOG" "started .*polohook-run" "onerr=fail: ... and the batch is not started"
rm -f "$O"/*
pamh -u alice close >"$T"/res
is "$(cat "$O"/ran | tr '\n' ' ')" "rfails rafter " "onerr=fail at close: every hook still runs"
is "$(cat "$T"/res)" "close: Cannot make/remove an entry for the specified session" \
	"onerr=fail at close reports the failure"

# --- optin ------------------------------------------------------------------
rm -f "$T"/hooks/added/* "$T"/hooks/removed/* "$O"/*
service optin=.session
hook added 10W-x "echo ran >>$O/ran"
pamh -u alice open >/dev/null
is "$(cat "$O"/ran 2>/dev/null)" "" "optin: no hook for a user without the file"
: >"$T"/home/alice/.session
pamh -u alice open >/dev/null
is "$(cat "$O"/ran 2>/dev/null)" "ran" "optin: hooks run once the user's home holds it"
rm -f "$T"/home/alice/.session

# --- users ------------------------------------------------------------------
rm -f "$O"/* "$LOG"
service
pamh -u 'bad name' open >"$T"/res
is "$(cat "$T"/res)" "open: User not known to the underlying authentication module" \
	"an insane user name is PAM_USER_UNKNOWN"
is "$(cat "$O"/ran 2>/dev/null)" "" "... and no hook runs"
like "$LOG" "refusing user name 'bad name'" "... and it is logged"
pamh -u nosuchuser open >"$T"/res
is "$(cat "$T"/res)" "open: User not known to the underlying authentication module" \
	"an unknown user is PAM_USER_UNKNOWN"

# --- arguments and config ---------------------------------------------------
rm -f "$LOG" "$O"/*
service bogus timeout=abc
pamh -u alice open >"$T"/res
is "$(cat "$T"/res)" "open: Success" "unknown and bad arguments do not fail the session by default"
like "$LOG" "^err .*unknown option: bogus" "an unknown argument is logged"
like "$LOG" "^err .*bad value for timeout: 'abc'" "a bad value is logged"
is "$(cat "$O"/ran)" "ran" "the hooks still ran"
rm -f "$LOG" "$O"/*
service onerr=fail timeout=abc
pamh -u alice open >"$T"/res
is "$(cat "$T"/res)" "open: Cannot make/remove an entry for the specified session" \
	"a bad value under onerr=fail fails the session"
is "$(cat "$O"/ran 2>/dev/null)" "" "... before any hook runs"
rm -f "$LOG" "$O"/*
printf '[hooks]\ntimeout = 5\ntimout = 3\n' >"$T"/polo.conf
service
pamh -u alice open >"$T"/res
like "$LOG" "^err .*$T/polo.conf:3: unknown key 'timout' in \[hooks\]" \
	"a config error is logged with file:line"
is "$(cat "$O"/ran)" "ran" "the hooks still ran"
chmod 0666 "$T"/polo.conf
rm -f "$LOG"
pamh -u alice open >/dev/null
like "$LOG" "^err .*config $T/polo.conf refused: .*writable by group or others" \
	"a group/other-writable config file is refused"
rm -f "$T"/polo.conf

done_testing
