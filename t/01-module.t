#!/bin/sh
exec "$(dirname "$0")/../build/t/01-module" "$(dirname "$0")/../build/pam_polohook.so"
