#!/bin/sh
# bench/load.sh — table 3 (hookd under load: Create-Home requests per
# second with 1, 8 and 64 concurrent clients, latency, hookd's peak RSS and
# fds) and the hookd rows of table 4 (idle RSS). Run by bench/run.sh, which
# sets TOP B W and LOAD_EXISTS LOAD_CREATE LOAD_ROUNDS LOAD_KS.
#
# Everything runs in a private network namespace (loopback only) and a
# private mount namespace whose tmpfs holds the homes hookd makes: nothing
# outside them is touched, and they vanish with this script. Fake users
# through nss_wrapper (as t/40-hookd.t); certificates made into the
# temporary directory by examples/make-certs.sh.
set -eu

if [ -z "${POLO_LOAD_NS:-}" ]; then
	POLO_LOAD_NS=1 exec unshare -n -m --propagation private sh "$0" "$@"
fi

HL=$B/bench/hookload
NSSW=$(find /usr/lib /lib -name libnss_wrapper.so 2>/dev/null | head -n1)
[ -n "$NSSW" ] || { echo "load.sh: no libnss_wrapper.so" >&2; exit 1; }
KS=${LOAD_KS:-1 8 64}
NEX=$LOAD_EXISTS
NCR=$LOAD_CREATE
PORT=1343	# hookd's own port: this namespace is ours
FPORT=2343	# the floor server
WARM=64		# users whose homes exist before the "exists" runs
# hookd counts a connection until it has reaped the connection's process,
# and a client may reconnect before that: with 64 clients and the default
# max_conns (64) some connections are refused. Room for the largest K:
MAXC=128

T=$(mktemp -d /tmp/poloload.XXXXXX)
PIDS=""
. "$TOP/bench/stop.sh"
cleanup() {
	_rc=$?
	set +e
	# on failure, hookd's log is kept for a look
	[ $_rc -eq 0 ] || cp "$T/hookd.log" "$W/load-hookd.log" 2>/dev/null || :
	# shellcheck disable=SC2086 # a list of pids
	stop_pids $PIDS
	mountpoint -q "$T/homes" 2>/dev/null && umount "$T/homes"
	rm -rf "${T:?}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE
chmod 0755 "$T"
ip link set lo up
ip link set lo multicast on
mkdir -m 0755 "$T/homes" "$T/skel"
mount -t tmpfs -o mode=0755 poloload "$T/homes"
echo 'PS1=x' >"$T/skel/.profile"

# Users: WARM for the "exists" runs, then a fresh one for every "created"
# request of every round and client count.
{
	echo "root:x:0:0:root:/root:/bin/sh"
	echo "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin"
} >"$T/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$T/group"
uid=20000
i=1
while [ $i -le $WARM ]; do
	uid=$((uid + 1))
	echo "w$i:x:$uid:$uid::$T/homes/w$i:/bin/sh" >>"$T/passwd"
	echo "$T/homes/w$i,$uid,$uid" >>"$T/warm.req"
	i=$((i + 1))
done
r=1
while [ $r -le "$LOAD_ROUNDS" ]; do
	for k in $KS; do
		i=1
		while [ $i -le "$NCR" ]; do
			uid=$((uid + 1))
			u=c${r}k${k}n$i
			echo "$u:x:$uid:$uid::$T/homes/$u:/bin/sh" >>"$T/passwd"
			echo "$T/homes/$u,$uid,$uid" >>"$T/create.$r.$k.req"
			i=$((i + 1))
		done
	done
	r=$((r + 1))
done
NUSERS=$(($(wc -l <"$T/passwd") - 2))

sh "$TOP/examples/make-certs.sh" "$T/tls" node=127.0.0.1 client >/dev/null
TLSARGS="--nodelay -C $T/tls/ca.pem -e $T/tls/client.pem -k $T/tls/client.key"

# hookdconf FILE PORT DISCOVERY_PORT
hookdconf() {
	cat >"$1" <<EOF
[home]
skel = $T/skel
umask = 077
[discovery]
interface = lo
port = $3
[tls]
ca = $T/tls/ca.pem
cert = $T/tls/node.pem
key = $T/tls/node.key
[hookd]
port = $2
min_uid = 1000
ack = done
user = nobody
max_conns = $MAXC
EOF
	chmod 0644 "$1"
}
hookdconf "$T/hookd.conf" $PORT 1337
hookdconf "$T/idle.conf" $((PORT + 1)) 1338
# wait_worker LOG: until hookd's worker runs (5 s)
wait_worker() {
	_i=0
	while ! grep -q 'worker running' "$1" && [ $_i -lt 100 ]; do
		sleep 0.05; _i=$((_i + 1))
	done
	grep -q 'worker running' "$1" ||
		{ echo "load.sh: hookd did not start:" >&2; cat "$1" >&2; exit 1; }
}

# hookd's idle memory with a passwd of its own two users: nss_wrapper,
# which stands in for the system's NSS here, keeps the whole file in
# memory, and the file of the load runs is large.
head -n 2 "$T/passwd" >"$T/passwd.min"
LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd.min NSS_WRAPPER_GROUP=$T/group \
	"$B/hookd" -c "$T/idle.conf" -f 2>"$T/idle.log" &
IPID=$!
PIDS="$PIDS $IPID"
wait_worker "$T/idle.log"
sleep 0.5
IDLE_H0=$("$HL" --mem "$IPID")
kill -TERM "$IPID"
wait "$IPID" || :

LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group \
	"$B/hookd" -c "$T/hookd.conf" -f 2>"$T/hookd.log" &
HPID=$!
PIDS="$PIDS $HPID"
"$HL" --serve -p $FPORT -C "$T/tls/ca.pem" -e "$T/tls/node.pem" \
	-k "$T/tls/node.key" 2>"$T/floor.log" &
FPID=$!
PIDS="$PIDS $FPID"
# until both accept (5 s)
i=0
while [ $i -lt 100 ]; do
	l=$(ss -ltn 2>/dev/null)
	case $l in *":$PORT "*) case $l in *":$FPORT "*) break ;; esac ;; esac
	sleep 0.05; i=$((i + 1))
