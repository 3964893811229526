#!/bin/sh
# tmphome: a fresh home from skel at login, removed at the last logout —
# and every attack and mistake a reviewer will try. In each case nothing
# outside the temporary home is touched, and the log says what was refused.
# Needs root (homes are chowned to the user).
. "$(dirname "$0")/lib.sh"
need_root
O=$T/out
TH=$T/th
mkdir -m 0755 "$TH" "$T"/th2 "$T"/skel "$T"/skel/dir "$T"/victim "$T"/victim/sub
echo 'export PS1=kiosk' >"$T"/skel/.profile
echo secret >"$T"/skel/dir/notes && chmod 0640 "$T"/skel/dir/notes
chmod 0751 "$T"/skel/dir
ln -s /etc/shadow "$T"/skel/shadow-link
mkfifo "$T"/skel/fifo
echo precious >"$T"/victim/file
echo precious >"$T"/victim/sub/file
victim() { find "$T"/victim | sort | xargs stat -c '%n %a %u %s' ; }
victim >"$T"/victim.before
shadow_before=$(stat -c '%a %u %g %s %Y %Z' /etc/shadow)
cat >>"$T"/passwd <<EOP
carol:x:1502:1502::$T/th2/carol:/bin/sh
dave:x:1503:1503::$TH:/bin/sh
erin:x:1504:1504::$T/home/alice:/bin/sh
frank:x:1505:1505::$TH/frank:/bin/sh
EOP
sed -i "s|^alice:.*|alice:x:1500:1500::$TH/alice:/bin/sh|; s|^bob:.*|bob:x:1501:1501::$TH/bob:/bin/sh|" "$T"/passwd
service statedir="$T"/state tmphome="$TH" skel="$T"/skel umask=077
printf '[session]\nstatedir = %s\n[home]\ntmphome = %s\n[hooks]\nhookdir = %s\n' \
	"$T/state" "$TH" "$T/hooks" >"$T"/ctl.conf
hook added 10W-see 'stat -c "%u %a" "$POLO_USER_HOME" >'"$O"'/seen 2>&1'

# --- creation ---------------------------------------------------------------
# waitstate ID: session ID is recorded and its W hook has run (the state is
# written before the home is made: the hook's output is what says the open
# is done)
waitstate() { _w=0; while [ ! -e "$T"/state/sessions/"$1" ] && [ $_w -lt 600 ]; do sleep 0.05; _w=$((_w+1)); done; wait_for "$O"/seen 30; }
pamh -u alice -e XDG_SESSION_ID=a1 open wait:"$O"/go1 close >"$T"/res &
p1=$!
waitstate a1
is "$(stat -c '%u:%g %a' "$TH"/alice)" "1500:1500 700" "the home is made, owned by the user, 0700"
is "$(cat "$O"/seen)" "1500 700" "it exists, the user's, before the first hook runs"
is "$(cat "$TH"/alice/.profile)" "export PS1=kiosk" "skel files are copied"
is "$(stat -c '%u:%g %a' "$TH"/alice/dir "$TH"/alice/dir/notes | tr '\n' ' ')" \
	"1500:1500 700 1500:1500 600 " "skel modes are kept under umask 077, owner is the user"
is "$(readlink "$TH"/alice/shadow-link)" "/etc/shadow" "a symlink in skel is copied as a symlink"
is "$(stat -c '%u' -- "$TH"/alice/shadow-link)" "1500" "... owned by the user (lchown)"
is "$(stat -c '%a %u %g %s %Y %Z' /etc/shadow)" "$shadow_before" "... and /etc/shadow is untouched"
[ -e "$TH"/alice/fifo ] && fail "a FIFO in skel is not copied" || pass "a FIFO in skel is not copied"
like "$LOG" "warning .*fifo" "... and that is logged"
is "$(stat -c '%u %a' "$TH"/.polohook "$TH"/.polohook/alice | tr '\n' ' ')" "0 700 0 600 " \
	"the creation is recorded in a root-only registry inside the tmphome root"

# --- removal at the last logout, not before ------------------------------------
pamh -u alice -e XDG_SESSION_ID=a2 open wait:"$O"/go2 close >/dev/null &
p2=$!
waitstate a2
touch "$O"/go1; wait $p1
is "$(cat "$T"/res)" "open: Success
close: Success" "open and close succeed"
[ -d "$TH"/alice ] && pass "closing one of two sessions keeps the home" || fail "closing one of two sessions keeps the home"
touch "$O"/go2; wait $p2
[ -e "$TH"/alice ] && fail "the last logout removes the home" || pass "the last logout removes the home"
[ -e "$TH"/.polohook/alice ] && fail "... and its registry entry" || pass "... and its registry entry"
like "$LOG" "tmphome $TH/alice: removed" "the removal is logged"

