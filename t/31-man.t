#!/bin/sh
# Every man page renders cleanly: MANWIDTH=80 man --warnings -l PAGE prints
# nothing on stderr (groff's warnings, a macro error, a line it cannot
# break) and exits 0. One TAP line per page; a skip without man-db.
. "$(dirname "$0")/lib.sh"
if ! command -v man >/dev/null 2>&1 || ! man --version >/dev/null 2>&1; then
	echo "1..0 # SKIP man (man-db) is not installed"
	exit 0
fi
pages=0
for f in "$TOP"/man/*.[0-9]; do
	[ -f "$f" ] || continue
	pages=$((pages + 1))
	MANWIDTH=80 man --warnings -l "$f" >/dev/null 2>"$T/err"
	rc=$?
	if [ "$rc" -eq 0 ] && [ ! -s "$T/err" ]; then
		pass "man/${f##*/} renders without a warning"
	else
		fail "man/${f##*/} renders without a warning (exit $rc)"
		sed 's/^/#   | /' "$T/err" | head -20
	fi
done
[ "$pages" -gt 0 ] || fail "man/ holds man pages"
done_testing
