#!/bin/sh
# Nodes on two subnets, found only through DNS SRV: node 1 on subnet A
# (10.233.1.0/24), nodes 2, 3 and 4 on subnet B (10.233.2.0/24), a router
# namespace between them (multicast stays on its subnet), and dnsmasq on
# the router serving _polousers._tcp.polo.test. No static node: a login on
# node 1 makes the home on nodes 1..3, which SRV names; node 4 is named by
# SRV too, but its certificate lacks its address, so it is refused and
# gets no request; a target without an address is logged. Then the same
# with the name server gone: the login costs at most srv_ms more.
# polohookctl discover says where each node came from. Needs root.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds ip nsenter unshare openssl ss dnsmasq script
. "$(dirname "$0")/cluster.sh"

cluster_begin
{
	cluster_switch sa && cluster_switch sb &&
		cluster_router rt sa 10.233.1.1/24 sb 10.233.2.1/24 &&
		cluster_node 1 sa 10.233.1.11/24 && cluster_node 2 sb 10.233.2.12/24 &&
		cluster_node 3 sb 10.233.2.13/24 && cluster_node 4 sb 10.233.2.14/24
} || { echo "1..0 # SKIP cannot make network namespaces"; exit 0; }
A1=10.233.1.11 A2=10.233.2.12 A3=10.233.2.13 A4=10.233.2.14
ip -n $CP-n1 route add default via 10.233.1.1
for k in 2 3 4; do ip -n $CP-n$k route add default via 10.233.2.1; done
cluster_users
sed -i "s|^alice:.*|alice:x:1500:1500::/home/alice:/bin/sh|" "$T"/passwd
# node 4's certificate names another address: SRV cannot widen trust
sh "$TOP/examples/make-certs.sh" "$T/tls" node1=$A1 node2=$A2 node3=$A3 node4=10.233.2.99 >/dev/null

# the zone, on the router (dnsmasq: no upstream, no /etc/hosts, names
# under polo.test answered here only)
SRV=_polousers._tcp.polo.test
ip netns exec $CP-rt dnsmasq -k -C /dev/null --no-resolv --no-hosts \
	--pid-file= --bind-interfaces --listen-address=10.233.1.1 \
	--listen-address=10.233.2.1 --local=/polo.test/ --log-queries \
	--log-facility="$T"/dns.log \
	--srv-host=$SRV,n1.polo.test,1343,0,10 --srv-host=$SRV,n2.polo.test,1343,0,10 \
	--srv-host=$SRV,n3.polo.test,1343,0,10 --srv-host=$SRV,n4.polo.test,1343,0,10 \
	--srv-host=$SRV,gone.polo.test,1343,1,10 \
	--host-record=n1.polo.test,$A1 --host-record=n2.polo.test,$A2 \
	--host-record=n3.polo.test,$A3 --host-record=n4.polo.test,$A4 2>>"$T"/dns.log &
DNSPID=$!
CPIDS="$CPIDS $DNSPID"
printf 'nameserver 10.233.1.1\noptions timeout:1 attempts:1\n' >"$T"/resolv1
printf 'nameserver 10.233.2.1\noptions timeout:1 attempts:1\n' >"$T"/resolvB
cluster_resolv 1 "$T"/resolv1
for k in 2 3 4; do cluster_resolv $k "$T"/resolvB; done
_i=0
while ! on 1 getent hosts n2.polo.test >/dev/null && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done

CADDRS=""	# no static node: SRV only
for k in 1 2 3 4; do
	CL_NODES=" " CL_DISC="srv = $SRV
srv_ms = 1500" cluster_conf $k "[session]
statedir = $T/st$k"
done
for k in 1 2 3 4; do
	bg_on $k "$NSSENV" "$B"/hookd -c "$T"/n$k.conf -f 2>>"$T"/hookd$k.log
	eval H$k=\$BGPID
	wait_listen $k 1343
done

# mk: polo-mkhome on node 1 for alice, under a terminal (so that its
# diagnostics go to stderr too): everything in $T/mk.out, the time in $MS
mk() {
	_t0=$(date +%s%N)
	on 1 script -qec "env PAM_USER=alice $NSSENV $B/polo-mkhome -c $T/n1.conf" /dev/null |
		tr -d '\r' >"$T"/mk.out
	MS=$(( ($(date +%s%N) - _t0) / 1000000 ))
}
home_on() { on "$1" stat -c '%u:%g %a' /home/"$2" 2>/dev/null; }

# --- found through SRV only, across the router --------------------------------------
mk
for k in 1 2 3; do
	is "$(home_on $k alice)" "1500:1500 700" "node $k (named by SRV) has alice's home"
done
like "$T"/mk.out "^$A2: created\$" "node 2, on the other subnet, reports created"
like "$T"/mk.out "^$A4: failed: .*certificate verify failed" "node 4 (certificate without its address) is refused"
is "$(home_on 4 alice)" "" "... and has no home"
unlike "$T"/hookd4.log 'request from' "... and its hookd got no request"
like "$T"/mk.out "srv $SRV: target gone.polo.test: no address" "a target without an address is logged"
is "$(sort "$T"/seen1/nodes | paste -sd' ')" "$A1 $A2 $A3" "last-seen: the verified nodes only, not node 4"
like "$T"/dns.log "query\[SRV\] $SRV" "the name server was asked for the SRV records"

# --- polohookctl discover: where each node came from ---------------------------------------
on 1 "$B"/polohookctl -c "$T"/n1.conf discover >"$T"/tab 2>"$T"/err
is "$?" 1 "polohookctl discover exits 1: node 4 does not verify"
like "$T"/tab "^$A1 +[^ ]+ +[0-9.]+ ms +multicast,srv,last-seen +verified\$" "node 1: multicast, SRV and last-seen, verified"
like "$T"/tab "^$A2 +- +- +srv,last-seen +verified\$" "node 2 (other subnet): SRV and last-seen, no multicast, verified"
like "$T"/tab "^$A4 +- +- +srv +.*IP address mismatch\$" "node 4: from SRV only, refused: IP address mismatch"
like "$T"/err "srv $SRV: target gone.polo.test: no address" "... the target without an address on stderr"

# --- the name server gone: the login costs srv_ms at most ---------------------------------
kill "$DNSPID"; wait "$DNSPID" 2>/dev/null
on 1 rm -rf /home/alice
mk
like "$T"/mk.out "srv $SRV: (timed out after 1500 ms|no answer from the name server)" "a name server that is gone: logged"
[ "$MS" -lt 5000 ] && pass "... and the hook ended in ${MS} ms (srv_ms 1500, then the last-seen nodes)" ||
	fail "... the hook took ${MS} ms"
is "$(home_on 1 alice)" "1500:1500 700" "... the last-seen nodes are still asked"
like "$T"/mk.out "^$A2: exists\$" "... node 2 among them"

for k in 1 2 3 4; do eval kill -TERM \$H$k; eval wait \$H$k 2>/dev/null; done
done_testing
