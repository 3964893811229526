#!/bin/sh
# IPv6: an IPv6-only cluster of three nodes (ULA addresses, nodad), found
# by discovery on the IPv6 group ([discovery] ipv6 = yes); then a mixed one
# on one bridge: node 1 with both families, node 2 IPv4 only, node 3 IPv6
# only (found over IPv6 multicast), node 4 IPv6 only and silent to
# multicast (ipv6 = no), found through a DNS SRV name whose target has an
# AAAA record; node 2 listens on one IPv4 address, node 3 on one IPv6
# address. Certificates carry IPv6 address SANs (make-certs.sh). Needs root.
. "$(dirname "$0")/lib.sh"
need_root
need_cmds ip nsenter unshare openssl ss dnsmasq script
. "$(dirname "$0")/cluster.sh"

cluster_begin
{
	cluster_switch s6 && cluster_node 1 s6 fd00:234::11/64 &&
		cluster_node 2 s6 fd00:234::12/64 && cluster_node 3 s6 fd00:234::13/64
} || { echo "1..0 # SKIP cannot make network namespaces"; exit 0; }
cluster_users
sed -i "s|^alice:.*|alice:x:1500:1500::/home/alice:/bin/sh|; s|^bob:.*|bob:x:1501:1501::/home/bob:/bin/sh|" "$T"/passwd
sh "$TOP/examples/make-certs.sh" "$T/tls" node1=fd00:234::11 node2=fd00:234::12 \
	node3=fd00:234::13 >/dev/null
like "$T"/tls/node1.pem . "make-certs.sh made node 1's certificate"
openssl x509 -in "$T"/tls/node1.pem -noout -ext subjectAltName >"$T"/san 2>&1
like "$T"/san 'IP Address:FD00:234:0:0:0:0:0:11' "... with its IPv6 address as an IP SAN"

CADDRS=""
for k in 1 2 3; do
	CL_NODES=" " CL_DISC="ipv6 = yes" cluster_conf $k "[session]
statedir = $T/st$k"
done
hookd_on() {
	bg_on "$1" "$NSSENV" "$B"/hookd -c "$T"/n"$1".conf -f -d 2>>"$T"/hookd"$1".log
	eval H"$1"=\$BGPID
	wait_listen "$1" 1343
}
hookd_stop() {
	_p=; eval _p=\$H"$1"
	kill -TERM "$_p" 2>/dev/null; wait "$_p" 2>/dev/null
}
for k in 1 2 3; do hookd_on $k; done
like "$T"/hookd1.log 'worker running as uid 65534: TCP \*:1343, discovery 224\.0\.0\.112:1337 and \[ff05::112\]' \
	"hookd: one dual-stack TCP socket, and the IPv6 group beside the IPv4 one"

mk() {	# mk USER: polo-mkhome on node 1, diagnostics too, into $T/mk.out
	on 1 script -qec "env PAM_USER=$1 $NSSENV $B/polo-mkhome -c $T/n1.conf" /dev/null |
		tr -d '\r' >"$T"/mk.out
}
home_on() { on "$1" stat -c '%u:%g %a' /home/"$2" 2>/dev/null; }

# --- IPv6 only --------------------------------------------------------------------------
mk alice
for k in 1 2 3; do
	is "$(home_on $k alice)" "1500:1500 700" "IPv6 only: node $k has alice's home"
	like "$T"/mk.out "^fd00:234::1$k: created\$" "... fd00:234::1$k reports created"
