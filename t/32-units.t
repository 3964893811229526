#!/bin/sh
# The systemd units (systemd/) keep their sandbox: systemd-analyze security
# scores hookd.service at most 2.5 and polohook-gc.service at most 3.0,
# and parses every directive of both. hookd.service waits for the TLS files
# at the very paths hookd itself defaults to, and gives up after a few
# failed starts instead of restarting forever. Whether the units really
# run is shown in a booted Debian system (README, "Debian package").
. "$(dirname "$0")/lib.sh"
need_cmds systemd-analyze
if ! systemd-analyze security --offline=true "$TOP/systemd/polohook-gc.timer" \
	>/dev/null 2>&1; then
	echo "1..0 # SKIP systemd-analyze has no security --offline (systemd < 250)"
	exit 0
fi
# score UNIT: the overall exposure, e.g. 2.4; the parse messages in $T/err
score() {
	systemd-analyze security --offline=true "$TOP/systemd/$1" 2>"$T/err" |
		sed -n 's/^→ Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p'
}
# le A B: decimal A <= B
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 <= b + 0) }'; }

s=$(score hookd.service)
le "$s" 2.5
is "$?" 0 "hookd.service: exposure $s is at most 2.5"
unlike $T/err '.' "... and systemd parses every line of it"
s=$(score polohook-gc.service)
le "$s" 3.0
is "$?" 0 "polohook-gc.service: exposure $s is at most 3.0"
unlike $T/err '.' "... and systemd parses every line of it"

# The paths hookd reads when [tls] sets none: in the binary, and in the
# unit's conditions.
for f in ca.pem node.pem node.key; do
	strings "$B/hookd" | grep -qx "/etc/polohook/tls/$f"
	is "$?" 0 "hookd defaults to /etc/polohook/tls/$f"
	like "$TOP/systemd/hookd.service" "^ConditionPathExists=/etc/polohook/tls/$f$" \
		"... and hookd.service does not start without it"
done
like "$TOP/systemd/hookd.service" '^Restart=on-failure$' "hookd.service restarts a failed hookd"
like "$TOP/systemd/hookd.service" '^StartLimitBurst=[1-5]$' "... a few times only"
like "$TOP/systemd/hookd.service" '^StartLimitIntervalSec=[0-9]+$' "... within an interval"
# RestartSec times the burst must fit in the interval, or the limit is
# never reached and a hookd that cannot start restarts forever.
awk -F= '/^RestartSec=/ { r = $2 } /^StartLimitBurst=/ { b = $2 }
	/^StartLimitIntervalSec=/ { i = $2 }
	END { exit !(r * b < i) }' "$TOP/systemd/hookd.service"
is "$?" 0 "... and the burst fits in the interval"
done_testing
