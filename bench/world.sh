# shellcheck shell=sh
# bench/world.sh — sourced by pam.sh and hostsize.sh, inside their private
# mount namespace. Needs B (the build).
#
# world PREFIX: T becomes a fresh directory /tmp/PREFIX.XXXXXX with a tmpfs
# on it (every hook's path must be root-owned, not g/o-writable; and /run,
# where the module keeps its state by default, is a tmpfs on a usual
# system), removed on exit. T/dev is a /dev of our own whose /dev/log is
# the project's test sink (t/logsink.c, lines to T/syslog), bound over
# /dev: what every module logs costs a datagram, as with a syslog daemon,
# instead of a failed connect (or, for a module that asked for LOG_CONS, a
# write to the console).
world() {
	T=$(mktemp -d "/tmp/$1.XXXXXX")
	SINK=""
	trap world_cleanup EXIT
	trap 'exit 130' INT TERM HUP PIPE
	mount -t tmpfs -o mode=0755 polobench "$T"
	mkdir "$T/dev"
	for _d in null zero full random urandom tty; do
		touch "$T/dev/$_d"
		mount --bind "/dev/$_d" "$T/dev/$_d"
	done
	ln -s /proc/self/fd "$T/dev/fd"
	"$B/bench/logsink" "$T/dev/log" "$T/syslog" 7200 &
	SINK=$!
	_i=0
	while [ ! -S "$T/dev/log" ] && [ $_i -lt 100 ]; do
		sleep 0.02
		_i=$((_i + 1))
	done
	mount --rbind "$T/dev" /dev
}
world_cleanup() {
	set +e
	[ -z "$SINK" ] || { kill "$SINK" 2>/dev/null; wait "$SINK" 2>/dev/null; }
	# the mounts are this namespace's only: what matters is the directory
	umount -l "$T" 2>/dev/null
	rm -rf "${T:?}"
}

# The figures: pambench lines, one file $T/raw.CASE per case.
# field NAME: the value of NAME= in the lines on stdin
field() { sed -n "s/.*[[:space:]]$1=\([0-9.]*\).*/\1/p"; }
# med CASE FIELD: the median of the per-round values of FIELD for CASE
med() {
	field "$2" <"$T/raw.$1" | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# cell CASE: "median (p99)"
cell() { printf '%s (%s)' "$(med "$1" median_ms)" "$(med "$1" p99_ms)"; }
