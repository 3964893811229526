#!/bin/sh
# Faults a cluster meets, each on three nodes (network namespaces on a
# bridge, each with its own /home, hookd on each; t/cluster.sh), with
# polo-mkhome run as the added/10W-polo-mkhome hook would run it:
#  - hookd killed (SIGKILL) while it copies skel: the client reports that
#    node as failed; the half-made home was only ever under a temporary
#    name, and the next run makes it complete;
#  - a full disk on one node (and under tmphome, through the PAM stack):
#    the error is reported and logged, and nothing is left behind;
#  - a node whose clock is years behind (libfaketime): the peers'
#    certificates are "not yet valid" there: refused, logged, reported,
#    nothing made;
#  - 200 logins in a burst: every home on every node, no error, and no fd
#    more in any hookd process afterwards.
# Needs root.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds ip nsenter unshare openssl ss python3 xargs
# private copies: a rebuild of the tree while this runs must not swap the
# programs under the nodes (other work may share this checkout)
mkdir -m 0755 "$T"/bin
cp "$B"/hookd "$B"/polo-mkhome "$T"/bin/ || { echo "1..0 # SKIP hookd not built"; exit 0; }
HOOKD=$T/bin/hookd MKHOME=$T/bin/polo-mkhome
. "$(dirname "$0")/cluster.sh"
cluster_start 3
FAKETIME_SO=$(find /usr/lib /lib -name libfaketime.so.1 2>/dev/null | head -n1)

sed -i "s|^alice:.*|alice:x:1500:1500::/home/alice:/bin/sh|; s|^bob:.*|bob:x:1501:1501::/home/bob:/bin/sh|" "$T"/passwd
cat >>"$T"/passwd <<EOP
carol:x:1502:1502::/home/carol:/bin/sh
tina:x:1503:1503::$T/th/tina:/bin/sh
eve:x:1504:1504::/home/.polohook-new.eve:/bin/sh
EOP
i=2000
while [ $i -lt 2200 ]; do
	echo "u$i:x:$i:$i::/home/u$i:/bin/sh"
	i=$((i + 1))
done >>"$T"/passwd
mkdir -m 0755 "$T"/skel "$T"/skel/many "$T"/th "$T"/burst
echo 'export CLUSTER=yes' >"$T"/skel/.profile
# many small files: copying them takes long enough to catch hookd at it
i=0
while [ $i -lt 4000 ]; do echo $i >"$T"/skel/many/f$i; i=$((i + 1)); done

nodeconf() {
	CL_HS_MS=2000 CL_CONN_MS=2000 CL_REQ_MS=10000 cluster_conf "$1" "[home]
skel = $T/skel
umask = 077"
}
for k in 1 2 3; do nodeconf $k; done

# hookd_on K [ENV...]: start hookd on node K and wait until it accepts
hookd_on() {
	_k=$1; shift
	bg_on "$_k" "$NSSENV" "$@" "$HOOKD" -c "$T"/n"$_k".conf -f 2>>"$T"/hookd"$_k".log
	eval H"$_k"=$BGPID
	wait_listen "$_k" 1343
}
# forget PID: a process of ours that is gone (and reaped) is not one
# cluster_teardown may signal: its pid may belong to someone else by then
forget() { CPIDS=$(echo " $CPIDS " | sed "s/ $1 / /"); }
hookd_stop() {
	eval _p=\$H"$1"
	kill -TERM "$_p" 2>/dev/null; wait "$_p" 2>/dev/null
	forget "$_p"
}
# mkhome K USER: polo-mkhome on node K for USER, as the hook runs it
mkhome() {
	on "$1" "$NSSENV" PAM_USER="$2" timeout 60 "$MKHOME" -c "$T"/n"$1".conf 2>&1
}
home_on() { on "$1" stat -c '%u:%g %a' /home/"$2" 2>/dev/null || echo absent; }
# kids PID: the pids of PID's children
kids() { ps -e -o pid=,ppid= | awk -v p="$1" '$2 == p { print $1 }'; }
# tree PID: "PID:FDS" for PID and each of its descendants
tree() {
	_all=$1 _new=$1
	while [ -n "$_new" ]; do
		_next=""
		for _p in $_new; do _next="$_next $(kids "$_p")"; done
		_new=$(echo "$_next")
		_all="$_all $_new"
	done
	for _p in $_all; do
		echo "$_p:$(ls /proc/"$_p"/fd 2>/dev/null | wc -l)"
	done
}
for k in 1 2 3; do hookd_on $k; done

# --- hookd killed while it copies skel --------------------------------------
# A watcher on node 1 stops hookd's privileged process (the monitor: it
# does the copy) the moment a directory for alice appears, under any
# name, so what anyone would find there at that instant can be looked at
# (skel has 4000 files: the copy has barely begun); then SIGKILL.
cat >"$T"/catch.py <<'EOP'
import os, signal, sys, time
pid, ready, paths = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
open(ready, "w").close()
end = time.monotonic() + 30
while not any(os.path.lexists(p) for p in paths):
    if time.monotonic() > end:
        print("not seen"); sys.exit(1)
