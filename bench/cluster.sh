#!/bin/sh
# bench/cluster.sh — table 2: cluster fan-out. How long polo-mkhome, the W
# hook a login waits for, takes to make (or find) the user's home on every
# node, discovery and TLS included, for 1, 4, 16 and 32 nodes; with
# polohook's discovery (ended as soon as every expected node answered),
# with no node known yet (a 50 ms idle gap), with the nodes found through
# DNS SRV (dnsmasq in the switch namespace), and with the original
# MarcoPolo client's 400 ms idle gap. Run by bench/run.sh, which sets
# TOP B W and CL_SIZES CL_RUNS.
#
# Nodes are network namespaces on a bridge that lives in its own "switch"
# namespace (the host's network is untouched), each with a private mount
# namespace holding a tmpfs /home, and each running hookd. Everything is
# named with this run's prefix and removed on exit, Ctrl-C included.
set -eu

SIZES=${CL_SIZES:-1 4 16 32}
RUNS=${CL_RUNS:-10}
NSSW=$(find /usr/lib /lib -name libnss_wrapper.so 2>/dev/null | head -n1)
[ -n "$NSSW" ] || { echo "cluster.sh: no libnss_wrapper.so" >&2; exit 1; }
for c in ip nsenter unshare openssl ss mountpoint dnsmasq; do
	command -v $c >/dev/null || { echo "cluster.sh: no $c" >&2; exit 1; }
done
MAXN=0
for s in $SIZES; do [ "$s" -le "$MAXN" ] || MAXN=$s; done
[ "$MAXN" -le 200 ] || { echo "cluster.sh: at most 200 nodes" >&2; exit 1; }

P=pb$$
T=$(mktemp -d /tmp/polocluster.XXXXXX)
MNT=$T/mnt
NETNS=""
HPIDS=""
DNSPID=""

