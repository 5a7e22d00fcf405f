#!/usr/bin/env bash
# Executor figures: rename into actions/approved/ → the child started (it creates a marker
# file), p50/p99 over LAT_N actions; and the throughput of N trivial actions (/bin/true)
# with the default concurrency (2).
#
# usage: bench/executor.sh [N=1000] [LAT_N=1000] [WORK=/var/tmp/homelab-bench]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}; LAT_N=${2:-1000}; WORK=${3:-/var/tmp/homelab-bench}
swift build -c release --static-swift-stdlib --product homelab >/dev/null  # as in the image
HOMELAB=$(swift build -c release --static-swift-stdlib --show-bin-path)/homelab
mkdir -p "$WORK/bin"
cc -O2 -Wall -o "$WORK/bin/approve_probe" bench/approve_probe.c
RUN=$WORK/executor-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN/repo/inventory/actions" "$RUN/markers"
cat >"$RUN/repo/inventory/actions/touch.json" <<JSON
{"argv": ["touch", "$RUN/markers/{name}"], "params": {"name": "^m[0-9]+$"}, "timeoutSeconds": 10}
JSON
echo '{"argv": ["true"], "timeoutSeconds": 10}' >"$RUN/repo/inventory/actions/true.json"
echo "== executor bench: N=$N, LAT_N=$LAT_N ($(nproc) cores, $(uname -r)); figures in $RUN"
HOMELAB_ROOT=$RUN/root HOMELAB_REPO=$RUN/repo "$HOMELAB" executor 2>"$RUN/executor.log" &
pid=$!
until grep -q watching "$RUN/executor.log"; do sleep 0.05; done
lat=$("$WORK/bin/approve_probe" lat "$RUN/root" "$RUN/markers" "$LAT_N")
echo "latency     $lat"
thr=$("$WORK/bin/approve_probe" thr "$RUN/root" "$N")
echo "throughput  $thr"
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
kill -TERM "$pid"; wait "$pid" || true
echo
echo "== summary"
echo "approved → child started: p50 $(sed -n 's/.*p50_us=\([0-9.]*\).*/\1/p' <<<"$lat") us, p99 $(sed -n 's/.*p99_us=\([0-9.]*\).*/\1/p' <<<"$lat") us"
echo "$N × /bin/true: $(sed -n 's/.*actions_per_s=\([0-9]*\).*/\1/p' <<<"$thr") actions/s ($(sed -n 's/.*total_s=\([0-9.]*\).*/\1/p' <<<"$thr") s); RSS $((rss / 1024)) MB"