done
wait_worker "$T/hookd.log"
kill -0 "$FPID" || { echo "load.sh: the floor server did not start" >&2; exit 1; }
sleep 0.5

# idle memory, before any request
IDLE_H=$("$HL" --mem "$HPID")
IDLE_F=$("$HL" --mem "$FPID")
echo "idle hookd: $IDLE_H0; with the load's users: $IDLE_H; floor: $IDLE_F" >&2

# load WHAT K REQFILE N PID PORT: one run, its line appended to raw.WHAT.K
load() {
	# shellcheck disable=SC2086 # TLSARGS is a word list
	_line=$("$HL" -a 127.0.0.1 -p "$6" $TLSARGS -r "$3" -n "$4" -c "$2" -w "$5") ||
		{ echo "load.sh: $1 k=$2 failed: $_line" >&2; return 1; }
	echo "load $1 k=$2: $_line" >&2
	echo "$_line" >>"$T/raw.$1.$2"
}
field() { sed -n "s/.*[[:space:]]$1=\([0-9.]*\).*/\1/p"; }

# warm-up: make the WARM homes (and a first TLS round on both servers)
# shellcheck disable=SC2086 # TLSARGS is a word list
w=$("$HL" -a 127.0.0.1 -p $PORT $TLSARGS -r "$T/warm.req" -n $WARM -c 8)
[ "$(echo "$w" | field created)" = $WARM ] ||
	{ echo "load.sh: warm-up did not create $WARM homes: $w" >&2; exit 1; }
# shellcheck disable=SC2086
"$HL" -a 127.0.0.1 -p $FPORT $TLSARGS -r "$T/warm.req" -n $WARM -c 8 >/dev/null

