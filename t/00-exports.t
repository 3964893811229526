#!/bin/sh
# pam_polohook.so as the linker left it: only the two PAM session entry
# points are exported (lib/ and inih stay inside), and it is linked with
# -z relro -z now (STYLE: hardening), so a PAM host maps it read-only
# after relocation. It imports no way to copy the host process: children
# are started with posix_spawn only (no fork in sshd or gdm, DESIGN.md).
so=$(dirname "$0")/../${POLO_BUILD:-build}/pam_polohook.so
n=0 failed=0

pass() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# is GOT WANT NAME
is() {
	if [ "$1" = "$2" ]; then pass "$3"; else
		fail "$3"
		printf '%s\n' "got:" "$1" "expected:" "$2" | sed 's/^/#   /'
	fi
}

if [ ! -f "$so" ]; then
	echo "1..0 # SKIP $so not built"
	exit 0
fi
for tool in nm readelf; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "1..0 # SKIP $tool not installed (binutils)"
		exit 0
	fi
done

# "VALUE TYPE NAME": every defined dynamic symbol, whatever its type
syms=$(LC_ALL=C nm -D --defined-only "$so" 2>&1) || fail "nm -D $so"
is "$(printf '%s\n' "$syms" | awk 'NF >= 3 && $3 !~ /^_/ { print $3 }' |
	LC_ALL=C sort)" "pam_sm_close_session
pam_sm_open_session" "exports exactly pam_sm_close_session and pam_sm_open_session"
is "$(printf '%s\n' "$syms" | awk '$3 ~ /^pam_sm_/ { print $2 }' | sort -u)" \
	"T" "both are functions in .text"

dyn=$(LC_ALL=C readelf -dW "$so" 2>&1)
if printf '%s\n' "$dyn" | grep -Eq '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*[[:space:]]NOW'; then
	pass "linked with -z now (BIND_NOW)"
else
	fail "linked with -z now (BIND_NOW)"
	printf '%s\n' "$dyn" | grep -i flags | sed 's/^/#   /'
fi

if LC_ALL=C readelf -lW "$so" 2>&1 | grep -q '^[[:space:]]*GNU_RELRO[[:space:]]'; then
	pass "linked with -z relro (GNU_RELRO segment)"
else
	fail "linked with -z relro (GNU_RELRO segment)"
fi

# "U NAME@VERSION": every symbol the module takes from elsewhere
undef=$(LC_ALL=C nm -D --undefined-only "$so" 2>&1) || fail "nm -D --undefined-only $so"
is "$(printf '%s\n' "$undef" | awk '{ sub(/@.*/, "", $NF); print $NF }' |
	grep -Ex '_?_?(fork|vfork|_Fork|clone|clone3|system|popen|daemon)' |
	LC_ALL=C sort | tr '\n' ' ')" "" \
	"imports no fork, vfork, clone, system, popen or daemon"

echo "1..$n"
[ "$failed" -eq 0 ]
