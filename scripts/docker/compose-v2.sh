#!/usr/bin/env bash
# Compose v2 (`docker compose`), what most users have, beside Debian 12's docker-compose 1.29:
# Debian 13's docker-compose package is Compose 2.26, a static binary that works as a CLI
# plugin here. Fetched through apt from Debian's own mirror (a private source list: the
# system's stays as it is) and installed as /usr/local/lib/docker/cli-plugins/docker-compose.
# Idempotent: nothing happens when `docker compose` already answers.
set -euo pipefail
docker compose version >/dev/null 2>&1 && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial"
echo "deb http://deb.debian.org/debian trixie main" >"$work/sources.list"
apt=(-q -o APT::Sandbox::User=root -o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o Dir::State::Lists="$work/lists" -o Dir::Cache::Archives="$work/archives")
echo "compose-v2: fetching Debian 13's docker-compose (Compose v2) as a CLI plugin" >&2
apt-get "${apt[@]}" update >/dev/null
(cd "$work" && apt-get "${apt[@]}" download docker-compose >/dev/null 2>&1)
dpkg-deb -x "$work"/docker-compose_*.deb "$work/x"
install -D -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" /usr/local/lib/docker/cli-plugins/docker-compose
docker compose version >/dev/null || { echo "compose-v2: 'docker compose' does not answer after the install" >&2; exit 1; }
