#!/usr/bin/env bash
# Observer figures, with the peers (../shared/peers) measured in the same run on the same files:
#   - throughput, live: N files renamed into a running consumer's inbox as fast as possible
#   - throughput, backlog: N files already in the inbox when the consumer starts
#   - latency: one file renamed in → its world/ file updated (peers: → moved), LAT_N drops
#   - replay: world/ rebuilt from REPLAY_N logged events, with peak RSS; timed from the
#     observer's exec to the moment it can take events: the probe's time to the checkpoint at
#     REPLAY_N, plus however long the de-duplication window (read on a second thread beside
#     the rebuild) went on after it (`ready`)
#   - RSS of the observer after the live burst
# Peers: the c_mover floor (inotify+epoll+rename) and the inotifywait|while read; mv pipeline
# (run with SHELL_N files: at ~800 files/s it would take minutes for N, and it loses files
# past ~16k in a burst anyway).
#
# usage: bench/observer.sh [N=100000] [LAT_N=2000] [REPLAY_N=1000000] [WORK=/var/tmp/homelab-bench]
# env: SHELL_N=20000 RESOURCES=1000 QUIET=40 (seconds of a quiet disk before the second pair)
#   - disk guard: reaction time from a 64 MB tmpfs filled below HOMELAB_MIN_FREE_MB (while
#     events arrive) to ingest.paused in the log, and from the space freed to ingest.resumed
# Runs on the real disk (ext4 here) in fresh folders and deletes nothing before measuring:
# creating files right after a mass delete is pathologically slow on this VM's ext4.
N=${1:-100000}; LAT_N=${2:-2000}; REPLAY_N=${3:-1000000}; WORK=${4:-/var/tmp/homelab-bench}
SHELL_N=${SHELL_N:-20000}; RESOURCES=${RESOURCES:-1000}; QUIET=${QUIET:-40}
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
# ready PROBE_LINE LOG EVENTS → "S RATE": the probe's seconds to the checkpoint, plus the part of
# the de-duplication window's read-back (beside the rebuild, logged after it) that outlasted the
# rebuild; the observer takes no event before both are done.
ready() {
  local total window rebuild
  total=$(field total_s "$1")
  window=$(sed -n 's/.*de-duplication window: [0-9]* event keys from the log in \([0-9.]*\) ms.*/\1/p' "$2" | tail -1)
  rebuild=$(sed -n 's/.*rebuilt world\/ from .* in \([0-9.]*\) s:.*/\1/p' "$2" | tail -1)
  awk -v t="${total:-0}" -v w="${window:-0}" -v r="${rebuild:-0}" -v n="$3" 'BEGIN {
    s = t + (w / 1000 > r ? w / 1000 - r : 0); printf "%.3f %d\n", s, (s > 0 ? n / s : 0) }'
}

# The C floor runs first, and the observer right after it on the same file system (the state
# the issue measured: a file system another writer has just filled); then the same pair once
# the disk has been quiet for QUIET seconds.
live_pair() { # LABEL → live_c_LABEL, live_self_LABEL, rss
  local d=$RUN/live-c-$1
  mkdir -p "$d/stage" "$d/inbox" "$d/events"
  "$PROBE" stage "$d/stage" "$N" live "$RESOURCES" >/dev/null
  start_peer c "$d/inbox" "$d/events"
  eval "live_c_$1=\$(\"\$PROBE\" thr \"\$d/stage\" \"\$d/inbox\" \"\$N\" live \"mover:\$d/events\" || true)"
  stop "-$peer"
  d=$RUN/live-homelab-$1; mkdir -p "$d/stage" "$d/root/inbox"
  "$PROBE" stage "$d/stage" "$N" live "$RESOURCES" >/dev/null
  start_observer "$d/root"
  eval "live_self_$1=\$(\"\$PROBE\" thr \"\$d/stage\" \"\$d/root/inbox\" \"\$N\" live \"observer:\$d/root/state\" || true)"
  sleep 1
  rss_steady=$(awk '/VmRSS/ { print $2 }' "/proc/$obs/status"); rss_peak=$(awk '/VmHWM/ { print $2 }' "/proc/$obs/status")
  stop "$obs"
  eval "echo \"c floor  \$live_c_$1\"; echo \"homelab  \$live_self_$1\""
}
backlog_pair() { # LABEL → back_c_LABEL, back_self_LABEL
  local d=$RUN/backlog-c-$1
  mkdir -p "$d/stage" "$d/inbox" "$d/events"
  "$PROBE" stage "$d/stage" "$N" back "$RESOURCES" >/dev/null
  "$PROBE" drop "$d/stage" "$d/inbox" "$N" back >/dev/null
  eval "back_c_$1=\$(\"\$PROBE\" run \"\$N\" \"mover:\$d/events\" -- \"\$WORK/bin/c_mover\" \"\$d/inbox\" \"\$d/events\" 2>/dev/null || true)"
  d=$RUN/backlog-homelab-$1; mkdir -p "$d/stage" "$d/root/inbox" "$d/root/state"
  "$PROBE" stage "$d/stage" "$N" back "$RESOURCES" >/dev/null
  "$PROBE" drop "$d/stage" "$d/root/inbox" "$N" back >/dev/null
  eval "back_self_$1=\$(HOMELAB_ROOT=\$d/root \"\$PROBE\" run \"\$N\" \"observer:\$d/root/state\" -- \"\$HOMELAB\" observer 2>>\"\$d/root.log\" || true)"
  eval "echo \"c floor  \$back_c_$1\"; echo \"homelab  \$back_self_$1\""
}

