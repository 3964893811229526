#!/bin/sh
# make install lays out the tree DESIGN.md lists, as non-root too, and
# never overwrites an administrator's config; make uninstall removes what
# install put there and nothing of the administrator's.
. "$(dirname "$0")/lib.sh"
D=$T/dest
SEC=/usr/lib/security
make -s -C "$TOP" install DESTDIR="$D" PREFIX=/usr SECUREDIR=$SEC >"$T"/make.out 2>&1
is "$?" 0 "make install with DESTDIR succeeds as $(id -un)"
mode() { stat -c %a "$1" 2>/dev/null; }
is "$(mode "$D"$SEC/pam_polohook.so)" 644 "pam_polohook.so installed 0644 in SECUREDIR"
is "$(mode "$D"/usr/libexec/polohook/polohook-run)" 755 "polohook-run installed 0755 in libexec/polohook"
is "$(mode "$D"/usr/sbin/polohookctl)" 755 "polohookctl installed 0755 in sbin"
is "$(mode "$D"/usr/sbin/hookd)" 755 "hookd installed 0755 in sbin"
is "$(mode "$D"/usr/libexec/polohook/polo-mkhome)" 755 "polo-mkhome installed 0755 in libexec/polohook"
is "$(readlink "$D"/etc/session.d/added/10W-polo-mkhome)" "/usr/libexec/polohook/polo-mkhome" \
	"the built-in hook is linked as added/10W-polo-mkhome"
for m in man8/hookd.8 man8/polo-mkhome.8; do
	is "$(mode "$D"/usr/share/man/$m)" 644 "$m installed"
done
is "$(mode "$D"/usr/share/man/man8/polohookctl.8)" 644 "polohookctl(8) installed"
for d in added removed scripts/start scripts/stop; do
	is "$(mode "$D"/etc/session.d/$d)" 755 "/etc/session.d/$d exists (0755)"
done
is "$(mode "$D"/etc/session.d/session-scripts.conf)" 644 "session-scripts.conf installed 0644"
is "$(mode "$D"/usr/share/man/man8/pam_polohook.8)" 644 "pam_polohook(8) installed"
is "$(mode "$D"/usr/share/man/man5/session-scripts.conf.5)" 644 "session-scripts.conf(5) installed"
is "$(mode "$D"/usr/share/man/man5/session.d.5)" 644 "session.d(5) installed"
"$B/t/01-module" "$D$SEC/pam_polohook.so" >"$T"/dl.out 2>&1
like "$T"/dl.out '^ok ' "the installed module loads with dlopen(RTLD_NOW)"
unlike "$T"/dl.out '^not ok' "... and exports what it should"
strings "$D$SEC/pam_polohook.so" | grep -q '^/usr/libexec/polohook/polohook-run$'
is "$?" 0 "the module looks for polohook-run where it was installed"

# The systemd units (systemd/), the logind drop-in and the tmpfiles.d entry.
U=$D/usr/lib/systemd/system
for u in hookd.service polohook-gc.service polohook-gc.timer \
	user-runtime-dir@.service.d/polohook.conf; do
	is "$(mode "$U/$u")" 644 "unit $u installed 0644 in UNITDIR"
done
like $U/hookd.service '^ExecStart=/usr/sbin/hookd -c /etc/session.d/session-scripts.conf -f$' \
	"hookd.service starts the installed hookd with the installed config"
like $U/polohook-gc.service '^ExecStart=/usr/sbin/polohookctl -q gc$' \
	"polohook-gc.service runs the installed polohookctl"
like $U/user-runtime-dir@.service.d/polohook.conf '/usr/sbin/polohookctl -q gc --uid' \
	"the drop-in runs the installed polohookctl"
like $D/usr/lib/tmpfiles.d/polohook.conf '^d /run/session.d 0700 root root -$' \
	"tmpfiles.d makes the state directory root-only at boot"
# Elsewhere, the units name the programs and the config where they went.
D2=$T/dest-local
make -s -C "$TOP" install DESTDIR="$D2" PREFIX=/usr/local SYSCONFDIR=/usr/local/etc \
	SECUREDIR=$SEC >$T/make.out 2>&1