done
unlike "$T"/mk.out '127\.0\.0\.1|failed' "... and nothing else: no IPv4 request from a loopback source, no failure"
like "$T"/hookd2.log 'discovery: answered \[fd00:234::11\]:' "node 2 answered node 1 on the IPv6 group, to its ULA"
like "$T"/hookd2.log 'request from \[fd00:234::11\]:[0-9]+ \[CN=node1\]: user alice' "... and logged its request with the IPv6 peer"
is "$(paste -sd' ' "$T"/seen1/nodes)" "fd00:234::11 fd00:234::12 fd00:234::13" "last-seen keeps IPv6 addresses"
on 1 "$B"/polohookctl -c "$T"/n1.conf discover >"$T"/tab 2>"$T"/err
is "$?" 0 "polohookctl discover on IPv6 only: every node verified"
like "$T"/tab '^fd00:234::12 +[^ ]+ +[0-9.]+ ms +multicast,last-seen +verified$' "... node 2 found on the IPv6 group, and last-seen"
for k in 1 2 3; do hookd_stop $k; done

# --- mixed: both families on one bridge -------------------------------------------------
cluster_teardown
cluster_begin
{
	cluster_switch sm && cluster_node 1 sm 10.234.0.11/24 fd00:235::11/64 &&
		cluster_node 2 sm 10.234.0.12/24 && cluster_node 3 sm fd00:235::13/64 &&
		cluster_node 4 sm fd00:235::14/64
} || { fail "cannot make the mixed cluster"; done_testing; }
rm -rf "${T:?}"/tls "${T:?}"/seen*
sh "$TOP/examples/make-certs.sh" "$T/tls" node1=10.234.0.11,fd00:235::11 \
	node2=10.234.0.12 node3=fd00:235::13 node4=fd00:235::14 >/dev/null
# the name server on the switch's bridge
ip -n $CP-sm addr add fd00:235::1/64 dev br0 nodad
ip netns exec $CP-sm dnsmasq -k -C /dev/null --no-resolv --no-hosts --pid-file= \
	--bind-interfaces --listen-address=fd00:235::1 --local=/polo.test/ \
	--srv-host=_polousers._tcp.polo.test,n4.polo.test,1343,0,10 \
	--host-record=n4.polo.test,fd00:235::14 2>>"$T"/dns.log &
CPIDS="$CPIDS $!"
printf 'nameserver fd00:235::1\noptions timeout:1 attempts:1\n' >"$T"/resolv
cluster_resolv 1 "$T"/resolv
CL_NODES=" " CL_DISC="ipv6 = yes
srv = _polousers._tcp.polo.test" cluster_conf 1 "[session]
statedir = $T/st1"
CL_NODES=" " CL_DISC="ipv6 = yes" cluster_conf 2 "[session]
statedir = $T/st2"
printf '[hookd]\nlisten = 10.234.0.12\n' >>"$T"/n2.conf
CL_NODES=" " CL_DISC="ipv6 = yes" cluster_conf 3 "[session]
statedir = $T/st3"
printf '[hookd]\nlisten = fd00:235::13\n' >>"$T"/n3.conf
CL_NODES=" " cluster_conf 4 "[session]
statedir = $T/st4"
for k in 1 2 3 4; do hookd_on $k; done
like "$T"/hookd3.log 'TCP \[fd00:235::13\]:1343' "node 3 listens on its one IPv6 address"
is "$(on 3 ss -Hltn 'sport = :1343' | awk '{print $4}')" "[fd00:235::13]:1343" "... and nowhere else"

mk bob
for k in 1 2 3 4; do
	is "$(home_on $k bob)" "1501:1501 700" "mixed: node $k has bob's home"
done
like "$T"/mk.out '^10\.234\.0\.12: created$' "node 2 (IPv4 only) was found over IPv4"
like "$T"/mk.out '^fd00:235::13: created$' "node 3 (IPv6 only) was found over IPv6"
like "$T"/mk.out '^fd00:235::14: created$' "node 4 (no IPv6 discovery) was found through SRV (AAAA)"
unlike "$T"/hookd4.log 'discovery: answered' "... node 4 answered no discovery"
unlike "$T"/mk.out 'failed' "every node asked succeeded"
for k in 1 2 3 4; do hookd_stop $k; done
done_testing
