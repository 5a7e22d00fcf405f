#!/usr/bin/env bash
# Observer figures, with the peers (../shared/peers) measured in the same run on the same files:
#   - throughput, live: N files renamed into a running consumer's inbox as fast as possible
#   - throughput, backlog: N files already in the inbox when the consumer starts
#   - latency: one file renamed in → its world/ file updated (peers: → moved), LAT_N drops
#   - replay: world/ rebuilt from REPLAY_N logged events, with peak RSS
#   - RSS of the observer after the live burst
# Peers: the c_mover floor (inotify+epoll+rename) and the inotifywait|while read; mv pipeline
# (run with SHELL_N files: at ~800 files/s it would take minutes for N, and it loses files
# past ~16k in a burst anyway).
#
# usage: bench/observer.sh [N=100000] [LAT_N=2000] [REPLAY_N=1000000] [WORK=/var/tmp/homelab-bench]
# env: SHELL_N=20000 RESOURCES=1000
# Runs on the real disk (ext4 here) in fresh folders and deletes nothing before measuring:
# creating files right after a mass delete is pathologically slow on this VM's ext4.
N=${1:-100000}; LAT_N=${2:-2000}; REPLAY_N=${3:-1000000}; WORK=${4:-/var/tmp/homelab-bench}
SHELL_N=${SHELL_N:-20000}; RESOURCES=${RESOURCES:-1000}
. "$(dirname "$0")/lib.sh"
find_peers
with_deps bench cc inotifywait  # inotifywait: the shell peer
need python3 "apt-get install python3 (it writes the replay's event log)"
build_homelab
probe inbox_probe
probe c_mover "$PEERS/c_mover.c"
PROBE=$WORK/bin/inbox_probe
RUN=$WORK/observer-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"
echo "== observer bench: N=$N over $RESOURCES resources, LAT_N=$LAT_N, REPLAY_N=$REPLAY_N ($(nproc) cores, $(uname -r)); figures in $RUN"

