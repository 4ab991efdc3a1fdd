# Shared by the benchmark scripts (sourced): a free loopback port, and waiting for a server.

# Prints a free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits (up to 30 s) until http://127.0.0.1:PORT/readyz answers; LOG names the server's log.
wait_ready() {
    local port=$1 log=$2
    python3 - "$port" "$log" <<'PY'
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/readyz", timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit(f"the registry did not become ready; see {sys.argv[2]}")
PY
}
