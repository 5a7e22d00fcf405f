#!/usr/bin/env bash
# Installs or upgrades the homelab agent on this node (SPEC §11): its heartbeat and facts and
# its Docker containers, delivered to the control plane on the VPS over HTTP with this node's
# token. Idempotent: running it again is the upgrade (a new image or binary, the same token,
# the spool kept).
#
#   scripts/bootstrap/agent.sh --node NAME --server URL --token TOKEN [--compose | --systemd]
#
#   --node NAME      this node's name in the world (node/NAME, container/NAME/…)
#   --server URL     the VPS UI as this node reaches it, http://HOST:PORT (e.g. over Tailscale)
#   --token TOKEN    this node's token, made on the VPS by `homelab agent-token NAME`
#                    (or --token-file PATH, or HOMELAB_AGENT_TOKEN in the environment)
#   --compose        the agent as a Compose service (docker/agent.compose.yaml): the default
#                    when `docker compose` or `docker-compose` answers
#   --systemd        the agent as a systemd service (docker/homelab-agent.service), user
#                    homelab-agent: the default without Compose
#   --binary PATH    (systemd) install this `homelab` binary instead of building one
#   --image IMAGE    (compose) run this image as it is instead of building one
#
# What it does:
#   1. checks that the server answers and takes the token (says why not, and goes on: the agent
#      spools until the server is reachable);
#   2. writes the token to /etc/homelab-agent/token (0600) and the settings beside it;
#   3. compose: builds the stack's image from this checkout (docker/Dockerfile, base images as
#      in scripts/bootstrap/vps-control-plane.sh) unless --image, and starts or recreates the
#      `agent` service (project homelab-agent, files in /etc/homelab-agent);
#      systemd: builds or takes the binary into /usr/local/bin/homelab, makes the user
#      homelab-agent, installs and (re)starts homelab-agent.service;
#   4. waits until the agent's first delivery succeeded (HOMELAB_AGENT_WAIT seconds, default
#      120), or prints why not and exits 1 (the agent stays installed and keeps trying).
#
# Optional settings passed on to the agent when set: HOMELAB_HEARTBEAT_SECONDS,
# HOMELAB_LOG_LEVEL, HOMELAB_AGENT_SPOOL_MAX_MB, HOMELAB_AGENT_MOUNTS. Also: HOMELAB_ETC (default
# /etc/homelab-agent), DOCKER_SOCKET (default /var/run/docker.sock), HOMELAB_IMAGE (default
# homelab-control-plane:latest), HOMELAB_COMPOSE=v1|v2, SWIFT_IMAGE / RUNTIME_IMAGE.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
say() { echo "agent-bootstrap: $*"; }
fail() { echo "agent-bootstrap: $*" >&2; exit 1; }
usage() { sed -n '6,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

node= server= token=${HOMELAB_AGENT_TOKEN:-} mode= binary= image=
while [ $# -gt 0 ]; do
  case $1 in
    --node) node=${2:-}; shift 2 ;;
    --server) server=${2:-}; shift 2 ;;
    --token) token=${2:-}; shift 2 ;;
    --token-file) [ -r "${2:-}" ] || fail "--token-file: cannot read ${2:-}"; token=$(tr -d ' \n\r\t' <"$2"); shift 2 ;;
    --compose) mode=compose; shift ;;
    --systemd) mode=systemd; shift ;;
    --binary) binary=${2:-}; shift 2 ;;
    --image) image=${2:-}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "agent-bootstrap: unknown argument \"$1\"" >&2; usage ;;
  esac
