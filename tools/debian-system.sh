# shellcheck shell=sh
# tools/debian-system.sh: a real Debian 12 system (systemd as PID 1,
# logind, pam_systemd, sshd) booted in a container, for the system tests
# (t/system/) and the logind benchmark (bench/logind.sh). Sourced; the
# caller is root and has debootstrap, systemd-nspawn and nsenter.
#
#   sys_rootfs            the cached, prepared rootfs (made when missing)
#   sys_create            a private overlay of it for this run, in $R/root
#   sys_offline CMD...    run CMD in the unbooted root (host network: apt)
#   sys_boot              boot it (private network); sets CPID
#   c CMD...              run CMD inside the booted system, as root
#   c_wait SECONDS CMD... until CMD succeeds inside (bounded)
#   sys_teardown          power off, unmount, remove $R (for an EXIT trap)
#   sys_install DEB...    apt install the packages (unbooted); log in $R
#   sys_tmphome           /tmphome and the tmphome config (booted or not)
#   sys_guest_logout_ms   (booted) a su -l session of guest, then the ms
#                         from its end to the removal of /tmphome/guest
#
# The rootfs is cached under $POLO_SYS_CACHE (default
# /var/cache/polohook-systest): base/ is a debootstrap of bookworm from the
# host's own mirror (~2 min, once), prep-HASH/ a copy with what the tests
# need inside; each run writes only to its overlay's upper layer, so the
# cache is never changed by a run. Nothing is left behind: no container,
# mount or process.

SYS_CACHE=${POLO_SYS_CACHE:-/var/cache/polohook-systest}
# What every run needs inside, beyond the base (the packages' own
# dependencies are pulled in by apt from the .debs).
SYS_PKGS="openssl libjansson4 ca-certificates"
SYS_BASE_PKGS="systemd,systemd-sysv,dbus,libpam-systemd,openssh-server,openssh-client,iproute2,procps,python3"
R=
CPID=
NSPAWN_PID=

_sys_mirror() {
	awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null ||
		true
}

# The base: debootstrap once, into base.tmp, then renamed (a run cut short
# leaves no half rootfs that looks done).
_sys_base() {
	[ -d "$SYS_CACHE/base/etc" ] && return 0
	_m=$(_sys_mirror)
	[ -n "$_m" ] || _m=$(sed -n 's/^deb \([^ ]*\) bookworm .*/\1/p' /etc/apt/sources.list 2>/dev/null | head -n1)
	[ -n "$_m" ] || { echo "# no Debian mirror in the host's apt sources" >&2; return 1; }
	rm -rf "$SYS_CACHE/base.tmp"
	echo "# debootstrap bookworm from the host's mirror (once, ~2 min)" >&2
	debootstrap --variant=minbase --include="$SYS_BASE_PKGS" bookworm \
		"$SYS_CACHE/base.tmp" "$_m" >"$SYS_CACHE/debootstrap.log" 2>&1 ||
		{ echo "# debootstrap failed: see $SYS_CACHE/debootstrap.log" >&2; return 1; }
	_b=$SYS_CACHE/base.tmp
	echo polotest >"$_b/etc/hostname"
	printf '127.0.0.1 localhost polotest\n::1 localhost\n' >"$_b/etc/hosts"
	: >"$_b/etc/machine-id"
	rm -f "$_b/etc/apt/sources.list"
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		cp /etc/apt/sources.list.d/debian.sources "$_b/etc/apt/sources.list.d/"
	else
		cp /etc/apt/sources.list "$_b/etc/apt/sources.list"
	fi
	mv "$_b" "$SYS_CACHE/base"
}

# prep-HASH: the base plus SYS_PKGS, test users and an ssh key; HASH names
# what made it, so a change here makes a new one (older ones are removed).
_sys_prep_script() {
	cat <<EOS
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $SYS_PKGS >/dev/null
apt-get clean
# alice, bob: ordinary users with homes; guest: a kiosk user whose home is
# made at login (tmphome); carol: a cluster user whose home hookd makes
useradd -m -u 1001 -s /bin/sh alice
useradd -m -u 1002 -s /bin/sh bob
useradd -M -u 1003 -d /tmphome/guest -s /bin/sh guest
useradd -M -u 1004 -d /home/carol -s /bin/sh carol
mkdir -p -m 0700 /root/.ssh
ssh-keygen -q -t ed25519 -N '' -C polohook-systest-fixture -f /root/.ssh/id_test
for u in alice bob; do
	install -d -m 0700 -o \$u -g \$u /home/\$u/.ssh
	install -m 0600 -o \$u -g \$u /root/.ssh/id_test.pub /home/\$u/.ssh/authorized_keys
done
EOS
}

