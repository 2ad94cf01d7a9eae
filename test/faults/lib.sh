# Helpers of the fault scripts (sourced, not executed).

# acks <log>: acknowledged events in the log so far.
acks() {
  grep -vc '^!' "$1" 2>/dev/null || true
}

# wait_for_acks <log> <more than> <pid...>: waits (30 s) until the log holds
# more acknowledged events than given; fails early if a driver died.
wait_for_acks() {
  local log=$1 floor=$2
  shift 2
  for _ in $(seq 1 600); do
    [[ $(acks "$log") -gt $floor ]] && return 0
    for p in "$@"; do
      kill -0 "$p" 2>/dev/null || { echo "a fault driver died" >&2; return 1; }
    done
    sleep 0.05
  done
  echo "no new acknowledged event within 30 s (still $(acks "$log"))" >&2
  return 1
}

# stop_drivers <pid...>: SIGTERM (the drivers finish the commands in flight)
# and waits for them; fails if one did not exit with 0.
stop_drivers() {
  local rc=0
  kill -TERM "$@" 2>/dev/null || true
  for p in "$@"; do wait "$p" || rc=1; done
  return $rc
}

# most_frequent <n>: the n most frequent lines of stdin, with their counts.
# Reads all of its input: `sort -rn | head -n` under `set -o pipefail`
# fails the script with SIGPIPE (141) once sort's output outgrows the pipe
# (many distinct lines), after a run that passed.
most_frequent() {
  sort | uniq -c | sort -rn | awk -v n="$1" 'NR <= n'
}

# healthy <monitoring port>: nats-server's /healthz says ok (for a JetStream
# server: it is current with the cluster).
healthy() {
  local reply
  reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$1" \
    && printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3 && cat <&3) 2>/dev/null) || return 1
  [[ $reply == *'"ok"'* ]]
}

# store_spec <sqlite|jetstream> <dir>: sets `spec` to a store in <dir>; for
# jetstream starts a nats-server (its pid in `server`, for the caller's
# cleanup).
store_spec() {
  case $1 in
    sqlite) spec="sqlite:$2/store.db" ;;
    jetstream)
      local bin port
      bin=$(find_nats_server)
      port=$(free_port)
      server=$("$bin" -a 127.0.0.1 -p "$port" -js -sd "$2/js" > "$2/server.log" 2>&1 & echo $!)
      wait_for_port "$port" "$server" "$2/server.log"
      spec="jetstream:nats://127.0.0.1:$port" ;;
    *) echo "unknown store $1" >&2; return 2 ;;
  esac
}

# finish <exit status> <dir> <pid...>: the one cleanup of every fault script.
# Stops the processes (SIGTERM; SIGKILL after 10 s) and waits until each has
# exited, so nothing writes into <dir> any more; then removes <dir>, or, if
# the script failed, keeps it (logs, acks, the servers' store directories)
# under $AETHER_FAULT_KEEP (default /tmp) and prints where.
finish() {
  local status=$1 dir=$2 p
  shift 2
  for p in "$@"; do [[ -n "$p" ]] && { kill "$p" 2>/dev/null || true; }; done
  for p in "$@"; do
    [[ -z "$p" ]] && continue
    for _ in $(seq 1 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$p" 2>/dev/null || true
    while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
  done
  if [[ $status -ne 0 && -d $dir ]]; then
    local keep
    keep="${AETHER_FAULT_KEEP:-/tmp}/aether-fault-$(basename "$0")-$(date +%s)-$$"
    mv "$dir" "$keep" && echo "$(basename "$0"): failed; its files are in $keep" >&2
  else
    rm -rf "$dir"
  fi
}
