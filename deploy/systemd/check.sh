#!/usr/bin/env bash
# check.sh - lint the systemd unit: `systemd-analyze verify` must be clean and
# `systemd-analyze security --offline=true` must rate it at most 2.0 (lower is
# better). CI runs it from deploy/test.sh; run it after every change to the unit.
# Usage: deploy/systemd/check.sh [PATH-TO-BREACHWATCH-BINARY]
set -euo pipefail
# An absolute path (a unit takes no relative one), resolved before the cd.
bin="$(realpath "${1:-$(type -P true)}")"
cd "$(dirname "$0")"
max="2.0"
unit="breachwatch.service"
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd check: systemd-analyze is missing (Debian package systemd); NOT CHECKED" >&2
  exit 1
fi
# verify resolves ExecStart=: point it at a real binary in a scratch copy.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed "s#/usr/local/bin/breachwatch#$bin#g" "$unit" >"$tmp/$unit"
if ! out="$(systemd-analyze verify "$tmp/$unit" 2>&1)"; then
  echo "$out" >&2
  echo "systemd check: verify failed" >&2
  exit 1
fi
if [ -n "$out" ]; then
  echo "$out" >&2
  echo "systemd check: verify printed warnings" >&2
  exit 1
fi
report="$(systemd-analyze security --offline=true "$tmp/$unit" 2>&1)"
level="$(printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')"
if [ -z "$level" ]; then
  echo "$report" >&2
  echo "systemd check: no exposure level in the output" >&2
  exit 1
fi
if awk -v l="$level" -v m="$max" 'BEGIN { exit !(l > m) }'; then
  printf '%s\n' "$report" | grep -E '^✗' >&2 || true
  echo "systemd check: exposure $level is above $max" >&2
  exit 1
fi
echo "systemd check: verify clean, exposure $level (at most $max)"
