#!/usr/bin/env bash
# smoke-test.sh - run the image built by build.sh the way the deployment files
# do: as user 10001, read-only root, no capabilities, config and secrets as
# files; `migrate` into the state volume, `run --no-migrate` until "store
# ready", SIGTERM → exit 0, `backup`, and `check-config`.
# Usage: deploy/container/smoke-test.sh [TAG]   (default localhost/breachwatch:dev)
# The daemon gets an IMAP port nobody listens on: it must start and stop, not
# read anybody's mailbox.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tag="${1:-localhost/breachwatch:dev}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/sandbox.containers.conf}"
runtime=()
if command -v runc >/dev/null; then runtime=(--runtime runc); fi
pm() { podman "${runtime[@]}" "$@"; }
fail() { echo "smoke-test: FAILED: $*" >&2; exit 1; }
# `cmd | grep -q` fails under pipefail when grep stops reading early (SIGPIPE):
# capture the output first, then look in it.
has() { case "$2" in *"$1"*) return 0 ;; *) return 1 ;; esac; }

work="$(mktemp -d)"
name="bw-smoke-$$"
vol="bw-smoke-$$"
cleanup() {
  pm rm -f "$name" >/dev/null 2>&1 || true
  pm volume rm -f "$vol" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/etc" "$work/secrets"
sed -e 's#^database_url = .*#database_url = "sqlite:///var/lib/breachwatch/bw.db"#' \
    -e 's#^port = 3993#port = 9#' \
    -e '/^ca_file = /d' \
    -e 's#^password = "secret"#password_file = "imap-password"#' \
    "$repo/config/local.toml" >"$work/etc/breachwatch.toml"
printf 'secret\n' >"$work/secrets/imap-password"
chmod 0644 "$work/etc/breachwatch.toml" "$work/secrets/imap-password"
pm volume create "$vol" >/dev/null
common=(--network host --read-only --cap-drop ALL --security-opt no-new-privileges
  -v "$work/etc/breachwatch.toml:/etc/breachwatch/breachwatch.toml:ro"
  -v "$work/secrets:/run/secrets/breachwatch:ro"
  -e CREDENTIALS_DIRECTORY=/run/secrets/breachwatch
  -v "$vol:/var/lib/breachwatch")

uid="$(pm run --rm --entrypoint id "$tag" -u)"
[ "$uid" = 10001 ] || fail "runs as uid $uid, not 10001"
echo "smoke-test: runs as uid $uid"
has ': ok' "$(pm run --rm "${common[@]}" "$tag" check-config)" || fail "check-config"
echo "smoke-test: check-config ok"
out="$(pm run --rm "${common[@]}" "$tag" migrate)"
has 'migrated: applied' "$out" || fail "migrate said: $out"
echo "smoke-test: $out"
pm run -d --name "$name" "${common[@]}" -e BREACHWATCH_LOG=info "$tag" >/dev/null
for _ in $(seq 1 100); do
  has 'store ready' "$(pm logs "$name" 2>&1)" && break
  sleep 0.2
done
has 'store ready' "$(pm logs "$name" 2>&1)" || fail "no 'store ready': $(pm logs "$name" 2>&1 | tail -5)"
echo "smoke-test: run --no-migrate started"
pm stop -t 20 "$name" >/dev/null
code="$(pm inspect --format '{{.State.ExitCode}}' "$name")"
[ "$code" = 0 ] || fail "run exited $code after SIGTERM: $(pm logs "$name" 2>&1 | tail -5)"
echo "smoke-test: stopped on SIGTERM, exit 0"
has 'backup written' "$(pm run --rm "${common[@]}" "$tag" backup --out /var/lib/breachwatch/copy.db)" || fail "backup"
verify="$(pm run --rm "${common[@]}" -e BREACHWATCH_DATABASE_URL=sqlite:///var/lib/breachwatch/copy.db "$tag" register verify)"
has 'register intact' "$verify" || fail "register verify on the backup: $verify"
echo "smoke-test: backup written and verified"
echo "smoke-test: OK ($tag)"