done
[ -n "$node" ] || fail "--node NAME is missing (this node's name, as in homelab agent-token NAME on the VPS)"
[[ $node =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || fail "--node: \"$node\" is not a node name ([A-Za-z0-9][A-Za-z0-9._-]*)"
[ -n "$server" ] || fail "--server URL is missing (the VPS UI, http://HOST:PORT)"
[[ $server =~ ^http://(\[[0-9A-Fa-f:.]+\]|[^/:@[]+)(:([0-9]+))?(/.*)?$ ]] \
  || fail "--server: \"$server\" is not http://HOST[:PORT] (only http: put TLS in the network, e.g. Tailscale)"
server_host=${BASH_REMATCH[1]} server_port=${BASH_REMATCH[3]:-80} server_prefix=${BASH_REMATCH[4]%/}
server_host=${server_host#[}; server_host=${server_host%]}
[ -n "$token" ] || fail "--token TOKEN is missing (on the VPS: homelab agent-token $node)"
[[ $token =~ ^[!-~]+$ ]] || fail "--token: the token holds spaces or control characters"
[ "$(id -u)" = 0 ] || fail "run as root (it writes /etc/homelab-agent and installs a service)"

etc=${HOMELAB_ETC:-/etc/homelab-agent}
socket=${DOCKER_SOCKET:-/var/run/docker.sock}
wait_seconds=${HOMELAB_AGENT_WAIT:-120}
passed=(HOMELAB_HEARTBEAT_SECONDS HOMELAB_LOG_LEVEL HOMELAB_AGENT_SPOOL_MAX_MB HOMELAB_AGENT_MOUNTS)

compose=()
find_compose() {
  case ${HOMELAB_COMPOSE:-} in
    v2) docker compose version >/dev/null 2>&1 && compose=(docker compose) ;;
    v1) command -v docker-compose >/dev/null && compose=(docker-compose) ;;
    *) if docker compose version >/dev/null 2>&1; then compose=(docker compose)
       elif command -v docker-compose >/dev/null; then compose=(docker-compose); fi ;;
  esac
}
if [ -z "$mode" ] || [ "$mode" = compose ]; then find_compose; fi
if [ -z "$mode" ]; then
  if [ ${#compose[@]} -gt 0 ] && docker info >/dev/null 2>&1; then mode=compose; else mode=systemd; fi
fi
say "node $node, server $server, as a $mode service"

# --- 1. the server, from here ------------------------------------------------------------
# POST an empty batch with the token: 401 is a refused token; anything else from the UI means
# it is reachable and took the token. Plain bash (/dev/tcp), as a node may have no curl.
preflight=
probe_server() {
  local answer status
  answer=$(timeout 10 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 3
    printf "POST %s/api/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/cloudevents-batch+json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]" "$3" "$1:$2" "$4" >&3
    head -c 300 <&3' _ "$server_host" "$server_port" "$server_prefix" "$token" 2>/dev/null) || true
  status=$(sed -n '1s/^HTTP\/1\.[01] \([0-9][0-9][0-9]\).*/\1/p' <<<"$answer" | tr -d '\r')
  case $status in
    "") preflight="cannot reach $server_host:$server_port from this node (is the VPS up, the UI published on that address, the network — Tailscale — connected?)" ;;
    2??|400|413|415) preflight= ;;   # past the token check: the empty batch itself is the server's business
    401) preflight="the server refuses the token (401): make one on the VPS with 'homelab agent-token $node' and pass it with --token" ;;
    403) preflight="the server refuses the token for node $node (403): was it made for another node?" ;;
    404) preflight="$server answers, but not as the control plane's UI (404 for /api/events): check the URL and its prefix" ;;
    429) preflight="the server refuses this node's address for now (429) after too many wrong tokens: check the token, then try again in a minute" ;;
    *) preflight="$server answered $status to a post of no events: $(sed -n '1p' <<<"$answer" | tr -d '\r')" ;;
  esac
}
probe_server
if [ -n "$preflight" ]; then say "warning: $preflight; installing anyway (the agent spools until it gets through)"
else say "the server answers and takes the token"; fi

# --- 2. the token and the settings -----------------------------------------------------
mkdir -p "$etc"; chmod 0755 "$etc"
write_file() {  # write_file PATH MODE OWNER < content; atomically, replacing any earlier one
  local tmp
  tmp=$(mktemp "$1.XXXXXX")
  cat >"$tmp"; chmod "$2" "$tmp"; chown "$3" "$tmp"; mv -f "$tmp" "$1"
}
settings() {
  echo "HOMELAB_NODE=$node"
  echo "HOMELAB_SERVER=$server"
  local name
  for name in "${passed[@]}"; do [ -n "${!name:-}" ] && echo "$name=${!name}"; done
  return 0
}

# --- 3. the service ------------------------------------------------------------------------
status_file=
read_status() { :; }
show_logs() { :; }

