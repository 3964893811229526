#!/bin/sh
# bench/run.sh — make bench: polohook against its peers, written to
# bench/RESULTS.md with the machine, the date and the versions.
#
#   sh bench/run.sh              (as root; ~10-15 minutes)
#   QUICK=1 sh bench/run.sh      (small N, one round: a try, ~2 minutes)
#   PARTS="pam" sh bench/run.sh  (some tables only: pam cluster load hostsize logind)
#
# Tables (each part is a script of its own, run in turn):
#   1  session open+close latency                     bench/pam.sh
#   2  cluster fan-out, 1 to 32 nodes                 bench/cluster.sh
#   3  hookd under load                               bench/load.sh
#   4  memory: the module in the harness (pam.sh), hookd idle (load.sh)
#   5  D and batch starts in hosts of 20 MB to 1 GB,
#      before/after the runner was started without a fork  bench/hostsize.sh
#   6  tmphome removal after logout under logind        bench/logind.sh
#
# Sizes, each overridable from the environment (QUICK=1 values in
# brackets): N1=1000 [100] pairs per 1-hook case, N10=500 [100] per
# 10-hook case, WARMUP=50 [10], ROUNDS=3 [1]; CL_SIZES="1 4 16 32",
# CL_RUNS=10 [3]; LOAD_EXISTS=2000 [300], LOAD_CREATE=500 [100],
# LOAD_ROUNDS=3 [1]; HS_SIZES="20 200 1024" (MiB), HS_N=100 [30] pairs per
# cell, HS_BASE=d29ebd6 (the "before" of table 5: the last commit whose
# module forked the host for a detached start); LOGIND_RUNS=5 [2]. OUT=
# where to write (default bench/RESULTS.md).
#
# Nothing under /etc is written (the only package step, bench/deps.sh,
# installs libpam-script if missing and disables its system-wide profile
# at once). Every part cleans up after itself — processes, network
# namespaces, mounts, temporary directories — also on Ctrl-C.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
case ${POLO_BUILD:-build} in
/*) B=${POLO_BUILD} ;;
*) B=$TOP/${POLO_BUILD:-build} ;;
esac
OUT=${OUT:-$TOP/bench/RESULTS.md}
if [ "${QUICK:-0}" = 1 ]; then
	: "${N1:=100}" "${N10:=100}" "${WARMUP:=10}" "${ROUNDS:=1}"
	: "${CL_RUNS:=3}" "${LOAD_EXISTS:=300}" "${LOAD_CREATE:=100}"
	: "${LOAD_ROUNDS:=1}" "${HS_N:=30}" "${LOGIND_RUNS:=2}"
else
	: "${N1:=1000}" "${N10:=500}" "${WARMUP:=50}" "${ROUNDS:=3}"
	: "${CL_RUNS:=10}" "${LOAD_EXISTS:=2000}" "${LOAD_CREATE:=500}"
	: "${LOAD_ROUNDS:=3}" "${HS_N:=100}" "${LOGIND_RUNS:=5}"
fi
: "${CL_SIZES:=1 4 16 32}" "${LOAD_KS:=1 8 64}"
: "${HS_SIZES:=20 200 1024}" "${HS_BASE:=d29ebd6}"
PARTS=${PARTS:-pam cluster load hostsize logind}
export TOP B N1 N10 WARMUP ROUNDS CL_SIZES CL_RUNS LOAD_EXISTS LOAD_CREATE \
	LOAD_ROUNDS LOAD_KS HS_SIZES HS_N HS_BASE LOGIND_RUNS

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: run as root (hooks must be root-owned, as in production;" \
		"the cluster needs network namespaces)" >&2
	exit 1
fi
sh "$TOP/bench/deps.sh"

# Build: the project, then the benchmark programs.
make -s -C "$TOP" POLO_BUILD="$B" all
mkdir -p "$B/bench"
CC=${CC:-cc}
BWARN="-std=gnu11 -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes
-Wmissing-prototypes -Wwrite-strings -Wvla -Wnull-dereference
-Wimplicit-fallthrough -O2 -D_GNU_SOURCE"
# shellcheck disable=SC2086 # BWARN is a word list
{
	$CC $BWARN -o "$B/bench/pambench" "$TOP/bench/pambench.c" -lpam
	$CC $BWARN -fPIC -shared -o "$B/bench/pamfloor.so" \
		"$TOP/bench/pamfloor.c" -lpam
	$CC $BWARN -o "$B/bench/logsink" "$TOP/t/logsink.c"
	$CC $BWARN -iquote "$TOP/lib" -o "$B/bench/hookload" \
		"$TOP/bench/hookload.c" "$B/libpolohook.a" -l:libinih.a \
		-ljansson -lssl -lcrypto -lresolv -lpthread
}

W=$(mktemp -d /tmp/polobench-run.XXXXXX)
export W
trap 'rm -rf "${W:?}"' EXIT
trap 'exit 130' INT TERM HUP PIPE

START=$(date +%s)
for p in $PARTS; do
	case $p in
	pam | cluster | load | hostsize | logind) ;;
	*) echo "run.sh: unknown part $p (pam cluster load hostsize logind)" >&2; exit 2 ;;
	esac
	echo "run.sh: part $p" >&2
	sh "$TOP/bench/$p.sh"
done
ELAPSED=$(( $(date +%s) - START ))

# --- the machine and the versions -------------------------------------------
CPU=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)
MEM=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
GCC=$($CC --version | head -n1)
ver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo unknown; }
COMMIT=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$TOP" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	COMMIT="$COMMIT (working tree has uncommitted changes)"
fi
# shellcheck disable=SC3045 # dash, bash and busybox sh all have ulimit -n
NOFILE=$(ulimit -n 2>/dev/null || echo unknown)
if [ "${QUICK:-0}" = 1 ]; then
	KIND="a quick run (\`QUICK=1\`: small N, one round — for trying the
bench, not for quoting)"
else
	KIND="a full run"
fi
has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

{
	cat <<EOF
# polohook benchmarks

Produced by \`make bench\` (bench/run.sh and the scripts it runs); do not
edit by hand. This is $KIND, parts: $PARTS; it took $ELAPSED s.

## Machine

- $(uname -srm)
- CPU: $CPU, $(nproc) online CPU(s)
- Memory: $MEM
- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Compiler: $GCC
- Linux-PAM (libpam0g) $(ver libpam0g), libpam-script $(ver libpam-script),
  OpenSSL (libssl3) $(ver libssl3), jansson $(ver libjansson4), nss_wrapper
  $(ver libnss-wrapper)
- polohook commit: $COMMIT
- Open-file limit (\`ulimit -n\`) of the benchmark: $NOFILE
- Sizes: N1=$N1 N10=$N10 WARMUP=$WARMUP ROUNDS=$ROUNDS; CL_SIZES="$CL_SIZES"
  CL_RUNS=$CL_RUNS; LOAD_KS="$LOAD_KS" LOAD_EXISTS=$LOAD_EXISTS
  LOAD_CREATE=$LOAD_CREATE LOAD_ROUNDS=$LOAD_ROUNDS; HS_SIZES="$HS_SIZES"
  HS_N=$HS_N HS_BASE=$HS_BASE; LOGIND_RUNS=$LOGIND_RUNS

Ratios are computed from figures of this same run. Timings are never
asserted by the tests; other processes on the machine move them by ~10%.
Where polohook is behind a peer or far from the floor, the section "Where
polohook is behind, and why" (bench/NOTES.md, after the last table) says what
profiling found.

EOF
	for p in pam cluster load; do
		has $p && { cat "$W/$p.md"; echo; }
	done
	if has pam || has load; then
		cat <<EOF
## Table 4: memory

EOF
	fi
	if has pam; then
		cat <<EOF
### The module in the harness

pambench's own VmHWM (peak) and VmRSS (after the last pair) from
/proc/self/status, and the resident part of its stack (\`[stack]\` in
/proc/self/smaps), after the warm-up and timed pairs of table 1 (median
over the rounds), against the same harness with \`pam_permit\` only: what
loading the module and running its sessions adds to a process that runs
PAM sessions. The module is unloaded at each \`pam_end\`: what the
"after" column still shows is heap the C library keeps for reuse and
stack pages the module's frames touched, which stay resident in the host
process (sshd, login) for its lifetime; the peak is what a login costs
while it runs. Differences of ±100 kB are within the noise of the
allocator's layout.

EOF
		cat "$W/mem-pam.md"
		echo
	fi
	if has load; then
		cat <<EOF
### hookd

hookd's processes (the monitor, root, and the worker, \`nobody\`; no
connection process while idle) from /proc: summed VmRSS (shared pages
counted in each process), summed private resident memory (resident minus
shared pages of \`/proc/PID/statm\`), summed Pss (\`smaps_rollup\`, shared
pages divided among the processes that map them, so it moves with
whatever else on the machine maps the same libraries) and open fds, in
the setup of table 3; against the floor server of table 3, idle.

| process(es) | VmRSS kB (summed) | private kB | Pss kB | fds |
|---|---:|---:|---:|---:|
EOF
		cat "$W/mem-hookd.md"
		echo
		cat "$W/mem-hookd.txt"
		echo
	fi
	if has hostsize; then
		cat "$W/hostsize.md"
		echo
	fi
	if has logind; then
		cat "$W/logind.md"
		echo
	fi
	if [ -f "$TOP/bench/NOTES.md" ]; then
		cat "$TOP/bench/NOTES.md"
		echo
	fi
	echo "## Raw figures"
	echo
	echo "Every measurement line, in the order made (pambench resp. hookload output)."
	for p in pam cluster load hostsize logind; do
		has $p || continue
		printf '\n```\n'
		cat "$W/$p.raw"
		printf '```\n'
	done
} >"$W/RESULTS.md"
mv -f "$W/RESULTS.md" "$OUT"
echo "wrote $OUT" >&2