echo "-- throughput, live burst: the C floor, then the observer on the file system it just wrote"
live_pair busy
echo "-- throughput, backlog present at start: the C floor, then the observer"
backlog_pair busy
echo "-- the same once the disk has been quiet for ${QUIET}s"
sleep "$QUIET"; live_pair quiet
sleep "$QUIET"; backlog_pair quiet
overflows=$(sed -n 's/.*"inotifyOverflows":\([0-9]*\).*/\1/p' "$RUN/live-homelab-quiet/root/state/observer.json")
d=$RUN/live-shell; mkdir -p "$d/stage" "$d/inbox" "$d/events"
"$PROBE" stage "$d/stage" "$SHELL_N" live "$RESOURCES" >/dev/null
start_peer shell "$d/inbox" "$d/events"
live_shell=$("$PROBE" thr "$d/stage" "$d/inbox" "$SHELL_N" live "mover:$d/events" || true)
stop "-$peer"
echo "shell    $live_shell (live, $SHELL_N files)"

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
read -r replay_s replay_rate <<<"$(ready "$replay" "$d/root.log" "$REPLAY_N")"
echo "homelab  $replay (ready to take events after ${replay_s} s: $replay_rate events/s)"
echo "-- restart on that log: the de-duplication window read back from it; a snapshot written"
HOMELAB_ROOT=$d/root HOMELAB_HEARTBEAT_SECONDS=1 HOMELAB_SNAPSHOT_EVENTS=1 "$HOMELAB" observer 2>>"$d/restart.log" &
obs=$!
until grep -q "watching" "$d/restart.log" 2>/dev/null; do sleep 0.05; done
rss_window=$(awk '/VmRSS/ { print $2 }' "/proc/$obs/status")
echo '{"type":"bench.mark","source":"bench","id":"mark"}' > "$d/root/inbox/.mark.tmp"; mv "$d/root/inbox/.mark.tmp" "$d/root/inbox/mark.json"
until grep -q "snapshot at seq" "$d/restart.log" 2>/dev/null; do sleep 0.05; done
stop "$obs"
window=$(sed -n 's/.*de-duplication window: \([0-9]*\) event keys from the log in \([0-9.]*\) ms.*/\1 keys in \2 ms/p' "$d/restart.log" | tail -1)
echo "homelab  $window, RSS $((rss_window / 1024)) MB with the window"
echo "-- rebuild from that snapshot plus $REPLAY_N events: the snapshot's seq moved back to 1 (its world is then folded again by the log)"
snap=$(ls "$d/root/state/snapshots"/*.jsonl | tail -1)
python3 - "$snap" "$d/root/state/snapshots/000000000001.jsonl" <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
with open(src) as f: lines = f.readlines()
head = json.loads(lines[0]); head["seq"] = 1
with open(dst, "w") as f: f.write(json.dumps(head, separators=(",", ":")) + "\n"); f.writelines(lines[1:])
PY
rm -f "$snap" "$d/root/state/observer_checkpoint.json"
snapshot_rebuild=$(HOMELAB_ROOT=$d/root "$PROBE" run "$REPLAY_N" "observer:$d/root/state" -- "$HOMELAB" observer 2>>"$d/snapshot.log" || true)
grep -q "rebuilt world/ from the snapshot at seq 1 and" "$d/snapshot.log" || echo "(not rebuilt from the snapshot: see $d/snapshot.log)"
read -r rebuild_s rebuild_rate <<<"$(ready "$snapshot_rebuild" "$d/snapshot.log" "$REPLAY_N")"
echo "homelab  $snapshot_rebuild (ready to take events after ${rebuild_s} s: $rebuild_rate events/s)"

echo "-- disk guard: reaction time on a 64 MB tmpfs, HOMELAB_MIN_FREE_MB=32, an event every 10 ms"
guard_pause=n/a; guard_resume=n/a
d=$RUN/guard; mkdir -p "$d/root"
if mount -t tmpfs -o size=64m tmpfs "$d/root" 2>/dev/null; then
  HOMELAB_ROOT=$d/root HOMELAB_HEARTBEAT_SECONDS=1 HOMELAB_MIN_FREE_MB=32 "$HOMELAB" observer 2>>"$d/observer.log" &
  obs=$!
  until [ -f "$d/root/state/observer_checkpoint.json" ] || grep -q watching "$d/observer.log" 2>/dev/null; do sleep 0.05; done
  ( i=0; while [ ! -f "$d/stop" ]; do
      echo "{\"type\":\"bench.tick\",\"source\":\"bench\",\"id\":\"t$i\"}" > "$d/root/inbox/.t$i.tmp" 2>/dev/null && mv "$d/root/inbox/.t$i.tmp" "$d/root/inbox/t$i.json"
      i=$((i + 1)); sleep 0.01; done ) &
  producer=$!
  sleep 1
  t0=$(date +%s.%N); dd if=/dev/zero of="$d/root/ballast" bs=1M count=40 status=none; t1=$(date +%s.%N)
  until grep -q '"type":"ingest.paused"' "$d/root/events"/*/*.jsonl 2>/dev/null; do sleep 0.005; done; t2=$(date +%s.%N)
  rm -f "$d/root/ballast"; t3=$(date +%s.%N)
  until grep -q '"type":"ingest.resumed"' "$d/root/events"/*/*.jsonl 2>/dev/null; do sleep 0.005; done; t4=$(date +%s.%N)
  touch "$d/stop"; wait "$producer" 2>/dev/null || true
  stop "$obs"
  guard_pause=$(python3 -c "print(round(($t2 - $t1) * 1000))"); guard_resume=$(python3 -c "print(round(($t4 - $t3) * 1000))")
  echo "homelab  paused ${guard_pause} ms after the fill finished (dd took $(python3 -c "print(round(($t1 - $t0) * 1000))") ms), resumed ${guard_resume} ms after the ballast went"
  umount -l "$d/root"
else
  echo "n/a: mounting a tmpfs needs root"
fi

echo
echo "== summary (same run; $(nproc) cores$( [ "$(cat /proc/loadavg | cut -d' ' -f1 | cut -d. -f1)" -ge 1 ] && echo ", load $(cut -d' ' -f1-3 /proc/loadavg) at the end: other work was running" ))"
for label in busy quiet; do
  eval "s=\$(field events_per_s \"\$live_self_$label\"); c=\$(field events_per_s \"\$live_c_$label\")"
  echo "live burst ($label):  homelab $s events/s; c floor $c files/s → $(ratio "$s" "$c")× the C floor (goal ≥ 0.8×)"
  eval "s=\$(field events_per_s \"\$back_self_$label\"); c=\$(field events_per_s \"\$back_c_$label\")"
  echo "backlog ($label):     homelab $s events/s; c floor $c files/s → $(ratio "$s" "$c")× the C floor (goal ≥ 0.8×)"
done
s=$(field events_per_s "$live_self_quiet"); sh=$(field events_per_s "$live_shell")
echo "shell pipeline:      $sh files/s → homelab is $(ratio "$s" "$sh")× it (quiet)"
for p in p50_us p99_us; do
  s=$(field $p "$lat_self"); c=$(field $p "$lat_c"); sh=$(field $p "$lat_shell")
  echo "latency $p: homelab $s; c floor $c; shell $sh → $(ratio "$s" "$c")× the floor, $(ratio "$s" "$sh")× the shell (goal p99 < 1000 us)"
done
echo "replay:       $replay_s s for $REPLAY_N events = $replay_rate events/s, peak RSS $(( $(field peak_rss_kb "$replay") / 1024 )) MB (from the log's start; exec → world/ rebuilt, checkpoint written and the de-duplication window read)"
echo "rebuild:      from a snapshot plus $REPLAY_N events: $rebuild_s s = $rebuild_rate events/s, timed the same way (goal ≥ 500000 events/s)"
echo "restart:      de-duplication window of $window; RSS $((rss_window / 1024)) MB holding it"
echo "disk guard:   ingest.paused $guard_pause ms after the file system fell below the threshold; ingest.resumed $guard_resume ms after space returned"
echo "observer RSS: $((rss_steady / 1024)) MB steady after the quiet live burst (peak $((rss_peak / 1024)) MB; goal ≤ 15 MB steady)"
