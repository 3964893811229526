#!/bin/sh
# hookd (hookd/*.c, lib/policy.c): Create-Home over mutual TLS,
# discovery answers, privilege separation, limits, signals. Runs inside a
# private network namespace (unshare -n, loopback only), so its ports never
# touch the host's; fake users through nss_wrapper; real root for chown.
if [ -z "${POLO_HOOKD_NETNS:-}" ] && [ "$(id -u)" -eq 0 ]; then
	if unshare -n true 2>/dev/null; then
		POLO_HOOKD_NETNS=1 exec unshare -n sh "$0" "$@"
	fi
	echo "1..0 # SKIP cannot create a network namespace"
	exit 0
fi
. "$(dirname "$0")/lib.sh"
need_root
H=$B/hookd
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
need_cmds ip timeout openssl $PY
[ -x "$H" ] || { echo "1..0 # SKIP $H not built"; exit 0; }
[ -n "$NSSW" ] || { echo "1..0 # SKIP no libnss_wrapper"; exit 0; }
ip link set lo up
ip link set lo multicast on

HPIDS=""	# hookd monitors still running
stop_all() {
	for p in $HPIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $HPIDS; do
		timeout 5 sh -c "while kill -0 $p 2>/dev/null; do sleep 0.05; done"
		kill -KILL "$p" 2>/dev/null
	done
	HPIDS=""
}
trap 'stop_all; _cleanup' EXIT
trap 'exit 1' INT TERM HUP PIPE

# Homes must not exist yet (lib.sh makes alice's and bob's for PAM tests).
rmdir "$T/home/alice" "$T/home/bob"
echo "low:x:500:500:Low:$T/home/low:/bin/sh" >>"$T/passwd"
echo "low:x:500:" >>"$T/group"
# homes whose parent is the tmphome root, or below it, under other names
cat >>"$T/passwd" <<EOP
tina:x:1506:1506::$T/thlink/tina:/bin/sh
uma:x:1507:1507::$T/sublink/uma:/bin/sh
EOP
printf 'tina:x:1506:\numa:x:1507:\n' >>"$T/group"

# Certificates: the cluster CA with a node and a client; another CA.
sh "$TOP/examples/make-certs.sh" "$T/tls" node=127.0.0.1 client >/dev/null
sh "$TOP/examples/make-certs.sh" "$T/evil" client >/dev/null
chmod 0755 "$T/tls" "$T/evil"

mkdir -p "$T/skel/.config/app" "$T/bigskel"
echo 'PS1=x' >"$T/skel/.profile"
echo 'k=v' >"$T/skel/.config/app/rc"
i=0
while [ $i -lt 200 ]; do echo "$i" >"$T/bigskel/f$i"; i=$((i + 1)); done

# conf FILE PORT DPORT ACK MAXCONNS
conf() {
	cat >"$1" <<EOF
[home]
skel = $4
umask = 077
tmphome = $T/th
[discovery]
group = 224.0.0.112
port = $3
interface = lo
[tls]
ca = $T/tls/ca.pem
cert = $T/tls/node.pem
key = $T/tls/node.key
[hookd]
port = $2
min_uid = 1000
ack = $5
user = nobody
max_conns = $6
handshake_ms = 500
idle_ms = 5000
EOF
	chmod 0644 "$1"
}
conf "$T/hookd.conf" 14343 13370 "$T/skel" "done" 16
conf "$T/early.conf" 14344 13371 "$T/bigskel" early 2

# hookd CONF LOG: start one, wait until its worker runs; $HPID is its pid.
start_hookd() {
	LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group \
		"$H" -c "$1" -f 2>"$2" &
	HPID=$!
	HPIDS="$HPIDS $HPID"
	_i=0
	while ! grep -q 'worker running' "$2" && [ $_i -lt 100 ]; do
		sleep 0.05; _i=$((_i + 1))
	done
}

cat >"$T/client.py" <<'EOF'
import os, socket, ssl, sys, time
# client.py PORT MODE PAYLOAD: MODE tls (client cert), nocert, evil
# (another CA's cert), silent (TCP, say nothing; print when closed),
# half (send PAYLOAD and close the write side). Prints the reply or
# NOREPLY: reason.
T, port, mode, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
if mode == "silent":
    t0 = time.monotonic()
    try:
        s.settimeout(5)
        d = s.recv(100)
        print("closed after %.2f s" % (time.monotonic() - t0))
    except socket.timeout:
        print("still open after 5 s")
    sys.exit(0)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(T + "/tls/ca.pem")
