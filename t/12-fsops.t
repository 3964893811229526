#!/bin/sh
exec "$(dirname "$0")/../build/t/12-fsops"
