#!/usr/bin/env bash
# FSWatch figures: rename → callback latency of `homelab watch` and of `inotifywait -m`
# (inotify-tools) in the same run, as a ratio; and the system calls of an idle loop over
# 10 s, counted by strace.
#
# usage: bench/fswatch.sh [N=10000] [ROUNDS=3] [WORKDIR=/var/tmp/homelab-bench]
# Each run uses fresh folders and deletes nothing before measuring (on this VM's ext4,
# creating files right after a mass delete is pathologically slow).
N=${1:-10000}
ROUNDS=${2:-3}
WORK=${3:-/var/tmp/homelab-bench}
. "$(dirname "$0")/lib.sh"
with_deps bench cc inotifywait strace
build_homelab
probe latency_probe
run=$WORK/run-$(date +%s)-$$

measure() { # NAME COMMAND...
  local name=$1; shift
  mkdir -p "$run/$name/dir" "$run/$name/stage"
  local out
  out=$("$WORK/bin/latency_probe" "$run/$name/dir" "$run/$name/stage" "$N" -- "$@" 2>/dev/null)
  echo "$out"
}

echo "== rename → callback latency, $N files per round, $ROUNDS rounds alternating ($(uname -r), $(nproc) cores)"
# This VM's timings drift from minute to minute: alternate the two and take the medians.
: >"$run.rounds"
for r in $(seq 1 "$ROUNDS"); do
  self=$(measure "homelab-$r" "$HOMELAB" watch "$run/homelab-$r/dir")
  peer=$(measure "inotifywait-$r" inotifywait -m -q -e moved_to,close_write --format '%w%f' "$run/inotifywait-$r/dir")
  printf 'round %s  %-12s %s\n' "$r" homelab "$self" "$r" inotifywait "$peer" | tee -a "$run.rounds"
done
median() { grep " $1 " "$run.rounds" | sed -n "s/.* $2=\([0-9.]*\).*/\1/p" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for p in p50_us p99_us; do
  s=$(median homelab "$p"); q=$(median inotifywait "$p")
  awk -v p="$p" -v s="$s" -v q="$q" 'BEGIN { printf "median %s: homelab %.1f us, inotifywait %.1f us, ratio homelab/inotifywait %.2f\n", p, s, q, s / q }'
done

echo "== idle loop: system calls over 10 s (strace -c -f -p), no timers"
mkdir -p "$run/idle"
"$HOMELAB" watch "$run/idle" >/dev/null 2>&1 &
pid=$!
sleep 0.5
timeout -s INT 10 strace -c -f -p "$pid" -o "$run/idle.strace" 2>"$run/idle.attach" || true
kill -TERM "$pid"; wait "$pid" || true
grep -q attached "$run/idle.attach" || { echo "strace could not attach:"; cat "$run/idle.attach"; exit 1; }
calls=$(awk '/total/ { print $4 }' "$run/idle.strace")
echo "idle syscalls in 10 s: ${calls:-0}"
sed 's/^/  /' "$run/idle.strace"
echo "(figures from $run; delete it when done)"