os.kill(pid, signal.SIGSTOP)
print("stopped")
EOP
bg_on 1 python3 "$T"/catch.py "$H1" "$T"/catch.ready /home/alice /home/.polohook-new.alice >"$T"/catch.out
CATCH=$BGPID
_i=0; while [ ! -e "$T"/catch.ready ] && [ $_i -lt 200 ]; do sleep 0.05; _i=$((_i + 1)); done
mkhome 1 alice >"$T"/kill.out &
MK=$!
wait $CATCH
forget $CATCH
is "$(cat "$T"/catch.out)" stopped "node 1's hookd is stopped while it makes alice's home"
is "$(home_on 1 alice)" absent "... mid-copy, the home's name does not exist"
is "$(on 1 stat -c '%u:%g %a' /home/.polohook-new.alice 2>&1)" "0:0 700" \
	"... it is being made as /home/.polohook-new.alice, root's, 0700"
W1=$(kids "$H1")
kill -KILL "$H1"
wait "$H1" 2>/dev/null
forget "$H1"
wait $MK
sed 's/^/# client: /' "$T"/kill.out
# the connection child says the monitor went away, unless it died with it
# first (the worker's processes get SIGTERM when the monitor is gone)
like "$T"/kill.out "^$A1: failed: (the node's hookd monitor went away|connection closed without a reply)$" \
	"the client reports node 1 as failed: its monitor went away"
unlike "$T"/kill.out "^$A1: (created|exists)" "... and not as done"
like "$T"/kill.out "^$A2: created" "... while node 2 made the home"
like "$T"/kill.out "^$A3: created" "... and node 3 too"
_i=0; while [ -n "$W1" ] && kill -0 "$W1" 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
[ -n "$W1" ] && ! kill -0 "$W1" 2>/dev/null && pass "hookd's worker went with it" ||
	fail "hookd's worker went with it ($W1)"
is "$(home_on 1 alice)" absent "after the kill: still no half home under its name"
hookd_on 1
mkhome 1 alice >"$T"/again.out
like "$T"/again.out "^$A1: created" "hookd restarted: the next run makes the home on node 1"
like "$T"/again.out "^$A2: exists" "... and finds it on node 2"
like "$T"/again.out "^$A3: exists" "... and node 3"
is "$(home_on 1 alice)" "1500:1500 700" "node 1: alice's home is hers, 0700"
is "$(on 1 find /home/alice -type f | wc -l)" 4001 "... with all 4001 skel files"
is "$(on 1 find /home/alice ! -user 1500 | wc -l)" 0 "... every one of them hers"
is "$(on 1 cat /home/alice/many/f3999)" 3999 "... with their content"
is "$(on 1 ls -A /home)" alice "... and the leftover is gone"
like "$T"/hookd1.log "home /home/alice: removing /home/.polohook-new.alice, left unfinished" \
	"hookd logged that it removed the dead creator's leftover"
rm -rf "${T:?}"/skel/many

# --- a full disk ------------------------------------------------------------
# node 2's /home becomes a tiny tmpfs; the skel gets a file bigger than it
python3 -c 'import sys; sys.stdout.write("x" * 262144)' >"$T"/skel/big
on 2 mount -t tmpfs -o size=64k,mode=0755 polotiny /home
mkhome 1 carol >"$T"/full.out
sed 's/^/# client: /' "$T"/full.out
like "$T"/full.out "^$A2: failed: cannot create: No space left on device" \
	"a full disk on node 2: the client reports it"
like "$T"/full.out "^$A1: created" "... the other nodes made the home"
like "$T"/hookd2.log "uid 1502 \(carol\) home /home/carol: cannot create: No space left on device" \
	"... node 2's hookd logged it"
is "$(on 2 ls -A /home)" "" "... and left nothing on node 2: neither the home nor a temporary one"
on 2 umount /home
is "$(on 1 stat -c %s /home/carol/big)" 262144 "node 1 has carol's home with the big file"

# the same under tmphome, through the PAM stack, in a private mount namespace
service tmphome="$T"/th skel="$T"/skel
rm -f "$LOG"
unshare -m --propagation private sh -c "
	mount -t tmpfs -o size=64k,mode=0755 polotiny $T/th || exit 1
	env $NSSENV timeout 60 $B/t/pamh -c $T/pam -l $LOG -u tina open close >$T/tmph.res
	ls -A $T/th >$T/tmph.after"
like "$LOG" "home $T/th/tina: not made \(No space left on device\); nothing of it is left" \
	"tmphome on a full disk: the module logged the failure"
