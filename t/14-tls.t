#!/bin/sh
exec "$(dirname "$0")/../build/t/14-tls"
