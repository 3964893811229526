#!/bin/sh
# install-tree.sh SRC DEST: install the default session.d tree without
# overwriting anything an administrator already has there.
set -eu
src=$1 dest=$2
for d in added removed scripts/start scripts/stop; do
	install -d -m 0755 "$dest/$d"
done
for f in session-scripts.conf README; do
	[ -e "$dest/$f" ] || install -m 0644 "$src/$f" "$dest/$f"
done
