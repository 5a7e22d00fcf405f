#!/usr/bin/env bash
# Executor figures: rename into actions/approved/ → the child started (it creates a marker
# file), p50/p99 over LAT_N actions; and the throughput of N trivial actions (/bin/true)
# with the default concurrency (2).
#
# usage: bench/executor.sh [N=1000] [LAT_N=1000] [WORK=/var/tmp/homelab-bench]
N=${1:-1000}; LAT_N=${2:-1000}; WORK=${3:-/var/tmp/homelab-bench}
. "$(dirname "$0")/lib.sh"
with_deps bench cc
build_homelab
probe approve_probe
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
echo "approved → child started: p50 $(field p50_us "$lat") us, p99 $(field p99_us "$lat") us"
echo "$N × /bin/true: $(field actions_per_s "$thr") actions/s ($(field total_s "$thr") s); RSS $((rss / 1024)) MB"
