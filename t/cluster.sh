# shellcheck shell=sh
# t/cluster.sh — N test nodes on this machine, sourced after t/lib.sh:
# network namespaces joined by a bridge in a switch namespace (nothing on
# the host's network), each node with its own mount namespace holding a
# private tmpfs /home. Everything is named with this run's prefix and
# removed by cluster_teardown (called from the EXIT trap).
#
#   cluster_start N        a test's usual start: traps, N nodes, A1..AN,
#                          NSSENV, node certificates in $T/tls (see below)
#   cluster_setup N        nodes 1..N at 10.232.0.1K/24 on eth0
#   cluster_begin, cluster_switch, cluster_node, cluster_router,
#   cluster_users, cluster_resolv: the parts, for other topologies
#   on K CMD...            run CMD on node K (its network and /home)
#   bg_on K CMD...         the same in the background; pid in $BGPID
#   cluster_teardown       kill what bg_on started, unmount, delete netns
#   wait_listen K PORT     until something on node K accepts on TCP PORT
#   cluster_conf K [TEXT]  node K's config file, $T/nK.conf (see below)
CP=pc$$
CNETNS=""
CADDRS=""	# the nodes' addresses, "10.232.0.11 10.232.0.12 ..."
CPIDS=""
CMNT=$T/mnt

cluster_teardown() {
	for p in $CPIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $CPIDS; do
		_i=0
		while kill -0 "$p" 2>/dev/null && [ $_i -lt 50 ]; do
			sleep 0.1; _i=$((_i + 1))
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	CPIDS=""
	for f in "$CMNT"/n*.mnt; do
		[ -e "$f" ] && umount "$f" 2>/dev/null
	done
	mountpoint -q "$CMNT" 2>/dev/null && umount "$CMNT"
	rm -f "$CMNT/.bound"
	for ns in $CNETNS; do ip netns del "$ns"; done
	CNETNS=""
}

# cluster_switch NAME: a bridge (br0) in namespace $CP-NAME
cluster_switch() {
	ip netns add "$CP-$1" || return 1
	CNETNS="${CNETNS:+$CNETNS }$CP-$1"
	ip -n "$CP-$1" link add br0 type bridge
	ip -n "$CP-$1" link set br0 type bridge mcast_snooping 0
	ip -n "$CP-$1" link set br0 up
}

# cluster_node K SWITCH ADDR/LEN...: node K, its eth0 on SWITCH's bridge
# with these addresses (IPv6 ones nodad: usable at once), its own mount
# namespace with a private tmpfs /home
cluster_node() {
	_k=$1 _sw=$2; shift 2
	if [ ! -e "$CMNT/.bound" ]; then
		mkdir -p "$CMNT"
		mount --bind "$CMNT" "$CMNT" && mount --make-private "$CMNT" &&
			touch "$CMNT/.bound" || return 1
	fi
	ip netns add "$CP-n$_k" || return 1
	CNETNS="$CNETNS $CP-n$_k"
	ip link add eth0 netns "$CP-n$_k" type veth peer name "p$_k" netns "$CP-$_sw"
	ip -n "$CP-$_sw" link set "p$_k" master br0 up
	for _a; do
		case $_a in
		*:*) ip -n "$CP-n$_k" addr add "$_a" dev eth0 nodad ;;
		*) ip -n "$CP-n$_k" addr add "$_a" dev eth0 ;;
		esac
	done
	ip -n "$CP-n$_k" link set lo up
	ip -n "$CP-n$_k" link set eth0 up
	ip -n "$CP-n$_k" route add 224.0.0.0/4 dev eth0 2>/dev/null
	touch "$CMNT/n$_k.mnt"
	unshare --mount="$CMNT/n$_k.mnt" --propagation private \
		mount -t tmpfs -o mode=0755 polohome /home || return 1
}

# cluster_router NAME SWITCH ADDR/LEN SWITCH ADDR/LEN...: a namespace
# $CP-NAME with one leg (r0, r1, ...) on each switch, forwarding IPv4 and
# IPv6 between them
cluster_router() {
	_r=$1; shift
	ip netns add "$CP-$_r" || return 1
	CNETNS="$CNETNS $CP-$_r"
	ip -n "$CP-$_r" link set lo up
	_i=0
	while [ $# -ge 2 ]; do
		ip link add "r$_i" netns "$CP-$_r" type veth peer name "$_r$_i" netns "$CP-$1"
		ip -n "$CP-$1" link set "$_r$_i" master br0 up
		case $2 in
		*:*) ip -n "$CP-$_r" addr add "$2" dev "r$_i" nodad ;;
		*) ip -n "$CP-$_r" addr add "$2" dev "r$_i" ;;
		esac
		ip -n "$CP-$_r" link set "r$_i" up
		shift 2; _i=$((_i + 1))
	done
	ip netns exec "$CP-$_r" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1
}

