#!/usr/bin/env bash
# Supervisor figures:
#   - world change → proposal in actions/pending/, p50/p99 over LAT_N changes (LAT_N desired
#     resources, each flipped from running to exited once, as the observer would write it)
#   - full evaluation time (start-up, and a reload by SIGHUP) and RSS with N desired resources
#
# usage: bench/supervisor.sh [N=10000] [LAT_N=2000] [WORK=/var/tmp/homelab-bench]
N=${1:-10000}; LAT_N=${2:-2000}; WORK=${3:-/var/tmp/homelab-bench}
. "$(dirname "$0")/lib.sh"
with_deps bench cc
need python3 "apt-get install python3 (it writes the inventory and the world)"
build_homelab
probe world_probe
RUN=$WORK/supervisor-$(date +%Y%m%d-%H%M%S)
echo "== supervisor bench: N=$N, LAT_N=$LAT_N ($(nproc) cores, $(uname -r)); figures in $RUN"

serve() { # ROOT REPO LOG → pid in $sup, once it has evaluated
  HOMELAB_ROOT=$1 HOMELAB_REPO=$2 "$HOMELAB" supervisor 2>"$3" &
  sup=$!
  until grep -q supervising "$3"; do sleep 0.05; done
}

echo "-- world change → proposal latency"
mkdir -p "$RUN/lat"
python3 bench/gen_inventory.py "$RUN/lat/root" "$RUN/lat/repo" "$LAT_N"
serve "$RUN/lat/root" "$RUN/lat/repo" "$RUN/lat.log"
lat=$("$WORK/bin/world_probe" "$RUN/lat/root" "$LAT_N")
kill -TERM "$sup"; wait "$sup" || true
echo "homelab  $lat"

echo "-- full evaluation with $N desired resources"
mkdir -p "$RUN/full"
python3 bench/gen_inventory.py "$RUN/full/root" "$RUN/full/repo" "$N"
serve "$RUN/full/root" "$RUN/full/repo" "$RUN/full.log"
kill -HUP "$sup"
until grep -q "inventory reloaded" "$RUN/full.log"; do sleep 0.05; done
sleep 0.5
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$sup/status"); peak=$(awk '/VmHWM/ { print $2 }' "/proc/$sup/status")
kill -TERM "$sup"; wait "$sup" || true
grep -E "supervising|inventory reloaded" "$RUN/full.log" | sed 's/^/  /'
echo
echo "== summary"
echo "world change → proposal: p50 $(field p50_us "$lat") us, p99 $(field p99_us "$lat") us"
echo "full evaluation of $N resources: start-up $(sed -n 's/.*first evaluation took \([0-9.]*\) ms.*/\1/p' "$RUN/full.log") ms (load + evaluate), reload $(sed -n 's/.*reloaded.*evaluated in \([0-9.]*\) ms.*/\1/p' "$RUN/full.log") ms; RSS $((rss / 1024)) MB (peak $((peak / 1024)) MB)"
