#!/bin/sh
# bench/pam.sh — table 1 (session open+close latency: no hooks, 1 waited
# hook, 10 waited, 10 batch, 10 detached; pam_polohook against pam_exec,
# pam_script and the floor) and the module rows of table 4 (memory).
# Run by bench/run.sh, which sets:
#   TOP B W       the tree, the build, where to write pam.md, mem-pam.md
#   N1 N10 WARMUP ROUNDS   pairs per case (1-hook / 10-hook cases), rounds
#
# Everything lives in a temporary directory (service files for
# pam_start_confdir, hook trees, an empty config file, the session state)
# removed on exit: nothing under /etc is read for the stacks or written.
# The directory is a tmpfs in a private mount namespace, as /run (where the
# module keeps its state by default) is on a usual system: on this
# machine's ext4 each file created costs 0.1-0.5 ms, which would be the
# disk's figure, not the module's. Hooks that outlive the login (batch,
# detached) are waited for after each pair, outside the clock (pambench
# --drain): no pair's hooks run during the next pair, and no process is
# left behind.
set -eu

if [ -z "${POLO_PAM_NS:-}" ]; then
	POLO_PAM_NS=1 exec unshare -m --propagation private sh "$0" "$@"
fi
PB=$B/bench/pambench
SECDIR=$(dirname "$(find /usr/lib /lib -name pam_permit.so 2>/dev/null | head -n1)")
for m in pam_exec.so pam_script.so; do
	[ -f "$SECDIR/$m" ] || { echo "pam.sh: no $SECDIR/$m" >&2; exit 1; }
done

. "$TOP/bench/world.sh"
world polobench
mkdir -p "$T/pam" "$T/out" "$T/drain" "$T/script0" "$T/script1" \
	"$T/script10" "$T/floor"
for d in hooks0 hooks1 probe w10 b10 d10; do
	mkdir -p "$T/$d/added" "$T/$d/removed"
done
: >"$T/polo.conf"

# --- the hooks ------------------------------------------------------------
# One waited hook (issue 2's figure): a trivial script.
HOOK=$T/hooks1/added/10W-true
printf '#!/bin/sh\nexit 0\n' >"$HOOK"
chmod 0755 "$HOOK"
# Ten hooks: each leaves a file named after itself in $T/drain, so that
# pambench --drain can tell when all ten have run (also those that run
# after the login returned). The same ten files serve every tool.
# shellcheck disable=SC2016 # ${0##*/} is for the hook to expand
TOUCH=$(printf '#!/bin/sh\n: >"%s/${0##*/}"\n' "$T/drain")
HOOKS10="" SPAWN10=""
i=10
while [ $i -lt 20 ]; do
	printf '%s\n' "$TOUCH" >"$T/w10/added/${i}W-touch"
	printf '%s\n' "$TOUCH" >"$T/b10/added/$i-touch"
	printf '%s\n' "$TOUCH" >"$T/d10/added/${i}D-touch"
	HOOKS10="$HOOKS10 $T/w10/added/${i}W-touch"
	SPAWN10="$SPAWN10 --spawn $T/w10/added/${i}W-touch"
	i=$((i + 1))