if [ "$mode" = compose ]; then
  [ ${#compose[@]} -gt 0 ] || fail "--compose: neither 'docker compose' nor 'docker-compose' answers${HOMELAB_COMPOSE:+ (HOMELAB_COMPOSE=$HOMELAB_COMPOSE)}"
  docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (is dockerd running?)"
  [ -S "$socket" ] || fail "no Docker socket at $socket (set DOCKER_SOCKET)"
  # The container runs as UID 1000 and reads the token as a compose secret (a bind mount).
  printf '%s\n' "$token" | write_file "$etc/token" 0600 1000:1000
  # --image: that image as it is. Otherwise the image is built from this checkout each time
  # (the upgrade; Docker's cache makes an unchanged one quick), unless HOMELAB_AGENT_BUILD=0.
  build_image=
  if [ -z "$image" ]; then
    image=${HOMELAB_IMAGE:-homelab-control-plane:latest}
    [ "${HOMELAB_AGENT_BUILD:-1}" = 0 ] || build_image=1
  fi
  if [ -n "$build_image" ]; then
    read -r RUNTIME_IMAGE SWIFT_IMAGE < <(scripts/docker/pick-base-images.sh | tail -1)
    revision=$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo local)
    say "building $image (revision $revision) on $SWIFT_IMAGE and $RUNTIME_IMAGE (a while on a small node; --image IMAGE skips it)"
    log=$etc/build.log
    docker build -f docker/Dockerfile --build-arg SWIFT_IMAGE="$SWIFT_IMAGE" --build-arg RUNTIME_IMAGE="$RUNTIME_IMAGE" \
      -t "$image" -t "homelab-control-plane:$revision" . >"$log" 2>&1 \
      || { tail -n 30 "$log" >&2; fail "the image did not build (whole log: $log)"; }
  fi
  docker image inspect "$image" >/dev/null 2>&1 || fail "no image $image (build it, or load it: docker save IMAGE | ssh THIS-NODE docker load)"
  # The deployment lives in $etc, apart from this checkout: compose.yaml and its .env.
  write_file "$etc/compose.yaml" 0644 root:root <docker/agent.compose.yaml
  {
    settings
    echo "HOMELAB_AGENT_TOKEN_HOST=$etc/token"
    echo "HOMELAB_IMAGE=$image"
    echo "DOCKER_SOCKET=$socket"
    echo "DOCKER_GID=$(stat -c %g "$socket")"
  } | write_file "$etc/.env" 0644 root:root
  compose_name=${compose[*]}
  compose+=(--project-directory "$etc" -f "$etc/compose.yaml" -p homelab-agent)
  say "starting the agent with $compose_name (project homelab-agent, in $etc)"
  # Recreated each time, so a new token, settings or image is read (the spool is a volume).
  "${compose[@]}" up -d --remove-orphans --force-recreate 2>&1 | sed 's/^/  /'
  read_status() {
    local id
    id=$("${compose[@]}" ps -q agent 2>/dev/null) || return 0
    [ -n "$id" ] && docker exec "$id" cat /var/lib/homelab-agent/.status.json 2>/dev/null || true
  }
  show_logs() { "${compose[@]}" logs --tail 20 agent 2>&1 | sed 's/^/  /'; }
  where="cd $etc && $compose_name -p homelab-agent logs agent"
else
  command -v systemctl >/dev/null || fail "--systemd: no systemctl on this host"
  printf '%s\n' "$token" | write_file "$etc/token" 0600 root:root
  # The binary: --binary, else a release build of this checkout, else the one in the image.
  if [ -n "$binary" ]; then
    [ -x "$binary" ] || fail "--binary: $binary is not an executable"
  elif command -v swift >/dev/null; then
    say "building the release binary (swift build -c release --static-swift-stdlib)"
    swift build -c release --static-swift-stdlib --product homelab >"$etc/build.log" 2>&1 \
      || { tail -n 30 "$etc/build.log" >&2; fail "the build failed (whole log: $etc/build.log)"; }
    binary=$(swift build -c release --static-swift-stdlib --show-bin-path)/homelab
  elif command -v docker >/dev/null && docker image inspect "${HOMELAB_IMAGE:-homelab-control-plane:latest}" >/dev/null 2>&1; then
    say "taking the binary out of ${HOMELAB_IMAGE:-homelab-control-plane:latest}"
    id=$(docker create "${HOMELAB_IMAGE:-homelab-control-plane:latest}")
    docker cp "$id:/usr/local/bin/homelab" "$etc/homelab.new" >/dev/null; docker rm "$id" >/dev/null
    binary=$etc/homelab.new
  else
    fail "no homelab binary: pass --binary PATH (copy it from the VPS: docker cp \$(docker create homelab-control-plane):/usr/local/bin/homelab .), or install Swift 6"
  fi
  install -m 0755 "$binary" /usr/local/bin/homelab.new && mv -f /usr/local/bin/homelab.new /usr/local/bin/homelab
  rm -f "$etc/homelab.new"
  getent group homelab-agent >/dev/null || groupadd --system homelab-agent
  getent passwd homelab-agent >/dev/null \
    || useradd --system --gid homelab-agent --home-dir /var/lib/homelab-agent --no-create-home --shell /usr/sbin/nologin homelab-agent
  {
    settings
    if [ -S "$socket" ]; then
      [ "$socket" = /var/run/docker.sock ] || [ "$socket" = /run/docker.sock ] || echo "DOCKER_HOST=unix://$socket"
    else
      echo "HOMELAB_AGENT_DOCKER=0"
    fi
  } | write_file "$etc/env" 0644 root:root
  write_file /etc/systemd/system/homelab-agent.service 0644 root:root <docker/homelab-agent.service
  # The Docker socket's group as it is on this host (not always `docker`), or none without Docker.
  mkdir -p /etc/systemd/system/homelab-agent.service.d
  {
    echo "# Written by scripts/bootstrap/agent.sh: the Docker socket's group on this host."
    echo "[Service]"
    echo "SupplementaryGroups="
    [ -S "$socket" ] && echo "SupplementaryGroups=$(stat -c %G "$socket")"
  } | write_file /etc/systemd/system/homelab-agent.service.d/10-docker-group.conf 0644 root:root
  [ -d /run/systemd/system ] || fail "systemd is not running on this host: the unit is in /etc/systemd/system/homelab-agent.service, start it where systemd runs"
  systemctl daemon-reload
  systemctl enable homelab-agent.service >/dev/null 2>&1
  say "(re)starting homelab-agent.service"
  systemctl restart homelab-agent.service
  read_status() { cat /var/lib/homelab-agent/.status.json 2>/dev/null || true; }
  show_logs() { journalctl -u homelab-agent.service -n 20 --no-pager 2>&1 | sed 's/^/  /'; }
  where="journalctl -u homelab-agent -f"
fi

# --- 4. the first delivery ---------------------------------------------------------------
say "waiting for the agent's first delivery (up to $wait_seconds s)"
deadline=$((SECONDS + wait_seconds))
status=
while [ $SECONDS -lt $deadline ]; do
  status=$(read_status)
  if grep -Eq '"lastDelivery" *: *"' <<<"$status"; then
    delivered=$(grep -Eo '"delivered" *: *[0-9]+' <<<"$status" | grep -Eo '[0-9]+$' || echo "?")
    say "delivering: $delivered events so far (last at $(grep -Eo '"lastDelivery" *: *"[^"]*"' <<<"$status" | cut -d'"' -f4))"
    say "node $node reports to $server; logs: $where"
    exit 0
  fi
  sleep 2
done
echo "agent-bootstrap: no delivery within $wait_seconds s. Why:" >&2
if [ -z "$status" ]; then
  echo "  - the agent wrote no status: it is not running, or exits at start (its log below)" >&2
else
  failures=$(grep -Eo '"failures" *: *[0-9]+' <<<"$status" | grep -Eo '[0-9]+$' || echo 0)
  grep -Eq '"connected" *: *true' <<<"$status" || echo "  - the agent is not connected to $server ($failures failed requests)" >&2
fi
probe_server
[ -n "$preflight" ] && echo "  - $preflight" >&2
show_logs >&2
echo "agent-bootstrap: the agent stays installed and keeps trying (it spools meanwhile); logs: $where" >&2
exit 1
