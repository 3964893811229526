#!/bin/sh
# The module under valgrind, through every hook mode and failure path:
# no invalid access, no leak, no fd or child left. (valgrind 3.19 has no
# pidfd_open: this also exercises the waitpid(WNOHANG) fallback. An exec
# failure is left out: valgrind cannot survive a failed execve in a child.)
. "$(dirname "$0")/lib.sh"
command -v valgrind >/dev/null || { echo "1..0 # SKIP valgrind not installed"; exit 0; }
[ "${POLO_BUILD:-build}" != build-asan ] ||
	{ echo "1..0 # SKIP valgrind and ASan do not mix (POLO_BUILD=build-asan)"; exit 0; }
O=$T/out
printf '[hooks]\nbatch_timeout = 5\nbogus = 1\n' >"$T"/polo.conf
service timeout=1 debug unknownarg
hook added 10W-talks "echo W says hi; echo >&2 W err"
hook added 20W-fails "exit 4"
hook added 30W-gw "exit 0"
chmod 0775 "$T"/hooks/added/30W-gw
hook added 50D-det "echo det >$O/det"
hook added 60-batch "echo batch >$O/batch"
hook added x.dpkg-old "exit 0"
hook removed 10W-hangs "sleep 30 & echo \$! >>$T/pids; wait"
hook removed 20W-bye "echo bye >$O/bye"

# vg: three sessions of alice under valgrind; $rc, $T/res, $T/vg.errors
vg() {
	LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group \
		valgrind -q --leak-check=full \
		--errors-for-leak-kinds=definite,indirect,possible \
		--error-exitcode=99 "$B/t/pamh" -c "$T/pam" -l "$LOG" -u alice -F \
		-n 3 open close >"$T"/res 2>"$T"/vg
	rc=$?
	# valgrind 3.19 does not know pidfd_open: its warning is not ours
	grep -v -e 'unhandled amd64-linux syscall: 434' -e 'write your own handler' \
		-e README_MISSING_SYSCALL -e 'consider this a bug' \
		-e 'valgrind.org/support' "$T"/vg >"$T"/vg.errors
}
vg
is "$rc" 0 "valgrind reports no error and no leak (exit status)"
is "$(cat "$T"/vg.errors)" "" "valgrind printed nothing"
like "$T"/res '^fds: before ([0-9]+) after \1$' "no fd left open"
like "$T"/res '^cycles: 3, failed: 0$' "three sessions opened and closed"
like "$T"/res '^children: none$' "no child left"
like "$LOG" '10W-talks: W says hi' "the W hook ran and its output was logged"
like "$LOG" 'hook 20W-fails exited with status 4' "a failing hook was reported"
like "$LOG" 'hook 10W-hangs timed out after 1 s' "a hanging hook was timed out"
wait_for "$O"/det && wait_for "$O"/batch
is "$(cat "$O"/det) $(cat "$O"/batch) $(cat "$O"/bye)" "det batch bye" "D, batch and close hooks ran"
# tmphome creation and removal under valgrind (root: homes are chowned)
if is_root; then
	mkdir -m 0755 "$T"/th "$T"/skel "$T"/skel/d
	echo hi >"$T"/skel/d/f; ln -s /etc/shadow "$T"/skel/l
	sed -i "s|^alice:.*|alice:x:1500:1500::$T/th/alice:/bin/sh|" "$T"/passwd
	service tmphome="$T"/th skel="$T"/skel
	rm -f "$T"/hooks/added/* "$T"/hooks/removed/*
	vg
	is "$rc $(cat "$T"/vg.errors)" "0 " "tmphome made and removed three times: valgrind reports nothing"
	is "$(grep -c "tmphome $T/th/alice: removed" "$LOG")" 3 "... and the home was really made and removed each time"
	like "$T"/res '^fds: before ([0-9]+) after \1$' "... with no fd left open"
else
	skip "needs root: tmphome under valgrind"
	skip "needs root: tmphome under valgrind"
	skip "needs root: tmphome under valgrind"
fi
done_testing
