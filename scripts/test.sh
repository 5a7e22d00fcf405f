#!/usr/bin/env bash
# The project's one test command (README, .ci/run): build everything once, run every suite.
# Tests run as root: some lower kernel limits (inotify queue) and restore them.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== build (debug, with tests)"
swift build --build-tests
echo "== tests"
# Serial: the inotify overflow test lowers a system-wide limit, and the fd-leak test counts
# this process's descriptors; neither may share the process with another running test.
swift test --skip-build --no-parallel
echo "== the dashboard in a real browser (headless Chromium via selenium)"
scripts/install-deps.sh browser
mkdir -p .build/browser
python3 Tests/browser/dashboard_test.py "$(swift build --show-bin-path)/homelab" .build/browser
echo "== Docker for real: the collector and docker actions on real containers, the compose stack"
scripts/docker/stack-test.sh
echo "== agents over a real network: namespaces, veth links, a dockerd per node, partitions and kill -9"
scripts/network-test.sh
