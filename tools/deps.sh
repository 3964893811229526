#!/bin/sh
# Install the Debian packages that building and testing need, if missing,
# and any more named as arguments (bench/deps.sh adds its peers). As
# non-root, only say what is missing (the build or some tests may then fail
# or skip).
set -eu
# dnsmasq-base is the dnsmasq binary alone (t/47, t/48 run it in namespaces);
# never the dnsmasq package, whose postinst starts a daemon on the host.
pkgs="$* build-essential pkg-config libpam0g-dev libinih-dev libjansson-dev
libssl-dev openssl libpam-runtime pamtester libnss-wrapper libpam-wrapper valgrind
clang iproute2 man-db groff-base perl util-linux procps python3 faketime
openssh-server openssh-client shellcheck dnsmasq-base"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing (run as root to install)" >&2
	exit 0
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# A package's postinst must not start a daemon here (openssh-server would
# start sshd on port 22; the tests run their own, in a namespace): deny it
# for this install only, unless the host denies it already.
prc=/usr/sbin/policy-rc.d own_prc=
if [ ! -e $prc ]; then
	printf '#!/bin/sh\nexit 101\n' >$prc && chmod 0755 $prc && own_prc=1
fi
trap '[ -z "$own_prc" ] || rm -f $prc' EXIT
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
