#!/bin/sh
# The cluster end to end: three nodes (network namespaces on a bridge,
# each with its own /home), hookd on each, and a login through the PAM
# stack on node 1 whose added/10W-polo-mkhome hook makes the user's home
# on all three. Then what an administrator meets: a second login, a node
# that is down, one that accepts and never answers, one with a
# certificate from another CA. Needs root.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds ip nsenter unshare openssl ss
. "$(dirname "$0")/cluster.sh"
cluster_start 3

sed -i "s|^alice:.*|alice:x:1500:1500::/home/alice:/bin/sh|; s|^bob:.*|bob:x:1501:1501::/home/bob:/bin/sh|" "$T"/passwd
mkdir -m 0755 "$T"/skel && echo 'export CLUSTER=yes' >"$T"/skel/.profile
sh "$TOP/examples/make-certs.sh" "$T"/other node3="$A3" >/dev/null

# node K's config (its own certificate; CERTDIR overrides where it comes from)
nodeconf() {
	cluster_conf "$1" "[session]
statedir = $T/st$1
[home]
skel = $T/skel
umask = 077"
}
for k in 1 2 3; do nodeconf $k; done

# hookd_on K: start hookd on node K and wait until it accepts
hookd_on() {
	bg_on "$1" "$NSSENV" "$B"/hookd -c "$T"/n"$1".conf -f 2>>"$T"/hookd"$1".log
	eval H"$1"=$BGPID
	wait_listen "$1" 1343
}
hookd_stop() {
	_p=; eval _p=\$H"$1"
	kill -TERM "$_p" 2>/dev/null; wait "$_p" 2>/dev/null
}
for k in 1 2 3; do hookd_on $k; done

# the PAM service on node 1; the hook wraps polo-mkhome with the test's
# config and fake users (the module gives hooks a clean environment)
service statedir="$T"/st1
printf '#!/bin/sh\nexec env %s %s -c %s "$@"\n' "$NSSENV" "$B/polo-mkhome" "$T/n1.conf" \
	>"$T"/hooks/added/10W-polo-mkhome
chmod 0755 "$T"/hooks/added/10W-polo-mkhome
login() {	# login USER: open and close on node 1, guarded
	rm -f "$LOG"
	on 1 "$NSSENV" timeout 30 "$B"/t/pamh -c "$T"/pam -l "$LOG" -u "$1" open close >"$T"/res
}
home_on() { on "$1" stat -c '%u:%g %a' /home/"$2" 2>/dev/null; }

# --- a first login makes the home on every node ------------------------------
login alice
is "$(cat "$T"/res)" "open: Success
close: Success" "a login on node 1 succeeds"
for k in 1 2 3; do
	is "$(home_on $k alice)" "1500:1500 700" "node $k: alice's home exists, hers, 0700"
	is "$(on $k cat /home/alice/.profile 2>/dev/null)" "export CLUSTER=yes" "node $k: with the skel content"
done
for a in $A1 $A2 $A3; do
	like "$LOG" "10W-polo-mkhome: $a: created" "the login's log reports $a: created"
done
like "$LOG" "hook 10W-polo-mkhome exited with status 0" "the hook succeeded"
like "$T"/hookd2.log "alice" "node 2's hookd logged the request"
is "$(on 2 ls /home)" "alice" "nothing else was made on node 2"
[ -e /home/alice ] && fail "the host's /home is untouched" || pass "the host's /home is untouched"

# --- a second login changes nothing --------------------------------------------------
before=$(for k in 1 2 3; do on $k stat -c '%i %Y %Z' /home/alice; done)
on 2 chmod 0750 /home/alice
login alice
for a in $A1 $A2 $A3; do
	like "$LOG" "10W-polo-mkhome: $a: exists" "a second login: $a reports exists"
done
is "$(home_on 2 alice)" "1500:1500 750" "... and nothing was changed (a mode the user set is kept)"
on 2 chmod 0700 /home/alice
after=$(for k in 1 2 3; do on $k stat -c '%i %Y' /home/alice; done)
is "$(echo "$after")" "$(echo "$before" | cut -d' ' -f1,2)" "... same directories, not recreated"

# --- a node that is down ----------------------------------------------------------------
hookd_stop 3
login bob
is "$(cat "$T"/res)" "open: Success
close: Success" "with node 3 down the login still succeeds"
is "$(home_on 1 bob) $(home_on 2 bob)" "1501:1501 700 1501:1501 700" "... bob's home is made on nodes 1 and 2"
like "$LOG" "10W-polo-mkhome: $A3: failed: " "... node 3 (in the static nodes list) is reported as failed"
like "$LOG" "hook 10W-polo-mkhome exited with status 1" "... and the hook says not all nodes succeeded"

# --- a node that accepts and never answers ---------------------------------------------
cat >"$T"/silent.py <<'EOP'
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 1343)); s.listen(8)
conns = []
end = time.time() + 60
while time.time() < end:
    s.settimeout(1)
    try:
        c, _ = s.accept(); conns.append(c)
    except socket.timeout:
        pass
EOP
bg_on 3 python3 "$T"/silent.py
SIL=$BGPID
wait_listen 3 1343	# python's start may take longer than a fixed pause
on 1 rm -rf /home/bob; on 2 rm -rf /home/bob
login bob
is "$(cat "$T"/res)" "open: Success
close: Success" "a node that accepts and never answers does not hang the login"
like "$LOG" "10W-polo-mkhome: $A3: failed: handshake timed out" "... it is reported as timed out"
is "$(home_on 1 bob) $(home_on 2 bob)" "1501:1501 700 1501:1501 700" "... and the others got the home"
kill $SIL; wait $SIL 2>/dev/null

# --- a node whose certificate is from another CA ------------------------------------------
CERTDIR=$T/other nodeconf 3
hookd_on 3
login alice
like "$LOG" "10W-polo-mkhome: $A3: failed: certificate verify failed" "a node with a certificate from another CA is refused"
like "$LOG" "10W-polo-mkhome: $A1: exists" "... while the others answer"
hookd_stop 3

for k in 1 2; do hookd_stop $k; done
done_testing
