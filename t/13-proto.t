#!/bin/sh
exec "$(dirname "$0")/../build/t/13-proto"
