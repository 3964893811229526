#!/bin/sh
# The session state tree: what the hooks learn from it (POLO_USER_SESSIONS,
# POLO_LAST_SESSION), with concurrent logins, crashes and closes from
# another process; and how it refuses an unsafe state directory.
. "$(dirname "$0")/lib.sh"
O=$T/out
S=$T/state
service statedir="$S"
hook added 10W-rec 'echo "open $POLO_SESSION_ID $POLO_USER_SESSIONS" >>'"$O"'/log'
hook removed 10W-rec 'echo "close $POLO_SESSION_ID $POLO_USER_SESSIONS $POLO_LAST_SESSION" >>'"$O"'/log'

# one session: open counts it, close is the last
pamh -u alice -e XDG_SESSION_ID=s1 open close >/dev/null
is "$(cat "$O"/log)" "open s1 1
close s1 0 true" "a lone session: 1 at open; 0 and last at close"
is "$(stat -c %a "$S")" 700 "the state directory is created 0700"
is "$(find "$S"/sessions "$S"/users/alice -mindepth 1 | wc -l)" 0 \
	"nothing is left in the state after the close"

# two sessions of one user, the first closing first
rm -f "$O"/*
pamh -u alice -e XDG_SESSION_ID=a open wait:"$O"/go-a close >/dev/null &
pa=$!
wait_for "$O"/log
pamh -u alice -e XDG_SESSION_ID=b -t pts/2 open wait:"$O"/go-b crash >/dev/null &
pb=$!
n=0; while [ "$(wc -l <"$O"/log)" -lt 2 ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done
leader=$(sed -n 's/^leader=//p' "$S"/sessions/a)
is "$(cat /proc/"$leader"/comm 2>/dev/null)" "pamh" "the session file names its leader (the process that opened it)"
like "$S"/sessions/a '^user=alice$' "... and the user"
touch "$O"/go-a; wait $pa
is "$(cat "$O"/log)" "open a 1
open b 2
close a 1 false" "a second session counts 2; closing the first leaves 1, not the last"
touch "$O"/go-b; wait $pb

# b's login program died without closing: b no longer counts
rm -f "$O"/*
pamh -u alice -e XDG_SESSION_ID=c open close >/dev/null
is "$(cat "$O"/log)" "open c 1
close c 0 true" "a session whose leader died (crash) is not counted"
[ -e "$S"/sessions/b ] && fail "the dead session was pruned" || pass "the dead session was pruned"

# a login program that crashes, then the next login
rm -f "$O"/*
pamh -u alice -e XDG_SESSION_ID=d open crash >/dev/null
pamh -u alice -e XDG_SESSION_ID=e open close >/dev/null
like "$O"/log '^open e 1$' "after a crashed session the next login counts 1"
like "$O"/log '^close e 0 true$' "... and its close is the last"

# close from another process: by POLO_SESSION_ID, else by service + tty
rm -f "$O"/*
pamh -u alice -e XDG_SESSION_ID=f -t tty3 open wait:"$O"/go-f >/dev/null &
pf=$!
wait_for "$O"/log
pamh -u alice -e POLO_SESSION_ID=f close >/dev/null
like "$O"/log '^close f 0 true$' "a close through another process finds the session by POLO_SESSION_ID"
touch "$O"/go-f; wait $pf
rm -f "$O"/*
pamh -u alice -e XDG_SESSION_ID=g -t tty4 open wait:"$O"/go-g >/dev/null &
pg=$!
wait_for "$O"/log
pamh -u alice -t tty4 close >/dev/null
like "$O"/log '^close g 0 true$' "... and, without an id, by user, service and tty"
touch "$O"/go-g; wait $pg

# ... and the count after such a search still sees the user's other session
rm -f "$O"/*
pamh -u alice -e XDG_SESSION_ID=t1 -t tty11 open wait:"$O"/go-t >/dev/null &
pt1=$!
pamh -u alice -e XDG_SESSION_ID=t2 -t tty12 open wait:"$O"/go-t >/dev/null &
pt2=$!
n=0; while [ "$(wc -l 2>/dev/null <"$O"/log)" != 2 ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done
pamh -u alice -t tty11 close >/dev/null
like "$O"/log '^close t1 1 false$' "a close found by tty still counts the user's other session"
touch "$O"/go-t; wait $pt1 $pt2

# 50 logins and logouts of one user at once
rm -f "$O"/*
i=1
while [ $i -le 50 ]; do
	pamh -u alice -e XDG_SESSION_ID=p$i open wait:"$O"/gate close >/dev/null &
	i=$((i + 1))
done
n=0
while [ "$(grep -c '^open' "$O"/log 2>/dev/null)" != 50 ] && [ $n -lt 600 ]; do
	sleep 0.05; n=$((n + 1))
done
touch "$O"/gate
wait
is "$(sed -n 's/^open p[0-9]* //p' "$O"/log | sort -n | tr '\n' ' ')" \
	"$(seq 1 50 | tr '\n' ' ')" "50 concurrent opens see the counts 1..50, each once"
is "$(sed -n 's/^close p[0-9]* \([0-9]*\) .*/\1/p' "$O"/log | sort -n | tr '\n' ' ')" \
	"$(seq 0 49 | tr '\n' ' ')" "50 concurrent closes see 49..0, each once"
