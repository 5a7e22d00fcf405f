#!/usr/bin/env bash
# Makes sure a Docker engine answers: starts Debian's dockerd in the background if none does
# (CI machines and fresh sessions have the client only). Idempotent.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
command -v dockerd >/dev/null || { echo "engine: dockerd not installed (scripts/install-deps.sh docker)" >&2; exit 1; }
echo "engine: starting dockerd (log: /var/log/homelab-dockerd.log)"
nohup dockerd >/var/log/homelab-dockerd.log 2>&1 &
for _ in $(seq 1 100); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 0.2
done
echo "engine: dockerd did not answer within 20 s; see /var/log/homelab-dockerd.log" >&2
exit 1
