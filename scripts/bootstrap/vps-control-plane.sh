#!/usr/bin/env bash
# Bootstraps or upgrades the control plane on this host (SPEC §8). Idempotent: running it
# again is the upgrade — it rebuilds the image from this checkout and recreates whatever
# changed, leaving the runtime root and the operator token as they are.
#
#   1. the runtime root ($HOMELAB_ROOT_HOST, default /opt/homelab): every folder, owned by
#      UID 1000 (the image's `homelab` user), secrets/ 0700
#   2. the operator token secrets/ui-token (0600), if absent
#   3. the image homelab-control-plane:latest (also tagged with the git commit, for rollback)
#   4. the proxy network Nginx Proxy Manager joins ($HOMELAB_PROXY_NETWORK, default homelab-proxy)
#   5. a docker context named $HOMELAB_HOST (default vps) for this host's engine, in
#      secrets/docker, where the executor's `docker --context NODE` looks (add your other
#      nodes there: DOCKER_CONFIG=/opt/homelab/secrets/docker docker context create nas ...)
#   6. the stack (docker/compose.yaml): started, or recreated where the image changed
#   7. waits until the five services and the VPS's own agent report healthy, then prints where the UI is
#
# Settings (environment): those of docker/compose.yaml, plus
#   SWIFT_IMAGE, RUNTIME_IMAGE    base images (default: the official swift:6.3-bookworm and
#                                 debian:bookworm-slim; where no registry answers, built
#                                 locally by scripts/docker/base-images.sh)
#   HOMELAB_HEALTH_TIMEOUT        seconds to wait for health (default 180)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
say() { echo "bootstrap: $*"; }
fail() { echo "bootstrap: $*" >&2; exit 1; }

export HOMELAB_ROOT_HOST=${HOMELAB_ROOT_HOST:-/opt/homelab}
export HOMELAB_IMAGE=${HOMELAB_IMAGE:-homelab-control-plane:latest}
export HOMELAB_PROXY_NETWORK=${HOMELAB_PROXY_NETWORK:-homelab-proxy}
export HOMELAB_UI_PUBLISH=${HOMELAB_UI_PUBLISH:-127.0.0.1:8080}
export HOMELAB_HOST=${HOMELAB_HOST:-vps}
export DOCKER_SOCKET=${DOCKER_SOCKET:-/var/run/docker.sock}
owner=1000:1000

command -v docker >/dev/null || fail "docker is not installed"
docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (is dockerd running, and may $(id -un) use it?)"
# Compose v2 (`docker compose`) when it answers, else v1 (`docker-compose`);
# HOMELAB_COMPOSE=v1 or v2 insists on one.
case ${HOMELAB_COMPOSE:-} in
  v2) docker compose version >/dev/null 2>&1 || fail "HOMELAB_COMPOSE=v2, but 'docker compose' does not answer"; compose=(docker compose) ;;
  v1) command -v docker-compose >/dev/null || fail "HOMELAB_COMPOSE=v1, but 'docker-compose' is not installed"; compose=(docker-compose) ;;
  "") if docker compose version >/dev/null 2>&1; then compose=(docker compose)
      elif command -v docker-compose >/dev/null; then compose=(docker-compose)
      else fail "neither 'docker compose' nor 'docker-compose' is installed"; fi ;;
  *) fail "HOMELAB_COMPOSE: \"$HOMELAB_COMPOSE\" is not v1 or v2" ;;
esac
compose_name=${compose[*]}
compose+=(--project-directory "$repo/docker" -f "$repo/docker/compose.yaml" -p homelab-control-plane)

# The supervisor refuses to start without an inventory: say so now, in terms of the host.
repo_host=$(cd "$repo/docker" && cd "${HOMELAB_REPO_HOST:-..}" 2>/dev/null && pwd) \
  || fail "HOMELAB_REPO_HOST: ${HOMELAB_REPO_HOST:-..} is not a folder"
