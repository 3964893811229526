# shellcheck shell=sh
# t/system/lib.sh: the system tests' part; the container itself is
# tools/debian-system.sh. Sourced by t/system/*.t after t/lib.sh.
#
#   sys_need              skip (TAP) unless root and the tools are there

. "$(dirname "$0")/../../tools/debian-system.sh"

sys_need() {
	is_root || { echo "1..0 # SKIP needs root (debootstrap, systemd-nspawn)"; exit 0; }
	for _c in debootstrap systemd-nspawn nsenter; do
		command -v $_c >/dev/null 2>&1 ||
			{ echo "1..0 # SKIP $_c is not installed (make check-system installs it)"; exit 0; }
	done
	if ! grep -qw overlay /proc/filesystems && ! modprobe overlay 2>/dev/null; then
		echo "1..0 # SKIP no overlay filesystem here"; exit 0
	fi
}

