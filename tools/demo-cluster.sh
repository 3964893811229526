#!/bin/sh
# make demo, part 2 (root): a three-node cluster on this machine — network
# namespaces on a private bridge, each node with its own /home — hookd on
# every node, and one login through the PAM stack on node 1 whose built-in
# hook (10W-polo-mkhome) makes the user's home on all three. Nothing of the
# host is touched; everything is removed at the end.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build
T=$(mktemp -d /tmp/polohook-cluster.XXXXXX)
chmod 0755 "$T"
. "$TOP/t/cluster.sh"
trap 'cluster_teardown; rm -rf "${T:?}"' EXIT
trap 'exit 1' INT TERM HUP PIPE

NSSW=$(find /usr/lib /lib -name libnss_wrapper.so 2>/dev/null | head -n1)
[ -n "$NSSW" ] || { echo "demo-cluster: libnss_wrapper is needed"; exit 1; }
# $NSSENV CMD...: CMD with the fake users (a file, so that nsenter can
# run it inside a node)
NSSENV=$T/nssenv
printf '#!/bin/sh\nexec env LD_PRELOAD="%s" NSS_WRAPPER_PASSWD="%s" NSS_WRAPPER_GROUP="%s" "$@"\n' \
	"$NSSW" "$T/passwd" "$T/group" >"$NSSENV"
chmod 0755 "$NSSENV"
printf 'root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/sh\nalice:x:1500:1500:Alice:/home/alice:/bin/sh\n' >"$T/passwd"
printf 'root:x:0:\nnogroup:x:65534:\nalice:x:1500:\n' >"$T/group"
mkdir -p "$T/skel/Documents" "$T/pam" "$T/hooks/added"
echo 'export PS1="\u@cluster$ "' >"$T/skel/.profile"
echo "Welcome to the lab." >"$T/skel/Documents/README"

echo "== Three nodes: 10.232.0.11-13 on a private bridge, each with its own /home"
cluster_setup 3 || { echo "demo-cluster: cannot make network namespaces"; exit 1; }
sh "$TOP/examples/make-certs.sh" "$T/tls" node1=10.232.0.11 node2=10.232.0.12 \
	node3=10.232.0.13 >/dev/null
echo "   cluster CA and node certificates made with examples/make-certs.sh"
for k in 1 2 3; do
	cat >"$T/n$k.conf" <<EOC
[session]
statedir = $T/state$k
[home]
skel = $T/skel
[discovery]
interface = eth0
state = $T/seen$k/nodes
[tls]
ca = $T/tls/ca.pem
cert = $T/tls/node$k.pem
key = $T/tls/node$k.key
[hookd]
user = nobody
EOC
	bg_on $k "$NSSENV" "$B/hookd" -c "$T/n$k.conf" -f 2>>"$T/hookd$k.log"
done
for k in 1 2 3; do
	wait_listen $k 1343
	echo "   node $k: hookd listening (monitor as root, network side as nobody)"
done

echo "session required $B/pam_polohook.so hookdir=$T/hooks conf=$T/n1.conf" \
	"runner=$B/polohook-run" >"$T/pam/login"
echo "session required pam_deny.so" >"$T/pam/other"
printf '#!/bin/sh\nexec env %s %s -c %s "$@"\n' "$NSSENV" "$B/polo-mkhome" \
	"$T/n1.conf" >"$T/hooks/added/10W-polo-mkhome"
chmod 0755 "$T/hooks/added/10W-polo-mkhome"

echo
echo "== Before: /home on each node"
for k in 1 2 3; do echo "   node $k: $(on $k ls -A /home | tr '\n' ' ')"; done
echo
echo "== alice logs in on node 1 (pam_open_session, then pam_close_session)"
start=$(date +%s%3N)
on 1 "$NSSENV" "$B/t/pamh" -c "$T/pam" -s login -u alice -t tty1 -l "$T/log" \
	open close | sed 's/^/   /'
echo "   ($(($(date +%s%3N) - start)) ms, discovery and three TLS requests included)"
echo
echo "== What the login logged (syslog, LOG_AUTHPRIV):"
sed 's/^/   /' "$T/log"
echo
echo "== After: alice's home on each node"
for k in 1 2 3; do
	echo "   node $k: $(on $k stat -c '%n owner %U(%u) mode %a' /home/alice 2>&1 |
		sed 's/UNKNOWN/alice/'), files: $(on $k find /home/alice -type f | sed 's|/home/alice/||' | sort | tr '\n' ' ')"
done
echo
echo "== What node 2's hookd logged:"
grep -v '^$' "$T/hookd2.log" | tail -4 | sed 's/^/   /'