if mode in ("tls", "half"):
    ctx.load_cert_chain(T + "/tls/client.pem", T + "/tls/client.key")
elif mode == "evil":
    ctx.load_cert_chain(T + "/evil/client.pem", T + "/evil/client.key")
try:
    c = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    c.sendall(payload.encode())
    if mode == "half":
        socket.socket(fileno=os.dup(c.fileno())).shutdown(socket.SHUT_WR)
    r = b""
    while True:
        d = c.recv(4096)
        if not d:
            break
        r += d
    print(r.decode() if r else "NOREPLY: closed")
except Exception as e:
    print("NOREPLY: %s" % type(e).__name__)
EOF

# req PORT MODE PAYLOAD
req() { timeout 20 $PY "$T/client.py" "$T" "$@" 2>/dev/null; }
ch() { req 14343 tls "{\"Command\":\"Create-Home\",\"Params\":\"$1\"}"; }
OK_CREATED='{"OK":0,"Status":"created"}'
OK_EXISTS='{"OK":0,"Status":"exists"}'
L=$T/hookd.log

start_hookd "$T/hookd.conf" "$L"
like "$L" 'worker running as uid 65534' "hookd started, worker as nobody"

# --- Create-Home ---
is "$(ch "$T/home/alice,1500,1500")" "$OK_CREATED" "alice: created"
is "$(stat -c '%u:%g %a' "$T/home/alice" 2>&1)" "1500:1500 700" \
	"alice's home: 1500:1500 0700"
is "$(cat "$T/home/alice/.profile" 2>&1)" "PS1=x" "skel copied"
is "$(stat -c '%u:%g' "$T/home/alice/.profile" "$T/home/alice/.config/app/rc" \
	"$T/home/alice/.config" 2>&1 | sort -u)" "1500:1500" "skel content is alice's"
touch "$T/home/alice/mine"; chown 1500:1500 "$T/home/alice/mine"; chmod 0711 "$T/home/alice"
before=$(stat -c '%i %Y %Z' "$T/home/alice")
is "$(ch "$T/home/alice,1500,1500")" "$OK_EXISTS" "alice again: exists"
is "$(stat -c '%i %Y %Z %a' "$T/home/alice")" "$before 711" "existing home not touched"
chmod 0700 "$T/home/alice"
like "$L" "request from 127\.0\.0\.1:[0-9]+ \[CN=client\]: user alice uid 1500 gid 1500 home $T/home/alice: created" \
	"logged: peer, subject, user, outcome"

# --- refusals: nothing created ---
r=$(ch "/root,0,0"); is "$r" '{"Error":"uid below min_uid"}' "uid 0 refused"
r=$(ch "$T/home/low,500,500"); is "$r" '{"Error":"uid below min_uid"}' "uid 500 refused"
mkdir -m 0755 "$T"/th
r=$(ch "$T/th/alice,1500,1500"); is "$r" '{"Error":"a temporary home here"}' "a home below this node's tmphome root refused"
like "$L" "uid 1500 home $T/th/alice: refused: below this node's tmphome $T/th" "... and logged"
is "$(ls -A "$T"/th)" "" "... and nothing made there"
ln -s "$T/th" "$T/thlink"	# root-owned: the trusted walk follows it
r=$(ch "$T/thlink/tina,1506,1506")
is "$r" '{"Error":"a temporary home here"}' "a home below a root-owned symlink to the tmphome root refused"
like "$L" "uid 1506 home $T/thlink/tina: refused: below this node's tmphome $T/th \(the same directory under another name" \
	"... and logged"
