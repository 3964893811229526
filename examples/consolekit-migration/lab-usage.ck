#!/bin/sh
# lab-usage.ck: a ConsoleKit run-session.d script, written for ConsoleKit
# and run unchanged by pam_polohook (link it into added/ and removed/, see
# README.md). It keeps a usage log of the lab's seats:
#
#   2026-11-22T09:14:03+0100 added alice local=true tty=/dev/tty1 host= id=7
#
# argv[1] is session_added or session_removed; the CK_SESSION_* variables
# describe the session. Under polohook an empty value is set but empty
# (ConsoleKit left it out), so test values with ${VAR:-}, never ${VAR+set}.
set -u

log=/var/log/lab-usage.log

case ${1:-} in
session_added | session_removed) ;;
*)
	echo "usage: $0 session_added|session_removed" >&2
	exit 2
	;;
esac

# CK_SESSION_USER_UID is the only user ConsoleKit gave: find the name.
user=$(getent passwd "${CK_SESSION_USER_UID:-}" | cut -d: -f1)
[ -n "$user" ] || user=uid${CK_SESSION_USER_UID:-?}

# ConsoleKit's X11 variables do not exist under polohook: a display
# manager's PAM_TTY (here CK_SESSION_DISPLAY_DEVICE) is often the X
# display (":0") instead. Fall back rather than assume.
tty=${CK_SESSION_DISPLAY_DEVICE:-${CK_SESSION_X11_DISPLAY:-none}}

printf '%s %s %s local=%s tty=%s host=%s id=%s\n' \
	"$(date +%Y-%m-%dT%H:%M:%S%z)" "${1#session_}" "$user" \
	"${CK_SESSION_IS_LOCAL:-}" "$tty" \
	"${CK_SESSION_REMOTE_HOST_NAME:-}" "${CK_SESSION_ID:-}" >>"$log" || {
	# stderr: syslog under polohook, the daemon's under ConsoleKit
	echo "cannot append to $log" >&2
	exit 1
}

# A remote login gets a note in syslog too.
if [ "${CK_SESSION_IS_LOCAL:-true}" = false ]; then
	echo "remote session of $user from ${CK_SESSION_REMOTE_HOST_NAME:-?}"
fi
exit 0