like "$LOG" "$T/th/tina/big: No space left on device" "... and which file did not fit"
is "$(cat "$T"/tmph.after)" ".polohook" "... and left no home and no temporary one (only its registry)"
mountpoint -q "$T"/th && fail "the tiny tmpfs went with its namespace" ||
	pass "the tiny tmpfs went with its namespace"
rm -f "$T"/skel/big

# a home may not be named like one being made
mkhome 1 eve >"$T"/eve.out
is "$(grep -c ': failed: home name not allowed$' "$T"/eve.out)" 3 \
	"a passwd home named .polohook-new.*: every node refuses it"
is "$(for k in 1 2 3; do on $k ls -A /home; done | grep -c polohook-new)" 0 "... and makes nothing"

# --- a node whose clock is years behind ----------------------------------------
if [ -n "$FAKETIME_SO" ]; then
	hookd_stop 3
	: >"$T"/hookd3.log
	hookd_on 3 LD_PRELOAD="$NSSW":"$FAKETIME_SO" FAKETIME=-3650d \
		FAKETIME_DONT_FAKE_MONOTONIC=1
	mkhome 1 bob >"$T"/clock.out
	sed 's/^/# client: /' "$T"/clock.out
	like "$T"/clock.out "^$A3: failed: " "node 3's clock is 10 years behind: the client reports it failed"
	like "$T"/clock.out "^$A1: created" "... the nodes with the right time made the home"
	like "$T"/hookd3.log "connection from $A1:[0-9]+ .*handshake failed: certificate verify failed: certificate is not yet valid" \
		"... node 3's hookd logged the refusal with the peer and the reason"
	is "$(on 3 ls -A /home | paste -sd" ")" "alice carol" "... and made nothing for bob"
	hookd_stop 3
	hookd_on 3
	is "$(mkhome 1 bob | grep "^$A3:")" "$A3: created" "the clock put right, node 3 makes bob's home"
else
	for _ in 1 2 3 4 5; do skip "no libfaketime (Debian package faketime)"; done
fi

# --- 200 logins in a burst --------------------------------------------------
for k in 1 2 3; do wc -l <"$T"/hookd$k.log >"$T"/hookd$k.lines; done
# one line per node: its processes and their fds
words() { tr -s '[:space:]' ' '; }
before="" _h=""
for k in 1 2 3; do eval _h=\$H$k; before="$before $(tree "$_h" | words)"; done
seq 2000 2199 | awk '{ print ($1 >= 2180 ? 3 : $1 >= 2160 ? 2 : 1), "u" $1 }' >"$T"/burst.list
export NSSENV MKHOME T CMNT CP
# shellcheck disable=SC2016
xargs -P 20 -L 1 sh -c 'nsenter --mount=$CMNT/n$0.mnt --net=/run/netns/$CP-n$0 \
	env $NSSENV PAM_USER=$1 timeout 60 $MKHOME -c $T/n$0.conf \
	>$T/burst/$1.out 2>&1; echo "$1 $?" >>$T/burst/status' <"$T"/burst.list
is "$(wc -l <"$T"/burst/status)" 200 "200 logins ran (20 at a time; 20 each from nodes 2 and 3)"
is "$(awk '$2 != 0' "$T"/burst/status | wc -l)" 0 "... every one exited 0"
is "$(cat "$T"/burst/*.out | grep -c ': created$')" 600 "... each reported created for each of the 3 nodes"
is "$(cat "$T"/burst/*.out | grep -v ': created$' | wc -l)" 0 "... and no other line (no error)"
want=$(seq 2000 2199 | awk '{ print "u" $1, $1 ":" $1, "700" }')
for k in 1 2 3; do
	is "$(on $k sh -c 'cd /home && stat -c "%n %u:%g %a" u*')" "$want" \
		"node $k: all 200 homes, each its user's, 0700"
done
after=""
for k in 1 2 3; do
	eval _h=\$H$k
	_i=0	# connection children exit on their own: wait for them
	while [ "$(tree "$_h" | wc -l)" != 2 ] && [ $_i -lt 100 ]; do
		sleep 0.05; _i=$((_i + 1))
	done
	after="$after $(tree "$_h" | words)"
done
echo "# hookd processes and their open fds, before: $before"
is "$after" "$before" "hookd on each node: the same processes, each with as many open fds as before the burst"
for k in 1 2 3; do
	tail -n +$(($(cat "$T"/hookd$k.lines) + 1)) "$T"/hookd$k.log >"$T"/burst$k.log
	like "$T"/burst$k.log "uid 2199 \(u2199\) home /home/u2199: created" "node $k's hookd logged the burst's requests"
	unlike "$T"/burst$k.log "cannot|refused|failed|max_conns|error" "... and no failure"
done

for k in 1 2 3; do hookd_stop $k; done
done_testing
