#!/bin/sh
# bench/hostsize.sh — table 5 (detached starts against the host's size: one
# D hook and ten batch hooks, in a host whose resident memory is 20 MB,
# 200 MB and 1 GB, before and after the runner was started without a fork
# of the host). Run by bench/run.sh, which sets:
#   TOP B W         the tree, the build, where to write hostsize.md/.raw
#   HS_SIZES HS_N WARMUP ROUNDS   host sizes (MiB), pairs per cell, rounds
#   HS_BASE         the "before" commit, built here from git (git archive
#                   into $W: no worktree, nothing in the tree touched)
#
# As bench/pam.sh: a tmpfs in a private mount namespace holds the hooks,
# the service files and the state, /dev/log is a sink, and the hooks that
# outlive the login are drained after each pair, outside the clock.
set -eu

if [ -z "${POLO_HS_NS:-}" ]; then
	POLO_HS_NS=1 exec unshare -m --propagation private sh "$0" "$@"
fi
PB=$B/bench/pambench
OLD=$W/old

# --- the "before" build -----------------------------------------------------
rm -rf "$OLD"
mkdir -p "$OLD"
git -C "$TOP" archive "$HS_BASE" | tar -x -C "$OLD"
make -s -C "$OLD" build/pam_polohook.so build/polohook-run >&2
OLD_COMMIT=$(git -C "$TOP" rev-parse --short "$HS_BASE")

. "$TOP/bench/world.sh"
world polobench-hs

mkdir -p "$T/pam" "$T/drain" "$T/d1/added" "$T/d1/removed" "$T/b10/added" \
	"$T/b10/removed"
: >"$T/polo.conf"
# shellcheck disable=SC2016 # ${0##*/} is for the hook to expand
TOUCH=$(printf '#!/bin/sh\n: >"%s/${0##*/}"\n' "$T/drain")
printf '%s\n' "$TOUCH" >"$T/d1/added/10D-touch"
i=10
while [ $i -lt 20 ]; do
	printf '%s\n' "$TOUCH" >"$T/b10/added/$i-touch"
	i=$((i + 1))
done
chmod 0755 "$T"/d1/added/* "$T"/b10/added/*
echo "session required pam_deny.so" >"$T/pam/other"
# SERVICE BUILD HOOKDIR: each build with its own module and runner
for v in old new; do
	case $v in old) bd=$OLD/build ;; new) bd=$B ;; esac
	for h in d1 b10; do
		echo "session required $bd/pam_polohook.so hookdir=$T/$h" \
			"statedir=$T/state conf=$T/polo.conf" \
			"runner=$bd/polohook-run" >"$T/pam/$v-$h"
	done
done

count() { case $1 in d1) echo 1 ;; b10) echo 10 ;; esac; }
# sanity: one pair of each leaves exactly its files
for v in old new; do
	for h in d1 b10; do
		"$PB" -c "$T/pam" -s "$v-$h" -n 1 -w 0 --drain "$T/drain" \
			"$(count $h)" >/dev/null ||
			{ echo "hostsize.sh: sanity pass failed for $v-$h" >&2; exit 1; }
	done
done

# Interleaved rounds: per round, every size, hook set and build in turn.
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for mb in $HS_SIZES; do
		for h in d1 b10; do
			for v in old new; do
				c=$v-$h-$mb
				line=$("$PB" --rss "$mb" -c "$T/pam" -s "$v-$h" \
					-n "$HS_N" -w "$WARMUP" --drain "$T/drain" \
					"$(count $h)") ||
					{ echo "hostsize.sh: $c failed: $line" >&2; exit 1; }
				echo "round $r $c: $line" >&2
				echo "$line" >>"$T/raw.$c"
			done
		done
	done
	r=$((r + 1))
done

FIRST=${HS_SIZES%% *}
LAST=${HS_SIZES##* }

{
	cat <<EOF
## Table 5: detached starts against the size of the host

What one D hook, or ten batch hooks, cost a login in a host that has
grown large (an sshd or gdm with many sessions, a host with a big
cache): the same open+close pair in a process whose resident memory is
$(echo "$HS_SIZES" | sed 's/ /, /g') MiB, before (commit $OLD_COMMIT: the module forked the
host to start the runner, and the forked child forked again) and after
(the runner is started with \`posix_spawn\` and detaches itself).

### Method

- \`pambench --rss MB\` allocates MB MiB and writes every page of it before
  its first pair, then times $HS_N pairs after $WARMUP warm-up pairs, as
  in table 1 (\`pam_start_confdir\`, \`pam_open_session\`,
  \`pam_close_session\`, \`pam_end\`; \`removed/\` is empty, so the close
  costs the same in every cell). The host's VmRSS after the pairs is
  shown with each cell.
- One D hook: \`added/10D-touch\`; ten batch hooks: \`added/10-touch\`…
  \`19-touch\`, the scripts of table 1 (each leaves a file named after
  itself). Both start one runner (a D hook after the last W hook goes
  with the batch's runner).
- Before: the tree at $OLD_COMMIT, extracted with \`git archive\` and
  built in the run's temporary directory with the same compiler and
  flags; its own \`polohook-run\`. After: this tree's build.
- Each pair's hooks are drained outside the clock (pambench \`--drain\`, as
  in table 1). $ROUNDS interleaved round(s); each figure is the median
  over the rounds of that round's median (resp. p99), ms per pair.

### Result (ms per open+close pair, median (p99))

| host VmRSS | hooks | before | after | after ÷ before |
|---:|---|---:|---:|---:|
EOF
	for mb in $HS_SIZES; do
		for h in d1 b10; do
			case $h in d1) l="1 D" ;; b10) l="10 batch" ;; esac
			rss=$(med "new-$h-$mb" rss_kb)
			printf '| %s MiB | %s | %s | %s | %s× |\n' \
				"$((rss / 1024))" "$l" "$(cell "old-$h-$mb")" \
				"$(cell "new-$h-$mb")" \
				"$(div "$(med "new-$h-$mb" median_ms)" \
					"$(med "old-$h-$mb" median_ms)")"
		done
	done
	cat <<EOF

Growth from the smallest host to the largest ($FIRST → $LAST MiB), median:
one D hook before $(div "$(med "old-d1-$LAST" median_ms)" "$(med "old-d1-$FIRST" median_ms)")×, after $(div "$(med "new-d1-$LAST" median_ms)" "$(med "new-d1-$FIRST" median_ms)")×;
ten batch hooks before $(div "$(med "old-b10-$LAST" median_ms)" "$(med "old-b10-$FIRST" median_ms)")×, after $(div "$(med "new-b10-$LAST" median_ms)" "$(med "new-b10-$FIRST" median_ms)")×.
EOF
} >"$W/hostsize.md"

for mb in $HS_SIZES; do
	for h in d1 b10; do
		for v in old new; do
			sed "s/^/$v-$h-$mb: /" "$T/raw.$v-$h-$mb"
		done
	done
done >"$W/hostsize.raw"