# Interleaved rounds: per client count, hookd "exists", the floor, hookd
# "created" (new users every time).
r=1
while [ $r -le "$LOAD_ROUNDS" ]; do
	for k in $KS; do
		load exists "$k" "$T/warm.req" "$NEX" "$HPID" $PORT
		load floor "$k" "$T/warm.req" "$NEX" "$FPID" $FPORT
		load created "$k" "$T/create.$r.$k.req" "$NCR" "$HPID" $PORT
	done
	r=$((r + 1))
done
sleep 0.5
AFTER_H=$("$HL" --mem "$HPID")
echo "hookd after the load: $AFTER_H" >&2

# What the requests did: every reply as expected, every home on disk,
# the user's, mode 0700 (ack = done).
bad=""
for k in $KS; do
	for f in "$T"/raw.exists."$k" "$T"/raw.floor."$k"; do
		[ "$(field exists <"$f" | sort -u)" = "$NEX" ] || bad="$bad $f"
	done
	[ "$(field created <"$T/raw.created.$k" | sort -u)" = "$NCR" ] ||
		bad="$bad created.$k"
done
[ -z "$bad" ] || { echo "load.sh: unexpected replies in:$bad" >&2; exit 1; }
HOMES=$(find "$T/homes" -mindepth 1 -maxdepth 1 -type d | wc -l)
WRONG=$(awk -F: -v h="$T/homes/" 'index($6, h) == 1 { print $3 ":" $6 }' "$T/passwd" |
	while IFS=: read -r u h; do
		[ "$(stat -c '%u %a' "$h" 2>/dev/null)" = "$u 700" ] || echo "$h"
	done | wc -l)
if [ "$HOMES" -ne "$NUSERS" ] || [ "$WRONG" -ne 0 ]; then
	echo "load.sh: $HOMES homes on disk for $NUSERS users, $WRONG wrong" >&2
	exit 1
fi
REFUSED=$(grep -c 'refused' "$T/hookd.log" || :)