is "$(ls -A "$T/th")" "" "... and nothing made in the tmphome root"
mkdir -m 0755 "$T/th/sub"
ln -s "$T/th/sub" "$T/sublink"
r=$(ch "$T/sublink/uma,1507,1507")
is "$r" '{"Error":"a temporary home here"}' "a home in a directory below the tmphome root, through a symlink, refused"
is "$(ls -A "$T/th/sub")" "" "... and nothing made there"
rmdir "$T/th/sub"
[ ! -e "$T/home/low" ]; is $? 0 "nothing made for low"
# nobody (65534, home /nonexistent in t/lib.sh's passwd): refused for its
# uid before anything else is looked at
r=$(ch "$T/nonexistent,65534,65534"); is "$r" '{"Error":"uid above max_uid"}' "nobody (uid 65534) refused: above max_uid"
like "$L" "uid 65534 home $T/nonexistent: refused: uid above max_uid 59999" "... and logged"
r=$(ch "$T/home/bob,1500,1500")
is "$r" '{"Error":"home does not match the passwd home"}' "alice asking for bob's home refused"
[ ! -e "$T/home/bob" ]; is $? 0 "bob's home not made"
r=$(ch "$T/x,1500,1500")
is "$r" '{"Error":"home does not match the passwd home"}' "other path refused"
[ ! -e "$T/x" ]; is $? 0 "$T/x not made"
r=$(ch "$T/home/nobody,4242,4242"); is "$r" '{"Error":"no such uid"}' "unknown uid refused"
r=$(ch "$T/home/bob,1501,1500"); is "$r" '{"Error":"gid does not match"}' "gid mismatch refused"
[ ! -e "$T/home/bob" ]; is $? 0 "bob's home still not made"
like "$L" "uid 1501 \(bob\) home $T/home/bob: refused: gid 1500" "monitor logs the refusal"
r=$(ch "$T/home/../home/bob,1501,1501")
case $r in '{"Error":'*) pass "unclean path refused ($r)" ;; *) fail "unclean path: $r" ;; esac

# --- TLS: no certificate, a foreign CA ---
r=$(req 14343 nocert '{"Command":"Create-Home","Params":"'"$T"'/home/bob,1501,1501"}')
case $r in NOREPLY*) pass "no client certificate: no reply ($r)" ;; *) fail "no cert: $r" ;; esac
r=$(req 14343 evil '{"Command":"Create-Home","Params":"'"$T"'/home/bob,1501,1501"}')
case $r in NOREPLY*) pass "foreign CA: no reply ($r)" ;; *) fail "foreign CA: $r" ;; esac
[ ! -e "$T/home/bob" ]; is $? 0 "nothing made without a valid certificate"
like "$L" 'handshake failed' "handshake failures logged"
is "$(ch "$T/home/bob,1501,1501")" "$OK_CREATED" "still serving: bob created"

# --- bad requests ---
is "$(req 14343 tls '{"Command":"Frobnicate","Params":"x"}')" '{"Error":1}' \
	"unknown command: {\"Error\":1}"
r=$(req 14343 half 'garbage{')
case $r in '{"Error":"'*) pass "garbage: error ($r)" ;; *) fail "garbage: $r" ;; esac
is "$(ch "$T/home/alice,1500,1500")" "$OK_EXISTS" "serving after garbage"
r=$(req 14343 half '{"Command":"Create-Home","Par')
case $r in '{"Error":"'*|NOREPLY*) pass "truncated: error or close ($r)" ;; *) fail "truncated: $r" ;; esac
is "$(ch "$T/home/alice,1500,1500")" "$OK_EXISTS" "serving after truncated"
# openssl s_client as the peer: it sends TEXT and keeps its end open
# (stdin is a FIFO held open by a sleep), so only hookd can end the
# connection. sclient TEXT OUT: OUT gets the reply, OUT.ms how long until
# the connection ended.
sclient() {
	rm -f "$T/sc.in"; mkfifo "$T/sc.in"
	sh -c 'printf "%s" "$1"; exec sleep 15' sh "$1" >"$T/sc.in" &
	_wp=$!
	_t0=$(date +%s%N)
	timeout 20 openssl s_client -connect 127.0.0.1:14343 -quiet \
		-cert "$T/tls/client.pem" -key "$T/tls/client.key" \
		-CAfile "$T/tls/ca.pem" <"$T/sc.in" >"$2" 2>"$2.err"
	echo $(( ($(date +%s%N) - _t0) / 1000000 )) >"$2.ms"
	kill "$_wp" 2>/dev/null; wait "$_wp" 2>/dev/null
}
sclient 'not json at all' "$T/nj.out"
like "$T/nj.out" '^\{"Error":"not JSON: .*near '"'not'"'"}$' \
	"input that can never be a request ('not json at all'): an {\"Error\": ...} answer"
