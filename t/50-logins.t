#!/bin/sh
# Real logins end to end: OpenSSH's sshd, su -l and runuser -l on node 1
# of a three-node cluster (t/cluster.sh), each with pam_polohook in its
# PAM stack. Node 1 gets private copies of /etc/pam.d and the account
# files, its own /run, and a /dev whose /dev/log is a socket this test
# reads (t/logsink.c); nodes 2 and 3 share the account files and run
# hookd. What the user and the administrator see is checked: the files the
# hooks write, the homes on every node, the syslog lines, and
# `polohookctl sessions`. Nothing on the host changes. Needs root.
. "$(dirname "$0")/lib.sh"
need_root
[ "${POLO_BUILD:-build}" != build-asan ] || { echo "1..0 # SKIP the system's sshd," \
	"su and runuser cannot load an ASan-built module (POLO_BUILD=build-asan)"; exit 0; }
SSHD=/usr/sbin/sshd
[ -x $SSHD ] || { echo "1..0 # SKIP no $SSHD (openssh-server)"; exit 0; }
need_cmds ssh ssh-keygen su runuser logger ip nsenter unshare openssl ss
for f in pam_polohook.so polohook-run polo-mkhome hookd polohookctl t/logsink; do
	[ -e "$B"/$f ] || { echo "1..0 # SKIP $B/$f is not built"; exit 0; }
done
. "$(dirname "$0")/cluster.sh"

# Every process this test starts on a node lives in that node's network
# namespace: sshd's per-connection children, the user's commands, D and
# batch hooks. End them all before the namespaces go.
nodes_kill() {
	for ns in $CNETNS; do
		_p=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$_p" ] && kill -TERM "$_p" 2>/dev/null
	done
	_i=0
	while [ "$_i" -lt 30 ]; do
		_left=""
		for ns in $CNETNS; do _left="$_left$(ip netns pids "$ns" 2>/dev/null)"; done
		[ -z "$_left" ] && break
		sleep 0.1; _i=$((_i + 1))
	done
	for ns in $CNETNS; do
		_p=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$_p" ] && kill -KILL "$_p" 2>/dev/null
	done
}

# what the test could change on the host if a private mount were missing
host_state() {
	stat -c '%n %s %Y %Z' /etc/passwd /etc/group /etc/shadow /etc/gshadow \
		/etc/pam.d/other /etc/pam.d/su-l /etc/pam.d/runuser-l 2>&1
	ls -d /dev/log /home/alice /run/sshd /run/polohook /etc/pam.d/sshd-polotest 2>&1
}
host_state >"$T"/host.before

CL_ON_EXIT=nodes_kill cluster_start 3
O=$T/out
TH=$T/th	# the tmphome root: a private tmpfs on every node
mkdir -m 0755 "$TH" "$T"/etc "$T"/pam.d "$T"/dev "$T"/sbin "$T"/skel
echo 'export WHERE=cluster' >"$T"/skel/.profile

# --- the account files: the host's, plus alice (a home on every node)
# and kiosk, a walk-up account with a temporary home on node 1, which the
# cluster leaves alone: polo-mkhome skips a home below [home] tmphome.
# A temporary home is removed only when its uid runs no process on the
# machine, and these users run real processes: their uids are this run's
# own, so that this test and others running at the same time (t/25's users
# are 1500..) do not meet.
AU=$((20000 + $$ % 20000)) KU=$((2000 + $$ % 8000))
for f in passwd group shadow gshadow; do
	cp -p /etc/$f "$T"/etc/$f
	sed -i '/^alice:/d; /^kiosk:/d' "$T"/etc/$f
