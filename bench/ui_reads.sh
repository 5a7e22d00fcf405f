#!/usr/bin/env bash
# UI read paths at scale: EVENTS logged events (one 64 MiB segment, as the observer cuts them)
# and RESOURCES world files, then, on one kept connection (curl, several URLs):
#   - /api/world?after=…&limit=1000 (the default) and limit=100: pages from anywhere in the
#     world (served from memory)
#   - /api/events?after=SEQ&limit=50 at random seqs (the sparse seq → offset index)
# Prints p50/p99 of each request's time (and of /healthz, the floor on this machine) (curl's time_total on a reused connection), the
# first request of each kind apart (it builds the index or loads nothing: the world was loaded
# at start).
#
# usage: bench/ui_reads.sh [EVENTS=100000] [RESOURCES=40000] [REQUESTS=200] [WORK=/var/tmp/homelab-bench]
EVENTS=${1:-100000}; RESOURCES=${2:-40000}; REQUESTS=${3:-200}; WORK=${4:-/var/tmp/homelab-bench}
. "$(dirname "$0")/lib.sh"
with_deps load curl
need python3 "python3 to write the log and the world"
build_homelab
RUN=$WORK/ui-reads-$(date +%Y%m%d-%H%M%S)
ROOT=$RUN/root
mkdir -p "$ROOT"
echo "== UI reads: $EVENTS events, $RESOURCES resources, $REQUESTS requests each ($(nproc) cores); files in $RUN"
python3 bench/gen_log.py "$ROOT" "$EVENTS" "$RESOURCES"
python3 - "$ROOT" "$RESOURCES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
folder = os.path.join(root, "world", "container", "bench")
os.makedirs(folder, exist_ok=True)
for i in range(n):
    with open(os.path.join(folder, "r%d.json" % i), "w") as f:
        f.write('{"kind":"container","name":"bench/r%d","observed":{"state":"running","image":"bench/app:1.%d","health":"healthy"},"lastSeen":"2026-11-20T00:00:00.000Z","seq":%d}\n' % (i, i % 97, i))
PY

started=$(date +%s.%N)
HOMELAB_ROOT=$ROOT HOMELAB_UI_ADDR=127.0.0.1:18092 HOMELAB_UI_TOKEN=bench "$HOMELAB" ui 2>"$RUN/ui.log" &
ui=$!
trap 'kill $ui 2>/dev/null; wait $ui 2>/dev/null' EXIT
until curl -fs -o /dev/null http://127.0.0.1:18092/healthz; do sleep 0.05; done
echo "ui up (world loaded) in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }') s, RSS $(awk '/VmRSS/ { print $2 " " $3 }' /proc/$ui/status)"

# times URL...: curl's time_total per URL on one connection, in microseconds.
times() {
  local args=() url
  for url; do args+=(-o /dev/null "$url"); done
  curl -s -w '%{time_total}\n' "${args[@]}" | awk '{ printf "%.0f\n", $1 * 1e6 }'
}
stats() { sort -n | awk '{ v[NR] = $1 } END { printf "p50_us=%d p99_us=%d max_us=%d n=%d", v[int(NR * 0.5 + 0.5)], v[int(NR * 0.99 + 0.5)], v[NR], NR }'; }

world=() small=() events=() health=()
for _ in $(seq 1 "$REQUESTS"); do
  health+=("http://127.0.0.1:18092/healthz")
  world+=("http://127.0.0.1:18092/api/world?after=container/bench/r$(( (RANDOM * 32768 + RANDOM) % RESOURCES ))&limit=1000")
  small+=("http://127.0.0.1:18092/api/world?after=container/bench/r$(( (RANDOM * 32768 + RANDOM) % RESOURCES ))&limit=100")
  events+=("http://127.0.0.1:18092/api/events?after=$(( (RANDOM * 32768 + RANDOM) % EVENTS ))&limit=50")
done
first_events=$(times "http://127.0.0.1:18092/api/events?after=$((EVENTS / 2))&limit=50")
echo "healthz (floor): $(times "${health[@]}" | stats)"
echo "api_world_1000:  $(times "${world[@]}" | stats) ($(curl -s "${world[0]}" | wc -c) bytes a page)"
echo "api_world_100:   $(times "${small[@]}" | stats) ($(curl -s "${small[0]}" | wc -c) bytes a page)"
echo "api_events_50:   $(times "${events[@]}" | stats) (the first, which indexes the segment: ${first_events} us)"
