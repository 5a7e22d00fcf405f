#!/usr/bin/env bash
# Installs what the tests and benchmarks need from Debian, idempotently: a package already
# present is left alone, and apt is only consulted when something is missing.
#
# usage: scripts/install-deps.sh [test|browser|docker|network|bench|load]...   (default: test)
set -euo pipefail
want=()
for purpose in "${@:-test}"; do
  case $purpose in
    test) ;;
    browser) want+=(chromium chromium-driver) ;;
    docker) want+=(docker.io docker-compose debootstrap) ;;
    # The multi-node tests (Tests/network): namespaces and veth pairs, a dockerd per node.
    network) want+=(iproute2 docker.io debootstrap) ;;
    bench) want+=(inotify-tools strace gcc) ;;
    load) want+=(wrk nginx-light curl) ;;
    *) echo "install-deps: unknown purpose '$purpose' (test, browser, docker, network, bench, load)" >&2; exit 2 ;;
  esac
done
missing=()
for package in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1
fi

# selenium from PyPI, for the browser test (it drives Debian's chromium-driver, never downloads
# one), and axe-selenium-python for the copy of axe-core it bundles (the test injects that file;
# nothing is fetched at run time).
for purpose in "${@:-test}"; do
  [ "$purpose" = browser ] || continue
  for module in selenium:selenium axe_selenium_python:axe-selenium-python; do
    if ! python3 -c "import ${module%%:*}" 2>/dev/null; then
      echo "install-deps: installing ${module#*:}"
      python3 -m pip install -q "${module#*:}" >/dev/null 2>&1 || python3 -m pip install -q --break-system-packages "${module#*:}" >/dev/null
    fi
  done
done
