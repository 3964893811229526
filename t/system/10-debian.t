#!/bin/sh
# polohook on a real Debian 12 system, as an administrator meets it: the
# packages installed with apt into a booted system (systemd as PID 1,
# logind, pam_systemd, sshd), the pam-auth-update profile enabled, real
# logins (ssh with a key, su -l), the user's service manager beside them,
# temporary homes removed when logind stops the user, hookd started by its
# unit serving a Create-Home, and apt purge leaving nothing of ours.
# Root only; skips when the container cannot be made or booted.
# POLO_DEBS=DIR: the .debs to test (default build-deb, from make deb).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
sys_need
DEBS=${POLO_DEBS:-$TOP/build-deb}
set -- "$DEBS"/libpam-polohook_*.deb "$DEBS"/polohook-node_*.deb
[ -f "$1" ] && [ -f "$2" ] || { echo "1..0 # SKIP no packages in $DEBS (make deb)"; exit 0; }
trap 'sys_teardown; _cleanup' EXIT
sys_rootfs || { echo "1..0 # SKIP the Debian rootfs could not be made (see above)"; exit 0; }
sys_create || { echo "1..0 # SKIP cannot mount an overlay of the rootfs"; exit 0; }

# --- install, as an admin would ---------------------------------------------
find "$R/root/etc/pam.d" -type f | sort | xargs md5sum >"$R/pamd.before"
sys_install "$@"
is "$?" 0 "apt installs libpam-polohook and polohook-node"
[ -f "$R/root/usr/share/pam-configs/polohook" ] && pass "... the pam-auth-update profile is in /usr/share/pam-configs" ||
	fail "... the pam-auth-update profile is in /usr/share/pam-configs"
unlike "$R/root/etc/pam.d/common-session" pam_polohook "... and not enabled until the admin says so"
sys_offline env DEBIAN_FRONTEND=noninteractive pam-auth-update --enable polohook >/dev/null 2>&1
like "$R/root/etc/pam.d/common-session" '^session[[:space:]]+optional[[:space:]]+pam_polohook\.so' \
	"pam-auth-update --enable polohook puts the line into common-session"
unlike "$R/root/etc/pam.d/common-session-noninteractive" pam_polohook \
	"... and not into common-session-noninteractive (systemd-user, cron)"
# the admin's hook: what every login and logout saw, in a file and in the log
cat >"$R/root/etc/session.d/scripts/start/rec" <<'EOH'
#!/bin/sh
echo "$1 $PAM_SERVICE $PAM_USER sessions=${POLO_USER_SESSIONS:-?} last=${POLO_LAST_SESSION:-?} id=$POLO_SESSION_ID" >>/var/log/polorec
echo "rec $1 $PAM_SERVICE $PAM_USER"
EOH
chmod 0755 "$R/root/etc/session.d/scripts/start/rec"
ln -s ../scripts/start/rec "$R/root/etc/session.d/added/10W-rec"
ln -s ../scripts/start/rec "$R/root/etc/session.d/removed/10W-rec"

sys_boot || { cat "$R/console.log" >&2; fail "the system boots"; done_testing; }
pass "the system boots (systemd $(c systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p'))"