done
cat >>"$T"/etc/passwd <<EOP
alice:x:$AU:$AU:Alice:/home/alice:/bin/sh
kiosk:x:$KU:$KU:Kiosk:$TH/kiosk:/bin/sh
EOP
printf 'alice:x:%s:\nkiosk:x:%s:\n' $AU $KU >>"$T"/etc/group
printf 'alice:*:19000:0:99999:7:::\nkiosk:*:19000:0:99999:7:::\n' >>"$T"/etc/shadow
printf 'alice:!::\nkiosk:!::\n' >>"$T"/etc/gshadow
for k in 1 2 3; do
	on $k sh -ec "for f in passwd group shadow gshadow; do
		mount --bind $T/etc/\$f /etc/\$f; done
		mount -t tmpfs -o mode=0755 polotmp $TH" ||
		{ echo "1..0 # SKIP cannot make node $k's private files"; exit 0; }
done

# --- one config for the module, polo-mkhome, polohookctl and hookd ------------
nodeconf() {
	cluster_conf "$1" "[hooks]
hookdir = $T/hooks
runner = $B/polohook-run
[session]
statedir = /run/polohook
[home]
skel = $T/skel
umask = 077
tmphome = $TH"
}
for k in 1 2 3; do nodeconf $k; done

# --- node 1: its own /etc/pam.d, /run and /dev (with /dev/log) ----------------
M=$B/pam_polohook.so
for svc in sshd-polotest su-l runuser-l; do
	case $svc in
	sshd-polotest) auth="auth required pam_deny.so" ;;
	*) auth="auth sufficient pam_rootok.so
auth required pam_deny.so" ;;
	esac
	cat >"$T"/pam.d/$svc <<EOS
$auth
account required pam_unix.so
password required pam_deny.so
session required pam_unix.so
session optional $M conf=$T/n1.conf
EOS
done
printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$T"/pam.d/other
printf 'password required pam_deny.so\nsession required pam_deny.so\n' >>"$T"/pam.d/other
ssh-keygen -q -t ed25519 -N '' -C polotest-host -f "$T"/hostkey
ssh-keygen -q -t ed25519 -N '' -C polotest-user -f "$T"/userkey
on 1 sh -ec "
	mount --bind $T/pam.d /etc/pam.d
	mount -t tmpfs -o mode=0755 polorun /run
	mkdir -m 0755 /run/sshd /run/polotest
	cp $T/userkey.pub /run/polotest/authorized_keys
	chmod 0644 /run/polotest/authorized_keys
	mount -t tmpfs -o mode=0755 polodev $T/dev
	for d in null zero full random urandom tty; do
		touch $T/dev/\$d; mount --bind /dev/\$d $T/dev/\$d
	done
	ln -s /proc/self/fd $T/dev/fd
	mount --move $T/dev /dev" ||
	{ echo "1..0 # SKIP cannot make node 1's private /run and /dev"; exit 0; }
bg_on 1 "$B"/t/logsink /dev/log "$T"/syslog 300
_i=0; while ! on 1 test -S /dev/log && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done

# --- hookd on every node, sshd on node 1 ---------------------------------------------
for k in 1 2 3; do
	bg_on $k "$B"/hookd -c "$T"/n$k.conf -f 2>>"$T"/hookd$k.log
	wait_listen $k 1343
