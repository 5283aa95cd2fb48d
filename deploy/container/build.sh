#!/usr/bin/env bash
# build.sh - build the breachwatch image with podman where no registry is
# reachable: the Debian base comes from mmdebstrap (Debian's own package
# mirror), the binary is built here by cargo on the same Debian release, and
# the Containerfile's `prebuilt` stage puts them together. Where registries
# are reachable, build the normal way instead:
#   podman build -f deploy/container/Containerfile -t breachwatch .
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

# The base image under the name the Containerfile uses, so no pull happens.
if ! podman "${runtime[@]}" image exists "$base"; then
  tar="$(mktemp --suffix=.tar)"
  trap 'rm -f "$tar"' EXIT
  echo "build.sh: making $base with mmdebstrap" >&2
  mmdebstrap --quiet --variant=apt --include=ca-certificates "$release" "$tar"
  podman "${runtime[@]}" import "$tar" "$base" >/dev/null
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
cp "$repo/config/example.toml" "$ctx/config/"
podman "${runtime[@]}" build --network host --pull=never --target prebuilt \
  -f "$here/Containerfile" -t "$tag" "$ctx"
echo "build.sh: built $tag" >&2
