#!/bin/sh
# D and batch hooks run in polohook-run, detached from the login: their
# output and their fate go to syslog (LOG_AUTHPRIV, tag "polohook").
# Needs root: /dev/log is replaced inside a private mount namespace by a
# socket this test listens on; the host's /dev is untouched.
. "$(dirname "$0")/lib.sh"
need_root
command -v unshare >/dev/null || { echo "1..0 # SKIP no unshare"; exit 0; }
O=$T/out
service timeout=5 batch_timeout=1
hook added 10-says "echo batch says hi; echo and bye >&2"
hook added 20-hangs "trap 'exit 0' TERM; sleep 30 & echo \$! >>$T/pids; wait"
hook added 30-last "echo last >$O/last"
hook added 40D-det "echo detached says hi; echo det >$O/det"

cat >$T/ns.sh <<EOS
set -e
mkdir $T/dev
for d in null zero full random urandom tty; do
	touch $T/dev/\$d; mount --bind /dev/\$d $T/dev/\$d
done
ln -s /proc/self/fd $T/dev/fd
$B/t/logsink $T/dev/log $T/syslog 20 & sink=\$!
while [ ! -S $T/dev/log ]; do sleep 0.01; done
mount --rbind $T/dev /dev
LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group \
	$B/t/pamh -c $T/pam -l $LOG -u alice open >$T/res
i=0; while [ ! -s $O/last ] || [ ! -s $O/det ] || \
	! grep -q 'hook 40D-det exited' $T/syslog; do
	sleep 0.05; i=\$((i+1)); [ \$i -lt 300 ] || break
done
sleep 0.2
kill \$sink
EOS
unshare -m --propagation private sh $T/ns.sh
is "$(cat $T/res)" "open: Success" "open succeeds"
like $T/syslog '^<86>.*polohook\[[0-9]+\]: 10-says: batch says hi$' \
	"batch hook stdout reaches syslog as authpriv.info, tagged with the hook name"
like $T/syslog 'polohook\[[0-9]+\]: 10-says: and bye$' "... and its stderr"
like $T/syslog 'polohook\[[0-9]+\]: hook 10-says exited with status 0$' "its exit is logged"
like $T/syslog 'polohook\[[0-9]+\]: hook 20-hangs timed out after 1 s, terminated with SIGTERM$' \
	"a batch hook is bounded by batch_timeout"
is "$(cat $O/last 2>/dev/null)" "last" "the batch goes on to the next hook after a timeout"
like $T/syslog 'polohook\[[0-9]+\]: 40D-det: detached says hi$' "D hook output reaches syslog"
unlike $LOG 'batch says hi' "nothing of the detached jobs is logged by the login process itself"
done_testing