done
ln -s $SSHD "$T"/sbin/sshd-polotest	# its PAM service is its name
cat >"$T"/sshd_config <<EOC
ListenAddress $A1:2222
HostKey $T/hostkey
PidFile none
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile /run/polotest/authorized_keys
StrictModes yes
PermitRootLogin no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
EOC
bg_on 1 "$T"/sbin/sshd-polotest -D -e -f "$T"/sshd_config 2>>"$T"/sshd.log
wait_listen 1 2222
cat >"$T"/ssh_config <<EOC
IdentityFile $T/userkey
IdentitiesOnly yes
BatchMode yes
StrictHostKeyChecking no
UserKnownHostsFile /dev/null
LogLevel ERROR
ConnectTimeout 10
RequestTTY no
Port 2222
EOC
# ssh_bg OUT USER CMD: a session from node 2 into node 1, in the background;
# its pid in $BGPID. CMD runs as the user on node 1.
ssh_bg() {
	_o=$1 _u=$2; shift 2
	bg_on 2 timeout 60 ssh -F "$T"/ssh_config "$_u@$A1" "$*" >"$_o" 2>&1
}
# hold CMD NAME: a remote command that says who and where it is, runs CMD,
# then waits for the file go.NAME
hold() {
	echo "echo \"\$(id -un) \$(id -u) \$HOME \$PWD\"; $1"
	echo "while [ ! -e $O/go.$2 ]; do sleep 0.05; done; echo bye"
}
ctl() { on 1 timeout 30 "$B"/polohookctl -c "$T"/n1.conf "$@"; }
home_on() { on "$1" stat -c '%u:%g %a' "$2" 2>/dev/null; }
# until_ok CMD...: until CMD succeeds, for up to 30 s; after one such wait
# has run out, 1 s each (what follows fails anyway: keep a broken run short)
_wmax=600
until_ok() {
	_i=0
	while ! "$@"; do
		[ $_i -ge $_wmax ] && { _wmax=20; return 1; }
		sleep 0.05; _i=$((_i + 1))
	done
}
has_lines() { [ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ]; }
# wait_lines FILE N: FILE has at least N lines
wait_lines() { until_ok has_lines "$1" "$2"; }
# wait_log REGEX: a syslog line matches
wait_log() { until_ok grep -Eq -- "$1" "$T"/syslog; }
wait_file() { until_ok test -s "$1"; }
# log_sync: every record sent to node 1's /dev/log so far is in $T/syslog
# (records arrive in order: wait for one sent now)
_sync=0
log_sync() {
	_sync=$((_sync + 1))
	on 1 logger -t polotest "sync $_sync"
	wait_log "polotest: sync $_sync\$"
}
# diag FILE...: show files as TAP comments
diag() { for _f; do echo "# $_f:"; sed 's/^/#   | /' "$_f" 2>/dev/null | head -20; done; }
# wait_gone PID: the process has ended
wait_gone() { until_ok test ! -d /proc/"$1"; }

# --- the hooks ----------------------------------------------------------------------
printf '#!/bin/sh\nexec %s -c %s "$@"\n' "$B/polo-mkhome" "$T/n1.conf" \
	>"$T"/hooks/added/10W-polo-mkhome
chmod 0755 "$T"/hooks/added/10W-polo-mkhome
hook added 20W-facts 'f='"$O"'/open.$PAM_USER.$PAM_SERVICE
{ env | sort; echo "home=$(stat -c "%u:%g %a" "$POLO_USER_HOME" 2>&1)"; } >$f.tmp
mv $f.tmp $f
echo "$POLO_SESSION_ID $POLO_USER_SESSIONS" >>'"$O"'/opens.$PAM_USER
echo "facts for $PAM_USER via $PAM_SERVICE from ${PAM_RHOST:-here}"'
hook added 30D-detached 'echo "$PAM_USER $PAM_SERVICE" >'"$O"'/det.$PAM_USER.$PAM_SERVICE
echo "detached for $PAM_USER"'
hook added 40-batch-first 'sleep 0.3; echo "first $1" >>'"$O"'/batch.$PAM_USER.$PAM_SERVICE
echo "batch one for $PAM_USER"'
hook added 50-batch-second 'echo "second $1" >>'"$O"'/batch.$PAM_USER.$PAM_SERVICE'
hook removed 20W-bye 'env | sort >'"$O"'/close.$PAM_USER.$PAM_SERVICE
echo "$POLO_SESSION_ID $POLO_USER_SESSIONS $POLO_LAST_SESSION" >>'"$O"'/closes.$PAM_USER
echo "bye $PAM_USER"'
hook removed 60-batch-gone 'echo "$1 $PAM_SERVICE $POLO_LAST_SESSION" >>'"$O"'/gone.$PAM_USER'

