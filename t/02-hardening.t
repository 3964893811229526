#!/bin/sh
# The programs and the module as built: every hardening-check line that
# the build controls says yes, and our code carries control-flow
# protection (-fcf-protection: IBT and shadow-stack markings, ENDBR64 at
# function entries) where the compiler has it.
#
# hardening-check's own "Control flow integrity" line stays "no" on
# Debian 12: the linker marks a program only if every object in it is
# marked, and glibc's startup files (Scrt1.o, crti.o, crtn.o) and
# libinih.a are not. Forcing the marking (-z ibt -z shstk) would claim
# what their code (no ENDBR64 in _init) does not have.
. "$(dirname "$0")/lib.sh"
need_cmds readelf objdump
[ -x "$B/hookd" ] || { echo "1..0 # SKIP $B/hookd not built"; exit 0; }
bins="pam_polohook.so polohook-run polohookctl hookd polo-mkhome"

if [ "${POLO_BUILD:-build}" = build-asan ]; then
	skip "the sanitizer build has no _FORTIFY_SOURCE (see the Makefile)"
elif ! command -v hardening-check >/dev/null; then
	skip "no hardening-check (devscripts)"
else
	for b in $bins; do
		hardening-check "$B/$b" >"$T/hc.$b" 2>&1
	done
	# every line but the two the linker inputs decide (see above)
	grep -hv -e '^[^ ]' -e 'Control flow integrity' -e 'Stack clash' \
		"$T"/hc.* | grep -v -e ': yes' -e '(ignored)' >"$T/hc.no"
	is "$(cat "$T/hc.no")" "" \
		"hardening-check: PIE, stack protector, fortify, RELRO, BIND_NOW are yes for all five"
fi

if "${CC:-cc}" -fcf-protection -E -x c /dev/null >/dev/null 2>&1; then
	: >"$T/unmarked"
	for o in "$B"/lib/*.o; do
		readelf -nW "$o" | grep -q 'x86 feature: IBT, SHSTK' ||
			echo "$o" >>"$T/unmarked"
	done
	is "$(cat "$T/unmarked")" "" "every object of lib/ is marked IBT and SHSTK (-fcf-protection)"
	for b in $bins; do
		n=$(objdump -d --no-show-raw-insn "$B/$b" |
			awk '/<hookd_priv_serve>:$|<pam_sm_open_session>:$|<main>:$/ { getline; print $2; exit }')
		is "$n" "endbr64" "$b: its entry function starts with ENDBR64"
	done
else
	skip "${CC:-cc} has no -fcf-protection"
fi
done_testing
