#!/usr/bin/env bash
# The dashboard in headless Chromium (bench/dashboard_bench.py), measured in the browser:
#   - a dropped event (an inbox file) to the page's DOM, p50/p99 over DROPS drops
#   - first load to interactive with RESOURCES resources and EVENTS events in the log
#
# usage: bench/dashboard.sh [DROPS=200] [RESOURCES=500] [EVENTS=10000] [WORK=/var/tmp/homelab-bench]
DROPS=${1:-200}; RESOURCES=${2:-500}; EVENTS=${3:-10000}; WORK=${4:-/var/tmp/homelab-bench}
. "$(dirname "$0")/lib.sh"
with_deps browser chromium chromedriver
scripts/install-deps.sh browser >/dev/null
need python3 "python3 to drive the browser"
build_homelab
RUN=$WORK/dashboard-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"
echo "== the dashboard in headless Chromium: $DROPS drops; first load with $RESOURCES resources and $EVENTS events ($(nproc) cores); files in $RUN"
python3 bench/dashboard_bench.py "$HOMELAB" "$RUN" "$DROPS" "$RESOURCES" "$EVENTS"
