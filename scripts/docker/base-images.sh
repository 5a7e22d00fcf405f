#!/usr/bin/env bash
# Makes the two base images the Dockerfile takes as build args, without an image registry:
#   homelab-base/runtime:bookworm      debootstrap --variant=minbase bookworm
#   homelab-base/swift:6-bookworm      the same, plus the toolchain's runtime packages and a
#                                      copy of this machine's Swift toolchain (/opt/swift)
# Each is imported with `docker import`; an image that already exists is kept (idempotent).
# The rootfs folders are cached under $HOMELAB_IMAGE_CACHE (default /var/cache/homelab-images).
#
# usage: scripts/docker/base-images.sh        prints the two image names when done
set -euo pipefail
RUNTIME_IMAGE=${HOMELAB_RUNTIME_IMAGE:-homelab-base/runtime:bookworm}
SWIFT_IMAGE=${HOMELAB_SWIFT_IMAGE:-homelab-base/swift:6-bookworm}
CACHE=${HOMELAB_IMAGE_CACHE:-/var/cache/homelab-images}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SWIFT_TOOLCHAIN=${SWIFT_TOOLCHAIN:-$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")}
BUILD_PACKAGES=binutils,libc6-dev,libgcc-12-dev,libstdc++-12-dev,libcurl4-openssl-dev,libxml2-dev,libz3-dev,libncurses6,libedit2,libsqlite3-0,libpython3-dev,pkg-config,tzdata,zlib1g-dev,ca-certificates,git
PATH_ENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# debootstrap into CACHE/NAME unless a finished rootfs is already there.
rootfs() {
  local name=$1 include=${2:-} dir=$CACHE/$1
  if [ ! -e "$dir/.complete" ]; then
    echo "base-images: debootstrap $name (a minute or two)" >&2
    rm -rf "$dir"; mkdir -p "$dir"
    debootstrap --variant=minbase ${include:+--include=$include} bookworm "$dir" "$MIRROR" >"$CACHE/$name.log" 2>&1 \
      || { echo "base-images: debootstrap $name failed; see $CACHE/$name.log" >&2; exit 1; }
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    touch "$dir/.complete"
  fi
  echo "$dir"
}

import() {  # import DIR IMAGE [extra tar args...]
  local dir=$1 image=$2; shift 2
  echo "base-images: docker import $image" >&2
  tar -C "$dir" --exclude=./.complete --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' "$@" -c . \
    | docker import --change "ENV PATH=$PATH_ENV" --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
}

mkdir -p "$CACHE"
if ! have_image "$RUNTIME_IMAGE"; then
  import "$(rootfs runtime)" "$RUNTIME_IMAGE"
fi
if ! have_image "$SWIFT_IMAGE"; then
  dir=$(rootfs swift-build "$BUILD_PACKAGES")
  if [ ! -e "$dir/opt/swift/.complete" ]; then
    echo "base-images: copying the Swift toolchain from $SWIFT_TOOLCHAIN" >&2
    rm -rf "$dir/opt/swift"; mkdir -p "$dir/opt/swift"
    # The debugger, language servers and docs are not needed to build.
    tar -C "$SWIFT_TOOLCHAIN" -c --exclude='./usr/bin/lldb*' --exclude='./usr/lib/liblldb*' \
      --exclude='./usr/bin/sourcekit-lsp' --exclude='./usr/bin/clangd' --exclude='./usr/bin/docc' . \
      | tar -C "$dir/opt/swift" -x
    touch "$dir/opt/swift/.complete"
  fi
  PATH_ENV=/opt/swift/usr/bin:$PATH_ENV import "$dir" "$SWIFT_IMAGE"
fi
echo "$RUNTIME_IMAGE $SWIFT_IMAGE"
