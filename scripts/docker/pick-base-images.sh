#!/usr/bin/env bash
# The base images the Dockerfile takes as build args, for the VPS's and a node's bootstrap:
# SWIFT_IMAGE and RUNTIME_IMAGE when both are set; else the registry's swift:6.3-bookworm and
# debian:bookworm-slim, when it answers; else the ones scripts/docker/base-images.sh makes
# locally (debootstrap). Prints "RUNTIME SWIFT" as its last line.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -n "${SWIFT_IMAGE:-}" ] && [ -n "${RUNTIME_IMAGE:-}" ]; then
  echo "$RUNTIME_IMAGE $SWIFT_IMAGE"
  exit 0
fi
swift=swift:6.3-bookworm runtime=debian:bookworm-slim
for image in "$swift" "$runtime"; do
  if ! docker image inspect "$image" >/dev/null 2>&1 && ! docker pull -q "$image" >/dev/null 2>&1; then
    echo "base images: no registry answers: building them locally" >&2
    scripts/docker/base-images.sh | tail -1
    exit 0
  fi
done
echo "$runtime $swift"