# median over the rounds of FIELD in raw.WHAT.K
med() {
	field "$3" <"$T/raw.$1.$2" | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
kv() { echo " $1" | field "$2"; }

{
	cat <<EOF
## Table 3: hookd under load

Create-Home requests per second on one node, with K clients each making
one request per connection at a time, as polo-mkhome makes them.

### Method

- One hookd (\`hookd -f\`, monitor + worker + one process per connection,
  the worker and connection processes as \`nobody\`) in a private network
  namespace, on 127.0.0.1; its users ($NUSERS of them) from an
  nss_wrapper passwd file, their homes on a tmpfs; \`ack = done\` (the
  reply comes once the home is complete), skel one small file,
  \`max_conns = $MAXC\` (see below), its log (one line per request) to a
  file.
- \`build/bench/hookload\` (bench/hookload.c, linked with lib/: the TLS
  and protocol code polo-mkhome uses) runs K threads; each connects, does
  the TLS 1.3 handshake with its client certificate (EC P-256, from
  examples/make-certs.sh), checking the server's certificate against
  the address, sends one request, reads the reply, closes. A request is
  timed from connect to the parsed reply; req/s is requests ÷ wall time.
- exists: $NEX requests cycling over $WARM users whose homes exist
  (made by a warm-up pass). created: $NCR requests, each for a user seen
  for the first time (hookd makes the home, copies skel, chowns). Every
  reply was checked (\`"Status":"exists"\` resp. \`"created"\`), and at the
  end every one of the $HOMES homes on disk is its user's, mode 0700.
- Floor: \`hookload --serve\`, the least a server must do for a request:
  the same TLS context as hookd (lib/tls.c), read one message, answer
  \`{"OK":0,"Status":"exists"}\` — 64 threads, no fork, no privilege
  separation, no NSS, no file system. The original polousersd (Python,
  Twisted) is not packaged anywhere we could run it: the floor is the
  peer here.
- hookd's RSS and fds: while each run lasts, every 20 ms, the processes
  of hookd's tree (\`/proc/PID/task/PID/children\` recursively): the peak
  of their summed VmRSS (shared pages counted once per process: an upper
  bound), of their summed private resident memory (resident minus shared
  pages, \`/proc/PID/statm\`), of their open fds and of their number.
- The client sets TCP_NODELAY (\`hookload --nodelay\`): without it every
  request waits ~40 ms for a delayed ACK (the request is a small write
  right after the client's last handshake message), which would measure
  the client's stall, not hookd. polo-mkhome does not set it today: see
  table 2.
- \`max_conns\`: hookd counts a connection until its process has been
  reaped, and a client that got its reply may connect again before that;
  with K = 64 and the default \`max_conns\` (64) a trial run had 62 of 300
  connections refused. The bench sets $MAXC.
- The load generator runs on the same $(nproc) CPU(s) as the server: the
  client's half of each handshake competes with the server's, so req/s is
  what this machine does for both sides, not hookd's ceiling.
- $LOAD_ROUNDS interleaved round(s); each figure is the median over the
  rounds. Connections hookd refused (\`max_conns\`): $REFUSED.

| K | request | hookd req/s | p50 ms | p99 ms | floor req/s | floor p50 ms | floor p99 ms | hookd ÷ floor (req/s) | hookd ÷ floor (p50) | hookd peak RSS kB (summed) | peak private kB | peak fds | peak processes |
|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
EOF
	for k in $KS; do
		for what in exists created; do
			printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s× | %s× | %s | %s | %s | %s |\n' \
				"$k" "$what" "$(med $what "$k" rps)" \
				"$(med $what "$k" p50_ms)" "$(med $what "$k" p99_ms)" \
				"$(med floor "$k" rps)" "$(med floor "$k" p50_ms)" \
				"$(med floor "$k" p99_ms)" \
				"$(div "$(med $what "$k" rps)" "$(med floor "$k" rps)")" \
				"$(div "$(med $what "$k" p50_ms)" "$(med floor "$k" p50_ms)")" \
				"$(med $what "$k" peak_rss_kb)" \
				"$(med $what "$k" peak_anon_kb)" "$(med $what "$k" peak_fds)" \
				"$(med $what "$k" peak_procs)"
		done
	done
} >"$W/load.md"

# memrow LABEL SAMPLE
memrow() {
	printf '| %s | %s | %s | %s | %s |\n' "$1" "$(kv "$2" rss_kb)" \
		"$(kv "$2" anon_kb)" "$(kv "$2" pss_kb)" "$(kv "$2" fds)"
}
{
	memrow "hookd, idle ($(kv "$IDLE_H0" procs) processes; a passwd of 2 users)" "$IDLE_H0"
	memrow "hookd, idle, with table 3's passwd of $NUSERS users in nss_wrapper" "$IDLE_H"
	memrow "hookd, idle after the load ($(kv "$AFTER_H" procs) processes)" "$AFTER_H"
	memrow "floor server (hookload --serve, 64 threads), idle" "$IDLE_F"
} >"$W/mem-hookd.md"
echo "Idle, hookd's two processes hold $(div "$(kv "$IDLE_H0" anon_kb)" "$(kv "$IDLE_F" anon_kb)")× the floor server's private memory ($(div "$(kv "$IDLE_H0" rss_kb)" "$(kv "$IDLE_F" rss_kb)")× its VmRSS). nss_wrapper, which stands in for the system's NSS in the bench, keeps the whole passwd file in memory: with the $NUSERS users of table 3 that is the difference between the first two rows, not hookd's." >"$W/mem-hookd.txt"

for f in "$T"/raw.*; do
	sed "s/^/${f##*/raw.}: /" "$f"
done >"$W/load.raw"
{
	echo "hookd idle, a passwd of 2 users: $IDLE_H0"
	echo "hookd idle after start: $IDLE_H"
	echo "hookd idle after the load: $AFTER_H"
	echo "floor server idle: $IDLE_F"
} >>"$W/load.raw"
