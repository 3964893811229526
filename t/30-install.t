#!/bin/sh
# make install lays out the tree DESIGN.md lists, as non-root too, and
# never overwrites an administrator's config.
. "$(dirname "$0")/lib.sh"
D=$T/dest
SEC=/usr/lib/security
make -s -C "$TOP" install DESTDIR="$D" PREFIX=/usr SECUREDIR=$SEC >$T/make.out 2>&1
is "$?" 0 "make install with DESTDIR succeeds as $(id -un)"
mode() { stat -c %a "$1" 2>/dev/null; }
is "$(mode $D$SEC/pam_polohook.so)" 644 "pam_polohook.so installed 0644 in SECUREDIR"
is "$(mode $D/usr/libexec/polohook/polohook-run)" 755 "polohook-run installed 0755 in libexec/polohook"
is "$(mode $D/usr/sbin/polohookctl)" 755 "polohookctl installed 0755 in sbin"
is "$(mode $D/usr/sbin/hookd)" 755 "hookd installed 0755 in sbin"
is "$(mode $D/usr/libexec/polohook/polo-mkhome)" 755 "polo-mkhome installed 0755 in libexec/polohook"
is "$(readlink $D/etc/session.d/added/10W-polo-mkhome)" "/usr/libexec/polohook/polo-mkhome" \
	"the built-in hook is linked as added/10W-polo-mkhome"
for m in man8/hookd.8 man8/polo-mkhome.8; do
	is "$(mode $D/usr/share/man/$m)" 644 "$m installed"
done
is "$(mode $D/usr/share/man/man8/polohookctl.8)" 644 "polohookctl(8) installed"
for d in added removed scripts/start scripts/stop; do
	is "$(mode $D/etc/session.d/$d)" 755 "/etc/session.d/$d exists (0755)"
done
is "$(mode $D/etc/session.d/session-scripts.conf)" 644 "session-scripts.conf installed 0644"
is "$(mode $D/usr/share/man/man8/pam_polohook.8)" 644 "pam_polohook(8) installed"
is "$(mode $D/usr/share/man/man5/session-scripts.conf.5)" 644 "session-scripts.conf(5) installed"
"$B/t/01-module" "$D$SEC/pam_polohook.so" >$T/dl.out 2>&1
like $T/dl.out '^ok ' "the installed module loads with dlopen(RTLD_NOW)"
unlike $T/dl.out '^not ok' "... and exports what it should"
strings "$D$SEC/pam_polohook.so" | grep -q '^/usr/libexec/polohook/polohook-run$'
is "$?" 0 "the module looks for polohook-run where it was installed"

echo '[hooks]
timeout = 7' >$D/etc/session.d/session-scripts.conf
make -s -C "$TOP" install DESTDIR="$D" PREFIX=/usr SECUREDIR=$SEC >$T/make.out 2>&1
like $D/etc/session.d/session-scripts.conf '^timeout = 7$' "a second install keeps the admin's config"
done_testing