# === an ssh key login of alice from node 2 into node 1 =============================
ssh_bg "$T"/a1.out alice "$(hold 'echo mine >$HOME/made-by-alice' a1)"
SA1=$BGPID
wait_lines "$T"/a1.out 1
is "$(head -n1 "$T"/a1.out)" "alice $AU /home/alice /home/alice" \
	"ssh: alice is logged in on node 1, in her home"
grep -q '^alice ' "$T"/a1.out || diag "$T"/a1.out "$T"/sshd.log
for k in 1 2 3; do
	is "$(home_on $k /home/alice)" "$AU:$AU 700" "node $k: alice's home exists, hers, 0700"
	is "$(on $k cat /home/alice/.profile 2>/dev/null)" "export WHERE=cluster" \
		"node $k: ... with the skel content"
done
is "$(on 1 cat /home/alice/made-by-alice 2>/dev/null)" "mine" "the user's own file is in her home on node 1"
F=$O/open.alice.sshd-polotest
like "$F" '^PAM_USER=alice$' "the W hook ran for alice ..."
like "$F" '^PAM_SERVICE=sshd-polotest$' "... through sshd's PAM service"
like "$F" '^PAM_TYPE=open_session$' "... at open"
like "$F" "^PAM_RHOST=$A2\$" "... from node 2's address"
like "$F" '^POLO_SESSION_IS_LOCAL=false$' "... not a local session"
like "$F" '^POLO_USER_SESSIONS=1$' "... alice's first session"
like "$F" '^POLO_USER_HOME=/home/alice$' "... with her passwd home"
like "$F" "^home=$AU:$AU 700\$" "... which polo-mkhome (10W) had already made"
wait_file "$O"/det.alice.sshd-polotest
is "$(cat "$O"/det.alice.sshd-polotest 2>/dev/null)" "alice sshd-polotest" "the D hook ran"
wait_lines "$O"/batch.alice.sshd-polotest 2
is "$(cat "$O"/batch.alice.sshd-polotest 2>/dev/null)" "first session_added
second session_added" "the batch hooks ran, one after the other, in name order"

# what the administrator sees while the session is open
ctl sessions >"$T"/sess 2>&1
like "$T"/sess "^[0-9a-f]{32} +alice +$AU +sshd-polotest +ssh +$A2 +[0-9-]{10} [0-9:]{5} +[0-9]+ +live\$" \
	"polohookctl sessions: alice's ssh session from node 2, live"
is "$(awk 'NR > 1' "$T"/sess | wc -l)" 1 "... and only that one"
id=$(awk 'NR == 2 {print $1}' "$T"/sess)
like "$F" "^POLO_SESSION_ID=$id\$" "... with the id the hooks got"
leader=$(awk 'NR == 2 {print $(NF-1)}' "$T"/sess)
is "$(on 1 cat /proc/"$leader"/comm 2>/dev/null)" "sshd-polotest" "... and an sshd process as its leader"

# the syslog lines of the login
log_sync
wait_log 'polohook\[[0-9]+\]: hook 30D-detached exited'
wait_log 'polohook\[[0-9]+\]: hook 40-batch-first exited'
like "$T"/syslog "pam_polohook\\(sshd-polotest:session\\): 10W-polo-mkhome: $A1: created" \
	"syslog: polo-mkhome's result for node 1, through the module"
like "$T"/syslog "10W-polo-mkhome: $A2: created" "syslog: ... for node 2"
like "$T"/syslog "10W-polo-mkhome: $A3: created" "syslog: ... for node 3"
like "$T"/syslog 'pam_polohook\(sshd-polotest:session\): hook 10W-polo-mkhome exited with status 0' \
	"syslog: the module logs the W hook's exit"
like "$T"/syslog "pam_polohook\\(sshd-polotest:session\\): 20W-facts: facts for alice via sshd-polotest from $A2\$" \
	"syslog: a W hook's output, tagged with its name"