start_observer() { # ROOT → pid in $obs
  HOMELAB_ROOT=$1 HOMELAB_HEARTBEAT_SECONDS=1 "$HOMELAB" observer 2>>"$1.log" &
  obs=$!
  until [ -f "$1/state/observer_checkpoint.json" ]; do sleep 0.05; done
}
start_peer() { # c|shell INBOX EVENTS → pid in $peer
  case $1 in
    c) setsid "$WORK/bin/c_mover" "$2" "$3" 2>/dev/null & ;;
    shell) setsid "$PEERS/shell_mover.sh" "$2" "$3" 2>/dev/null & ;;
  esac
  peer=$!
  sleep 0.3  # inotifywait sets its watch after starting; the probe's files must not precede it
}
stop() { kill -TERM -- "$1" 2>/dev/null || kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

echo "-- throughput, live burst"
d=$RUN/live-homelab; mkdir -p "$d/stage" "$d/root/inbox"
"$PROBE" stage "$d/stage" "$N" live "$RESOURCES" >/dev/null
start_observer "$d/root"
live_self=$("$PROBE" thr "$d/stage" "$d/root/inbox" "$N" live "observer:$d/root/state" || true)
sleep 1
rss_steady=$(awk '/VmRSS/ { print $2 }' "/proc/$obs/status"); rss_peak=$(awk '/VmHWM/ { print $2 }' "/proc/$obs/status")
overflows=$(sed -n 's/.*"inotifyOverflows":\([0-9]*\).*/\1/p' "$d/root/state/observer.json")
stop "$obs"
echo "homelab  $live_self (inotify overflows recovered by rescan: $overflows)"
d=$RUN/live-c; mkdir -p "$d/stage" "$d/inbox" "$d/events"
"$PROBE" stage "$d/stage" "$N" live "$RESOURCES" >/dev/null
start_peer c "$d/inbox" "$d/events"
live_c=$("$PROBE" thr "$d/stage" "$d/inbox" "$N" live "mover:$d/events" || true)
stop "-$peer"
echo "c floor  $live_c"
d=$RUN/live-shell; mkdir -p "$d/stage" "$d/inbox" "$d/events"
"$PROBE" stage "$d/stage" "$SHELL_N" live "$RESOURCES" >/dev/null
start_peer shell "$d/inbox" "$d/events"
live_shell=$("$PROBE" thr "$d/stage" "$d/inbox" "$SHELL_N" live "mover:$d/events" || true)
stop "-$peer"
echo "shell    $live_shell"

echo "-- throughput, backlog present at start"
d=$RUN/backlog-homelab; mkdir -p "$d/stage" "$d/root/inbox" "$d/root/state"
"$PROBE" stage "$d/stage" "$N" back "$RESOURCES" >/dev/null
"$PROBE" drop "$d/stage" "$d/root/inbox" "$N" back >/dev/null
back_self=$(HOMELAB_ROOT=$d/root "$PROBE" run "$N" "observer:$d/root/state" -- "$HOMELAB" observer 2>>"$d/root.log" || true)
echo "homelab  $back_self"
d=$RUN/backlog-c; mkdir -p "$d/stage" "$d/inbox" "$d/events"
"$PROBE" stage "$d/stage" "$N" back "$RESOURCES" >/dev/null
"$PROBE" drop "$d/stage" "$d/inbox" "$N" back >/dev/null
back_c=$("$PROBE" run "$N" "mover:$d/events" -- "$WORK/bin/c_mover" "$d/inbox" "$d/events" 2>/dev/null || true)
echo "c floor  $back_c"
echo "shell    n/a: inotifywait never sees files that were there before it started"

echo "-- latency: rename into the inbox → world/ file updated (peers: → file moved), $LAT_N drops"
d=$RUN/lat-homelab; mkdir -p "$d/stage" "$d/root/inbox" "$d/root/world/container/bench"
start_observer "$d/root"
lat_self=$("$PROBE" lat "$d/stage" "$d/root/inbox" "$LAT_N" 2 "world:$d/root/world/container/bench" || true)
stop "$obs"
echo "homelab  $lat_self"
for m in c shell; do
  d=$RUN/lat-$m; mkdir -p "$d/stage" "$d/inbox" "$d/events"
  start_peer $m "$d/inbox" "$d/events"
  out=$("$PROBE" lat "$d/stage" "$d/inbox" "$LAT_N" 2 "mover:$d/events" || true)
  stop "-$peer"
  printf '%-8s %s\n' "$m" "$out"
  eval "lat_$m=\$out"
done

echo "-- replay: rebuild world/ from $REPLAY_N logged events ($RESOURCES resources)"
d=$RUN/replay; mkdir -p "$d/root/inbox" "$d/root/state"
python3 bench/gen_log.py "$d/root" "$REPLAY_N" "$RESOURCES"
replay=$(HOMELAB_ROOT=$d/root "$PROBE" run "$REPLAY_N" "observer:$d/root/state" -- "$HOMELAB" observer 2>>"$d/root.log" || true)
echo "homelab  $replay"
echo "-- restart on that log: the de-duplication window read back from it"
HOMELAB_ROOT=$d/root HOMELAB_HEARTBEAT_SECONDS=1 "$HOMELAB" observer 2>>"$d/restart.log" &
obs=$!
until grep -q "watching" "$d/restart.log" 2>/dev/null; do sleep 0.05; done
rss_window=$(awk '/VmRSS/ { print $2 }' "/proc/$obs/status")
stop "$obs"
window=$(sed -n 's/.*de-duplication window: \([0-9]*\) event keys from the log in \([0-9.]*\) ms.*/\1 keys in \2 ms/p' "$d/restart.log" | tail -1)
echo "homelab  $window, RSS $((rss_window / 1024)) MB with the window"

echo
echo "== summary (same run)"
s=$(field events_per_s "$live_self"); c=$(field events_per_s "$live_c"); sh=$(field events_per_s "$live_shell")
echo "live burst:   homelab $s events/s; c floor $c files/s; shell $sh files/s → $(ratio "$s" "$c")× the C floor, $(ratio "$s" "$sh")× the shell pipeline (goal ≥ 0.8× the floor)"
s=$(field events_per_s "$back_self"); c=$(field events_per_s "$back_c")
echo "backlog:      homelab $s events/s; c floor $c files/s → $(ratio "$s" "$c")× the C floor"
for p in p50_us p99_us; do
  s=$(field $p "$lat_self"); c=$(field $p "$lat_c"); sh=$(field $p "$lat_shell")
  echo "latency $p: homelab $s; c floor $c; shell $sh → $(ratio "$s" "$c")× the floor, $(ratio "$s" "$sh")× the shell (goal p99 < 1000 us)"
done
echo "replay:       $(field total_s "$replay") s for $REPLAY_N events = $(field events_per_s "$replay") events/s, peak RSS $(( $(field peak_rss_kb "$replay") / 1024 )) MB (goal ≥ 100000 events/s)"
echo "restart:      de-duplication window of $window; RSS $((rss_window / 1024)) MB holding it"
echo "observer RSS: $((rss_steady / 1024)) MB steady after the live burst (peak $((rss_peak / 1024)) MB; goal ≤ 15 MB steady)"
