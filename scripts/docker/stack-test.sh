#!/usr/bin/env bash
# The compose stack on a real Docker engine: installs Debian's docker.io, docker-compose and
# debootstrap if missing, starts dockerd if none answers, makes the base images locally (no
# registry is reachable in CI), then runs Tests/docker/stack_test.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh docker
scripts/docker/engine.sh
read -r RUNTIME_IMAGE SWIFT_IMAGE < <(scripts/docker/base-images.sh | tail -1)
export RUNTIME_IMAGE SWIFT_IMAGE
exec python3 Tests/docker/stack_test.py
