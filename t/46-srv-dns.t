#!/bin/sh
# [discovery] srv against a name server that misbehaves (t/fakedns.py):
# truncated and huge answers, targets without an address or with ones that
# are no node's, a name server that never answers, a loop of CNAMEs, a
# hostile target name. Each ends in a clear log line within the deadline,
# and only unicast addresses come back. lib/srv.c through t/srv-drv, in
# private network and mount namespaces (the name server on their loopback,
# /etc/resolv.conf replaced there only): as root, or (re-executed here) in
# an unprivileged user namespace where the kernel allows it.
if [ -z "${POLO_SRV_NS:-}" ]; then
	self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
	if [ "$(id -u)" -eq 0 ]; then
		POLO_SRV_NS=root exec unshare -m -n --propagation private sh "$self"
	elif unshare -r -m -n true 2>/dev/null; then
		POLO_SRV_NS=user exec unshare -r -m -n sh "$self"
	fi
	echo "1..0 # SKIP needs root (or unprivileged user namespaces)"
	exit 0
fi
. "$(dirname "$0")/lib.sh"
D=$B/t/srv-drv
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
need_cmds ip $PY
[ -x "$D" ] || { echo "1..0 # SKIP $D not built"; exit 0; }

ip link set lo up
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$T"/resolv.conf
mount --bind "$T"/resolv.conf /etc/resolv.conf ||
	{ echo "1..0 # SKIP cannot replace /etc/resolv.conf in a mount namespace"; exit 0; }
$PY "$TOP"/t/fakedns.py 127.0.0.1 53 >"$T"/dns.log 2>&1 &
DNS=$!
echo "$DNS" >>"$T"/pids
_i=0
while ! grep -q '^listening' "$T"/dns.log && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done

# srv NAME [MS]: the lookup; addresses sorted on one line, then "done ...";
# the log in $T/err; took: how long it took, in ms
srv() {
	"$D" "$1" "${2:-3000}" ${DROP:+"$DROP"} >"$T"/res 2>"$T"/err
	{ grep -v '^done' "$T"/res | sort; sed -n 's/ ms=.*//p' "$T"/res; } | paste -sd' '
}
DROP=
[ "$POLO_SRV_NS" = root ] && DROP=65534:65534

is "$(srv _p._tcp.ok.test)" "10.77.0.1 10.77.0.2 fd77::1 done 3 rc=0" \
	"SRV: every target's A and AAAA, a target named twice once"
unlike "$T"/err '^<[0-4]>' "... and no warning"

is "$(srv _p._tcp.silent.test 800)" "done 0 rc=-110" "a name server that never answers: no address, ETIMEDOUT"
like "$T"/err '^<4>srv _p._tcp.silent.test: timed out after 800 ms$' "... logged: timed out after 800 ms"
MS=$(sed -n 's/^done .* ms=//p' "$T"/res)
[ "$MS" -ge 790 ] && [ "$MS" -lt 1800 ] && pass "... and it cost the deadline, no more (${MS} ms)" ||
	fail "... and it cost the deadline, no more (${MS} ms)"

is "$(srv _p._tcp.trunc.test)" "done 0 rc=-11" "a truncated answer that TCP cannot complete: no address"
like "$T"/err '^<5>srv _p._tcp.trunc.test: answer truncated: asking again over TCP$' "... logged: answer truncated"
like "$T"/err '^<4>srv _p._tcp.trunc.test: no answer from the name server \(over TCP\)$' "... and that TCP got nothing"
unlike "$T"/res '10\.77' "... the records of the truncated answer are not used"

srv _p._tcp.huge.test >/dev/null
is "$(grep -c '^10\.78\.' "$T"/res)" 64 "a huge answer (200 SRV records): only 64 targets used"
like "$T"/err '^<4>srv _p._tcp.huge.test: 200 SRV records: only the first 64 used$' "... logged"
unlike "$T"/res '^10\.78\.0\.(6[5-9]|[7-9][0-9]|1[0-9][0-9]|2[0-9][0-9])$' "... the first 64, as they came (h0..h63)"

is "$(srv _p._tcp.loop.test)" "done 0 rc=-40" "a loop of CNAMEs: no address, ELOOP"
like "$T"/err '^<4>srv _p._tcp.loop.test: CNAME loop' "... logged: CNAME loop"

is "$(srv _p._tcp.noaddr.test)" "done 0 rc=0" "a target that does not resolve: no address"
like "$T"/err '^<4>srv _p._tcp.noaddr.test: target nx.noaddr.test: no address' "... logged with the target"

is "$(srv _p._tcp.badname.test)" "done 0 rc=-71" "a target name with a space and a control character: refused"
like "$T"/err '^<4>srv _p._tcp.badname.test: malformed answer$' "... logged as a malformed answer"
unlike "$T"/err "$(printf '\001')" "... the hostile bytes reach no log line"

is "$(srv _p._tcp.mcast.test)" "10.79.0.1 done 1 rc=0" "multicast and unspecified addresses are dropped, the unicast one kept"
is "$(grep -c 'not a usable node address: ignored' "$T"/err)" 2 "... each drop logged"

is "$(srv _p._tcp.dot.test)" "done 0 rc=0" 'the target ".": no node, no error'
like "$T"/err 'srv _p._tcp.dot.test: target "\.": the service is not offered there' "... logged"

is "$(srv _p._tcp.none.test)" "done 0 rc=-2" "a name that does not exist: ENOENT"
like "$T"/err '^<4>srv _p._tcp.none.test: no such name$' "... logged: no such name"

is "$(srv 'bad name!')" "done 0 rc=-22" "a name that is no DNS name is not looked up"
like "$T"/err 'srv: not a DNS name' "... logged"

# hostile DNS bytes are parsed only by an unprivileged child
if [ "$POLO_SRV_NS" = root ]; then
	"$D" _p._tcp.silent.test 3000 65534:65534 >/dev/null 2>&1 &
	drv=$!
	sleep 0.5
	is "$(ps -o uid= --ppid $drv | tr -d ' ')" 65534 "as root, the lookup runs in a child as the [hookd] user"
	wait $drv
else
	skip "the child's uid: needs root"
fi

# valgrind: the parent leaks nothing, on success and on a timeout
if command -v valgrind >/dev/null && [ "${POLO_BUILD:-build}" = build ]; then
	for n in _p._tcp.ok.test _p._tcp.silent.test; do
		valgrind -q --leak-check=full --error-exitcode=99 \
			--child-silent-after-fork=yes "$D" $n 800 >/dev/null 2>"$T"/vg
		is "$?" 0 "valgrind: $n: no error, no leak"
	done
else
	skip "valgrind (not installed, or an ASan build)"
	skip "valgrind (not installed, or an ASan build)"
fi
kill "$DNS"
done_testing
