#!/usr/bin/env bash
# JSON figures, from a release build: the parse of a 1 MiB event with 100,000 keys, and the
# validation and fold of a ~550 KB resource.snapshot of 40,000 names (the two inputs that
# used to stall the observer for tens of seconds). Goals: ≤ 20 ms, and well under 100 ms.
# They are measured in-process by Tests/ObserverTests/JSONBench.swift, which the ordinary
# suite skips.
#
# usage: bench/json.sh
WORK=${WORK:-/var/tmp/homelab-bench}
. "$(dirname "$0")/lib.sh"
echo "== json bench ($(nproc) cores, $(uname -r)): release build of the tests first"
# The tests @testable-import their modules, which a release build allows only with -enable-testing.
swift build -c release --build-tests -Xswiftc -enable-testing >/dev/null
out=$(HOMELAB_BENCH_JSON=1 swift test -c release -Xswiftc -enable-testing --skip-build --filter JSONBench 2>&1) || { echo "$out" >&2; die "the bench failed"; }
lines=$(grep '^json-bench ' <<<"$out") || die "no figures in the output"
parse=$(grep -m1 parse_ms <<<"$lines"); fold=$(grep -m1 validate_fold_ms <<<"$lines")
echo
echo "== summary"
echo "1 MiB event, 100,000 keys ($(field event_bytes "$parse") bytes): parse $(field parse_ms "$parse") ms (goal ≤ 20 ms)"
echo "resource.snapshot, 40,000 names ($(field snapshot_bytes "$fold") bytes): validate + fold $(field validate_fold_ms "$fold") ms (goal well under 100 ms)"
