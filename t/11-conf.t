#!/bin/sh
exec "$(dirname "$0")/../build/t/11-conf"
