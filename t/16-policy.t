#!/bin/sh
exec "$(dirname "$0")/../${POLO_BUILD:-build}/t/16-policy"
