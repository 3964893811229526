#!/bin/sh
# bench/deps.sh — the Debian packages make bench needs on top of
# tools/deps.sh (which make bench runs first): the peer pam_script.so.
#
# libpam-script enables itself system-wide when installed (its
# pam-auth-update profile puts pam_script.so into the auth, account,
# password and session stacks of /etc/pam.d/common-*): it is disabled
# again at once, right after the install that enabled it. An install that
# was there before is left as the administrator has it.
set -eu

pkgs="libpam-script iproute2 util-linux openssl libnss-wrapper"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "bench/deps.sh: missing Debian packages:$missing (run as root)" >&2
	exit 1
fi
echo "bench/deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
	case $missing in
	*libpam-script*) pam-auth-update --disable pam_script || : ;;
	esac
	exit 1
fi
case $missing in
*libpam-script*)
	pam-auth-update --disable pam_script ;;
esac
