#!/bin/sh
exec "$(dirname "$0")/../${POLO_BUILD:-build}/t/01-module" "$(dirname "$0")/../${POLO_BUILD:-build}/pam_polohook.so"
