#!/usr/bin/env bash
# Docker for real: installs Debian's docker.io, docker-compose and debootstrap if missing,
# starts dockerd if none answers, makes the base images locally (no registry is reachable in
# CI), then runs the collector and Docker actions against real containers with the host's
# build (Tests/docker/collector_test.py) and the compose stack (Tests/docker/stack_test.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh docker
scripts/docker/engine.sh
read -r RUNTIME_IMAGE SWIFT_IMAGE < <(scripts/docker/base-images.sh | tail -1)
export RUNTIME_IMAGE SWIFT_IMAGE
python3 Tests/docker/collector_test.py "$(swift build --show-bin-path)/homelab"
# The stack under Compose v2 (what most users have), then v1 (Debian 12's docker-compose).
scripts/docker/compose-v2.sh
HOMELAB_COMPOSE=v2 python3 Tests/docker/stack_test.py
HOMELAB_COMPOSE=v1 python3 Tests/docker/stack_test.py