like "$T"/syslog 'polohook\[[0-9]+\]: 40-batch-first: batch one for alice$' \
	"syslog: a batch hook's output, from the detached runner"
like "$T"/syslog 'polohook\[[0-9]+\]: 30D-detached: detached for alice$' "syslog: the D hook's output"
like "$T"/hookd2.log "request from $A1:[0-9]+ \\[CN=node1\\]: user alice uid $AU gid $AU home /home/alice: created\$" \
	"node 2's hookd logged node 1's request and what it did"

# logout
touch "$O"/go.a1
wait $SA1
is "$(tail -n1 "$T"/a1.out)" "bye" "the ssh session ends normally"
wait_lines "$O"/closes.alice 1
F=$O/close.alice.sshd-polotest
like "$F" '^PAM_TYPE=close_session$' "logout: the removed/ W hook ran"
like "$F" "^POLO_SESSION_ID=$id\$" "... for the same session"
like "$F" '^POLO_USER_SESSIONS=0$' "... alice has no session left"
like "$F" '^POLO_LAST_SESSION=true$' "... this was her last"
wait_lines "$O"/gone.alice 1
is "$(cat "$O"/gone.alice 2>/dev/null)" "session_removed sshd-polotest true" "the removed/ batch hook ran"
log_sync
like "$T"/syslog 'pam_polohook\(sshd-polotest:session\): 20W-bye: bye alice$' "syslog: the removed/ hook's output"
ctl sessions >"$T"/sess 2>&1
is "$(awk 'NR > 1' "$T"/sess)" "" "polohookctl sessions: nothing after the logout"
for k in 1 2 3; do
	is "$(home_on $k /home/alice)" "$AU:$AU 700" "node $k: the home stays after the logout"
done

# === su -l and runuser -l, by root on node 1 ==========================================
for svc in su runuser; do
	rm -f "$O"/closes.alice "$O"/gone.alice
	on 1 timeout 30 $svc -l alice -c 'echo "$(id -un) $HOME $PWD"' >"$T"/$svc.out 2>&1
	is "$(cat "$T"/$svc.out)" "alice /home/alice /home/alice" "$svc -l: alice's shell in her home"
	F=$O/open.alice.$svc-l
	like "$F" "^PAM_SERVICE=$svc-l\$" "$svc -l: the W hook ran with PAM_SERVICE $svc-l"
	like "$F" '^POLO_SESSION_IS_LOCAL=true$' "... a local session"
	like "$F" '^POLO_USER_SESSIONS=1$' "... alice's only session"
	wait_file "$O"/det.alice.$svc-l
	is "$(cat "$O"/det.alice.$svc-l 2>/dev/null)" "alice $svc-l" "$svc -l: the D hook ran"
	F=$O/close.alice.$svc-l
	like "$F" '^PAM_TYPE=close_session$' "$svc -l: the removed/ W hook ran by the time $svc exited"
	like "$F" '^POLO_LAST_SESSION=true$' "... the last session"
	wait_lines "$O"/batch.alice.$svc-l 2
	is "$(cat "$O"/batch.alice.$svc-l 2>/dev/null)" "first session_added
second session_added" "$svc -l: the batch hooks ran in order"
	wait_lines "$O"/gone.alice 1
	is "$(cat "$O"/gone.alice 2>/dev/null)" "session_removed $svc-l true" "$svc -l: the removed/ batch hook ran"
	log_sync
	like "$T"/syslog "pam_polohook\\($svc-l:session\\): 10W-polo-mkhome: $A3: exists" \
		"syslog: $svc -l: polo-mkhome finds the home on node 3"
done
is "$(ctl sessions | awk 'NR > 1')" "" "polohookctl sessions: nothing after su and runuser"