# a zombie of the user (dead, not yet reaped by its parent) holds nothing
rm -f "$LOG"
pamh -u alice -e XDG_SESSION_ID=z1 open >/dev/null
sh -c 'setpriv --reuid=1500 --regid=1500 --clear-groups true & exec sleep 3' &
zp=$!
sleep 0.3
pamh -u alice -e POLO_SESSION_ID=z1 close >/dev/null
[ -e "$TH"/alice ] && fail "a zombie of the user does not keep the home" || pass "a zombie of the user does not keep the home"
kill $zp 2>/dev/null; wait $zp 2>/dev/null

# helper: a session of USER opened and closed, with something done in between
# sh $T/as_alice PID: wait (bounded) until PID runs as alice: a process started
# in the background has not always dropped to her uid when the session
# closes, and a busy machine makes that likely
cat >"$T"/as_alice <<'EOS'
_w=0
while [ "$(stat -c %u /proc/"$1" 2>/dev/null)" != 1500 ] && [ $_w -lt 200 ]; do
	sleep 0.05; _w=$((_w + 1))
done
EOS
session() {	# session USER ID CMD
	rm -f "$O"/go
	pamh -u "$1" -e XDG_SESSION_ID="$2" open wait:"$O"/go close >"$T"/res."$2" &
	_p=$!
	_w=0; while [ ! -e "$T"/state/sessions/"$2" ] && [ $_w -lt 600 ]; do sleep 0.05; _w=$((_w+1)); done
	sh -c "$3"
	touch "$O"/go; wait $_p
}

# --- home replaced by a symlink to another directory before logout -------
rm -f "$LOG"
session alice b1 "mv $TH/alice $T/moved && ln -s $T/victim $TH/alice"
victim >"$T"/victim.after
is "$(cat "$T"/victim.after)" "$(cat "$T"/victim.before)" "home replaced by a symlink: nothing where it points is touched"
like "$LOG" "tmphome $TH/alice is no longer a directory .*not removed" "... refused and logged"
rm -f "$TH"/alice; rm -rf "${T:?}"/moved; rm -f "$TH"/.polohook/alice

# --- symlinks planted inside the home ----------------------------------------
rm -f "$LOG"
session alice c1 "ln -s $T/victim/file $TH/alice/l1; ln -s $T/victim $TH/alice/l2; ln -s / $TH/alice/dir/root"
[ -e "$TH"/alice ] && fail "a home with symlinks to the outside is removed" || pass "a home with symlinks to the outside is removed"
victim >"$T"/victim.after
is "$(cat "$T"/victim.after)" "$(cat "$T"/victim.before)" "... and what they point to is untouched"

# --- a bind mount inside the home (in a private mount namespace) -------------
rm -f "$LOG"
cat >"$T"/bind.sh <<EOS
set -e
pamh() { LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group $B/t/pamh -c $T/pam -l $LOG "\$@"; }
pamh -u alice -e XDG_SESSION_ID=d1 open >/dev/null
mkdir $TH/alice/mnt
mount --bind $T/victim $TH/alice/mnt
pamh -u alice -e XDG_SESSION_ID=d1 close >/dev/null
ls $TH/alice/mnt >$O/inmnt
umount $TH/alice/mnt
EOS
unshare -m --propagation private sh "$T"/bind.sh
is "$(cat "$O"/inmnt | tr '\n' ' ')" "file sub " "a bind mount inside the home is not descended into"
victim >"$T"/victim.after
is "$(cat "$T"/victim.after)" "$(cat "$T"/victim.before)" "... what is mounted there is untouched"
like "$LOG" "mnt: a mount point, left in place" "... and that is logged"
[ -d "$TH"/alice ] && pass "... and the home is left (with the mount point)" || fail "... and the home is left (with the mount point)"
ls -A "$TH"/alice >"$T"/left
is "$(cat "$T"/left)" "mnt" "... everything else in it is removed"
rm -rf "${TH:?}"/alice; rm -f "$TH"/.polohook/alice

# --- paths that are not (or must not be treated as) temporary homes ---------
rm -f "$LOG"
pamh -u carol open close >/dev/null
[ -e "$T"/th2/carol ] && fail "/tmphome2/u is not below /tmphome: no home made" || pass "/tmphome2/u is not below /tmphome: no home made"
pamh -u dave open >"$T"/res
like "$LOG" "tmphome: home $TH of dave is not a direct child of $TH: refused" "a home that is the tmphome root itself is refused"
touch "$TH"/marker
pamh -u dave close >/dev/null
[ -e "$TH"/marker ] && pass "... and the root is never removed" || fail "... and the root is never removed"
rm -f "$TH"/marker
echo mine >"$T"/home/alice/keep
pamh -u erin open close >/dev/null
is "$(cat "$T"/home/alice/keep)" "mine" "a home outside the tmphome root is left alone"