. "$TOP/bench/stop.sh"
stop_hookds() {
	# shellcheck disable=SC2086 # a list of pids
	stop_pids $HPIDS
	HPIDS=""
}
cleanup() {
	_rc=$?
	set +e
	[ $_rc -eq 0 ] || cp "$T/mkhome.log" "$W/cluster-mkhome.log" 2>/dev/null || :
	stop_hookds
	[ -z "$DNSPID" ] || stop_pids "$DNSPID"
	for f in "$MNT"/n*.mnt; do
		if [ -e "$f" ]; then umount "$f" 2>/dev/null; fi
	done
	mountpoint -q "$MNT" 2>/dev/null && umount "$MNT"
	for ns in $NETNS; do ip netns del "$ns" 2>/dev/null || :; done
	rm -rf "${T:?}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE
chmod 0755 "$T"

addr() { echo "10.234.$(($1 / 200)).$(($1 % 200 + 10))"; }
on() {	# on K CMD...: run CMD on node K (its network and /home)
	_k=$1; shift
	nsenter --mount="$MNT/n$_k.mnt" --net="/run/netns/$P-n$_k" "$@"
}

# --- the nodes --------------------------------------------------------------
t0=$(date +%s.%N)
ip netns add "$P-sw"
NETNS="$P-sw"
ip -n "$P-sw" link add br0 type bridge
ip -n "$P-sw" link set br0 type bridge mcast_snooping 0
ip -n "$P-sw" link set br0 up
mkdir -p "$MNT"
mount --bind "$MNT" "$MNT"
mount --make-private "$MNT"
k=1
while [ $k -le "$MAXN" ]; do
	ip netns add "$P-n$k"
	NETNS="$NETNS $P-n$k"
	ip link add eth0 netns "$P-n$k" type veth peer name "p$k" netns "$P-sw"
	ip -n "$P-sw" link set "p$k" master br0 up
	ip -n "$P-n$k" addr add "$(addr $k)/16" dev eth0
	ip -n "$P-n$k" link set lo up
	ip -n "$P-n$k" link set eth0 up
	ip -n "$P-n$k" route add 224.0.0.0/4 dev eth0
	touch "$MNT/n$k.mnt"
	unshare --mount="$MNT/n$k.mnt" --propagation private \
		mount -t tmpfs -o mode=0755 polohome /home
	k=$((k + 1))
done
SETUP_S=$(echo "$t0 $(date +%s.%N)" | awk '{ printf "%.1f", $2 - $1 }')
echo "cluster: $MAXN nodes in $SETUP_S s" >&2

# --- certificates, users, configs -------------------------------------------
certargs=""
k=1
while [ $k -le "$MAXN" ]; do
	certargs="$certargs n$k=$(addr $k)"
	k=$((k + 1))
done
# shellcheck disable=SC2086 # a word per node
sh "$TOP/examples/make-certs.sh" "$T/tls" $certargs >/dev/null

MODES="fast first srv orig"
NMODES=4
W0=1	# warm-up runs per pambench call
{
	echo "root:x:0:0:root:/root:/bin/sh"
	echo "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin"
	echo "old:x:3000:3000::/home/old:/bin/sh"
} >"$T/passwd"
printf 'root:x:0:\nnogroup:x:65534:\nold:x:3000:\n' >"$T/group"
uid=3000
for s in $SIZES; do
	for m in $MODES; do
		i=1
		while [ $i -le $((RUNS + W0)) ]; do
			uid=$((uid + 1))
			echo "s${s}${m}$i:x:$uid:$uid::/home/s${s}${m}$i:/bin/sh" >>"$T/passwd"
			i=$((i + 1))
		done
	done
done
NSSENV="LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group"
mkdir -m 0755 "$T/skel" "$T/seen" "$T/untrusted"
chmod 0777 "$T/untrusted"	# a last-seen file here is refused: none known
echo 'export CLUSTER=yes' >"$T/skel/.profile"

# hookd's config on node K
k=1
while [ $k -le "$MAXN" ]; do
	cat >"$T/n$k.conf" <<EOF
[home]
skel = $T/skel
umask = 077
[discovery]
interface = eth0
[tls]
ca = $T/tls/ca.pem
cert = $T/tls/n$k.pem
key = $T/tls/n$k.key
[hookd]
user = nobody
EOF
	k=$((k + 1))
done
# polo-mkhome's on node 1, one per discovery mode:
#   fast   polohook: the last-seen file names the nodes, discovery ends as
#          soon as all of them answered (else after an idle gap of 50 ms)
#   first  no node known (the last-seen file is refused): the 50 ms gap
#   orig   no node known, the original client's 400 ms gap
mkconf() {	# mkconf MODE IDLE_MS STATE
	cat >"$T/mk-$1.conf" <<EOF
[discovery]
interface = eth0
idle_ms = $2
max_ms = 5000
state = $3
[tls]
ca = $T/tls/ca.pem
cert = $T/tls/n1.pem
key = $T/tls/n1.key
EOF
}
mkconf fast 50 "$T/seen/nodes"
mkconf first 50 "$T/untrusted/nodes"
mkconf orig 400 "$T/untrusted/nodes"
#   srv    no node known, the nodes named by the SRV records of
#          _polousers._tcp.bench.test: they are expected, so discovery
#          ends as soon as all of them answered
mkconf srv 50 "$T/untrusted/nodes"
printf '[discovery]\nsrv = _polousers._tcp.bench.test\n' >>"$T/mk-srv.conf"

# the name server: dnsmasq on the switch's bridge (no upstream, no
# /etc/hosts), the SRV records of the nodes running at each size
ip -n "$P-sw" addr add 10.234.255.1/16 dev br0
printf 'nameserver 10.234.255.1\noptions timeout:1 attempts:1\n' >"$T/resolv.conf"
nsenter --mount="$MNT/n1.mnt" mount --bind "$T/resolv.conf" /etc/resolv.conf
start_dns() {	# start_dns S: SRV records for nodes 1..S
	[ -z "$DNSPID" ] || stop_pids "$DNSPID"
	_recs="" _k=1
	while [ $_k -le "$1" ]; do
		_recs="$_recs --srv-host=_polousers._tcp.bench.test,n$_k.bench.test,1343,0,10"
		_recs="$_recs --host-record=n$_k.bench.test,$(addr $_k)"
		_k=$((_k + 1))
	done
	# shellcheck disable=SC2086 # a word per record
	ip netns exec "$P-sw" dnsmasq -k -C /dev/null --no-resolv --no-hosts \
		--pid-file= --bind-interfaces --listen-address=10.234.255.1 \
		--local=/bench.test/ $_recs 2>>"$T/dns.log" &
	DNSPID=$!
	_i=0
	while ! on 1 getent hosts "n$1.bench.test" >/dev/null && [ $_i -lt 100 ]; do
		sleep 0.05; _i=$((_i + 1))
	done
}

# --- the runs ---------------------------------------------------------------
PB=$B/bench/pambench
field() { sed -n "s/.*[[:space:]]$1=\([0-9.]*\).*/\1/p"; }
# bench S MODE KIND ARGS...: one pambench call on node 1, its line kept
bench() {
	_s=$1 _m=$2 _kind=$3; shift 3
	echo "== size $_s mode $_m $_kind" >>"$T/mkhome.log"
	# shellcheck disable=SC2086 # NSSENV is a word list
	_line=$(on 1 env $NSSENV "$PB" "$@" -n "$RUNS" -w $W0 --cmd \
		"$B/polo-mkhome" -c "$T/mk-$_m.conf" session_added \
		2>>"$T/mkhome.log") ||
		{ echo "cluster.sh: size $_s $_m $_kind failed: $_line" >&2
		  tail -n 40 "$T/mkhome.log" >&2; exit 1; }
	echo "size $_s $_m $_kind: $_line" >&2
	echo "$_line" >"$T/raw.$_s.$_m.$_kind"
}

for s in $SIZES; do
	# hookd on nodes 1..s, each until it accepts
	k=1
	while [ $k -le "$s" ]; do
		# nsenter and env exec: $! is hookd's pid
		# shellcheck disable=SC2086
		nsenter --mount="$MNT/n$k.mnt" --net="/run/netns/$P-n$k" \
			env $NSSENV "$B/hookd" -c "$T/n$k.conf" -f \
			2>>"$T/hookd$k.log" &
		HPIDS="$HPIDS $!"
		k=$((k + 1))
	done
	k=1
	while [ $k -le "$s" ]; do
		_i=0
		while ! on $k ss -ltn 2>/dev/null | grep -q ':1343 ' &&
			[ $_i -lt 200 ]; do
			sleep 0.05; _i=$((_i + 1))
		done
		k=$((k + 1))
	done
	start_dns "$s"
	# the last-seen file: exactly these nodes
	k=1
	while [ $k -le "$s" ]; do addr $k; k=$((k + 1)); done >"$T/seen/nodes"
	for m in $MODES; do
		bench "$s" "$m" new -U "s${s}${m}"
		bench "$s" "$m" existing -u old
	done
	# every node has every home of this size, the user's, 0700
	k=1
	while [ $k -le "$s" ]; do
		n=$(on $k find /home -mindepth 1 -maxdepth 1 -name "s${s}[a-z]*" \
			-perm 0700 | wc -l)
		o=$(on $k stat -c '%u %a' /home/old 2>/dev/null || :)
		if [ "$n" -ne $((NMODES * (RUNS + W0))) ] || [ "$o" != "3000 700" ]; then
			echo "cluster.sh: size $s: node $k has $n of" \
				"$((NMODES * (RUNS + W0))) new homes, old's: '$o'" >&2
			exit 1
		fi
		k=$((k + 1))
	done
	echo "size $s: every home on every node" >&2
	stop_hookds
done

# --- the table ----------------------------------------------------------------
med() { field "$4" <"$T/raw.$1.$2.$3"; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
	cat <<EOF
## Table 2: cluster fan-out

Login to home on all nodes: the wall time of polo-mkhome (the
\`added/10W-polo-mkhome\` hook a login waits for), from its start to its
exit after every node answered, discovery and mutual TLS included.

### Method

- Nodes: network namespaces joined by a bridge in a switch namespace
  (nothing on the host's network), each with its own tmpfs \`/home\` in a
  private mount namespace and running \`hookd\` (\`ack = done\`, user
  \`nobody\`, skel one small file); made for $MAXN nodes in $SETUP_S s.
  Certificates (EC P-256) from examples/make-certs.sh, users from an
  nss_wrapper passwd file.
- On node 1 \`build/bench/pambench --cmd\` starts \`polo-mkhome -c CONF
  session_added\` with \`PAM_USER\` set, as the module would, and times it
  until it exits (it must exit 0: every node succeeded); $RUNS timed runs
  after $W0 warm-up run per cell, the median shown. new home: a user never
  seen before at each run (every node makes the home and copies skel);
  existing home: the same user again (every node answers "exists").
- Discovery modes of polo-mkhome on node 1 ([discovery] in
  session-scripts.conf):
  - polohook: \`idle_ms = 50\`, the last-seen file (\`state\`) names the
    nodes, so discovery ends as soon as every one of them answered;
  - first login: no node known yet (the last-seen file is refused), so
    discovery ends after 50 ms without a new answer;
  - SRV: no node known, but \`srv = _polousers._tcp.bench.test\` names
    them all (dnsmasq on the switch's bridge, SRV and A records of the
    nodes running): polo-mkhome looks the name up (a child process, as on
    a real login) and expects those nodes, so discovery ends as soon as
    every one of them answered, as with a last-seen file;
  - original gap: no node known and \`idle_ms = 400\`, the original
    MarcoPolo PAM client's gap (PROTOCOL.md).
- After each size, every node was checked to hold every home made, owned
  by its user, mode 0700.
- All nodes share this machine's $(nproc) CPU(s): the 32-node column is
  32 hookds and 32 TLS handshakes on $(nproc) CPU(s), not a LAN of 32
  machines.

| nodes | home | polohook ms (p90) | first login ms | SRV ms (p90) | original gap ms | polohook ÷ original gap | first login ÷ original gap | SRV ÷ original gap |
|---:|---|---:|---:|---:|---:|---:|---:|---:|
EOF
	for s in $SIZES; do
		for kind in new existing; do
			f=$(med "$s" fast "$kind" median_ms)
			i=$(med "$s" first "$kind" median_ms)
			o=$(med "$s" orig "$kind" median_ms)
			v=$(med "$s" srv "$kind" median_ms)
			printf '| %s | %s | %s (%s) | %s | %s (%s) | %s | %s× | %s× | %s× |\n' \
				"$s" "$kind" "$f" "$(med "$s" fast "$kind" p90_ms)" \
				"$i" "$v" "$(med "$s" srv "$kind" p90_ms)" "$o" \
				"$(div "$f" "$o")" "$(div "$i" "$o")" "$(div "$v" "$o")"
		done
	done
} >"$W/cluster.md"
for f in "$T"/raw.*; do
	sed "s/^/${f##*/raw.}: /" "$f"
done >"$W/cluster.raw"
