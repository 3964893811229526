#!/bin/sh
# bench/deps.sh — the Debian packages make bench needs on top of
# tools/deps.sh's: the peer pam_script.so, and debootstrap and
# systemd-container for the logind table (installed through tools/deps.sh).
#
# libpam-script enables itself system-wide when installed (its
# pam-auth-update profile puts pam_script.so into the auth, account,
# password and session stacks of /etc/pam.d/common-*): it is disabled
# again at once, right after the install that enabled it, even if the
# install failed half way. An install that was there before is left as
# the administrator has it.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}
if [ "$(id -u)" -ne 0 ] && ! installed libpam-script; then
	echo "bench/deps.sh: missing Debian package libpam-script (run as root)" >&2
	exit 1
fi
had=0
installed libpam-script && had=1
rc=0
sh "$TOP/tools/deps.sh" libpam-script debootstrap systemd-container || rc=$?
if [ $had = 0 ] && installed libpam-script; then
	pam-auth-update --disable pam_script
fi
exit $rc