ms=$(cat "$T/nj.out.ms")
[ "$ms" -lt 2500 ] && pass "... and hookd closes well before idle_ms (5 s): ${ms} ms" ||
	fail "... and hookd closes well before idle_ms (5 s): ${ms} ms"
like "$L" "request from 127\.0\.0\.1:[0-9]+ \[CN=client\]: invalid request: " "... logged with the peer"
sclient '{"User"' "$T/tr.out"
ms=$(cat "$T/tr.out.ms")
[ "$ms" -ge 4500 ] && pass "a truncated {\"User\" still waits for the rest until idle_ms (${ms} ms)" ||
	fail "a truncated {\"User\" still waits for the rest until idle_ms (${ms} ms)"
like "$L" "request from 127\.0\.0\.1:[0-9]+ \[CN=client\]: no request: read timed out" "... then it is cut, logged"
big=$($PY -c 'print("{\"Command\":\"Create-Home\",\"Params\":\"" + "a" * 5000 + "\"}")')
r=$(req 14343 tls "$big")
case $r in '{"Error":"'*|NOREPLY*) pass "5000 bytes: error or close ($r)" ;; *) fail "oversized: $r" ;; esac
is "$(ch "$T/home/alice,1500,1500")" "$OK_EXISTS" "serving after oversized"
r=$(ch "$T/home/al,ice,1500,1500")
case $r in '{"Error":"'*) pass "comma in home refused" ;; *) fail "comma: $r" ;; esac

# --- TLS 1.2: only ECDHE with AEAD ---
# tls12 CIPHER: the TLS 1.2 suite s_client agreed on, or "refused"
tls12() {
	timeout 20 openssl s_client -connect 127.0.0.1:14343 -brief -tls1_2 \
		-cipher "$1" -cert "$T/tls/client.pem" -key "$T/tls/client.key" \
		-CAfile "$T/tls/ca.pem" </dev/null >"$T/s12.out" 2>&1
	sed -n 's/^Ciphersuite: //p' "$T/s12.out" | grep . ||
		{ grep -q 'handshake failure' "$T/s12.out" && echo refused; }
}
is "$(tls12 AES128-SHA)" "refused" "TLS 1.2 with AES128-SHA: refused"
is "$(tls12 ECDHE-ECDSA-AES128-SHA)" "refused" "TLS 1.2 with ECDHE-ECDSA-AES128-SHA (CBC): refused"
is "$(tls12 ECDHE-ECDSA-AES256-SHA384)" "refused" "TLS 1.2 with ECDHE-ECDSA-AES256-SHA384 (CBC): refused"
is "$(tls12 ECDHE-ECDSA-AES128-GCM-SHA256)" "ECDHE-ECDSA-AES128-GCM-SHA256" \
	"TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256 (AEAD): accepted"
is "$(tls12 ECDHE-ECDSA-CHACHA20-POLY1305)" "ECDHE-ECDSA-CHACHA20-POLY1305" \
	"TLS 1.2 with ECDHE-ECDSA-CHACHA20-POLY1305 (AEAD): accepted"

# --- a silent client: cut after handshake_ms, others served meanwhile ---
req 14343 silent x >"$T/silent.out" &
SP=$!
# the worker forks the connection child once it accepted: wait for it (a
# loaded machine may take longer than any fixed pause)
WPID=$(pgrep -P "$HPID" | head -n1)
KID='' _i=0
while [ -z "$KID" ] && [ $_i -lt 100 ]; do
	sleep 0.05; _i=$((_i + 1))
	KID=$(pgrep -P "$WPID" | head -n1)
done
is "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' /proc/"$WPID"/status 2>&1)" \
	"65534 65534 65534 65534" "worker runs as nobody"
is "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' /proc/"$KID"/status 2>&1)" \
	"65534 65534 65534 65534" "connection child runs as nobody"
is "$(awk '/^Groups:/ { print $2 }' /proc/"$WPID"/status 2>&1)" "" \
	"worker has no supplementary groups"
is "$(awk '/^NoNewPrivs:/ { print $2 }' /proc/"$KID"/status 2>&1)" "1" \
	"connection child has no_new_privs"
is "$(ch "$T/home/alice,1500,1500")" "$OK_EXISTS" "served while a silent client hangs"
wait $SP
case $(cat "$T/silent.out") in
"closed after 0."[4-9]*|"closed after 1."*) pass "silent client cut after handshake_ms ($(cat "$T/silent.out"))" ;;
*) fail "silent client: $(cat "$T/silent.out")" ;;
esac
like "$L" 'handshake failed: handshake timed out' "timeout logged"