done
chmod 0755 "$T"/w10/added/* "$T"/b10/added/* "$T"/d10/added/*
# pam_script runs one script per event: for one hook, the hook itself; for
# ten, a script that runs the ten in order. The batch floor starts the
# same script and does not wait for it.
ln -s "$HOOK" "$T/script1/pam_script_ses_open"
{
	echo '#!/bin/sh'
	for h in $HOOKS10; do echo "$h session_added"; done
} >"$T/script10/pam_script_ses_open"
chmod 0755 "$T/script10/pam_script_ses_open"
cp "$T/script10/pam_script_ses_open" "$T/floor/batch"
# A probe hook for the sanity pass: proves each stack really runs a hook.
# shellcheck disable=SC2016 # $PAM_SERVICE is for the hook to expand
printf '#!/bin/sh\necho ran >>%s/out/$PAM_SERVICE\nexit 0\n' "$T" \
	>"$T/probe/added/10W-probe"
chmod 0755 "$T/probe/added/10W-probe"

# --- the PAM services -----------------------------------------------------
polo() {	# polo SERVICE HOOKDIR
	echo "session required $B/pam_polohook.so hookdir=$2 statedir=$T/state" \
		"conf=$T/polo.conf runner=$B/polohook-run" >"$T/pam/$1"
}
# execopen SERVICE HOOK...: pam_exec type=open_session, a line per hook.
# pam_exec returns PAM_IGNORE at close, and a stack of nothing but
# PAM_IGNORE fails: pam_permit after it keeps close a success.
execopen() {
	_s=$1; shift
	: >"$T/pam/$_s"
	for _h; do
		echo "session required pam_exec.so type=open_session $_h" >>"$T/pam/$_s"
	done
	echo "session optional pam_permit.so" >>"$T/pam/$_s"
}
# pam_script with its script directory; onerr=success: there is no
# pam_script_ses_close (polohook's removed/ is empty too).
pscript() {
	echo "session required pam_script.so dir=$2 onerr=success" >"$T/pam/$1"
}
echo "session required pam_deny.so" >"$T/pam/other"
polo polo0 "$T/hooks0"
polo polo1 "$T/hooks1"
polo polo10w "$T/w10"
polo polo10b "$T/b10"
polo polo10d "$T/d10"
echo "session required pam_exec.so $HOOK" >"$T/pam/exec"
execopen execopen "$HOOK"
# shellcheck disable=SC2086 # ten paths
execopen exec10 $HOOKS10
pscript script0 "$T/script0"
pscript script1 "$T/script1"
pscript script10 "$T/script10"
echo "session required pam_permit.so" >"$T/pam/permit"
echo "session required $B/bench/pamfloor.so $HOOK" >"$T/pam/pamfloor"
polo probe-polo "$T/probe"
echo "session required pam_exec.so $T/probe/added/10W-probe" >"$T/pam/probe-exec"
execopen probe-execopen "$T/probe/added/10W-probe"
mkdir -p "$T/probe-script"
ln -s "$T/probe/added/10W-probe" "$T/probe-script/pam_script_ses_open"
pscript probe-script "$T/probe-script"

# --- sanity: each stack runs its hooks, and as often as said ---------------
for s in probe-polo probe-exec probe-execopen probe-script; do
	"$PB" -c "$T/pam" -s "$s" -n 1 -w 0 >/dev/null
done
runs() { wc -l <"$T/out/$1" 2>/dev/null || echo 0; }
grep -q 'hook 10W-probe exited with status 0' "$T/syslog" ||
	{ echo "pam.sh: the module's log did not reach the sink" >&2; exit 1; }
RUNS_POLO=$(runs probe-polo)
RUNS_EXEC=$(runs probe-exec)
RUNS_EXECOPEN=$(runs probe-execopen)
RUNS_SCRIPT=$(runs probe-script)
if [ "$RUNS_POLO" -ne 1 ] || [ "$RUNS_EXEC" -lt 1 ] ||
	[ "$RUNS_EXECOPEN" -ne 1 ] || [ "$RUNS_SCRIPT" -ne 1 ]; then
	echo "pam.sh: sanity pass failed: hook runs per pair: polohook" \
		"$RUNS_POLO, pam_exec $RUNS_EXEC, pam_exec type=open_session" \
		"$RUNS_EXECOPEN, pam_script $RUNS_SCRIPT" >&2
	exit 1
fi
# The ten-hook cases: one pair each must leave exactly the ten files
# (pambench --drain fails otherwise).
for s in polo10w polo10b polo10d exec10 script10; do
	"$PB" -c "$T/pam" -s "$s" -n 1 -w 0 --drain "$T/drain" 10 >/dev/null ||
		{ echo "pam.sh: sanity pass failed for $s" >&2; exit 1; }
done

# --- the cases --------------------------------------------------------------
# 1-hook set (issue 2's figure), then the 10-hook set.
CASES1="floor forkfloor pamfloor polo1 exec execopen script1 polo0 permit script0"
CASES10="floor10 polo10w exec10 script10 polo10b floor10b polo10d floor10d"
label() {
	case $1 in
	floor)    echo "floor: posix_spawn+waitpid of the hook" ;;
	forkfloor) echo "fork+execve+waitpid of the hook (the issue's wording)" ;;
	pamfloor) echo "PAM floor: a 30-line module doing only posix_spawn+waitpid" ;;
	polo1)    echo "pam_polohook, 1 W hook" ;;
	exec)     echo "pam_exec, 1 hook (runs at open and at close)" ;;
	execopen) echo "pam_exec type=open_session, 1 hook" ;;
	script1)  echo "pam_script, 1 hook (pam_script_ses_open)" ;;
	polo0)    echo "pam_polohook, no hooks" ;;
	permit)   echo "pam_permit (nothing)" ;;
	script0)  echo "pam_script, no script" ;;
	esac
}
runcase() {
	# shellcheck disable=SC2086 # $SPAWN10 is a word list
	case $1 in
	floor)     "$PB" --spawn "$HOOK" -n "$N1" -w "$WARMUP" ;;
	forkfloor) "$PB" --fork "$HOOK" -n "$N1" -w "$WARMUP" ;;
	floor10)   "$PB" $SPAWN10 -n "$N10" -w "$WARMUP" --drain "$T/drain" 10 ;;
	floor10b)  "$PB" --spawn "$T/floor/batch" --nowait -n "$N10" \
			-w "$WARMUP" --drain "$T/drain" 10 ;;
	floor10d)  "$PB" $SPAWN10 --nowait -n "$N10" -w "$WARMUP" \
			--drain "$T/drain" 10 ;;
	*10*)      "$PB" -c "$T/pam" -s "$1" -n "$N10" -w "$WARMUP" \
			--drain "$T/drain" 10 ;;
	*)         "$PB" -c "$T/pam" -s "$1" -n "$N1" -w "$WARMUP" ;;
	esac
}

# Interleaved rounds: every case once per round, so that drift (frequency,
# a noisy neighbour) spreads over all cases instead of hitting one.
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for c in $CASES1 $CASES10; do
		line=$(runcase "$c") || { echo "pam.sh: $c failed: $line" >&2; exit 1; }
		echo "round $r $c: $line" >&2
		echo "$line" >>"$T/raw.$c"
	done
	r=$((r + 1))
done

FLOOR=$(med floor median_ms)

# shellcheck disable=SC3045 # dash, bash and busybox sh all have ulimit -n
NOFILE=$(ulimit -n 2>/dev/null || echo unknown)
LINES=$(wc -l <"$T/syslog")
PSV=$(dpkg-query -W -f '${Version}' libpam-script 2>/dev/null || echo unknown)

P1=$(med polo1 median_ms)
R1=$(div "$P1" "$FLOOR")
FF=$(med forkfloor median_ms)
RFF=$(div "$P1" "$FF")
PF=$(med pamfloor median_ms)
RPF=$(div "$PF" "$FLOOR")
RPP=$(div "$P1" "$PF")
VERDICT=$(awk -v r="$R1" 'BEGIN { print (r <= 1.3) ? "met" : "NOT met" }')

# rat A B: median of A / median of B, as "1.23×"
rat() { printf '%s×' "$(div "$(med "$1" median_ms)" "$(med "$2" median_ms)")"; }
P0=$(med polo0 median_ms)
P10B=$(med polo10b median_ms)
P10D=$(med polo10d median_ms)
verdict() { awk -v a="$1" -v b="$P0" 'BEGIN { print (a <= 1.5 * b) ? "met" : "NOT met" }'; }

{
	cat <<EOF
## Table 1: session open+close latency

What one login and logout costs the process that runs the PAM stack, with
no hooks, one waited hook, and ten hooks waited, batched or detached:
pam_polohook against \`pam_exec.so\` (one line per hook), \`pam_script.so\`
(one script running the same hooks) and the floor (the bare
\`posix_spawn\` + \`waitpid\` of the same scripts).

### Method

- \`build/bench/pambench\` (\`cc -O2\`, linked with \`-lpam\`) times, with
  CLOCK_MONOTONIC, each of N PAM session pairs after $WARMUP untimed
  warm-up pairs: N=$N1 for the cases with no or one hook, N=$N10 for the
  ten-hook cases. A pair is \`pam_start_confdir\` (a private service
  directory: nothing under /etc/pam.d is used), \`pam_open_session\`,
  \`pam_close_session\`, \`pam_end\` — one handle per pair, so module
  loading (dlopen/dlclose) is included, as in a real login. User: root.
- One hook: \`#!/bin/sh\\nexit 0\` (0755, root-owned), for pam_polohook as
  \`added/10W-true\` (a W hook: run and waited for at open; \`removed/\` is
  empty), for pam_exec the same file (\`session required pam_exec.so
  PATH\`), for pam_script the same file as its \`pam_script_ses_open\`
  (\`dir=\` a private directory, \`onerr=success\`: no close script, as
  polohook's \`removed/\` is empty). Configuration file: an empty one
  (\`conf=\`). The session state (\`statedir=\`), the hooks and the
  service files are on a tmpfs, as \`/run\` is on a usual system (on this
  machine's ext4 each file the state tree creates costs 0.1-0.5 ms).
- Ten hooks: ten scripts \`#!/bin/sh\\n: >"DIR/\${0##*/}"\` (each leaves a
  file named after itself). pam_polohook runs them from \`added/\` as
  \`10W-touch\`…\`19W-touch\` (waited), \`10-touch\`…\`19-touch\` (one
  background batch job, \`polohook-run\`, running them in order) or
  \`10D-touch\`…\`19D-touch\` (each started fully detached through
  \`polohook-run\`). pam_exec: ten \`type=open_session\` lines (and
  \`pam_permit\`, since a stack of nothing but PAM_IGNORE fails at close).
  pam_script: its one \`pam_script_ses_open\` runs the ten in order. Neither
  peer can leave a hook running after the login: in the batch and
  detached rows their figures are their waited ones (repeated, marked *).
- Floors: \`pambench --spawn PATH\` times \`posix_spawn\` + \`waitpid\` of
  the hook, argv \`{PATH, "session_added"}\`, environment only PATH; for ten
  hooks the ten in sequence. For the batch row the floor starts the ten-hook
  script once and does not wait for it, for the detached row it starts the
  ten hooks and waits for none (\`--nowait\`: they are reaped after the
  clock stops). No PAM stack around them.
- Hooks that outlive the login: after each pair, outside the clock,
  pambench waits until the ten files exist and every process the pair
  started has exited (it is a child subreaper, so detached hooks are
  reaped by it), then removes the files (\`--drain\`). So a pair never
  competes with the previous pair's hooks, and what is timed is what the
  login pays; the same is done for every ten-hook case, waited or not.
- A sanity pass with a probe hook that appends to a file checked that each
  stack really runs it. Runs of the hook per open+close pair: pam_polohook
  $RUNS_POLO, pam_exec $RUNS_EXEC, pam_exec type=open_session
  $RUNS_EXECOPEN, pam_script $RUNS_SCRIPT; and one pair of each ten-hook
  stack left exactly the ten files.
- $ROUNDS interleaved rounds (every case once per round, in the order of
  the detail tables); each figure below is the median over the rounds of
  that round's median (resp. p99).
- pam_script: Debian's libpam-script $PSV.
- Syslog: \`/dev/log\` is a datagram socket read by a sink
  (t/logsink.c, in the private mount namespace), as a syslog daemon's: what
  the modules log is really sent ($LINES records in this run; pam_polohook
  logs a LOG_INFO line per hook run, pam_script an error at each close for
  its missing \`pam_script_ses_close\`).

### Summary (ms per open+close pair, median (p99))

| hooks per login | pam_polohook | pam_exec | pam_script | floor | polohook ÷ pam_exec | polohook ÷ pam_script | polohook ÷ floor | polohook ÷ polohook with no hooks |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
| none | $(cell polo0) | $(cell permit)† | $(cell script0) | — | $(rat polo0 permit)† | $(rat polo0 script0) | — | 1.00× |
| 1 waited | $(cell polo1) | $(cell execopen) | $(cell script1) | $(cell floor) | $(rat polo1 execopen) | $(rat polo1 script1) | $(rat polo1 floor) | $(rat polo1 polo0) |
| 10 waited | $(cell polo10w) | $(cell exec10) | $(cell script10) | $(cell floor10) | $(rat polo10w exec10) | $(rat polo10w script10) | $(rat polo10w floor10) | $(rat polo10w polo0) |
| 10 batch | $(cell polo10b) | $(cell exec10)* | $(cell script10)* | $(cell floor10b) | $(rat polo10b exec10) | $(rat polo10b script10) | $(rat polo10b floor10b) | $(rat polo10b polo0) |
| 10 detached | $(cell polo10d) | $(cell exec10)* | $(cell script10)* | $(cell floor10d) | $(rat polo10d exec10) | $(rat polo10d script10) | $(rat polo10d floor10d) | $(rat polo10d polo0) |

†: pam_exec with no hook is no line at all; the figure is the stack with
\`pam_permit\` only, what any PAM stack costs. pam_exec is run with
\`type=open_session\` (once per pair, as polohook runs \`added/\`); run at
open and at close it costs twice that (details below).

With ten batch hooks pam_polohook costs the login $P10B ms, with ten
detached ones $P10D ms, against $P0 ms with none; the issue asks for
about as much as with none (taken here as at most 1.5×): batch
$(div "$P10B" "$P0")× — **$(verdict "$P10B")**, detached $(div "$P10D" "$P0")× —
**$(verdict "$P10D")**.

### One waited hook, in detail (issue 2's figure)

| case | median ms | p99 ms | ratio to floor |
|---|---:|---:|---:|
EOF
	for c in $CASES1; do
		m=$(med "$c" median_ms)
		printf '| %s | %s | %s | %s× |\n' "$(label "$c")" "$m" \
			"$(med "$c" p99_ms)" "$(div "$m" "$FLOOR")"
	done
	cat <<EOF

pam_polohook with one W hook costs **${R1}×** the floor (median $P1 ms
against $FLOOR ms); the target is ≤ ~1.3×: **$VERDICT**. Against a bare
fork+execve+waitpid (the issue's own wording; $FF ms: fork copies the
caller's page tables, posix_spawn does not) it costs **${RFF}×**. Any PAM module
pays the stack itself (pam_start's parsing and dlopen, pam_end's dlclose):
the PAM floor, which does nothing but spawn and wait, costs ${RPF}× the
floor; against it pam_polohook costs **${RPP}×** — that is polohook's own
price for its checks, clean environment, output relay and deadline, and
for the session state tree (every open and close records or removes the
session under the user's lock and counts the user's live sessions).

pam_exec runs its command at open and at close unless given \`type=\`, and
its child calls close() on every descriptor number up to the open-file limit
($NOFILE here) before exec: that loop is most of its time (strace -c of
pambench: 20,000 close() calls per run of the hook).
EOF
} >"$W/pam.md"

# Table 4, the module rows: pambench's own VmHWM / VmRSS / resident stack
# after its pairs, against the same harness with pam_permit only.
{
	echo "| case | peak (VmHWM) kB | after the last pair (VmRSS) kB | of which stack kB | added peak kB | added after kB |"
	echo "|---|---:|---:|---:|---:|---:|"
	HWM0=$(med permit hwm_kb)
	RSS0=$(med permit rss_kb)
	for c in permit polo0 polo1 polo10w polo10b polo10d execopen exec10 \
		script1 script10 pamfloor; do
		h=$(med "$c" hwm_kb)
		s=$(med "$c" rss_kb)
		case $c in
		polo10w) l="pam_polohook, 10 W hooks" ;;
		polo10b) l="pam_polohook, 10 batch hooks" ;;
		polo10d) l="pam_polohook, 10 D hooks" ;;
		exec10)  l="pam_exec type=open_session, 10 lines" ;;
		script10) l="pam_script, one script running 10 hooks" ;;
		*) l=$(label "$c") ;;
		esac
		printf '| %s | %s | %s | %s | %+d | %+d |\n' "$l" "$h" "$s" \
			"$(med "$c" stack_kb)" $((h - HWM0)) $((s - RSS0))
	done
} >"$W/mem-pam.md"

for c in $CASES1 $CASES10; do
	sed "s/^/$c: /" "$T/raw.$c"
done >"$W/pam.raw"
