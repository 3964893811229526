#!/bin/sh
# install-tree.sh SRC DEST: install the default session.d tree without
# overwriting anything an administrator already has there.
# install-tree.sh -u SRC DEST: the reverse, as far as it is ours: remove
# DEST/README if it is still the one SRC ships. session-scripts.conf (edited
# or not, as dpkg keeps a conffile on remove), the directories and every
# hook in them belong to the administrator and are never removed.
set -eu
if [ "${1:-}" = -u ]; then
	src=$2 dest=$3
	f=$dest/README
	if [ -f "$f" ] && [ ! -L "$f" ] && cmp -s "$src/README" "$f"; then
		rm -f "$f"
	fi
	exit 0
fi
src=$1 dest=$2
for d in added removed scripts/start scripts/stop; do
	install -d -m 0755 "$dest/$d"
done
for f in session-scripts.conf README; do
	[ -e "$dest/$f" ] || install -m 0644 "$src/$f" "$dest/$f"
done