is "$(grep -c '^close .* true$' "$O"/log)" 1 "exactly one close is the user's last"
is "$(ls "$S"/sessions | wc -l)" 0 "no session is left in the state"

# a session id that is already recorded (XDG_SESSION_ID comes from the PAM
# environment) is never taken over: not by another user, not by the same
rm -f "$O"/* "$LOG"
pamh -u alice -e XDG_SESSION_ID=s7 -t tty8 open wait:"$O"/go-s7 close >/dev/null &
ps7=$!
wait_for "$O"/log
pamh -u bob -e XDG_SESSION_ID=s7 -t tty9 open wait:"$O"/go-bob close >/dev/null &
pbob=$!
n=0; while [ "$(wc -l <"$O"/log)" -lt 2 ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done
like "$S"/sessions/s7 '^user=alice$' "another user's login with a taken id does not overwrite the record"
bobid=$(sed -n '2s/^open \([^ ]*\) .*/\1/p' "$O"/log)
like "$S"/sessions/"$bobid" '^user=bob$' "... it is recorded under a fresh id, which its hooks get ($bobid)"
like "$LOG" "warning .*session id s7 of bob is already recorded: recorded as $bobid" "... and the log says so"
pamh -u alice -e XDG_SESSION_ID=s7b -t tty10 open close >/dev/null
like "$O"/log '^open s7b 2$' "alice's own count is not disturbed (2 at her second login)"
touch "$O"/go-bob; wait $pbob
like "$O"/log "^close $bobid 0 true\$" "bob's close finds his session by the fresh id"
touch "$O"/go-s7; wait $ps7
like "$O"/log '^close s7 0 true$' "... and alice's s7 closes as hers"

