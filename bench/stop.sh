# bench/stop.sh — sourced by the bench scripts.
# stop_pids PID...: SIGTERM each, give each 5 s to go, then SIGKILL; reap.
stop_pids() {
	for p in "$@"; do kill -TERM "$p" 2>/dev/null || :; done
	for p in "$@"; do
		_i=0
		while kill -0 "$p" 2>/dev/null && [ $_i -lt 50 ]; do
			sleep 0.1; _i=$((_i + 1))
		done
		kill -KILL "$p" 2>/dev/null || :
		wait "$p" 2>/dev/null || :
	done
}