# --- discovery ---
cat >"$T/disc.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(sys.argv[2].encode(), ("127.0.0.1", int(sys.argv[1])))
try:
    d, a = s.recvfrom(4096)
    print(d.decode(), a[1])
except socket.timeout:
    print("NOREPLY")
EOF
r=$(timeout 10 $PY "$T/disc.py" 13370 '{"Command": "Marco"}')
is "$r" "{\"Command\":\"Polo\",\"Params\":{\"hostname\":\"$(hostname)\"}} 13370" \
	"Marco gets Polo with the hostname, from the discovery port"
r=$(timeout 10 $PY "$T/disc.py" 13370 '{"Command": "Request-For", "Params": "polousers"}')
is "$r" '{"Command":"OK","Params":{}} 13370' "Request-For polousers gets OK"
r=$(timeout 10 $PY "$T/disc.py" 13370 '{"Command": "Request-For", "Params": "other"}')
is "$r" "NOREPLY" "Request-For another service: no reply"

# --- SIGHUP: a broken config is refused, a good one reloaded ---
cp "$T/hookd.conf" "$T/hookd.conf.good"
printf '[hookd]\nport = 14343\nbogus = 1\n' >"$T/hookd.conf"
kill -HUP "$HPID"
sleep 0.5
kill -0 "$HPID" 2>/dev/null; is $? 0 "broken config on SIGHUP: still running"
like "$L" "$T/hookd.conf:3: " "broken config logged with file:line"
like "$L" 'not reloaded: keeping the running settings' "old settings kept"
is "$(ch "$T/home/alice,1500,1500")" "$OK_EXISTS" "serving with the old settings"
cp "$T/hookd.conf.good" "$T/hookd.conf"
kill -HUP "$HPID"
_i=0
while ! grep -q 'reloaded' "$L" && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
sleep 0.2
is "$(ch "$T/home/alice,1500,1500")" "$OK_EXISTS" "serving after a reload"