# the whole state tree deleted (an admin's rm -rf, a tmpfs remounted) while
# two sessions are open: the next login rebuilds it and is counted, the old
# sessions' closes still run their hooks, say what they could not find, and
# do not count a session that is not recorded as the user's last
rm -f "$O"/* "$LOG"
pamh -u alice -e XDG_SESSION_ID=r1 -t tty5 open wait:"$O"/go-r1 close >/dev/null &
pr1=$!
pamh -u alice -e XDG_SESSION_ID=r2 -t tty6 open wait:"$O"/go-r2 close >/dev/null &
pr2=$!
n=0; while [ "$(wc -l 2>/dev/null <"$O"/log)" != 2 ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done
rm -rf "${S:?}"
pamh -u alice -e XDG_SESSION_ID=r3 -t tty7 open wait:"$O"/go-r3 close >/dev/null &
pr3=$!
n=0; while ! grep -q '^open r3' "$O"/log 2>/dev/null && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done
like "$O"/log '^open r3 1$' "state tree deleted: the next login rebuilds it and counts itself"
is "$(stat -c %a "$S" 2>/dev/null)" 700 "... the rebuilt state directory is 0700 again"
is "$(ls "$S"/sessions 2>/dev/null)" r3 "... and records only what it knows: r3"
touch "$O"/go-r1; wait $pr1
like "$O"/log '^close r1 1 false$' "a session lost with the tree still runs its close hooks, and r3 keeps it from being the last"
like "$LOG" "notice .*no session r1 of alice recorded" "... its close says the session was not recorded"
touch "$O"/go-r3; wait $pr3
like "$O"/log '^close r3 0 true$' "the rebuilt tree's own session closes as the last one known"
touch "$O"/go-r2; wait $pr2
like "$O"/log '^close r2 0 true$' "... and the other lost session closes too, with the tree empty"
is "$(find "$S"/sessions "$S"/users/alice -mindepth 1 | wc -l)" 0 "... leaving an empty tree"

# the user's service manager (systemd --user, PAM service systemd-user) is
# not a login: logind opens it at the user's first login and closes it
# after the last, so counted it would make every first login the second
# and no logout the last; its open and close run no hook either
rm -f $O/* $LOG
{ sed 's/$/ debug/' $T/pam/polotest; echo "session required pam_permit.so"; } >$T/pam/systemd-user
pamh -u alice -e XDG_SESSION_ID=m1 -t pts/3 open wait:$O/go-m1 close >/dev/null &
pm1=$!
wait_for $O/log
pamh -u alice -s systemd-user open wait:$O/go-um close >$T/res-um &
pum=$!
n=0; while ! grep -q '^open' $T/res-um 2>/dev/null && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done
is "$(ls $S/sessions)" m1 "the user manager's session (systemd-user) is not recorded"
pamh -u alice -e XDG_SESSION_ID=m2 -t pts/4 open close >/dev/null
touch $O/go-m1; wait $pm1
touch $O/go-um; wait $pum
is "$(cat $O/log)" "open m1 1
open m2 2
close m2 1 false
close m1 0 true" "... a login beside it counts 1, a second 2, and the real last logout is the last"
is "$(cat $T/res-um)" "open: Success
close: Success" "... its open and close succeed (the module ignores them)"
like $LOG "debug .*systemd-user: the user's service manager, not a login" "... and say so at debug level"

# an unsafe state directory is refused, and the login goes on
rm -rf "${S:?}" "${O:?}"/* "${LOG:?}"
mkdir "$T"/elsewhere
ln -s "$T"/elsewhere "$S"
pamh -u alice -e XDG_SESSION_ID=h open >"$T"/res
is "$(cat "$T"/res)" "open: Success" "a symlinked state directory does not stop the login"
like "$LOG" "^err .*state $S refused: .*symlink" "... it is refused and logged"
is "$(ls "$T"/elsewhere)" "" "... and nothing is written where it points"
is "$(cat "$O"/log)" "open h " "... and hooks run without a session count"
rm -f "$S"
mkdir -m 0777 "$S"
rm -f "$LOG"
pamh -u alice open >/dev/null
like "$LOG" "^err .*state $S refused: .*writable by group or others" "a world-writable state directory is refused"
rmdir "$S"
if is_root; then
	mkdir -m 0700 "$S" && chown 1500 "$S"
	rm -f "$LOG"
	pamh -u alice open >/dev/null
	like "$LOG" "^err .*state $S refused: .*owned by uid 1500" "a state directory owned by a user is refused"
	rm -rf "${S:?}"
	mkdir -m 0755 "$S"
	pamh -u alice -e XDG_SESSION_ID=i open close >/dev/null
	like "$O"/log '^close i 0 true$' "a pre-existing root-owned 0755 state directory is used"
else
	skip "needs root: state directory owned by a user"
	skip "needs root: pre-existing 0755 state directory"
fi
done_testing
