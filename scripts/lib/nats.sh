# Shell helpers for scripts that run nats-server (sourced, not executed).

# Prints the nats-server binary (Debian puts it in /usr/sbin) or fails.
find_nats_server() {
  local bin
  bin=$(command -v nats-server || true)
  for p in /usr/sbin/nats-server /usr/bin/nats-server; do
    [[ -z "$bin" && -x $p ]] && bin=$p
  done
  if [[ -z "$bin" ]]; then
    echo "nats-server not found (run scripts/install-deps)" >&2
    return 1
  fi
  echo "$bin"
}

# Prints a free loopback TCP port.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000))
}

# wait_for_port <port> <pid> <log>: waits until the port accepts connections
# (15 s), failing early if the process died.
wait_for_port() {
  local port=$1 pid=$2 log=$3
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then cat "$log" >&2; return 1; fi
    sleep 0.05
  done
  echo "port $port did not open" >&2
  return 1
}
