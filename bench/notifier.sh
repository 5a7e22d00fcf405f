#!/usr/bin/env bash
# Notifier figures:
#   - event → message at the receiver, p50/p99 over N proposals (an `action.proposed` renamed
#     into audit/ → the observer logs it → the notifier reads the log, writes the outbox and
#     posts it to a webhook on loopback), one at a time, with the grouping window at 0 (the
#     default window of 2 s is a deliberate wait on top: a storm becomes one message)
#   - the notifier's RSS afterwards
#
# usage: bench/notifier.sh [N=1000] [WORK=/var/tmp/homelab-bench]
N=${1:-1000}; WORK=${2:-/var/tmp/homelab-bench}
. "$(dirname "$0")/lib.sh"
need python3 "apt-get install python3 (the receiver and the injector)"
build_homelab
RUN=$WORK/notifier-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN/repo/inventory/notify" "$RUN/repo/inventory/resources" "$RUN/repo/inventory/actions"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "{\"type\": \"webhook\", \"url\": \"http://127.0.0.1:$PORT/hook\"}" > "$RUN/repo/inventory/notify/bench.json"
echo "== notifier bench: N=$N ($(nproc) cores, $(uname -r)); figures in $RUN"

export HOMELAB_ROOT=$RUN/root HOMELAB_REPO=$RUN/repo HOMELAB_PUBLIC_URL=http://dash.example/ HOMELAB_NOTIFY_GROUP_MS=0
coproc DRIVER { python3 bench/notifier_bench.py "$RUN/root" "$PORT" "$N"; }
read -r ready <&"${DRIVER[0]}"
[ "$ready" = ready ] || die "the receiver did not start"
"$HOMELAB" observer 2>"$RUN/observer.log" & observer=$!
"$HOMELAB" notifier 2>"$RUN/notifier.log" & notifier=$!
trap 'kill -TERM $observer $notifier 2>/dev/null || true' EXIT
until grep -q "notifying" "$RUN/notifier.log" && [ -f "$RUN/root/state/observer.json" ]; do sleep 0.05; done
echo go >&"${DRIVER[1]}"
read -r figures <&"${DRIVER[0]}" || die "the driver stopped: see $RUN"
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$notifier/status"); peak=$(awk '/VmHWM/ { print $2 }' "/proc/$notifier/status")
echo "homelab notifier  $figures"
echo
echo "== summary"
echo "event → message at the receiver: p50 $(field p50_ms "$figures") ms, p99 $(field p99_ms "$figures") ms (goal p99 < 100 ms)"
echo "notifier RSS $((rss / 1024)) MB (peak $((peak / 1024)) MB)"
