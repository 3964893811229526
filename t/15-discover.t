#!/bin/sh
# MarcoPolo discovery (lib/discover.c) between three nodes: network
# namespaces joined by a bridge in a fourth "switch" namespace, so the
# host's network is untouched (TESTING.md, "Several nodes on one machine").
# Every namespace is named with this run's prefix and deleted on exit;
# traffic only flows inside them. As root, or (re-executed here) in an
# unprivileged user namespace with its own /run where the kernel allows it.
if [ "$(id -u)" -ne 0 ] && [ -z "${POLO_DISC_USERNS:-}" ]; then
	if unshare -r -m -n true 2>/dev/null; then
		POLO_DISC_USERNS=1 exec unshare -r -m -n sh -c \
			'mount -t tmpfs polo /run && exec sh "$0"' \
			"$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
	fi
	echo "1..0 # SKIP needs root (or unprivileged user namespaces)"
	exit 0
fi
. "$(dirname "$0")/lib.sh"
need_root
D=$B/t/discover-drv
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
need_cmds ip timeout $PY
[ -x "$D" ] || { echo "1..0 # SKIP $D not built"; exit 0; }

P=pd$$
NETNS=""	# exactly the namespaces this run made
RPIDS=""	# responders still running
teardown() {
	for p in $RPIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $RPIDS; do wait "$p" 2>/dev/null; done
	RPIDS=""
	for ns in $NETNS; do ip netns del "$ns"; done
	NETNS=""
}
trap 'teardown; _cleanup' EXIT
trap 'exit 1' INT TERM HUP PIPE

mkns() { ip netns add "$1" && NETNS="$NETNS $1"; }
on() { _k=$1; shift; ip netns exec "$P-n$_k" "$@"; }
A1=10.231.0.11 A2=10.231.0.12 A3=10.231.0.13

mkns $P-sw || { echo "1..0 # SKIP cannot create network namespaces"; exit 0; }
ip -n $P-sw link add br0 type bridge
ip -n $P-sw link set br0 type bridge mcast_snooping 0
ip -n $P-sw link set br0 up
for k in 1 2 3; do
	mkns $P-n$k
	ip link add eth0 netns $P-n$k type veth peer name p$k netns $P-sw
	ip -n $P-sw link set p$k master br0 up
	ip -n $P-n$k addr add 10.231.0.1$k/24 dev eth0
	ip -n $P-n$k link set lo up
	ip -n $P-n$k link set eth0 up
	ip -n $P-n$k route add 224.0.0.0/4 dev eth0
done

# responder K [IFACE]: start node K's responder, wait until it listens.
# Not through on(): a backgrounded function is a subshell, and $! must be
# the responder itself (ip netns exec execs it).
responder() {
	ip netns exec $P-n"$1" "$D" listen node"$1" polousers "${2:-}" 2>>"$T"/r"$1".log &
	eval R"$1"=$!
	RPIDS="$RPIDS $!"
	_i=0
	while ! grep -q '^listening$' "$T"/r"$1".log 2>/dev/null && [ $_i -lt 200 ]; do
		sleep 0.05; _i=$((_i + 1))
	done
}
stop_responder() {
	_p=; eval _p=\$R"$1"
	kill -TERM "$_p"; wait "$_p"
	RPIDS=$(echo " $RPIDS " | sed "s/ $_p / /")
}
# ask K ARGS...: discovery from node K, addresses sorted, then "done N".
ask() {
	_k=$1; shift
	on "$_k" "$D" ask "$@" >"$T"/ask.out 2>"$T"/ask.err
	_rc=$?
	{ grep -v '^done' "$T"/ask.out | sort; grep '^done' "$T"/ask.out; } | paste -sd' '
	return $_rc
}
# udp K ADDR HEX: from node K, one datagram to ADDR:1337; the reply, or
# "none" when nothing came back within 300 ms.
cat >"$T"/udp.py <<'EOP'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
s.sendto(bytes.fromhex(sys.argv[2]), (sys.argv[1], 1337))
try:
    print(s.recvfrom(65536)[0].decode("utf-8", "replace"))
except socket.timeout:
    print("none")
EOP
udp() { _k=$1; shift; on "$_k" $PY "$T"/udp.py "$@"; }
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
# pad N: a Request-For polousers of exactly N bytes
pad() {
	_h='{"Command": "Request-For", "Params": "polousers", "pad": "'
	printf '%s%s"}' "$_h" "$(head -c $(($1 - ${#_h} - 2)) /dev/zero | tr '\0' a)"
}

for k in 1 2 3; do responder $k; done
is "$(grep -c '^listening$' "$T"/r1.log "$T"/r2.log "$T"/r3.log | paste -sd' ')" \
	"$T/r1.log:1 $T/r2.log:1 $T/r3.log:1" "three responders listen"

is "$(ask 1 polousers 300 3000)" "$A1 $A2 $A3 done 3" \
	"node 1 finds all three nodes, itself included (multicast loopback)"
is "$(ask 2 polousers 300 3000)" "$A1 $A2 $A3 done 3" "... and so does node 2"

