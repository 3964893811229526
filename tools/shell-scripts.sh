#!/bin/sh
# The shell scripts of the tree, one per line, for make shellcheck: every
# file (git ls-files in a work tree, else every file outside build
# directories) whose first line runs sh or bash, and the sourced t/*.sh
# (t/system/lib.sh among them) and tools/*.sh.
# debian/ maintainer scripts are found the same way when they exist.
set -eu
cd "$(dirname "$0")/.."
files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files
	else	# a copy without .git (.ci/run's run as nobody)
		find . \( -name .git -o -name 'build*' \) -prune -o -type f -print |
			sed 's|^\./||'
	fi
}
files | LC_ALL=C sort |
	while IFS= read -r f; do
		case $f in
		t/*.sh | tools/*.sh) echo "$f"; continue ;;
		esac
		IFS= read -r first <"$f" 2>/dev/null || continue
		case $first in
		'#!/bin/sh'*|'#!/bin/bash'*|'#!/usr/bin/env sh'*|'#!/usr/bin/env bash'*)
			echo "$f" ;;
		esac
	done