inventory=${HOMELAB_INVENTORY:-/repo/inventory}
case $inventory in
  /repo|/repo/*) [ -d "$repo_host${inventory#/repo}" ] || fail "no inventory at $repo_host${inventory#/repo}: set HOMELAB_REPO_HOST to your homelab repository (or try the example: HOMELAB_INVENTORY=/repo/examples/inventory)" ;;
esac

say "runtime root $HOMELAB_ROOT_HOST"
folders=(inbox audit rejected events world state logs logs/actions actions
  actions/pending actions/approved actions/running actions/done actions/failed actions/rejected actions/superseded)
for folder in "${folders[@]}"; do mkdir -p "$HOMELAB_ROOT_HOST/$folder"; done
mkdir -p -m 0700 "$HOMELAB_ROOT_HOST/secrets" "$HOMELAB_ROOT_HOST/secrets/docker"
chmod 0700 "$HOMELAB_ROOT_HOST/secrets" "$HOMELAB_ROOT_HOST/secrets/docker"

# The agent and the executor reach the engine through the socket's group.
[ -S "$DOCKER_SOCKET" ] || fail "no Docker socket at $DOCKER_SOCKET (set DOCKER_SOCKET)"
export DOCKER_GID=${DOCKER_GID:-$(stat -c %g "$DOCKER_SOCKET")}
if ! DOCKER_CONFIG=$HOMELAB_ROOT_HOST/secrets/docker docker context inspect "$HOMELAB_HOST" >/dev/null 2>&1; then
  DOCKER_CONFIG=$HOMELAB_ROOT_HOST/secrets/docker docker context create "$HOMELAB_HOST" \
    --description "this host's engine" --docker "host=unix:///var/run/docker.sock" >/dev/null
  say "created the docker context $HOMELAB_HOST (this host) in $HOMELAB_ROOT_HOST/secrets/docker"
fi
# The layout's folders and the secrets (not every file below: a big event log stays as it is).
for folder in "" "${folders[@]}" secrets; do chown "$owner" "$HOMELAB_ROOT_HOST/$folder"; done
chown -R "$owner" "$HOMELAB_ROOT_HOST/secrets/docker"

token_file=$HOMELAB_ROOT_HOST/secrets/ui-token
if [ ! -s "$token_file" ]; then
  (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' > "$token_file.tmp" && echo >> "$token_file.tmp" && mv "$token_file.tmp" "$token_file")
  say "created the operator token in $token_file"
fi
chown "$owner" "$token_file" && chmod 0600 "$token_file"

# Base images: the official ones where a registry answers, else local ones.
read -r RUNTIME_IMAGE SWIFT_IMAGE < <(scripts/docker/pick-base-images.sh | tail -1)
revision=$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo local)
say "building $HOMELAB_IMAGE (revision $revision) on $SWIFT_IMAGE and $RUNTIME_IMAGE"
build_log=$HOMELAB_ROOT_HOST/logs/bootstrap-build.log
docker build -f docker/Dockerfile --build-arg SWIFT_IMAGE="$SWIFT_IMAGE" --build-arg RUNTIME_IMAGE="$RUNTIME_IMAGE" \
  -t "$HOMELAB_IMAGE" -t "homelab-control-plane:$revision" . >"$build_log" 2>&1 \
  || { tail -n 30 "$build_log" >&2; fail "the image did not build (whole log: $build_log)"; }

docker network inspect "$HOMELAB_PROXY_NETWORK" >/dev/null 2>&1 || {
  docker network create "$HOMELAB_PROXY_NETWORK" >/dev/null
  say "created the network $HOMELAB_PROXY_NETWORK (Nginx Proxy Manager joins it as external)"
}

say "starting the stack with $compose_name"
"${compose[@]}" up -d --remove-orphans 2>&1 | sed 's/^/  /'

deadline=$((SECONDS + ${HOMELAB_HEALTH_TIMEOUT:-180}))
services=(observer supervisor executor ui notifier agent)
while :; do
  waiting=()
  for service in "${services[@]}"; do
    id=$("${compose[@]}" ps -q "$service" 2>/dev/null || true)
    health=$( [ -n "$id" ] && docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null || echo missing)
    [ "$health" = healthy ] || waiting+=("$service:$health")
  done
  [ ${#waiting[@]} -eq 0 ] && break
  [ $SECONDS -ge $deadline ] && fail "not healthy after ${HOMELAB_HEALTH_TIMEOUT:-180} s: ${waiting[*]} (see: cd docker && $compose_name logs)"
  say "waiting for ${waiting[*]}"
  sleep 2
done
say "all five services and the agent are healthy"
say "UI: http://$HOMELAB_UI_PUBLISH/ (Nginx Proxy Manager: http://control-plane-ui:8080 on the network $HOMELAB_PROXY_NETWORK)"
say "operator token: $token_file"
