#!/bin/sh
# Evicting a node without a new CA: examples/revoke-node.sh revokes node
# 3's certificate and writes a CRL; with `crl =` in [tls], polo-mkhome
# refuses node 3's hookd and every hookd refuses node 3's polo-mkhome,
# while nodes 1 and 2 go on serving each other. hookd takes a new CRL on
# SIGHUP. A CRL from another CA, an expired one, a garbled one and an
# unsafe one are refused with a clear log line. Needs root.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds ip nsenter unshare openssl ss
. "$(dirname "$0")/cluster.sh"
cluster_start 3

sed -i "s|^alice:.*|alice:x:1500:1500::/home/alice:/bin/sh|; s|^bob:.*|bob:x:1501:1501::/home/bob:/bin/sh|" "$T"/passwd
CRL=$T/tls/crl.pem
# nodeconf K [CRLFILE]: node K's config, with `crl = CRLFILE` if given
nodeconf() {
	cluster_conf "$1" "[session]
statedir = $T/st$1"
	[ -z "${2:-}" ] || sed -i "s|^key = .*|&\ncrl = $2|" "$T"/n"$1".conf
}
hookd_on() {
	bg_on "$1" "$NSSENV" "$B"/hookd -c "$T"/n"$1".conf -f 2>>"$T"/hookd"$1".log
	eval H"$1"=$BGPID
	wait_listen "$1" 1343
}
# mkhome K USER UID: polo-mkhome on node K for USER, as its hook would run;
# its per-node report in $T/mk.out, its exit status in $rc
mkhome() {
	on "$1" "$NSSENV" PAM_USER="$2" POLO_USER_UID="$3" POLO_USER_GID="$3" \
		POLO_USER_HOME=/home/"$2" timeout 30 "$B"/polo-mkhome \
		-c "$T"/n"$1".conf session_added >"$T"/mk.out 2>"$T"/mk.err
	rc=$?
}
home_on() { on "$1" stat -c '%u' /home/"$2" 2>/dev/null; }

# --- the tool ---------------------------------------------------------------
sh "$TOP/examples/revoke-node.sh" "$T"/tls node3 >"$T"/revoke.out 2>&1
is "$?" 0 "revoke-node.sh revokes node 3"
like "$T"/revoke.out "^revoked node3 \(serial [0-9A-F]+\)" "... and says which serial"
is "$(stat -c '%a' "$CRL")" 644 "... crl.pem is 0644"
openssl verify -crl_check -CAfile "$T"/tls/ca.pem -CRLfile "$CRL" "$T"/tls/node3.pem \
	>"$T"/verify.out 2>&1
like "$T"/verify.out "certificate revoked" "openssl itself finds node 3 revoked in it"
openssl verify -crl_check -CAfile "$T"/tls/ca.pem -CRLfile "$CRL" "$T"/tls/node1.pem \
	>"$T"/verify.out 2>&1
like "$T"/verify.out "node1.pem: OK" "... and node 1 not"
sh "$TOP/examples/revoke-node.sh" "$T"/tls node3 >"$T"/revoke.out 2>&1
like "$T"/revoke.out "node3 .* was revoked already" "revoking again changes nothing"
is "$(grep -c '^R' "$T"/tls/crl-index.txt)" 1 "... one entry in the index"
sh "$TOP/examples/revoke-node.sh" "$T"/tls nosuch >"$T"/revoke.out 2>&1
is "$?" 1 "an unknown node is an error"
like "$T"/revoke.out "no $T/tls/nosuch.pem" "... named"

# --- without a CRL, node 3 is a node like the others (the control) -----------
for k in 1 2 3; do nodeconf $k; hookd_on $k; done
mkhome 1 alice 1500
is "$rc" 0 "without a CRL: polo-mkhome on node 1 succeeds on all three"
is "$(home_on 3 alice)" 1500 "... node 3 made alice's home"

# --- with it ----------------------------------------------------------------
nodeconf 1 "$CRL"
mkhome 1 bob 1501
is "$rc" 1 "with the CRL: polo-mkhome on node 1 fails (not every node succeeded)"
is "$(grep -c ': created$' "$T"/mk.out)" 2 "... nodes 1 and 2 made bob's home"
like "$T"/mk.out "^$A3: failed: .*certificate revoked" "... node 3 is refused: certificate revoked"
is "$(home_on 3 bob)" "" "... and node 3 was never asked: no home for bob there"

