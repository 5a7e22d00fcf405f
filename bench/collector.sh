#!/usr/bin/env bash
# Docker collector figures: `docker stop` → pending docker-start in actions/pending/, p50/p99
# over CYCLES stop/start cycles of a real container, through the release build of the
# agent (its Docker collector, delivering with --inbox as on the VPS), the observer and the
# supervisor (the path an operator's stopped container takes).
#
# usage: bench/collector.sh [CYCLES=50] [WORK=/var/tmp/homelab-bench]
CYCLES=${1:-50}; WORK=${2:-/var/tmp/homelab-bench}
. "$(dirname "$0")/lib.sh"
need python3 "apt-get install python3 (it drives the stop/start cycles)"
with_deps docker docker debootstrap
scripts/docker/engine.sh
read -r RUNTIME_IMAGE _ < <(scripts/docker/base-images.sh | tail -1)
build_homelab
RUN=$WORK/collector-$(date +%Y%m%d-%H%M%S)
CONTAINER=hl-bench-target
echo "== collector bench: $CYCLES cycles ($(nproc) cores, $(uname -r), engine $(docker version -f '{{.Server.Version}}')); figures in $RUN"
mkdir -p "$RUN/repo/inventory/resources" "$RUN/repo/inventory/actions"
cp examples/inventory/actions/docker-start.json "$RUN/repo/inventory/actions/"
cat > "$RUN/repo/inventory/resources/target.json" <<JSON
{"kind": "container", "name": "bench/$CONTAINER", "spec": {"state": "running"},
 "remediate": [{"on": "state", "action": "docker-start", "args": {"host": "bench", "container": "$CONTAINER"}}]}
JSON
docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
docker run -d --init --name "$CONTAINER" "$RUNTIME_IMAGE" sleep infinity >/dev/null
export HOMELAB_ROOT=$RUN/root HOMELAB_REPO=$RUN/repo
pids=()
for service in observer supervisor; do "$HOMELAB" "$service" 2>"$RUN/$service.log" & pids+=($!); done
mkdir -p "$RUN/root/inbox" "$RUN/root/state"
HOMELAB_NODE=bench HOMELAB_AGENT_SPOOL=$RUN/spool "$HOMELAB" agent --inbox "$RUN/root/inbox" 2>"$RUN/collector.log" & pids+=($!)
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait; docker rm -f "$CONTAINER" >/dev/null 2>&1' EXIT
until grep -q "snapshot:" "$RUN/collector.log" 2>/dev/null && [ -e "$RUN/root/world/container/bench/$CONTAINER.json" ]; do sleep 0.05; done
result=$(python3 bench/docker_cycles.py "$RUN/root" "$CONTAINER" bench "$CYCLES")
collector_rss=$(awk '/VmHWM/ { print $2 }' "/proc/${pids[2]}/status")
echo
echo "== summary"
echo "$result"
echo "agent (collector) peak RSS $((collector_rss / 1024)) MB"
