#!/bin/sh
exec "$(dirname "$0")/../build/t/10-lib"