# Early end. With an idle gap of 5 s the discovery could only finish
# within the 4 s guard by stopping once every expected node answered: this
# proves the early stop without asserting how fast the code is.
out=$(timeout 4 ip netns exec $P-n1 "$D" ask polousers 5000 10000 - $A1 $A2 $A3 2>/dev/null)
is "$?:$(echo "$out" | tail -n1)" "0:done 3" \
	"with every node expected, discovery ends as soon as all answered"

is "$(ask 1 nosuchservice 300 3000)" "done 0" "a service nobody offers: no node"
like "$T"/r2.log 'ignoring a datagram from 10\.231\.0\.11:[0-9]+: service nosuchservice is not offered here' \
	"... the responders log why they stayed silent (debug)"

# Marco, unicast: Polo with the node's hostname
reply=$(udp 2 $A1 "$(hex '{"Command": "Marco"}')")
is "$(echo "$reply" | $PY -c 'import json,sys; m=json.load(sys.stdin); print(m["Command"], m["Params"]["hostname"])')" \
	"Polo node1" "Marco gets Polo with the node's hostname"
is "$(udp 2 $A1 "$(hex '{"Command": "Discover"}')" | grep -c node1)" 1 \
	"Discover is a synonym"
is "$(udp 2 $A1 "$(hex '{"Command": "Request-For", "Params": "polousers"}')" | tr -d ' ')" \
	'{"Command":"OK","Params":{}}' "a unicast Request-For gets OK (the probe hears replies)"
is "$(udp 2 $A1 "$(hex "$(pad 4096)")" | grep -c OK)" 1 \
	"a request of exactly 4096 bytes is answered"

# Garbage: none of it is answered, all of it is logged, the node serves on.
: >"$T"/r1.log
n=0
for g in "$(hex '{"Command": "Marco"')" \
	"$(hex "$(pad 4097)")" "$(hex "$(pad 5000)")" \
	"$(hex '{"Command":"Polo","Params":{"hostname":"evil"}}')" \
	"$(hex '{"Command": "OK", "Params": {}}')" \
	"$(hex '{"Command": "Request-For"}')" \
	"$(hex '{"Command": "Request-For", "Params": 7}')" \
	"$(hex '{"Command": "Shutdown"}')" \
	"$(hex '["Marco"]')" "" "00ff7b22fe0a80c0" \
	"$(hex '{"Command": "Marco", "Command": "Marco"}')"; do
	n=$((n + 1))
	is "$(udp 2 $A1 "$g")" none "garbage datagram $n gets no answer"
done
is "$(grep -c 'ignoring .*from 10\.231\.0\.12:' "$T"/r1.log)" $n \
	"each one is logged at debug level with its sender"
like "$T"/r1.log 'ignoring an oversized datagram \(4097 bytes\) from 10\.231\.0\.12:' \
	"... oversized ones as such"
kill -0 "$R1" 2>/dev/null; is $? 0 "the responder is still running"
is "$(ask 2 polousers 300 3000)" "$A1 $A2 $A3 done 3" "... and still answers"

# A node whose responder is gone is simply missing.
stop_responder 3
is "$(ask 1 polousers 300 3000)" "$A1 $A2 done 2" "a stopped node is missing"
out=$(timeout 4 ip netns exec $P-n1 "$D" ask polousers 300 3000 - $A1 $A2 $A3 2>/dev/null)
is "$?:$(echo "$out" | tail -n1)" "0:done 2" \
	"... and, expected but silent, costs only the idle gap"

# The interface setting: without a multicast route sending fails with a
# hint; with [discovery] interface set it works. The responder restarts
# on the same port at once (SO_REUSEADDR) and joins on its interface.
ip -n $P-n3 route del 224.0.0.0/4 dev eth0
ask 3 polousers 300 3000 >/dev/null; rc=$?
is $rc 1 "no multicast route and no interface: discovery fails"
like "$T"/ask.err 'cannot send to 224\.0\.0\.112:1337 .*set \[discovery\] interface' \
	"... and says to set [discovery] interface"
is "$(ask 3 polousers 300 3000 eth0)" "$A1 $A2 done 2" \
	"with the interface set, discovery works without a route"
responder 3 eth0
is "$(ask 3 polousers 300 3000 eth0)" "$A1 $A2 $A3 done 3" \
	"a responder joined on its interface answers again"

if [ "${POLO_BUILD:-build}" = build-asan ]; then
	skip "valgrind and ASan do not mix (POLO_BUILD=build-asan)"
elif command -v valgrind >/dev/null; then
	on 1 valgrind -q --leak-check=full --errors-for-leak-kinds=all \
		--error-exitcode=99 "$D" ask polousers 300 3000 - $A1 $A2 $A3 \
		>"$T"/vg.out 2>"$T"/vg.err
	is "$?:$(tail -n1 "$T"/vg.out)" "0:done 3" "ask under valgrind: no error, no leak"
	grep -v '^<7>' "$T"/vg.err | sed 's/^/# /'
else
	skip "valgrind not installed"
fi

teardown
is "$(ip netns list | grep -c "^$P-")" 0 "every namespace of this run is gone"
done_testing