# node 3's own client, against hookds that check the CRL (SIGHUP: no restart)
nodeconf 2 "$CRL"
kill -HUP "$H2"
i=0; while ! grep -q "reloaded" "$T"/hookd2.log && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
wait_listen 2 1343
like "$T"/hookd2.log "config .* reloaded" "node 2's hookd takes the CRL on SIGHUP"
nodeconf 3
mkhome 3 bob 1501
like "$T"/mk.out "^$A2: failed: " "node 3's polo-mkhome is refused by node 2"
like "$T"/hookd2.log "certificate revoked" "... whose hookd logs why: certificate revoked"
like "$T"/mk.out "^$A1: (created|exists)" "... node 1's hookd (no CRL) still serves it"
like "$T"/mk.out "^$A3: (created|exists)" "... as does its own"

# --- bad CRLs are refused, loudly -------------------------------------------
kill -TERM "$H2"; wait "$H2" 2>/dev/null
# badcrl FILE REGEX NAME: hookd with `crl = FILE` does not start, and its
# log line matches "tls: REGEX"
badcrl() {
	nodeconf 2 "$1"
	on 2 "$NSSENV" timeout 10 "$B"/hookd -c "$T"/n2.conf -f >/dev/null 2>"$T"/bad.log
	_rc=$?
	if [ $_rc -ne 0 ] && [ $_rc -ne 124 ]; then
		pass "hookd refuses to start with $3"
	else
		fail "hookd refuses to start with $3 (exit $_rc)"
	fi
	like "$T"/bad.log "tls: $2" "... and logs why: $2"
}
sh "$TOP/examples/make-certs.sh" "$T"/other x=10.0.0.1 >/dev/null
sh "$TOP/examples/revoke-node.sh" "$T"/other x >/dev/null
badcrl "$T"/other/crl.pem "CRL $T/other/crl.pem: not signed by the cluster CA" \
	"a CRL from another CA"
printf 'not a CRL\n' >"$T"/garbage.pem
badcrl "$T"/garbage.pem "read CRL $T/garbage.pem: .*no start line" \
	"a file that holds no CRL"
{ cat "$CRL"; head -n 3 "$CRL"; } >"$T"/cut.pem
badcrl "$T"/cut.pem "read CRL $T/cut.pem: " "a CRL followed by a cut one"
cp "$CRL" "$T"/open.pem; chmod 0666 "$T"/open.pem
badcrl "$T"/open.pem "CRL $T/open.pem: .*writable" "a world-writable CRL"
mkfifo -m 0644 "$T"/fifo.pem
badcrl "$T"/fifo.pem "CRL $T/fifo.pem: not a regular file" "a FIFO where the CRL should be"
FAKETIME_SO=$(find /usr/lib /lib -name libfaketime.so.1 2>/dev/null | head -n1)
if [ -n "$FAKETIME_SO" ]; then
	cp -r "$T"/tls "$T"/old
	rm -f "$T"/old/crl.pem "$T"/old/crl-index.txt "$T"/old/crl-number
	LD_PRELOAD=$FAKETIME_SO FAKETIME="-400d" CRL_DAYS=30 \
		sh "$TOP/examples/revoke-node.sh" "$T"/old node3 >/dev/null
	badcrl "$T"/old/crl.pem "CRL $T/old/crl.pem: expired \(next update was due [0-9-]+ [0-9:]+ UTC\)" \
		"an expired CRL"
else
	for i in 1 2; do skip "no libfaketime (Debian package faketime)"; done
fi

# polohookctl check loads the TLS files as hookd would
nodeconf 2 "$CRL"
"$B"/polohookctl -c "$T"/n2.conf check >"$T"/chk 2>&1
is "$?" 0 "polohookctl check exits 0 on a node whose files are all good"
like "$T"/chk "^tls $T/tls/node2.pem: ok \(CA, key, CRL\)$" "polohookctl check: the node's TLS files and CRL load"
nodeconf 2 "$T"/other/crl.pem
"$B"/polohookctl -c "$T"/n2.conf check >"$T"/chk 2>&1
is "$?" 1 "polohookctl check exits 1 with another CA's CRL"
like "$T"/chk "^  tls: CRL $T/other/crl.pem: not signed by the cluster CA$" \
	"... and shows why, under the node's TLS heading"

# polo-mkhome with a bad CRL asks nobody
n0=$(grep -c "alice" "$T"/hookd1.log)
nodeconf 1 "$T"/other/crl.pem
mkhome 1 alice 1500
is "$rc:$(cat "$T"/mk.out)" "1:" "polo-mkhome with another CA's CRL fails and reports no node"
is "$(grep -c "alice" "$T"/hookd1.log)" "$n0" "... and asked no node"

done_testing