# --- a crashed session: the home stays; the next login gets a fresh one ---------
rm -f "$LOG"
pamh -u alice -e XDG_SESSION_ID=e1 open crash >/dev/null
echo "patron one's notes" >"$TH"/alice/work
[ -d "$TH"/alice ] && pass "after a crash the home stays" || fail "after a crash the home stays"
rm -f "$O"/seen
pamh -u alice -e XDG_SESSION_ID=e2 open wait:"$O"/go-e2 close >/dev/null &
pe=$!
waitstate e2
[ -e "$TH"/alice/work ] && fail "the next login does not get the crashed session's files" || pass "the next login does not get the crashed session's files"
is "$(cat "$TH"/alice/.profile)" "export PS1=kiosk" "... it gets a fresh home from skel"
like "$LOG" "tmphome $TH/alice: the previous session's home was retired; a fresh one is made" "... and that is logged"
is "$(ls -A "$TH"/.polohook/trash)" "" "... the old one is removed at once when nothing holds it"
touch "$O"/go-e2; wait $pe
[ -e "$TH"/alice ] && fail "the last logout removes the fresh one" || pass "the last logout removes the fresh one"

# --- processes linger after logout (as systemd --user does) ---------------------
rm -f "$LOG"
session alice e3 "setpriv --reuid=1500 --regid=1500 --clear-groups sh -c 'cd $TH/alice && exec sleep 30' & echo \$! >>$T/pids; echo secret >$TH/alice/diary; sh $T/as_alice \$!"
[ -e "$TH"/alice/diary ] && pass "a home whose user still has processes is kept at logout" || fail "a home whose user still has processes is kept at logout"
pamh -u alice -e XDG_SESSION_ID=e4 open >/dev/null
[ -e "$TH"/alice/diary ] && fail "the next login of that account never sees the previous session's files" || pass "the next login of that account never sees the previous session's files"
is "$(stat -c '%u %a' "$TH"/alice)" "1500 700" "... it gets a fresh home"
is "$(ls -A "$TH"/.polohook/trash)" "" "... the old one is moved out of reach and removed, though a process still sits in it"
xargs -r kill <"$T"/pids 2>/dev/null; sleep 0.2
# what could not be removed at once (lingering writers) waits in the trash
mkdir -p "$TH"/.polohook/trash/alice.42/sub && echo x >"$TH"/.polohook/trash/alice.42/sub/f
chown -R 1500:1500 "$TH"/.polohook/trash/alice.42
LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group \
	"$B"/polohookctl -c "$T"/ctl.conf gc >"$T"/gc.out 2>&1
is "$(ls -A "$TH"/.polohook/trash)" "" "polohookctl gc empties the trash"
rm -rf "${TH:?}"/alice; rm -f "$TH"/.polohook/alice

# --- a previous home that cannot be retired is still never handed on -------------
rm -f "$LOG"
pamh -u alice -e XDG_SESSION_ID=e5 open crash >/dev/null
echo "patron one's notes" >"$TH"/alice/work
chmod 0755 "$TH"/.polohook/trash		# no longer root-only: refused
pamh -u alice -e XDG_SESSION_ID=e6 open >"$T"/res
is "$(stat -c '%u %a' "$TH"/alice)" "0 700" "a previous home that cannot be retired is locked away (root's, 0700)"
like "$LOG" "tmphome $TH/alice: the previous session's home could not be retired and is locked away \(root-only\); alice gets no home" "... and the log says so"
chmod 0700 "$TH"/.polohook/trash
rm -rf "${TH:?}"/alice; rm -f "$TH"/.polohook/alice

# --- a home owned by another uid -------------------------------------------------
rm -f "$LOG"
session alice f1 "chown -R 1501 $TH/alice"
[ -d "$TH"/alice ] && pass "a home chowned to another uid before logout is not removed" || fail "a home chowned to another uid before logout is not removed"
like "$LOG" "tmphome $TH/alice is owned by uid 1501, recorded for 1500, asked for 1500: not removed" "... refused and logged"
rm -f "$LOG"
pamh -u alice -e XDG_SESSION_ID=f2 open >"$T"/res
like "$LOG" "tmphome $TH/alice: owned by uid 1501, not by alice: refused" "an existing home of another uid is refused at login"
rm -rf "${TH:?}"/alice; rm -f "$TH"/.polohook/alice

