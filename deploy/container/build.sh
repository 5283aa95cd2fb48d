#!/usr/bin/env bash
# build.sh - build the breachwatch image with podman where no registry is
# reachable: the Debian base comes from mmdebstrap (Debian's own package
# mirror), the binary is built here by cargo on the same Debian release, and
# the Containerfile's `prebuilt` stage puts them together. Where registries
# are reachable, build the normal way instead:
#   podman build --format docker -f deploy/container/Containerfile -t breachwatch .
# Usage: deploy/container/build.sh [TAG]   (default localhost/breachwatch:dev)
#   BREACHWATCH_BIN=PATH uses a binary already built (on Debian bookworm)
#   instead of `cargo build --release`.
# Needs root, podman, runc (or a crun that works here) and mmdebstrap.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tag="${1:-localhost/breachwatch:dev}"
release="bookworm"
base="docker.io/library/debian:${release}-slim"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/sandbox.containers.conf}"
runtime=()
if command -v runc >/dev/null; then runtime=(--runtime runc); fi

for c in podman mmdebstrap cargo; do
  command -v "$c" >/dev/null || { echo "build.sh: $c is missing (apt-get install podman runc mmdebstrap)" >&2; exit 1; }
done
. /etc/os-release
if [ "${VERSION_CODENAME:-}" != "$release" ]; then
  echo "build.sh: the binary must be built on Debian $release (this is ${VERSION_CODENAME:-unknown}) to match the image's libc" >&2
  exit 1
fi

t0=$SECONDS
# The base image under the name the Containerfile uses, so no pull happens.
# It is made once per machine (podman keeps it in its storage) and again only
# when what goes into it changes: the image carries a label with the hash of
# the mmdebstrap command line.
# force-unsafe-io: no fsync per unpacked file (the tar is written at the end).
mmdebstrap_args=(--quiet --variant=apt --include=ca-certificates --dpkgopt=force-unsafe-io
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  "$release")
key="$(printf '%s\n' "${mmdebstrap_args[@]}" | sha256sum | cut -c1-16)"
have="$(podman "${runtime[@]}" image inspect --format '{{index .Labels "org.breachwatch.rootfs"}}' "$base" 2>/dev/null || true)"
if [ "$have" != "$key" ]; then
  tar="$(mktemp --suffix=.tar)"
  trap 'rm -f "$tar"' EXIT
  echo "build.sh: making $base with mmdebstrap (root fs $key)" >&2
  mmdebstrap "${mmdebstrap_args[@]}" "$tar"
  echo "build.sh: [$((SECONDS - t0))s] mmdebstrap done ($(du -m "$tar" | cut -f1) MB)" >&2
  old_base="$(podman "${runtime[@]}" image inspect --format '{{.Id}}' "$base" 2>/dev/null || true)"
  podman "${runtime[@]}" import --change "LABEL=org.breachwatch.rootfs=$key" "$tar" "$base" >/dev/null
  [ -z "$old_base" ] || podman "${runtime[@]}" rmi "$old_base" >/dev/null 2>&1 || true
  echo "build.sh: [$((SECONDS - t0))s] imported as $base" >&2
else
  echo "build.sh: $base is root fs $key already" >&2
fi

bin="${BREACHWATCH_BIN:-}"
if [ -z "$bin" ]; then
  target_dir="$(cd "$repo" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  (cd "$repo" && cargo build --release --locked --bin breachwatch)
  bin="$target_dir/release/breachwatch"
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"; rm -f "${tar:-}"' EXIT
mkdir -p "$ctx/target/release" "$ctx/config"
cp "$bin" "$ctx/target/release/breachwatch"
# A debug build (deploy/test.sh uses one) is 300 MB, mostly debug info.
if command -v strip >/dev/null; then strip --strip-debug "$ctx/target/release/breachwatch"; fi
old_id="$(podman "${runtime[@]}" image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
cp "$repo/config/example.toml" "$ctx/config/"
# --format docker: an OCI image config has no HEALTHCHECK.
podman "${runtime[@]}" build --format docker --network host --pull=never --target prebuilt \
  -f "$here/Containerfile" -t "$tag" "$ctx"
# The image this tag named before, now untagged, goes (no pile of old images).
new_id="$(podman "${runtime[@]}" image inspect --format '{{.Id}}' "$tag")"
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
  podman "${runtime[@]}" rmi "$old_id" >/dev/null 2>&1 || true
fi
echo "build.sh: [$((SECONDS - t0))s] built $tag" >&2