is "$?" 0 "make install with PREFIX=/usr/local SYSCONFDIR=/usr/local/etc"
like $D2/usr/local/lib/systemd/system/hookd.service \
	'^ExecStart=/usr/local/sbin/hookd -c /usr/local/etc/session.d/session-scripts.conf -f$' \
	"... hookd.service names /usr/local/sbin/hookd and its config there"
like $D2/usr/local/lib/systemd/system/user-runtime-dir@.service.d/polohook.conf \
	'/usr/local/sbin/polohookctl -q gc --uid' "... and so does the drop-in"

echo '[hooks]
timeout = 7' >"$D"/etc/session.d/session-scripts.conf
make -s -C "$TOP" install DESTDIR="$D" PREFIX=/usr SECUREDIR=$SEC >"$T"/make.out 2>&1
like "$D"/etc/session.d/session-scripts.conf '^timeout = 7$' "a second install keeps the admin's config"

# The admin adds a hook of their own, then uninstalls.
printf '#!/bin/sh\nlogger "$PAM_USER"\n' >"$D"/etc/session.d/scripts/start/audit
chmod 0755 "$D"/etc/session.d/scripts/start/audit
ln -s ../scripts/start/audit "$D"/etc/session.d/added/90-audit
uninstall() {
	make -s -C "$TOP" uninstall DESTDIR="$D" PREFIX=/usr SECUREDIR=$SEC \
		>"$T"/make.out 2>&1
}
# left: every file and link under $D, one per line, sorted
left() { (cd "$D" && find . ! -type d | LC_ALL=C sort | tr '\n' ' '); }
uninstall
is "$?" 0 "make uninstall with the same DESTDIR succeeds"
is "$(left)" "./etc/session.d/added/90-audit ./etc/session.d/scripts/start/audit ./etc/session.d/session-scripts.conf " \
	"only the admin's edited config and added hook are left"
like "$D"/etc/session.d/session-scripts.conf '^timeout = 7$' "... the config as the admin left it"
is "$(readlink "$D"/etc/session.d/added/90-audit)" ../scripts/start/audit "... the hook's link untouched"
for d in added removed scripts/start scripts/stop; do
	is "$(mode "$D"/etc/session.d/$d)" 755 "/etc/session.d/$d is kept"
done
test -e "$D"/usr/libexec/polohook
is "$?" 1 "the empty libexec/polohook is removed"
uninstall
is "$?" 0 "a second uninstall succeeds and changes nothing"
is "$(left)" "./etc/session.d/added/90-audit ./etc/session.d/scripts/start/audit ./etc/session.d/session-scripts.conf " \
	"... the admin's files still there"

# The admin replaced the built-in hook's link: by a file of their own, or
# by a link elsewhere. Neither is ours to remove; nor is an edited README.
l=$D/etc/session.d/added/10W-polo-mkhome
for kind in file link; do
	make -s -C "$TOP" install DESTDIR="$D" PREFIX=/usr SECUREDIR=$SEC >"$T"/make.out 2>&1
	rm -f "$l"
	if [ $kind = file ]; then
		printf '#!/bin/sh\nexit 0\n' >"$l"
		chmod 0755 "$l"
		echo "# site notes" >>"$D"/etc/session.d/README
	else
		ln -s /usr/local/sbin/site-mkhome "$l"
	fi
	uninstall
	is "$?" 0 "make uninstall with 10W-polo-mkhome replaced by the admin's $kind"
	if [ $kind = file ]; then
		test -f "$l" && ! test -L "$l" && grep -q '^exit 0$' "$l"
		is "$?" 0 "... the admin's file 10W-polo-mkhome is kept"
		like "$D"/etc/session.d/README '^# site notes$' "... and the README the admin edited"
	else
		is "$(readlink "$l")" /usr/local/sbin/site-mkhome \
			"... the admin's link 10W-polo-mkhome is kept"
	fi
	test -e "$D"/usr/sbin/hookd || test -e "$D"$SEC/pam_polohook.so
	is "$?" 1 "... and ours are gone"
done
done_testing