sys_rootfs() {
	mkdir -p "$SYS_CACHE"
	exec 8>"$SYS_CACHE/lock"
	flock 8
	_sys_base || { flock -u 8; return 1; }
	_h=$(_sys_prep_script | md5sum | cut -c1-12)
	SYS_PREP=$SYS_CACHE/prep-$_h
	if [ ! -d "$SYS_PREP/etc" ]; then
		for _o in "$SYS_CACHE"/prep-*; do
			[ -d "$_o" ] && rm -rf --one-file-system "$_o"
		done
		echo "# preparing the rootfs (packages, users; once)" >&2
		rm -rf "$SYS_CACHE/prep.tmp"
		cp -a "$SYS_CACHE/base" "$SYS_CACHE/prep.tmp"
		_sys_prep_script >"$SYS_CACHE/prep.tmp/root/prep.sh"
		systemd-nspawn -q -D "$SYS_CACHE/prep.tmp" --register=no --keep-unit \
			sh /root/prep.sh >"$SYS_CACHE/prep.log" 2>&1 ||
			{ echo "# preparing failed: see $SYS_CACHE/prep.log" >&2; flock -u 8; return 1; }
		rm -f "$SYS_CACHE/prep.tmp/root/prep.sh"
		mv "$SYS_CACHE/prep.tmp" "$SYS_PREP"
	fi
	flock -u 8
	exec 8>&-
}

sys_create() {
	R=$(mktemp -d /var/tmp/polohook-sys.XXXXXX)
	mkdir "$R/upper" "$R/work" "$R/root"
	mount -t overlay polohook-sys -o "lowerdir=$SYS_PREP,upperdir=$R/upper,workdir=$R/work" \
		"$R/root"
}

sys_offline() {
	systemd-nspawn -q -D "$R/root" --register=no --keep-unit "$@"
}

# sys_boot: boot, wait until systemd says running (or degraded: listed).
sys_boot() {
	SYS_MACHINE=polosys$$
	setsid systemd-nspawn -q -D "$R/root" -b --register=no --keep-unit \
		--private-network --machine="$SYS_MACHINE" \
		>"$R/console.log" 2>&1 </dev/null &
	NSPAWN_PID=$!
	_i=0
	while [ $_i -lt 300 ]; do
		CPID=$(pgrep -P "$NSPAWN_PID" 2>/dev/null | head -n1)
		[ -n "$CPID" ] && [ "$(cat /proc/"$CPID"/comm 2>/dev/null)" = systemd ] && break
		CPID=
		sleep 0.1; _i=$((_i + 1))
	done
	[ -n "$CPID" ] || return 1
	_i=0
	while [ $_i -lt 600 ]; do
		case $(c systemctl is-system-running 2>/dev/null) in
		running) return 0 ;;
		degraded) c systemctl --failed --no-legend >&2; return 0 ;;
		esac
		sleep 0.1; _i=$((_i + 1))
	done
	return 1
}

# c CMD...: inside the booted system, as root, with a clean environment;
# outside any login session (log in with ssh or su -l for one).
c() {
	nsenter -t "$CPID" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM=dumb "$@"
}

# c_wait SECONDS CMD...: until CMD succeeds inside (bounded).
c_wait() {
	_cw=$(($1 * 10)); shift
	while [ "$_cw" -gt 0 ]; do
		c "$@" >/dev/null 2>&1 && return 0
		sleep 0.1; _cw=$((_cw - 1))
	done
	return 1
}

sys_install() {
	mkdir -p "$R/root/mnt/debs" && cp "$@" "$R/root/mnt/debs/" &&
	sys_offline sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends /mnt/debs/*.deb' >"$R/install.log" 2>&1
}

sys_tmphome() {
	mkdir -m 0755 "$R/root/tmphome" &&
	printf '\n[home]\ntmphome = /tmphome\numask = 077\n' \
		>>"$R/root/etc/session.d/session-scripts.conf"
}

# What the session saw of its home goes to $R/in-session. "never" if the
# home is still there 60 s after the logout.
sys_guest_logout_ms() {
	c su -l guest -c 'stat -c "%U %a" ~; echo made >~/file' >"$R/in-session"
	_t0=$(date +%s%N)
	_gi=0
	while [ -e "$R/root/tmphome/guest" ] && [ $_gi -lt 600 ]; do
		sleep 0.05; _gi=$((_gi + 1))
	done
	[ -e "$R/root/tmphome/guest" ] && { echo never; return; }
	echo $(( ($(date +%s%N) - _t0) / 1000000 ))
}

sys_teardown() {
	# callers may run under set -e: nothing here may fail the trap
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		[ -z "$CPID" ] || c systemctl poweroff >/dev/null 2>&1 || :
		_i=0
		while kill -0 "$NSPAWN_PID" 2>/dev/null && [ $_i -lt 200 ]; do
			sleep 0.1; _i=$((_i + 1))
		done
		kill -9 "$NSPAWN_PID" 2>/dev/null || :
		wait "$NSPAWN_PID" 2>/dev/null || :
	fi
	NSPAWN_PID=
	if [ -n "$R" ]; then
		if mountpoint -q "$R/root"; then umount "$R/root" || :; fi
		# never remove through a mount that is still there
		if ! mountpoint -q "$R/root"; then rm -rf --one-file-system "$R"; fi
	fi
	R=
}
