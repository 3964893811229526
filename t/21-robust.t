#!/bin/sh
# Hooks that misbehave never hang or crash the login, and the module
# leaves nothing behind in the host process: no fd, no child, no signal
# disposition changed.
. "$(dirname "$0")/lib.sh"
O=$T/out
service timeout=1

# A hook that hangs: SIGTERM to its process group at the deadline.
hook added 10W-hang "trap 'echo TERM >>$O/hang; exit 0' TERM; echo \$\$ >>$T/pids; sleep 100 & echo \$! >>$T/pids; wait"
hook added 20W-after "echo after >>$O/after"
pamh -u alice open >"$T"/res
is "$(cat "$T"/res)" "open: Success" "a hanging W hook does not hang the login"
is "$(cat "$O"/hang)" "TERM" "it got SIGTERM at the deadline"
like "$LOG" "^err .*hook 10W-hang timed out after 1 s, terminated with SIGTERM" "the timeout is logged"
is "$(cat "$O"/after)" "after" "the walk went on"

# One that ignores SIGTERM: SIGKILL after the grace period.
rm -f "$T"/hooks/added/* "$O"/* "$LOG"
hook added 10W-stubborn "trap '' TERM; echo \$\$ >>$T/pids; while :; do sleep 0.1; done"
pamh -u alice open >"$T"/res
is "$(cat "$T"/res)" "open: Success" "a W hook ignoring SIGTERM does not hang the login"
like "$LOG" "^err .*hook 10W-stubborn timed out after 1 s, killed with SIGKILL" "it is killed with SIGKILL, and that is logged"
pid=$(head -n1 "$T"/pids)
if kill -0 "$pid" 2>/dev/null; then fail "the stubborn hook is gone"; else pass "the stubborn hook is gone"; fi

# One that starts a daemon which keeps stdout open.
rm -f "$T"/hooks/added/* "$O"/* "$LOG"
service timeout=30
hook added 10W-daemon "sleep 100 & echo \$! >>$T/pids; echo started; exit 0"
pamh -u alice -F open >"$T"/res
is "$(head -n1 "$T"/res)" "open: Success" "a hook whose daemon keeps stdout open does not hang the login"
like "$LOG" "^info .*10W-daemon: started" "its output up to its exit is logged"
like "$LOG" "^info .*hook 10W-daemon exited with status 0" "it is reported as exited 0 (not timed out)"

# Megabytes of output: bounded in the log, and the hook is not blocked.
rm -f "$T"/hooks/added/* "$O"/* "$LOG"
hook added 10W-loud "yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx | head -c 5000000; echo done >$O/loud"
pamh -u alice open >"$T"/res
is "$(cat "$O"/loud)" "done" "a hook printing 5 MB runs to its end"
n=$(grep -c '10W-loud: x' "$LOG")
[ "$n" -gt 0 ] && [ "$n" -le 256 ] && pass "at most 256 of its lines are logged ($n)" || fail "at most 256 of its lines are logged ($n)"
like "$LOG" "^warning .*hook 10W-loud: [0-9]+ more bytes of output not logged" "the rest is counted, not logged"

# Long lines and control characters.
rm -f "$T"/hooks/added/* "$LOG"
hook added 10W-weird 'printf "a\033[31mred\tb\n"; head -c 2000 /dev/zero | tr "\0" y; echo'
pamh -u alice open >/dev/null
like "$LOG" "10W-weird: a\?\[31mred b$" "control characters in output are made harmless"
n=$(grep -c '10W-weird: yyy' "$LOG")
is "$n" "4" "a 2000-byte line is logged in bounded pieces"

# A hook killed by a signal, one that cannot be executed.
rm -f "$T"/hooks/added/* "$LOG"
hook added 10W-segv 'kill -SEGV $$'
printf '#!/nonexistent/interpreter\n' >"$T"/hooks/added/20W-badinterp
chmod 0755 "$T"/hooks/added/20W-badinterp
pamh -u alice open >"$T"/res
is "$(cat "$T"/res)" "open: Success" "crashing and unrunnable hooks do not fail the default session"
like "$LOG" "^err .*hook 10W-segv killed by signal 11 \(Segmentation fault\)" "death by signal is logged"
like "$LOG" "^err .*hook 20W-badinterp could not be run: No such file or directory" "an exec failure is logged with its reason"

# The host's SIGCHLD: ignored, or a handler that reaps everything.
rm -f "$T"/hooks/added/* "$LOG"
hook added 10W-three 'exit 3'
for how in ign reaper; do
	rm -f "$LOG"
	pamh -u alice -S $how -F open close >"$T"/res
	like "$LOG" "hook 10W-three exited with status 3" "SIGCHLD $how: the hook's exit status is still seen"
	like "$T"/res '^sigchld: unchanged$' "SIGCHLD $how: the host's disposition is restored"
	like "$T"/res '^children: none$' "SIGCHLD $how: no child left"
done

# A child of the host's own that exits while a W hook runs: the host hears
# of it as it would without the module (issue 11, item 2).
rm -f $T/hooks/added/* $LOG
hook added 10W-slow 'sleep 1; exit 5'
pamh -u alice -S count fork:200 open reap >$T/res
like $T/res '^open: Success$' "a host child exiting during a W hook: open succeeds"
like $LOG "hook 10W-slow exited with status 5" "... the hook's own exit is still waited for and seen"
like $T/res '^sigchld calls: 1$' "... the host's SIGCHLD handler ran once, for its own child"
like $T/res '^reap: exited 7$' "... and the host reaps that child, with its status"
like $T/res '^sigchld: unchanged$' "... and the handler is the host's again"
pamh -u alice -S ign -F fork:200 open >$T/res
like $T/res '^open: Success$' "SIGCHLD ignored, a host child exiting during a W hook: open succeeds"
like $LOG "hook 10W-slow exited with status 5" "... the hook's exit is seen"
like $T/res '^children: none$' "... and the host's child is not left a zombie (the host asked for them to be reaped)"
pamh -u alice -S reaper -F fork:200 open >$T/res
like $T/res '^children: none$' "a host that reaps every child in its handler: its child is reaped"

# SIGCHLD ignored: the module leaves it so, and never reaps a child of the
# host's; the kernel goes on reaping them, and the module's own W hook runs
# under a waiter (polohook-run -x) that reports how it ended.
rm -f $T/hooks/added/* $LOG
hook added 10W-look 'sleep 0.6; p=$PPID
while [ "$(cat /proc/$p/comm)" != pamh ]; do p=$(cut -d" " -f4 /proc/$p/stat); done
for c in $(cat /proc/$p/task/*/children); do echo "$(cat /proc/$c/comm) $(cut -d" " -f3 /proc/$c/stat)"; done >'"$O"'/host-children
cat /proc/$PPID/comm >'"$O"'/parent; exit 4'
pamh -u alice -S ign -F fork:200 open >$T/res
like $T/res '^sigchld: unchanged$' "SIGCHLD ignored: left as it is while a W hook runs"
is "$(cat $O/parent)" "polohook-run" "... the hook runs under the waiter"
is "$(grep -c ' Z$' $O/host-children)" "0" "... and the host's child that ended meanwhile never was a zombie"
like $LOG "hook 10W-look exited with status 4" "... the hook's exit status is still seen"
like $T/res '^children: none$' "... and no child is left"
service timeout=1
rm -f $T/hooks/added/* $LOG
hook added 10W-away 'echo $$ >'"$O"'/away.pid; exec setsid sleep 100'
hook added 20W-missing 'exec /nonexistent/x'
pamh -u alice -S ign -F open >$T/res
like $LOG "hook 10W-away timed out after 1 s, terminated with SIGTERM" "SIGCHLD ignored: the deadline still holds"
pid=$(cat $O/away.pid)
if kill -0 "$pid" 2>/dev/null; then fail "... the hook is gone, though it left the process group (the waiter passed SIGTERM on)"; else pass "... the hook is gone, though it left the process group (the waiter passed SIGTERM on)"; fi
like $LOG "hook 20W-missing exited with status 127" "... and a failing hook's status is seen"
like $T/res '^children: none$' "... and no child is left"
service timeout=30

# D and batch hooks: the runner is started without a fork of the host
# (posix_spawn, as W hooks are: no atfork handler of the host runs), detaches
# itself, and is reaped by its pid (issue 11, item 3).
rm -f $T/hooks/added/* $O/* $LOG
service timeout=1
hook added 10D-det "echo det >$O/det"
hook added 20-batch "echo batch >$O/batch"
pamh -u alice -A -F -S count open >$T/res
like $T/res '^open: Success$' "D and batch hooks: open succeeds"
like $T/res '^forks: 0$' "... and the host process was not forked"
like $T/res '^children: none$' "... and it has no child left (the runner detached and was reaped)"
like $T/res '^sigchld calls: 0$' "... and its SIGCHLD handler was not called for the runner"
wait_for $O/det && wait_for $O/batch
is "$(cat $O/det) $(cat $O/batch)" "det batch" "... and both hooks ran"
# runners that misbehave: the login logs why and waits at most timeout=
runner() {	# runner NAME BODY: a service "NAME" whose runner is $T/NAME
	printf '#!/bin/sh\n%s\n' "$2" >$T/$1
	chmod 0755 $T/$1
	echo "session required $B/pam_polohook.so hookdir=$T/hooks" \
		"conf=$T/polo.conf runner=$T/$1 statedir=$T/state timeout=1" \
		>$T/pam/$1
}
printf '#!/nonexistent/interpreter\n' >$T/badrunner
chmod 0755 $T/badrunner
echo "session required $B/pam_polohook.so hookdir=$T/hooks conf=$T/polo.conf" \
	"runner=$T/badrunner statedir=$T/state" >$T/pam/badrunner
runner runner3 'exit 3'
runner hangrunner "echo \$\$ >$T/hangpid; exec sleep 100"
for r in badrunner runner3 hangrunner; do
	pamh -s $r -u alice -F open >$T/res.$r
done
is "$(head -n1 $T/res.badrunner)" "open: Success" "a runner that cannot be exec'd does not fail the login"
like $LOG "^err .*cannot start $T/badrunner: No such file or directory$" \
	"... and the login's log says why (posix_spawn returns execve's error)"
like $LOG "^err .*cannot start $T/runner3: it did not detach: exited with status 3$" \
	"a runner that exits non-zero: logged with its status"
like $T/res.runner3 '^children: none$' "... and reaped"
is "$(head -n1 $T/res.hangrunner)" "open: Success" "a runner that never detaches does not hang the login"
like $LOG "^err .*cannot start $T/hangrunner: it did not detach: timed out after 1 s, terminated with SIGTERM$" \
	"... it is ended after timeout=, and that is logged"
like $T/res.hangrunner '^children: none$' "... and reaped"
pid=$(cat $T/hangpid)
if kill -0 "$pid" 2>/dev/null; then fail "... and it is gone"; else pass "... and it is gone"; fi
service timeout=30

# 1000 sessions in one process: no fd, no child, no zombie left.
rm -f "$T"/hooks/added/* "$LOG"
# fds_unchanged NAME: the harness's "fds: before N after M" line has M = N
fds_unchanged() {
	_b=$(sed -n 's/^fds: before \([0-9]*\) after [0-9]*$/\1/p' "$T"/res)
	_a=$(sed -n 's/^fds: before [0-9]* after \([0-9]*\)$/\1/p' "$T"/res)
	is "${_a:-x}" "${_b:-y}" "$1"
}
hook added 10W-true 'exit 0'
hook removed 10W-true 'exit 0'
pamh -u alice -n 1000 -F open close >"$T"/res
like "$T"/res '^cycles: 1000, failed: 0$' "1000 open/close cycles succeed"
fds_unchanged "1000 cycles leave the number of open fds unchanged"
like "$T"/res '^children: none$' "1000 cycles leave no child and no zombie"

# With D and batch hooks too (the detached jobs are not our children).
hook added 20D-det 'exit 0'
hook added 30-batch 'exit 0'
pamh -u alice -n 50 -F open close >"$T"/res
like "$T"/res '^cycles: 50, failed: 0$' "50 cycles with D and batch hooks succeed"
fds_unchanged "... leave the open fds unchanged"
like "$T"/res '^children: none$' "... and leave no child"

done_testing