REC=$R/root/var/log/polorec
# login USER CMD: ssh with the test key to the system's own sshd
login() {
	_u=$1; shift
	c ssh -q -i /root/.ssh/id_test -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null "$_u@127.0.0.1" "$@"
}
# rec_wait PATTERN: the hook recorded a line matching PATTERN (bounded)
rec_wait() {
	_i=0
	while ! grep -q "$1" "$REC" 2>/dev/null && [ $_i -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
	grep -q "$1" "$REC" 2>/dev/null
}
recs() { sed 's/ id=.*//' "$REC" 2>/dev/null; }

# --- item 1: sessions -------------------------------------------------------
login alice true
rec_wait '^session_removed sshd alice'
is "$(recs)" "session_added sshd alice sessions=1 last=false
session_removed sshd alice sessions=0 last=true" \
	"one ssh login: added/ runs once and counts 1; its logout is the last"
xdg=$(login alice 'echo $XDG_SESSION_ID')
rec_wait "session_removed sshd alice.*id=$xdg\$"
like "$REC" "^session_added sshd alice sessions=1 last=false id=$xdg\$" \
	"the session id hooks see is logind's (XDG_SESSION_ID=$xdg)"
c journalctl -b --no-pager -o cat -t sshd >"$R/journal"
like "$R/journal" "pam_polohook\\(sshd:session\\): 10W-rec: rec session_added sshd alice" \
	"the hook's output is in the journal, tagged with the login program"
unlike "$R/journal" "state /run/session.d refused" "... and no close ever failed to reach the state"

: >"$REC"
login alice 'sleep 3' &
p1=$!
rec_wait '^session_added sshd alice'
c polohookctl sessions >"$R/sessions"
like "$R/sessions" "^[0-9]+ +alice +1001 +sshd .* live\$" \
	"polohookctl sessions lists the open ssh session, live"
login alice true
rec_wait 'sessions=1 last=false'
wait $p1
rec_wait 'sessions=0 last=true'
is "$(recs)" "session_added sshd alice sessions=1 last=false
session_added sshd alice sessions=2 last=false
session_removed sshd alice sessions=1 last=false
session_removed sshd alice sessions=0 last=true" \
	"two parallel logins count 2; the second logout is the last"

: >"$REC"
c su -l bob -c true
rec_wait '^session_removed su-l bob'
is "$(recs)" "session_added su-l bob sessions=1 last=false
session_removed su-l bob sessions=0 last=true" "su -l: one session of its own, the last at its end"

# the manual line, also where systemd-user looks (common-session-
# noninteractive): the user manager is ignored all the same
cp -a "$R/root/etc/pam.d" "$R/pamd.enabled"
c pam-auth-update --disable polohook >/dev/null 2>&1
for f in common-session common-session-noninteractive; do
	echo "session optional pam_polohook.so" >>"$R/root/etc/pam.d/$f"
done
c_wait 30 sh -c '! systemctl -q is-active user@1001.service'
: >"$REC"
login alice true
rec_wait '^session_removed sshd alice'
is "$(recs)" "session_added sshd alice sessions=1 last=false
session_removed sshd alice sessions=0 last=true" \
	"with the manual line in common-session-noninteractive too (systemd-user runs the module): still one session, the last"
c_wait 30 sh -c '! systemctl -q is-active user@1001.service'
unlike "$REC" "systemd-user" "... the user manager's start and stop ran no hook"
c journalctl -b --no-pager -o cat >"$R/journal"
unlike "$R/journal" "refused: Permission denied" "... and its close as the user logged no refusal"
for f in common-session common-session-noninteractive; do
	sed -i '/^session optional pam_polohook.so$/d' "$R/root/etc/pam.d/$f"
done
c pam-auth-update --enable polohook >/dev/null 2>&1

# --- item 2: tmphome removed when logind stops the user -----------------------
sys_tmphome
ms=$(sys_guest_logout_ms)
is "$(cat "$R/in-session")" "guest 700" "tmphome: the guest's home exists during the session, the guest's, 0700"
isnt_never() { [ "$1" != never ] && pass "$2" || fail "$2"; }
isnt_never "$ms" "... and is removed after the logout, when logind stops the user, without the gc timer (${ms} ms, default UserStopDelaySec)"
echo "# tmphome removed ${ms} ms after the logout (logind defaults)"
c journalctl -b --no-pager -o cat -t polohookctl >"$R/journal"
like "$R/journal" "^gc: removed /tmphome/guest\$" "... by polohookctl gc --uid, which says so in the journal"
c systemctl is-enabled polohook-gc.timer >"$R/timer" 2>&1
unlike "$R/timer" '^enabled' "... while polohook-gc.timer is not even enabled"

mkdir -p "$R/root/etc/systemd/logind.conf.d"
cp "$TOP/examples/library-kiosk/logind-kiosk.conf" "$R/root/etc/systemd/logind.conf.d/kiosk.conf"
c systemctl restart systemd-logind
is "$(c busctl get-property org.freedesktop.login1 /org/freedesktop/login1 \
	org.freedesktop.login1.Manager UserStopDelayUSec)" "t 0" "the kiosk's logind.conf.d file is in force (UserStopDelaySec=0)"
ms2=$(sys_guest_logout_ms)
isnt_never "$ms2" "with the kiosk's logind settings the home goes too (${ms2} ms)"
echo "# tmphome removed ${ms2} ms after the logout (KillUserProcesses=yes, UserStopDelaySec=0)"
rm "$R/root/etc/systemd/logind.conf.d/kiosk.conf"
c systemctl restart systemd-logind

# a process the guest left running keeps the home, whoever asks
c su -l guest -c 'setsid sleep 300 </dev/null >/dev/null 2>&1 &'
c_wait 10 pgrep -u guest -x sleep
c polohookctl gc --uid 1003 >"$R/gc" 2>&1
like "$R/gc" "^kept /tmphome/guest: uid 1003 still has processes\$" \
	"a process the guest left running keeps the home (gc --uid says so)"
[ -d "$R/root/tmphome/guest" ] && pass "... and it is there" || fail "... and it is there"
c pkill -u guest -x sleep
c_wait 60 sh -c '! test -e /tmphome/guest'
is "$?" 0 "... until the process ends and logind stops the user: then it is removed"

# --- item 4: hookd from its unit ---------------------------------------------
c systemctl show -p ActiveState -p ConditionResult -p NRestarts hookd.service >"$R/hookd0"
is "$(sort "$R/hookd0" | tr '\n' ' ')" "ActiveState=inactive ConditionResult=no NRestarts=0 " \
	"without a certificate hookd.service stays inactive (condition), never looping"
c sh /usr/share/doc/polohook-node/examples/make-certs.sh /etc/polohook/tls node=127.0.0.1 >/dev/null 2>&1
c ip link set lo multicast on
cat >>"$R/root/etc/session.d/session-scripts.conf" <<'EOC'

[discovery]
interface = lo
nodes = 127.0.0.1
EOC
# carol is a cluster user: no tmphome for her
c systemctl start hookd.service
c_wait 10 systemctl -q is-active hookd.service
is "$?" 0 "with the node's certificate and key, systemctl start hookd: active"
c su -l carol -c 'stat -c "%U %a" /home/carol' >"$R/carol" 2>&1
like "$R/carol" "^carol 700\$" "a login of carol, who had no home: polo-mkhome asked hookd, which made it, hers, 0700"
c journalctl -b --no-pager -o cat -u hookd.service >"$R/journal"
like "$R/journal" "carol" "... and hookd's journal names the request"
# the limits issue 10 set: 2.5 for hookd, 3.0 for the gc unit
for ul in hookd:2.5 polohook-gc:3.0; do
	u=${ul%:*} lim=${ul#*:}
	c systemd-analyze security --no-pager $u.service >"$R/sec-$u" 2>&1
	score=$(sed -n "s/.*Overall exposure level for $u.service: \([0-9.]*\).*/\1/p" "$R/sec-$u")
	awk -v s="$score" -v l="$lim" 'BEGIN { exit !(s != "" && s + 0 <= l + 0) }' &&
		pass "systemd-analyze security $u.service: $score (at most $lim)" ||
		fail "systemd-analyze security $u.service: '$score' (at most $lim)"
done
c systemctl start polohook-gc.service
is "$(c systemctl show -p Result --value polohook-gc.service)" success \
	"polohook-gc.service runs to success in its sandbox"

# --- apt purge ----------------------------------------------------------------
c dpkg -L libpam-polohook polohook-node >"$R/ours"
c systemctl stop hookd.service
c sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q libpam-polohook polohook-node' >"$R/purge.log" 2>&1
is "$?" 0 "apt purge removes both packages"
left=
while read -r p; do
	[ -d "$R/root$p" ] && continue	# a directory (or /lib -> usr/lib) others share
	{ [ -e "$R/root$p" ] || [ -L "$R/root$p" ]; } && left="$left $p"
done <"$R/ours"
is "$left" "" "... no file of ours is left"
[ -e "$R/root/etc/session.d/added/10W-polo-mkhome" ] || [ -L "$R/root/etc/session.d/added/10W-polo-mkhome" ] &&
	fail "... nor the 10W-polo-mkhome link" || pass "... nor the 10W-polo-mkhome link"
is "$(cd "$R/root/etc/session.d" && find . | sort | tr '\n' ' ')" \
	". ./added ./added/10W-rec ./removed ./removed/10W-rec ./scripts ./scripts/start ./scripts/start/rec " \
	"... the admin's own hooks stay, in their directories"
[ -e "$R/root/run/session.d" ] && fail "... the state tree is gone" || pass "... the state tree is gone"
find "$R/root/etc/pam.d" -type f | sort | xargs md5sum >"$R/pamd.after"
is "$(diff "$R/pamd.before" "$R/pamd.after")" "" "... and /etc/pam.d is byte for byte as before the install"
done_testing
