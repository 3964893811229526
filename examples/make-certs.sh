#!/bin/sh
# make-certs.sh DIR NODE[=IP[,IP...]] ...
#
# A cluster CA and one certificate per node for hookd and polo-mkhome
# (mutual TLS: every node is both a server and a client).
#   DIR/ca.pem, DIR/ca.key       EC P-256 CA (CA:TRUE, keyCertSign);
#                                reused when both exist already, so a
#                                node can be added later
#   DIR/NODE.pem, DIR/NODE.key   EC P-256, subjectAltName DNS:NODE and
#                                IP:... for each address given,
#                                extendedKeyUsage serverAuth, clientAuth
# Keys are 0600, certificates 0644. Nothing existing is ever overwritten:
# if a node's files exist, nothing is made at all.
#
#   sh make-certs.sh ./certs node1=10.0.0.1 node2=10.0.0.2,fd00::2
set -eu

CA_DAYS=3650
NODE_DAYS=1825

prog=make-certs.sh
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
usage() {
	printf 'usage: %s DIR NODE[=IP[,IP...]] ...\n' "$prog" >&2
	exit 2
}

[ $# -ge 2 ] || usage
command -v openssl >/dev/null 2>&1 || die "openssl is not installed"
dir=$1
shift
case $dir in -*) usage ;; esac

# exists PATH: a file, or a symlink (even a dangling one), is there
exists() { [ -e "$1" ] || [ -L "$1" ]; }

# Check every argument before making anything.
seen=' '
for arg do
	node=${arg%%=*}
	ips=
	case $arg in *=*) ips=${arg#*=} ;; esac
	case $node in
	'' | [.-]* | *[!A-Za-z0-9.-]* | ca)
		die "bad node name '$node' (letters, digits, '.', '-'; not 'ca')" ;;
	esac
	case $ips in
	*[!0-9A-Fa-f.:,]* | ,* | *, | *,,*) die "bad address list '$ips' for $node" ;;
	esac
	case $seen in *" $node "*) die "node $node given twice" ;; esac
	seen="$seen$node "
	for f in "$dir/$node.pem" "$dir/$node.key"; do
		exists "$f" && die "$f exists already: not overwriting anything"
	done
done

new_ca=yes
if exists "$dir/ca.pem" && exists "$dir/ca.key"; then
	new_ca=no
elif exists "$dir/ca.pem" || exists "$dir/ca.key"; then
	die "only one of $dir/ca.pem and $dir/ca.key exists: not overwriting it"
fi

umask 077
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.make-certs.XXXXXX")
trap 'rm -rf "${tmp:?}"' EXIT
trap 'exit 130' INT TERM
log=$tmp/openssl.log

# run CMD...: openssl's chatter goes to a log, shown only on failure
run() {
	if ! "$@" >"$log" 2>&1; then
		cat "$log" >&2
		die "failed: $*"
	fi
}

serial() { printf '0x%s' "$(openssl rand -hex 16)"; }

cat >"$tmp/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

newkey() {
	run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$1"
}

if [ $new_ca = yes ]; then
	newkey "$tmp/ca.key"
	run openssl req -new -x509 -config "$tmp/openssl.cnf" \
		-extensions v3_ca -key "$tmp/ca.key" -sha256 \
		-subj "/CN=polohook cluster CA" -days "$CA_DAYS" \
		-set_serial "$(serial)" -out "$tmp/ca.pem"
	ca=$tmp
else
	ca=$dir
fi

# node NAME IPS: NAME.key and NAME.pem in $tmp
make_node() {
	san="DNS:$1"
	[ -z "$2" ] || san="$san,IP:$(printf '%s' "$2" | sed 's/,/,IP:/g')"
	cat >"$tmp/$1.ext" <<EOF
[v3_node]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	newkey "$tmp/$1.key"
	run openssl req -new -config "$tmp/openssl.cnf" -key "$tmp/$1.key" \
		-subj "/CN=$1" -out "$tmp/$1.csr"
	run openssl x509 -req -in "$tmp/$1.csr" -CA "$ca/ca.pem" \
		-CAkey "$ca/ca.key" -set_serial "$(serial)" -sha256 \
		-days "$NODE_DAYS" -extfile "$tmp/$1.ext" -extensions v3_node \
		-out "$tmp/$1.pem"
	echo "$san" >"$tmp/$1.san"
}

for arg do
	ips=
	case $arg in *=*) ips=${arg#*=} ;; esac
	make_node "${arg%%=*}" "$ips"
done

# Move into place: ln(1) refuses an existing name, so even a file that
# appeared meanwhile is never overwritten.
place() {
	chmod "$2" "$tmp/$1"
	ln "$tmp/$1" "$dir/$1" || die "$dir/$1 exists already: stopped"
}

if [ $new_ca = yes ]; then
	place ca.key 0600
	place ca.pem 0644
	echo "made $dir/ca.pem and $dir/ca.key (the CA key signs new nodes:"
	echo "     keep it off the nodes, offline if you can)"
else
	echo "signed with the existing CA $dir/ca.pem"
fi
for arg do
	node=${arg%%=*}
	place "$node.key" 0600
	place "$node.pem" 0644
	echo "made $dir/$node.pem and $dir/$node.key ($(cat "$tmp/$node.san"))"
done

cat <<EOF

To install on each node NODE (as root), under the [tls] default names that
hookd.service waits for:
  install -d -o root -g root -m 0755 /etc/polohook/tls
  install -o root -g root -m 0644 $dir/ca.pem /etc/polohook/tls/ca.pem
  install -o root -g root -m 0644 $dir/NODE.pem /etc/polohook/tls/node.pem
  install -o root -g root -m 0600 $dir/NODE.key /etc/polohook/tls/node.key
Never copy ca.key to a node.
EOF
