#!/usr/bin/env bash
# Approve → the child started on the node, over a veth pair (bench/remote_action_bench.py):
# the VPS's executor hands the approved action off, the UI offers it on the nas agent's stream,
# the agent claims and starts it. p50/p99 over SAMPLES approvals, release build.
# The peer the issue names, `docker --context nas` over ssh, does not exist on this machine
# (no ssh server in the lab): only our figure is printed.
#
# usage: bench/remote_action.sh [SAMPLES=100]
# Root only (network namespaces). Starts the host's dockerd and makes the base image if needed.
SAMPLES=${1:-100}
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "run as root: it makes network namespaces"
need python3 "apt-get install python3 (it drives the namespaces)"
with_deps network ip dockerd
scripts/docker/engine.sh
read -r RUNTIME_IMAGE _ < <(scripts/docker/base-images.sh | tail -1)
export RUNTIME_IMAGE
build_homelab
python3 Tests/network/netlab.py --clean >/dev/null
echo "== remote action bench: $SAMPLES approvals ($(nproc) cores, $(uname -r))"
line=$(python3 bench/remote_action_bench.py "$HOMELAB" "$SAMPLES" | tail -1)
echo "$line"
echo "approve → child started on nas: p50 $(field p50_ms "$line") ms, p99 $(field p99_ms "$line") ms, max $(field max_ms "$line") ms   [p99 < 20 ms]; the ssh-context peer: n/a here"
