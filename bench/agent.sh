#!/usr/bin/env bash
# Agent figures on a homelab of network namespaces (Tests/network/netlab.py): the VPS's
# observer, supervisor and UI, and a node `nas` with its own dockerd and `homelab agent`
# posting over a veth pair — release build, real engine, real sockets (bench/agent_bench.py):
#
#   - a container start on the nas engine (the engine's own event time) → its file in the
#     VPS's world/, p50/p99 over SAMPLES start/stop cycles;
#   - a partition (the nas link down PARTITION_S seconds, the issue's ten minutes scaled down)
#     with SPOOLED events dropped into the agent's inbox meanwhile; the link up: the drain rate
#     into the log, and the live path (container start → world) measured during the drain;
#   - the agent's RSS idle and under load (VmRSS, VmHWM from /proc/PID/status);
#   - its idle wake-ups: system calls under `strace -c -f -p` over IDLE_S seconds, and
#     voluntary context switches (only the heartbeat should wake it);
#   - POST /api/events, batches of 100 over keep-alive, 1 and 4 connections: events/s logged.
#
# usage: bench/agent.sh [SAMPLES=50] [SPOOLED=100000] [WORK=/var/tmp/homelab-bench]
#        PARTITION_S=20 IDLE_S=10 BENCH_HEARTBEAT_SECONDS=5 in the environment
# Root only (namespaces, dockerd). Starts the host's dockerd and makes the base image if needed.
SAMPLES=${1:-50}; SPOOLED=${2:-100000}; WORK=${3:-/var/tmp/homelab-bench}
PARTITION_S=${PARTITION_S:-20}; IDLE_S=${IDLE_S:-10}
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "run as root: it makes network namespaces and starts a dockerd per node"
need python3 "apt-get install python3 (it drives the namespaces and the probes)"
with_deps network ip dockerd
with_deps bench strace
scripts/docker/engine.sh
read -r RUNTIME_IMAGE _ < <(scripts/docker/base-images.sh | tail -1)
export RUNTIME_IMAGE BENCH_HEARTBEAT_SECONDS=${BENCH_HEARTBEAT_SECONDS:-5}
build_homelab
RUN=$WORK/agent-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"
python3 Tests/network/netlab.py --clean >/dev/null
echo "== agent bench: $SAMPLES samples, $SPOOLED spooled events, ${PARTITION_S} s partition ($(nproc) cores, $(uname -r), engine $(dockerd --version | cut -d' ' -f3 | tr -d ,)); logs in $RUN"
python3 bench/agent_bench.py "$HOMELAB" "$SAMPLES" "$SPOOLED" "$PARTITION_S" "$IDLE_S" "$RUN" | tee "$RUN/figures.txt"
f() { grep "^$1 " "$RUN/figures.txt" | head -1; }
live=$(f live) idle=$(f idle) part=$(f partition) drain=$(f drain) during=$(f during) rss=$(f rss)
post1=$(grep "^post .*connections=1 " "$RUN/figures.txt") post4=$(grep "^post .*connections=4 " "$RUN/figures.txt")
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo
echo "== summary (goals from the issue in brackets; no peer: Beszel's agent is not available offline)"
echo "container start on nas → world/ on the VPS: p50 $(field p50_ms "$live") ms, p99 $(field p99_ms "$live") ms, max $(field max_ms "$live") ms over $(field samples "$live") starts   [p99 < 10 ms]"
echo "partition $(field partition_s "$part") s, $(field events "$part") events spooled (spool $(field spool_mb "$part") MB): drain $(field rate "$drain") events/s from link up ($(field rate_after_first "$drain") after the first, which came $(field first_after_s "$drain") s after link up)   [≥ 20,000 ev/s]"
if [ "$(field samples "$during")" != 0 ]; then
  echo "live path during the drain: p50 $(field p50_ms "$during") ms, p99 $(field p99_ms "$during") ms, max $(field max_ms "$during") ms over $(field samples "$during") starts   [< 50 ms]"
else
  echo "live path during the drain: no sample (the drain ended before the first container start)   [< 50 ms]"
fi
echo "agent RSS: idle $(mb "$(field idle_kb "$rss")") MB, during the drain peak $(mb "$(field drain_peak_kb "$rss")") MB (VmHWM $(mb "$(field hwm_kb "$rss")") MB)   [≤ 15 MB]"
echo "agent idle for $(field seconds "$idle") s (heartbeat every $(field heartbeat_s "$idle") s): $(field syscalls "$idle") system calls, $(field voluntary_switches "$idle") voluntary context switches; top: $(sed -n 's/.* top=//p' <<<"$idle")"
echo "POST /api/events, batches of 100: $(field rate "$post1") events/s on 1 keep-alive connection, $(field rate "$post4") on 4"
