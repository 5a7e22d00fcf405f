# shellcheck shell=bash
# The preamble of every bench/*.sh (sourced, after the script has set WORK):
#
#     . "$(dirname "$0")/lib.sh"
#
# Strict mode, the repository as the working directory, and helpers for the release binary,
# the C probes, the peers and the figures. What a benchmark needs from outside the repository
# is checked before the minutes of a release build: each missing thing ends the script with
# one line saying how to get it, or is installed through scripts/install-deps.sh where that
# script has a purpose for it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bench=bench/${0##*/}

die() { echo "$bench: $*" >&2; exit 1; }

# need COMMAND HOW: COMMAND must be on PATH; HOW says where to get it.
need() { command -v "$1" >/dev/null || die "$1 is missing: $2"; }

# with_deps PURPOSE COMMAND...: the commands on PATH, installing `scripts/install-deps.sh
# PURPOSE` (Debian packages, idempotent) if one is missing.
with_deps() {
  local purpose=$1 command missing=()
  shift
  for command; do command -v "$command" >/dev/null || missing+=("$command"); done
  [ ${#missing[@]} -eq 0 ] && return
  scripts/install-deps.sh "$purpose" >/dev/null 2>&1 \
    || die "${missing[*]} missing, and scripts/install-deps.sh $purpose could not install it (it runs apt-get: run as root, or install ${missing[*]} yourself)"
  for command in "${missing[@]}"; do
    command -v "$command" >/dev/null || die "$command is still missing after scripts/install-deps.sh $purpose"
  done
}

need swift "the Swift 6 toolchain on PATH (https://www.swift.org/install)"

# build_homelab: the release binary with the static Swift standard library, as the Docker
# image has it, → $HOMELAB. SwiftPM's build is incremental, so only the first script pays.
build_homelab() {
  swift build -c release --static-swift-stdlib --product homelab >/dev/null
  HOMELAB=$(swift build -c release --static-swift-stdlib --show-bin-path)/homelab
}

# probe NAME [SOURCE]: compiles bench/NAME.c (or SOURCE) into $WORK/bin/NAME.
probe() {
  mkdir -p "$WORK/bin"
  cc -O2 -Wall -o "$WORK/bin/$1" "${2:-bench/$1.c}"
}

# find_peers: the peers measured in the same run (the C inotify+epoll mover, the floor, and
# the inotifywait | while read; mv pipeline) → $PEERS. They are not in this repository: they
# come from the shared workspace next to the checkout, or from PEERS=DIR.
find_peers() {
  PEERS=${PEERS:-$(cd .. && pwd)/shared/peers}
  local file
  for file in c_mover.c shell_mover.sh; do
    [ -f "$PEERS/$file" ] || die "the peer $PEERS/$file is missing: check out the shared workspace's peers/ next to this repository (../shared/peers), or set PEERS=DIR to a folder with c_mover.c and shell_mover.sh"
  done
}

# field KEY LINE: the number after ` KEY=` in a probe's key=value line.
field() { sed -n "s/.*[ ^]$1=\([0-9.]*\).*/\1/p" <<<" $2"; }

# ratio A B: A/B to two decimals, or n/a.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