# === tmphome: two parallel ssh sessions of kiosk ==========================================
ssh_bg "$T"/k1.out kiosk "$(hold 'echo note >$HOME/note' k1)"
SK1=$BGPID
wait_lines "$T"/k1.out 1
is "$(head -n1 "$T"/k1.out)" "kiosk $KU $TH/kiosk $TH/kiosk" "kiosk's first session runs in the home"
is "$(home_on 1 "$TH"/kiosk)" "$KU:$KU 700" "the temporary home is made, kiosk's, 0700"
is "$(on 1 cat "$TH"/kiosk/.profile 2>/dev/null)" "export WHERE=cluster" "... from skel"
is "$(on 2 ls -A "$TH"; on 3 ls -A "$TH")" "" "... on node 1 only: polo-mkhome does not ask the cluster for a temporary home"
wait_log "user kiosk: home $TH/kiosk is below tmphome"
like "$T"/syslog "polo-mkhome\\[[0-9]+\\]: user kiosk: home $TH/kiosk is below tmphome $TH: a temporary home, made on this node only" \
	"... and says so in syslog"
ssh_bg "$T"/k2.out kiosk "$(hold 'cat $HOME/note' k2)"
SK2=$BGPID
wait_lines "$T"/k2.out 2
is "$(head -n2 "$T"/k2.out)" "kiosk $KU $TH/kiosk $TH/kiosk
note" "the second session finds the first one's home and file"
is "$(cut -d' ' -f2 "$O"/opens.kiosk 2>/dev/null | tr '\n' ' ')" "1 2 " "the hooks counted one, then two sessions"
ctl sessions >"$T"/sess 2>&1
is "$(awk 'NR > 1 {print $2, $4, $5, $6, $NF}' "$T"/sess)" "kiosk sshd-polotest ssh $A2 live
kiosk sshd-polotest ssh $A2 live" "polohookctl sessions: both of kiosk's sessions"
# the first session's leader: once it is gone, its close is complete
k1=$(awk 'NR == 1 {print $1}' "$O"/opens.kiosk 2>/dev/null)
leader=$(awk -v id="$k1" '$1 == id {print $(NF-1)}' "$T"/sess)

touch "$O"/go.k1
wait $SK1
wait_lines "$O"/closes.kiosk 1
wait_gone "${leader:-0}"
log_sync
is "$(cut -d' ' -f2,3 "$O"/closes.kiosk 2>/dev/null)" "1 false" "the first logout: one session left, not the last"
is "$(on 1 cat "$TH"/kiosk/note 2>/dev/null)" "note" "... and the home is kept, with the user's file"
is "$(ctl sessions | awk 'NR > 1 {print $2, $NF}')" "kiosk live" "... polohookctl shows the one left"
unlike "$T"/syslog "tmphome $TH/kiosk: removed" "... and nothing was removed"

touch "$O"/go.k2
wait $SK2
wait_lines "$O"/closes.kiosk 2
is "$(sed -n 2p "$O"/closes.kiosk 2>/dev/null | cut -d' ' -f2,3)" "0 true" "the second logout is the last"
wait_log "tmphome $TH/kiosk: removed"
log_sync
if on 1 test -e "$TH"/kiosk; then
	fail "... the home is gone"; grep tmphome "$T"/syslog | sed 's/^/#   /'
else pass "... the home is gone"; fi
like "$T"/syslog "pam_polohook\\(sshd-polotest:session\\): tmphome $TH/kiosk: created from $T/skel for kiosk" \
	"syslog: the creation"
like "$T"/syslog "pam_polohook\\(sshd-polotest:session\\): tmphome $TH/kiosk: removed" \
	"syslog: the removal at the last logout"
is "$(ctl sessions | awk 'NR > 1')" "" "polohookctl sessions: nothing left"

# === the host is as it was ==================================================================
host_state >"$T"/host.after
is "$(diff "$T"/host.before "$T"/host.after)" "" "the host's account files, /etc/pam.d, /dev/log, /run/sshd are untouched"
done_testing
