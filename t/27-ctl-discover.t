#!/bin/sh
# polohookctl discover on a three-node cluster (network namespaces, as in
# t/42-cluster.t): hookd on nodes 1 and 2, node 2 with a certificate from
# another CA, nothing on node 3 (a static node). The table, the JSON and
# the exit status; then only good nodes, exit 0. Needs root.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds ip nsenter unshare openssl ss python3
CTL=$B/polohookctl
[ -x "$CTL" ] || { echo "1..0 # SKIP $CTL is not built"; exit 0; }
. "$(dirname "$0")/cluster.sh"
cluster_start 3

sh "$TOP/examples/make-certs.sh" "$T"/other node2="$A2" >/dev/null

# nodeconf K [NODES]: node K's config (CERTDIR: where its certificate is)
nodeconf() {
	CL_IDLE_MS=200 CL_NODES=${2:-} cluster_conf "$1" "[session]
statedir = $T/st$1"
}
nodeconf 1
CERTDIR=$T/other nodeconf 2

# hookd_on K: start hookd on node K, in its own UTS namespace as host
# nodeK (what Polo answers), and wait until it accepts
hookd_on() {
	bg_on "$1" unshare --uts sh -c "hostname node$1 && exec env $NSSENV $B/hookd -c $T/n$1.conf -f" 2>>"$T"/hookd"$1".log
	eval H"$1"=$BGPID
	wait_listen "$1" 1343
}
hookd_on 1
hookd_on 2

disc() { on 1 timeout 60 "$CTL" -c "$T"/n1.conf discover "$@"; }

# --- the table ---------------------------------------------------------------
disc >"$T"/tab 2>"$T"/err
is "$?" 1 "discover exits 1 when a node does not verify"
like "$T"/tab '^ADDRESS +HOSTNAME +DISCOVERY +SOURCE +TLS$' "the table has a header"
like "$T"/tab "^$A1 +node1 +[0-9]+\.[0-9] ms +static,multicast +verified$" "node 1: its hostname, an RTT, where it came from, verified"
like "$T"/tab "^$A2 +node2 +[0-9]+\.[0-9] ms +static,multicast +.*certificate verify failed" "node 2: answers discovery, certificate verify failed"
like "$T"/tab "^$A3 +- +- +static +connect: Connection refused$" "node 3 (static, nothing running): no discovery, a connect failure"
is "$(sed 1d "$T"/tab | cut -d' ' -f1 | tr '\n' ' ')" "$A1 $A2 $A3 " "one row per node, in address order"
[ -s "$T"/err ] && fail "nothing on stderr: $(cat "$T"/err)" || pass "nothing on stderr"

# --- the JSON ------------------------------------------------------------------
disc --json >"$T"/json 2>"$T"/err
is "$?" 1 "discover --json exits 1 too"
cat >"$T"/check.py <<'EOP'
import json, sys
a = json.load(open(sys.argv[1]))
for o in a:
    assert set(o) == {"address", "hostname", "rtt_ms", "source", "tls"}, o
    r = o["rtt_ms"]
    print(o["address"], o["hostname"], ",".join(o["source"]),
          "null" if r is None else ("num" if isinstance(r, (int, float)) and r >= 0 else "bad"),
          "verified" if o["tls"] == "verified" else
          "verify-failed" if "certificate verify failed" in o["tls"] else o["tls"])
EOP
is "$(python3 "$T"/check.py "$T"/json 2>&1)" "$A1 node1 static,multicast num verified
$A2 node2 static,multicast num verify-failed
$A3 None static null connect: Connection refused" "the JSON parses: address, hostname, source, rtt_ms (number or null), tls"

# --- only good nodes ----------------------------------------------------------------
kill -TERM "$H2"; wait "$H2" 2>/dev/null
CERTDIR='' nodeconf 2
hookd_on 2
nodeconf 1 "$A1 $A2"
disc >"$T"/tab 2>"$T"/err
is "$?" 0 "with only good nodes discover exits 0"
is "$(grep -c ' verified$' "$T"/tab)" 2 "... both rows say verified"
like "$T"/tab "^$A2 +node2 +[0-9]+\.[0-9] ms +static,multicast +verified$" "... node 2 now verifies"
disc --json >"$T"/json 2>"$T"/err
is "$?" 0 "... and --json exits 0"

# --- usage ----------------------------------------------------------------------
disc --bogus >/dev/null 2>&1
is "$?" 2 "an unknown option is a usage error"

for k in 1 2; do eval kill -TERM \$H$k; eval wait \$H$k 2>/dev/null; done
done_testing
