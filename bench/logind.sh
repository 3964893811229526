#!/bin/sh
# bench/logind.sh — table 6: on a real Debian 12 system (systemd as PID 1,
# logind, pam_systemd) with polohook installed from its packages, the time
# from the end of a guest's last session to the removal of its temporary
# home, with logind's defaults and with the kiosk's logind settings
# (examples/library-kiosk/logind-kiosk.conf). The removal is done by the
# drop-in on user-runtime-dir@.service (polohookctl gc --uid), not by a
# timer. Run by bench/run.sh, which sets TOP W and LOGIND_RUNS.
#
# The system is tools/debian-system.sh's container (booted with
# systemd-nspawn on an overlay of a cached debootstrap; removed on exit).
# The packages are build-deb/*.deb, made with `make deb` if missing.
set -eu

RUNS=${LOGIND_RUNS:-5}
for c in debootstrap systemd-nspawn nsenter; do
	command -v $c >/dev/null || { echo "logind.sh: no $c" >&2; exit 1; }
done
. "$TOP/tools/debian-system.sh"
set -- "$TOP"/build-deb/libpam-polohook_*.deb "$TOP"/build-deb/polohook-node_*.deb
if [ ! -f "$1" ] || [ ! -f "$2" ]; then
	make -s -C "$TOP" deb >&2
	set -- "$TOP"/build-deb/libpam-polohook_*.deb "$TOP"/build-deb/polohook-node_*.deb
fi
trap 'sys_teardown' EXIT
trap 'exit 130' INT TERM HUP PIPE

sys_rootfs
sys_create
sys_install "$@" || { cat "$R/install.log" >&2; exit 1; }
sys_offline env DEBIAN_FRONTEND=noninteractive pam-auth-update --enable polohook >/dev/null
sys_tmphome
sys_boot
SYSTEMD=$(c systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')

# measure MODE: RUNS logouts, one figure (ms) per line into $W/logind.MODE
measure() {
	: >"$W/logind.$1"
	_k=0
	while [ $_k -lt "$RUNS" ]; do
		_ms=$(sys_guest_logout_ms)
		[ "$_ms" != never ] || { echo "logind.sh: home never removed ($1)" >&2; exit 1; }
		echo "$_ms" >>"$W/logind.$1"
		_k=$((_k + 1))
	done
}
measure default
mkdir -p "$R/root/etc/systemd/logind.conf.d"
cp "$TOP/examples/library-kiosk/logind-kiosk.conf" \
	"$R/root/etc/systemd/logind.conf.d/kiosk.conf"
c systemctl restart systemd-logind
measure kiosk

# stat FILE: median min max of its lines
stat3() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f | %.2f | %.2f", m / 1000, v[1] / 1000, v[NR] / 1000 }'
}
{
	cat <<EOF
## Table 6: a temporary home after the last logout, under logind

Seconds from the end of a guest's \`su -l\` session (the last one) to the
removal of its temporary home, on a Debian 12 system booted in a
container (systemd $SYSTEMD as PID 1, logind, pam_systemd) with
polohook installed from its packages and the pam-auth-update profile
enabled. At the close the module finds \`systemd --user\` still running
and keeps the home; logind then stops the user, and the drop-in
\`user-runtime-dir@.service.d/polohook.conf\` runs \`polohookctl gc --uid\`,
which removes it. No gc timer runs. $RUNS logouts per row, measured from
the host by polling the home every 50 ms.

| logind settings | median s | min s | max s |
|---|---:|---:|---:|
| defaults (\`UserStopDelaySec=10s\`, \`KillUserProcesses=no\`) | $(stat3 "$W/logind.default") |
| kiosk (\`UserStopDelaySec=0\`, \`KillUserProcesses=yes\`) | $(stat3 "$W/logind.kiosk") |

Before the drop-in, the home stayed until \`polohook-gc.timer\` fired: up to
a minute with the kiosk example's timer, and never without one.
EOF
} >"$W/logind.md"
for m in default kiosk; do sed "s/^/$m: /" "$W/logind.$m"; done >"$W/logind.raw"
