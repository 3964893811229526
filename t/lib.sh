# shellcheck shell=sh
# t/lib.sh — shared by the shell tests: TAP helpers and a throwaway PAM
# setup (service dir, hook tree, fake users) that touches nothing outside
# its own temporary directory.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
# POLO_BUILD (relative to the top, default build) selects the build under
# test: make check-asan runs the suite against build-asan.
B=$TOP/${POLO_BUILD:-build}
_n=0 _fail=0

pass() { _n=$((_n + 1)); echo "ok $_n - $*"; }
fail() { _n=$((_n + 1)); _fail=$((_fail + 1)); echo "not ok $_n - $*"; }
# is GOT WANT NAME
is() {
	if [ "$1" = "$2" ]; then pass "$3"; else
		fail "$3"; printf '#   got:      %s\n#   expected: %s\n' "$1" "$2"
	fi
}
# like FILE REGEX NAME: some line of FILE matches the extended regex
like() {
	if grep -Eq -- "$2" "$1" 2>/dev/null; then pass "$3"; else
		fail "$3"; echo "#   no line of $1 matches: $2"
		sed 's/^/#   | /' "$1" 2>/dev/null | head -20
	fi
}
unlike() {
	if grep -Eq -- "$2" "$1" 2>/dev/null; then
		fail "$3"; echo "#   a line of $1 matches: $2"
		grep -E -- "$2" "$1" | sed 's/^/#   | /' | head -5
	else pass "$3"; fi
}
skip() { _n=$((_n + 1)); echo "ok $_n # SKIP $*"; }
done_testing() { echo "1..$_n"; [ "$_fail" -eq 0 ]; exit $?; }
is_root() { [ "$(id -u)" -eq 0 ]; }
need_root() { is_root || { echo "1..0 # SKIP needs root"; exit 0; }; }
# need_cmds CMD...: the whole file is skipped unless every CMD is there
need_cmds() {
	for _c; do
		command -v "$_c" >/dev/null || { echo "1..0 # SKIP no $_c"; exit 0; }
	done
}

# A private world: $T/pam (service files), $T/hooks (hookdir), fake users
# alice (uid 1500) and bob (1501) with homes under $T/home, logs in $T/log.
# Every rm -r of a path built from a variable says ${VAR:?}: an empty one
# must stop the test, never turn "$O/*" into "/*".
T=$(mktemp -d /tmp/polotest.XXXXXX) || { echo "Bail out! mktemp -d failed"; exit 1; }
chmod 0755 "$T"
_cleanup() {
	[ -f "$T/pids" ] && xargs -r kill -9 <"$T/pids" 2>/dev/null
	rm -rf "${T:?}"
}
trap _cleanup EXIT
mkdir -p "$T/pam" "$T/hooks/added" "$T/hooks/removed" \
	"$T/hooks/scripts/start" "$T/hooks/scripts/stop" "$T/home/alice" \
	"$T/home/bob" "$T/out"
chmod 0777 "$T/out"	# hooks write here whatever uid the test runs as
echo "session required pam_deny.so" >"$T/pam/other"
cat >"$T/passwd" <<EOP
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
alice:x:1500:1500:Alice:$T/home/alice:/bin/sh
bob:x:1501:1501:Bob:$T/home/bob:/bin/sh
EOP
cat >"$T/group" <<EOG
root:x:0:
nogroup:x:65534:
alice:x:1500:
bob:x:1501:
EOG
NSSW=$(find /usr/lib /lib -name libnss_wrapper.so 2>/dev/null | head -n1)
LOG=$T/log

# service ARGS...: the polotest service, module by absolute path.
service() {
	echo "session required $B/pam_polohook.so hookdir=$T/hooks" \
		"conf=$T/polo.conf runner=$B/polohook-run statedir=$T/state $*" \
		>"$T/pam/polotest"
	[ -e "$T/polo.conf" ] || : >"$T/polo.conf"
}

# pamh ARGS...: the harness with the fake users; stdout is the result.
pamh() {
	LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group \
		timeout 60 "$B/t/pamh" -c "$T/pam" -l "$LOG" "$@"
}

# hook DIR NAME BODY: an executable sh hook (0755). BODY is shell code.
hook() {
	printf '#!/bin/sh\n%s\n' "$3" >"$T/hooks/$1/$2"
	chmod 0755 "$T/hooks/$1/$2"
}

# wait_for FILE [SECONDS]: a detached hook's output is there (bounded).
wait_for() {
	_i=0
	while [ ! -s "$1" ] && [ $_i -lt $((${2:-10} * 20)) ]; do
		sleep 0.05; _i=$((_i + 1))
	done
	[ -s "$1" ]
}

# with_syslog FILE CMD...: run CMD (root only) in a private mount namespace
# whose /dev/log is a logsink that appends every record to FILE; the sink
# ends with CMD. CMD's exit status is returned.
with_syslog() {
	_f=$1; shift
	mkdir -p "$T/sdev"
	cat >"$T/sdev.sh" <<'EOS'
set -e
f=$1 d=$2; shift 2
for n in null zero full random urandom tty; do
	touch "$d/$n"; mount --bind "/dev/$n" "$d/$n"
done
[ -e "$d/fd" ] || ln -s /proc/self/fd "$d/fd"
rm -f "$d/log"
"$B/t/logsink" "$d/log" "$f" 60 & sink=$!
i=0; while [ ! -S "$d/log" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done
mount --rbind "$d" /dev
set +e
"$@"; rc=$?
sleep 0.1
kill $sink
exit $rc
EOS
	B=$B unshare -m --propagation private sh "$T/sdev.sh" "$_f" "$T/sdev" "$@"
}
