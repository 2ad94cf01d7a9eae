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

# Prints a free loopback TCP port below the kernel's ephemeral range: a port
# the kernel hands out (bind to port 0) may be taken again, before the server
# binds it, by any outgoing connection of a test running beside this one (a
# CI run failed so: "bind: address already in use" for a route port).
free_port() {
  python3 - <<'PY' 2>/dev/null || echo $((10000 + RANDOM % 20000))
import random, socket
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except Exception:
    low = 32768
for _ in range(200):
    port = random.randrange(10000, max(low, 10001))
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit(1)
PY
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
