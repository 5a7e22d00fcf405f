#!/usr/bin/env bash
# Agents over a real network: a VPS and two nodes as network namespaces joined by veth pairs,
# a dockerd per node (Tests/network/netlab.py). Installs iproute2 and docker.io if missing,
# starts the host's dockerd if none answers (its images are saved into the nodes' engines),
# makes the base image locally, then runs the harness's self-test and the agents test with
# the host's debug build, and — when the stack's image exists (scripts/docker/stack-test.sh,
# which scripts/test.sh runs first, builds it from this checkout) — scripts/bootstrap/agent.sh
# --compose on a node (Tests/network/deploy_test.py). Root only. About three minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh network
scripts/docker/engine.sh
read -r RUNTIME_IMAGE _ < <(scripts/docker/base-images.sh | tail -1)
export RUNTIME_IMAGE
python3 Tests/network/netlab.py --clean >/dev/null   # labs of runs killed with -9, if any
python3 Tests/network/netlab_test.py
python3 Tests/network/agents_test.py "$(swift build --show-bin-path)/homelab"
python3 Tests/network/actions_test.py "$(swift build --show-bin-path)/homelab"
if docker image inspect "${HOMELAB_IMAGE:-homelab-control-plane:latest}" >/dev/null 2>&1; then
  python3 Tests/network/deploy_test.py "$(swift build --show-bin-path)/homelab"
else
  echo "network-test: no image ${HOMELAB_IMAGE:-homelab-control-plane:latest}: the node bootstrap test needs it (scripts/docker/stack-test.sh builds it)" >&2
  exit 1
fi
