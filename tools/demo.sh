#!/bin/sh
# make demo: one login and one logout through the real PAM library, with a
# throwaway hook tree, printing what each hook saw and when it ran.
# Touches nothing outside a temporary directory (no /etc/pam.d, no users).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build
D=$(mktemp -d /tmp/polohook-demo.XXXXXX)
trap 'rm -rf "${D:?}"' EXIT
chmod 0755 "$D"
mkdir -p "$D/pam" "$D/session.d/added" "$D/session.d/removed" \
	"$D/session.d/scripts/start" "$D/home/alice"
chmod 0777 "$D/home/alice"	# the hooks write their transcript here
: >"$D/session-scripts.conf"
echo "session required pam_deny.so" >"$D/pam/other"
echo "session required $B/pam_polohook.so hookdir=$D/session.d" \
	"conf=$D/session-scripts.conf runner=$B/polohook-run timeout=5" \
	"statedir=$D/state" \
	>"$D/pam/demo-login"

# A fake user, seen only by this process (nss_wrapper); else the caller.
NSSW=$(find /usr/lib /lib -name libnss_wrapper.so 2>/dev/null | head -n1)
user=$(id -un)
if [ -n "$NSSW" ]; then
	user=alice
	printf 'root:x:0:0::/root:/bin/sh\nalice:x:1500:1500:Alice:%s/home/alice:/bin/sh\n' \
		"$D" >"$D/passwd"
	printf 'root:x:0:\nalice:x:1500:\n' >"$D/group"
fi

T=$D/home/alice/transcript
hook() {	# hook DIR NAME BODY
	{
		echo '#!/bin/sh'
		echo 'say() { echo "$(date +%s%3N) $(basename "$0") $*" >>'"$T"'; }'
		echo "$3"
	} >"$D/session.d/$1/$2"
	chmod 0755 "$D/session.d/$1/$2"
}
hook added 10W-motd 'say "$1: hello $PAM_USER (uid $POLO_USER_UID) on ${PAM_TTY:-?} from ${PAM_RHOST:-here}, session $POLO_SESSION_ID, your live sessions: $POLO_USER_SESSIONS"
echo "welcome message for $PAM_USER"	# goes to the log'
hook added 20D-agent 'say "$1: started detached (own session: sid $(ps -o sid= -p $$ | tr -d " "))"
sleep 1
say "still running a second later: the login did not wait for me"'
hook added 30-audit 'say "$1: batch hook 1 of 2 starts, CK_SESSION_IS_LOCAL=$CK_SESSION_IS_LOCAL"
sleep 0.3
say "batch hook 1 of 2 ends"'
hook scripts/start quota 'say "$1: batch hook 2 of 2 runs only after 1 of 2 ended (a symlink into scripts/start)"'
ln -s ../scripts/start/quota "$D/session.d/added/40-quota"
hook removed 10W-bye 'say "$1: goodbye $PAM_USER, PAM_TYPE=$PAM_TYPE, session $POLO_SESSION_ID, last session: $POLO_LAST_SESSION"'

echo "polohook demo — hook tree in $D/session.d:"
(cd "$D/session.d" && for f in added/* removed/*; do
	n=${f#*/}
	case $n in
	[0-9]*W-*) m="W: waited for, with a 5 s timeout" ;;
	[0-9]*D-*) m="D: started fully detached" ;;
	*) m="batch: background, in order" ;;
	esac
	printf '  %-22s %s%s\n' "$f" "$m" "$([ -L "$f" ] && echo " -> $(readlink "$f")")"
done)
echo
echo "Login and logout of '$user' (service demo-login, tty /dev/pts/3, from 192.0.2.7):"
start=$(date +%s%3N)
env ${NSSW:+LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$D/passwd NSS_WRAPPER_GROUP=$D/group} \
	"$B/t/pamh" -c "$D/pam" -s demo-login -u "$user" -t /dev/pts/3 -r 192.0.2.7 \
	-l "$D/log" open close | sed 's/^/  /'
echo "  (open+close took $(($(date +%s%3N) - start)) ms)"
i=0
while [ "$(grep -c 'still running\|2 of 2 runs' "$T" 2>/dev/null)" -lt 2 ] && [ $i -lt 100 ]; do
	sleep 0.05; i=$((i + 1))
done
echo
echo "What the hooks saw, in the order it happened (ms after the login began):"
sort -n "$T" | while read -r ts name rest; do
	printf '  +%-5s %-10s %s\n' "$((ts - start))" "$name" "$rest"
done
echo
echo "What the login process logged (syslog, LOG_AUTHPRIV):"
sed 's/^/  /' "$D/log"
echo
echo "(The D and batch hooks ran in polohook-run, which logs to syslog under the"
echo " tag 'polohook'; there is no syslog daemon in this demo to show those lines.)"