# --- a FIFO where the home should be ---------------------------------------------
rm -f "$LOG"
mkfifo "$TH"/frank
pamh -u frank open >"$T"/res
is "$(cat "$T"/res)" "open: Success" "a FIFO in the home's place does not hang or fail the default login"
like "$LOG" "tmphome $TH/frank: something that is not a directory is in its place: refused" "... refused and logged"
[ -p "$TH"/frank ] && pass "... and left as it was" || fail "... and left as it was"
rm -f "$TH"/frank
service statedir="$T"/state tmphome="$TH" skel="$T"/skel onerr=fail
mkfifo "$TH"/frank
pamh -u frank open >"$T"/res
is "$(cat "$T"/res)" "open: Cannot make/remove an entry for the specified session" "... under onerr=fail the login fails"
rm -f "$TH"/frank
service statedir="$T"/state tmphome="$TH" skel="$T"/skel umask=077

# --- the user still has processes at logout ---------------------------------------
rm -f "$LOG"
session alice g1 "setpriv --reuid=1500 --regid=1500 --clear-groups sleep 30 & echo \$! >>$T/pids; sh $T/as_alice \$!"
[ -d "$TH"/alice ] && pass "a home whose user still runs processes is kept" || fail "a home whose user still runs processes is kept"
like "$LOG" "tmphome $TH/alice: uid 1500 still has processes: left for polohookctl gc" "... and the log says why"
xargs -r kill <"$T"/pids 2>/dev/null; sleep 0.1
rm -rf "${TH:?}"/alice; rm -f "$TH"/.polohook/alice

# a process whose main thread has exited reads "State: Z" in
# /proc/PID/status while its other thread still works in the home
rm -f "$LOG" "$T"/pids
session alice g2 "setpriv --reuid=1500 --regid=1500 --clear-groups $B/t/leader-exit $TH/alice 30 & echo \$! >>$T/pids
	_w=0; while [ ! -e $TH/alice/leader-exited ] && [ \$_w -lt 200 ]; do sleep 0.05; _w=\$((_w+1)); done"
lp=$(cat "$T"/pids)
is "$(sed -n 's/^State:\t\(.\).*/\1/p' /proc/"$lp"/status 2>&1)" "Z" \
	"a process whose main thread exited, cwd in the home, shows State: Z"
[ -e "$TH"/alice/leader-exited ] && pass "... and its live thread keeps the home at the last logout" ||
	fail "... and its live thread keeps the home at the last logout"
like "$LOG" "tmphome $TH/alice: uid 1500 still has processes: left for polohookctl gc" "... and the log says why"
unlike "$LOG" "tmphome $TH/alice: removed" "... and does not say it was removed"
kill "$lp" 2>/dev/null; sleep 0.1
rm -rf "${TH:?}"/alice; rm -f "$TH"/.polohook/alice "$T"/pids

# --- the disk fills up while the home is copied from skel --------------------
rm -f "$LOG"
mkdir -m 0755 "$T"/small "$T"/bigskel
head -c 1048576 /dev/zero >"$T"/bigskel/big
cat >"$T"/full.sh <<EOS
set -e
mount -t tmpfs -o size=64k,mode=0755 polotest $T/small
LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group \
	$B/t/pamh -c $T/pam -l $LOG -u alice open >$T/res
ls -A $T/small >$T/small.ls
ls -A $T/small/.polohook >$T/small.reg
EOS
sed -i "s|^alice:.*|alice:x:1500:1500::$T/small/alice:/bin/sh|" "$T"/passwd
service statedir="$T"/state tmphome="$T"/small skel="$T"/bigskel
unshare -m --propagation private sh "$T"/full.sh
like "$LOG" "$T/small/alice/big: No space left on device" "a full disk while copying skel is reported"
is "$(cat "$T"/small.ls)" ".polohook" "... and no half-made home is left behind"
is "$(cat "$T"/small.reg)" "" "... nor a record of one"
sed -i "s|^alice:.*|alice:x:1500:1500::$TH/alice:/bin/sh|" "$T"/passwd
service statedir="$T"/state tmphome="$TH" skel="$T"/skel umask=077

# --- an unsafe tmphome root ----------------------------------------------------------
rm -f "$LOG"
chmod 0777 "$TH"
pamh -u bob open >"$T"/res
like "$LOG" "tmphome $TH refused: .*writable by group or others" "a world-writable tmphome root is refused"
[ -e "$TH"/bob ] && fail "... and nothing is made in it" || pass "... and nothing is made in it"
chmod 1777 "$TH"
rm -f "$LOG"
pamh -u bob open >/dev/null
like "$LOG" "tmphome $TH refused: writable by group or others" "... even with the sticky bit"
chmod 0755 "$TH"
done_testing
