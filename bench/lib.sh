# Shared by the bench/*/run.sh drivers (source it; it defines functions and, through
# `pin_cores`, the pinning variables). Keeping one copy means every benchmark pins, waits and
# picks ports the same way.

# A free TCP port on loopback.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits (up to WAIT_HTTP_SECS, default 10 s) for URL to answer 2xx.
wait_http() { # URL
  local tries=$(( ${WAIT_HTTP_SECS:-10} * 20 ))
  for _ in $(seq 1 "$tries"); do curl -fs -o /dev/null "$1" && return 0; sleep 0.05; done
  echo "timed out waiting for $1" >&2; return 1
}

# Cores in a taskset list such as "1" or "0,1" or "2-3".
count_cpus() { python3 -c 'import sys; n=0
for part in sys.argv[1].split(","):
    a,_,b=part.partition("-"); n+=int(b or a)-int(a)+1
print(n)' "$1"; }

# Pinning: the server under test on SERVER_CPUS (default 1), load generators and the simulator
# on CLIENT_CPUS (default 0); PIN=0, or a single core, turns it off. Sets PIN, SERVER_CPUS,
# CLIENT_CPUS, ON_SERVER and ON_CLIENT (command prefixes), SERVER_N, CLIENT_N and WRK_THREADS.
pin_cores() {
  PIN=${PIN:-1}
  if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then
    SERVER_CPUS=${SERVER_CPUS:-1}
    CLIENT_CPUS=${CLIENT_CPUS:-0}
    ON_SERVER=(taskset -c "$SERVER_CPUS")
    ON_CLIENT=(taskset -c "$CLIENT_CPUS")
  else
    PIN=0
    SERVER_CPUS=$(seq -s, 0 $(($(nproc) - 1)))
    CLIENT_CPUS=$SERVER_CPUS
    ON_SERVER=()
    ON_CLIENT=()
  fi
  SERVER_N=$(count_cpus "$SERVER_CPUS")
  CLIENT_N=$(count_cpus "$CLIENT_CPUS")
  WRK_THREADS=${WRK_THREADS:-$CLIENT_N}
}
