#!/bin/sh
# revoke-node.sh DIR [NODE ...]
#
# Evict nodes from a cluster made with make-certs.sh, without a new CA:
# revokes DIR/NODE.pem for each NODE given and writes DIR/crl.pem, the
# CA-signed list of every certificate revoked so far (kept in
# DIR/crl-index.txt). With no NODE, only makes a fresh crl.pem: do that
# before the old one's next update is due (CRL_DAYS, default 365), or
# every node refuses every peer.
#
# Then copy crl.pem to every node, set `crl = /etc/polohook/tls/crl.pem`
# in [tls], and send hookd SIGHUP. A revoked node's hookd is refused by
# every polo-mkhome, and its polo-mkhome by every hookd.
#
#   sh revoke-node.sh ./certs node3
set -eu

CRL_DAYS=${CRL_DAYS:-365}
prog=revoke-node.sh
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }

[ $# -ge 1 ] || { printf 'usage: %s DIR [NODE ...]\n' "$prog" >&2; exit 2; }
command -v openssl >/dev/null 2>&1 || die "openssl is not installed"
dir=$1
shift
case $dir in -*) die "usage: $prog DIR [NODE ...]" ;; esac
case $CRL_DAYS in '' | *[!0-9]* | 0) die "bad CRL_DAYS '$CRL_DAYS'" ;; esac
[ -f "$dir/ca.pem" ] && [ -f "$dir/ca.key" ] ||
	die "$dir/ca.pem and $dir/ca.key are needed (the CA that signed the nodes)"
for node do
	case $node in
	'' | [.-]* | *[!A-Za-z0-9.-]* | ca) die "bad node name '$node'" ;;
	esac
	[ -f "$dir/$node.pem" ] || die "no $dir/$node.pem"
done

umask 077
tmp=$(mktemp -d "$dir/.revoke-node.XXXXXX")
trap 'rm -rf "${tmp:?}"' EXIT
trap 'exit 130' INT TERM
log=$tmp/openssl.log
run() {
	if ! "$@" >"$log" 2>&1; then
		cat "$log" >&2
		die "failed: $*"
	fi
}

# openssl ca keeps its database in index.txt form: work on a copy, so that
# a failure leaves the old index and crl.pem as they were.
[ -f "$dir/crl-index.txt" ] && cp "$dir/crl-index.txt" "$tmp/index.txt"
[ -f "$tmp/index.txt" ] || : >"$tmp/index.txt"
[ -f "$dir/crl-number" ] && cp "$dir/crl-number" "$tmp/crlnumber"
[ -f "$tmp/crlnumber" ] || echo 01 >"$tmp/crlnumber"
cat >"$tmp/ca.cnf" <<EOF
[ca]
default_ca = polo
[polo]
database = $tmp/index.txt
crlnumber = $tmp/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_crl_days = $CRL_DAYS
unique_subject = no
EOF

for node do
	serial=$(openssl x509 -in "$dir/$node.pem" -noout -serial)
	serial=${serial#serial=}
	if grep -q "^R	.*	$serial	" "$tmp/index.txt"; then
		echo "$node ($serial) was revoked already"
		continue
	fi
	run openssl ca -config "$tmp/ca.cnf" -revoke "$dir/$node.pem"
	echo "revoked $node (serial $serial)"
done
run openssl ca -config "$tmp/ca.cnf" -gencrl -out "$tmp/crl.pem"
chmod 0644 "$tmp/crl.pem"
# the index first: it is what the next list is made from, so a run cut
# short here leaves a list that the next run (even one naming no node)
# completes, never one that the next run would make shorter
mv "$tmp/index.txt" "$dir/crl-index.txt"
mv "$tmp/crlnumber" "$dir/crl-number"
mv "$tmp/crl.pem" "$dir/crl.pem"
next=$(openssl crl -in "$dir/crl.pem" -noout -nextupdate)
echo "made $dir/crl.pem ($(grep -c '^R' "$dir/crl-index.txt") revoked;" \
	"${next#nextUpdate=} is its next update)"
cat <<EOF

On each node (as root):
  install -o root -g root -m 0644 $dir/crl.pem /etc/polohook/tls/
with, in /etc/session.d/session-scripts.conf,
  [tls]
  crl = /etc/polohook/tls/crl.pem
then send hookd SIGHUP (polo-mkhome reads it at each login).
EOF