# cluster_resolv K FILE: FILE is /etc/resolv.conf on node K (its own
# mount namespace only)
cluster_resolv() {
	nsenter --mount="$CMNT/n$1.mnt" mount --bind "$2" /etc/resolv.conf
}

cluster_setup() {
	_cn=$1
	cluster_switch sw || return 1
	_k=1
	while [ $_k -le "$_cn" ]; do
		cluster_node $_k sw 10.232.0.1$_k/24 || return 1
		CADDRS="${CADDRS:+$CADDRS }10.232.0.1$_k"
		_k=$((_k + 1))
	done
}

on() {
	_k=$1; shift
	nsenter --mount="$CMNT/n$_k.mnt" --net=/run/netns/$CP-n"$_k" "$@"
}

bg_on() {
	_k=$1; shift
	nsenter --mount="$CMNT/n$_k.mnt" --net=/run/netns/$CP-n"$_k" "$@" &
	BGPID=$!
	CPIDS="$CPIDS $BGPID"
}

# wait_listen K PORT: until something on node K accepts on TCP PORT (5 s)
wait_listen() {
	_i=0
	while ! on "$1" ss -ltn 2>/dev/null | grep -q ":$2 " && [ $_i -lt 100 ]; do
		sleep 0.05; _i=$((_i + 1))
	done
}

# cluster_conf K [TEXT]: node K's config in $T/nK.conf: TEXT first (the
# test's own [session], [home], [hooks]), then discovery on eth0 with every
# node as a static one (CL_NODES to change that) and the last-seen set in
# $T/seenK (CL_DISC: more [discovery] lines, e.g. srv = or ipv6 =),
# node K's certificate from ${CERTDIR:-$T/tls} (CA $T/tls/ca.pem,
# as examples/make-certs.sh makes them), and hookd as nobody with short
# deadlines (CL_HS_MS, CL_CONN_MS, CL_REQ_MS: 1000, 1000, 2000 ms).
cluster_conf() {
	{
		[ -z "${2:-}" ] || printf '%s\n' "$2"
		cat <<EOC
[discovery]
interface = eth0
idle_ms = ${CL_IDLE_MS:-50}
max_ms = 1000
state = $T/seen$1/nodes
nodes = ${CL_NODES:-$CADDRS}
${CL_DISC:-}
[tls]
ca = $T/tls/ca.pem
cert = ${CERTDIR:-$T/tls}/node$1.pem
key = ${CERTDIR:-$T/tls}/node$1.key
[hookd]
user = nobody
handshake_ms = ${CL_HS_MS:-1000}
connect_ms = ${CL_CONN_MS:-1000}
request_ms = ${CL_REQ_MS:-2000}
EOC
	} >"$T/n$1.conf"
}

# cluster_start N: what every cluster test does first. The EXIT trap
# (CL_ON_EXIT first if set, then cluster_teardown and t/lib.sh's cleanup;
# INT TERM HUP PIPE exit through it), N nodes (a TAP skip if namespaces
# cannot be made), A1..AN their addresses, NSSENV the fake users for the
# daemons, and a cluster CA with certificates node1..nodeN in $T/tls.
cluster_start() {
	cluster_begin
	cluster_setup "$1" ||
		{ echo "1..0 # SKIP cannot make network namespaces"; exit 0; }
	_k=1 _certs=""
	while [ $_k -le "$1" ]; do
		eval "A$_k=10.232.0.1$_k"
		_certs="$_certs node$_k=10.232.0.1$_k"
		_k=$((_k + 1))
	done
	cluster_users
	# shellcheck disable=SC2086 # a list of node=address words
	sh "$TOP/examples/make-certs.sh" "$T/tls" $_certs >/dev/null
}

# cluster_begin: the EXIT trap (CL_ON_EXIT first if set, then
# cluster_teardown and t/lib.sh's cleanup; INT TERM HUP PIPE exit through
# it). For a test that builds its own topology (cluster_switch,
# cluster_node, cluster_router), then calls cluster_users.
cluster_begin() {
	# shellcheck disable=SC2064 # CL_ON_EXIT is fixed now, on purpose
	trap "${CL_ON_EXIT:+$CL_ON_EXIT; }cluster_teardown; _cleanup" EXIT
	trap 'exit 1' INT TERM HUP PIPE
}

# cluster_users: NSSENV, a command that runs its arguments with the fake
# users (a file, so that nsenter can run it inside a node)
cluster_users() {
	NSSENV=$T/nssenv
	printf '#!/bin/sh\nexec env LD_PRELOAD="%s" NSS_WRAPPER_PASSWD="%s" NSS_WRAPPER_GROUP="%s" "$@"\n' \
		"$NSSW" "$T/passwd" "$T/group" >"$NSSENV"
	chmod 0755 "$NSSENV"
}