# --- [hookd] listen: one address only, also taken on SIGHUP ---
listening() { ss -Hltn "sport = :$1" | awk '{print $4}' | paste -sd' '; }
tcp_try() {	# tcp_try ADDR PORT: "connected" or the error
	$PY -c 'import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close(); print("connected")
except OSError as e:
    print(e.strerror)' "$1" "$2"
}
is "$(listening 14343)" "*:14343" "by default hookd listens on every address, IPv4 and IPv6 (one dual-stack socket)"
sed -i 's/^port = 14343$/&\nlisten = 127.0.0.1/' "$T/hookd.conf"
n=$(grep -c ' reloaded$' "$L")
kill -HUP "$HPID"
_i=0
while [ "$(grep -c ' reloaded$' "$L")" -le "$n" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
sleep 0.2
is "$(listening 14343)" "127.0.0.1:14343" "listen = 127.0.0.1 on SIGHUP: only that address"
like "$L" 'worker running as uid 65534: TCP 127.0.0.1:14343' "... logged by the new worker"
is "$(ch "$T/home/alice,1500,1500")" "$OK_EXISTS" "... and serving there"
LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group \
	timeout 10 "$H" -c "$T/hookd.conf" -f 2>"$T/second.log"
is "$?" 1 "a second hookd on the same address and port does not start"
like "$T/second.log" 'listen on TCP 127.0.0.1:14343: Address already in use' \
	"... (the port is not shared after the move)"
conf "$T/listen.conf" 14345 13372 "$T/skel" "done" 4
sed -i 's/^port = 14345$/&\nlisten = 127.0.0.2/' "$T/listen.conf"
MPID=$HPID
start_hookd "$T/listen.conf" "$T/listen.log"
LPID=$HPID HPID=$MPID
is "$(listening 14345)" "127.0.0.2:14345" "a hookd with listen = 127.0.0.2 listens there only"
is "$(tcp_try 127.0.0.2 14345)" "connected" "... a client reaches it at 127.0.0.2"
is "$(tcp_try 127.0.0.1 14345)" "Connection refused" "... and not at 127.0.0.1"
kill -TERM "$LPID"; wait "$LPID" 2>/dev/null
conf "$T/far.conf" 14346 13373 "$T/skel" "done" 4
sed -i 's/^port = 14346$/&\nlisten = 10.9.9.9/' "$T/far.conf"
LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group \
	timeout 10 "$H" -c "$T/far.conf" -f 2>"$T/far.log"
is "$?" 1 "listen = an address this node does not have: hookd does not start"
like "$T/far.log" 'listen on TCP 10.9.9.9:14346: Cannot assign requested address' \
	"... and says why"

# --- the worker dying is noticed and it is restarted ---
W1=$(pgrep -P "$HPID" | head -n1)
kill -KILL "$W1"
sleep 1.5
W2=$(pgrep -P "$HPID" | head -n1)
[ -n "$W2" ] && [ "$W2" != "$W1" ]; is $? 0 "a killed worker is restarted"
like "$L" "worker $W1 killed by signal 9" "worker death logged"
is "$(ch "$T/home/alice,1500,1500")" "$OK_EXISTS" "serving after the restart"

# --- SIGTERM: exit 0, bounded, nothing left ---
W=$(pgrep -P "$HPID" | head -n1)
kill -TERM "$HPID"
timeout 5 sh -c "while kill -0 $HPID 2>/dev/null; do sleep 0.05; done"
wait "$HPID"; is $? 0 "SIGTERM: exit 0 within 5 s"
HPIDS=""
kill -0 "$W" 2>/dev/null; is $? 1 "worker gone"

# --- ack = early, max_conns ---
rm -rf "${T:?}/home/alice"
L2=$T/early.log
start_hookd "$T/early.conf" "$L2"
r=$(req 14344 tls "{\"Command\":\"Create-Home\",\"Params\":\"$T/home/alice,1500,1500\"}")
is "$r" "$OK_CREATED" "ack=early: created"
_i=0
while [ "$(stat -c %u "$T/home/alice" 2>/dev/null)" != 1500 ] && [ $_i -lt 100 ]; do
	sleep 0.05; _i=$((_i + 1))
done
is "$(stat -c '%u:%g %a' "$T/home/alice" 2>&1)" "1500:1500 700" "ack=early: handed over"
is "$(ls "$T/home/alice" | wc -l)" 200 "ack=early: all 200 skel files there"
is "$(stat -c %u "$T/home/alice/f199")" 1500 "ack=early: files are alice's"
like "$L2" "created \(acknowledged early\)" "ack=early logged"
req 14344 silent x >/dev/null &
S1=$!
req 14344 silent x >/dev/null &
S2=$!
sleep 0.2
r=$(req 14344 silent x)
case $r in "closed after 0.0"*) pass "over max_conns: closed at once ($r)" ;; *) fail "max_conns: $r" ;; esac
like "$L2" 'connection from 127\.0\.0\.1:[0-9]+ refused: max_conns \(2\) reached' \
	"max_conns refusal logged with the peer"
wait $S1 $S2
is "$(req 14344 tls "{\"Command\":\"Create-Home\",\"Params\":\"$T/home/alice,1500,1500\"}")" \
	"$OK_EXISTS" "served again once the slots are free"
kill -TERM "$HPID"
timeout 5 sh -c "while kill -0 $HPID 2>/dev/null; do sleep 0.05; done"
wait "$HPID"; is $? 0 "second hookd: exit 0"
HPIDS=""

# --- config errors at start: exit 1 with file:line ---
printf '[hookd]\nmin_uid = 0\n' >"$T/bad.conf"
LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group \
	timeout 10 "$H" -c "$T/bad.conf" -f 2>"$T/bad.log"
is $? 1 "bad config: exit 1"
like "$T/bad.log" "$T/bad.conf:2: " "bad config: file:line on stderr"
conf "$T/root.conf" 14345 13372 "$T/skel" "done" 4
sed -i 's/^user = nobody/user = root/' "$T/root.conf"
LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group \
	timeout 10 "$H" -c "$T/root.conf" -f 2>"$T/root.log"
is $? 1 "[hookd] user = root: exit 1"
like "$T/root.log" 'must not run as root' "user = root: explained"

left=""
for f in /proc/[0-9]*/cmdline; do
	c=$( { tr '\0' ' ' <"$f"; } 2>/dev/null)
	case $c in "$H -c $T/"*) left="$left ${f%/cmdline}" ;; esac
done
is "$left" "" "no hookd process of this test left"
done_testing
