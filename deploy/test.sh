#!/usr/bin/env bash
# test.sh - start what the tests need (the loopback mail stack, PostgreSQL) and
# run every check and test: formatting, clippy, unit, golden, integration.
# This is `make test`, and .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo (Rust 1.95) is required" >&2; exit 1; }

eval "$(deploy/local/up.sh)"
export MAILSTACK_STATE_DIR
BREACHWATCH_TEST_PG="$(deploy/local/postgres.sh)"
export BREACHWATCH_TEST_PG

# The public corpus of real-world mail is walked when present (CI has it beside
# the clone); the test says it is skipped otherwise.
if [ -z "${BREACHWATCH_PUBLIC_CORPUS:-}" ] && [ -d ../shared/corpus/public ]; then
  BREACHWATCH_PUBLIC_CORPUS="$(cd ../shared/corpus/public && pwd)"
fi
export BREACHWATCH_PUBLIC_CORPUS="${BREACHWATCH_PUBLIC_CORPUS:-}"

cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
# The deployment files: the systemd unit (verify + exposure at most 2.0).
command -v systemd-analyze >/dev/null ||
  { apt-get update -q && apt-get install -y -q --no-install-recommends systemd; } >&2
# The drafts are opened by LibreOffice (converted to PDF, text read back with
# pdftotext) and by python-docx, a second .docx reader (tests/it/office.rs).
command -v soffice >/dev/null && command -v pdftotext >/dev/null ||
  { apt-get update -q && apt-get install -y -q --no-install-recommends libreoffice-writer-nogui poppler-utils; } >&2
lint_venv="${LINT_VENV:-$HOME/.cache/breachwatch-lint}"
[ -x "$lint_venv/bin/python" ] || python3 -m venv "$lint_venv"
"$lint_venv/bin/python" -c 'import docx' 2>/dev/null || "$lint_venv/bin/pip" install -q python-docx==1.1.2
cargo build --quiet
bw_bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/breachwatch"
deploy/systemd/check.sh "$bw_bin"
# Containerfile, compose and Kubernetes files: linted and schema-checked (no
# registry is reachable here, so compose and Kubernetes are not run).
deploy/container/lint.sh "$bw_bin"
# The image itself, built with podman from an mmdebstrap root file system (the
# Debian mirror is reachable, no container registry is), run as the deployment
# files run it against the loopback stack: a notice forwarded through Postfix
# opens a case in the container and the acknowledgement reaches the reporter.
command -v podman >/dev/null && command -v runc >/dev/null && command -v mmdebstrap >/dev/null &&
  command -v newuidmap >/dev/null ||
  { apt-get update -q && apt-get install -y -q --no-install-recommends podman runc mmdebstrap uidmap; } >&2
BREACHWATCH_BIN="$bw_bin" deploy/container/build.sh localhost/breachwatch:test
deploy/container/smoke-test.sh localhost/breachwatch:test
# The web view's tests drive a real headless Chromium over WebDriver.
command -v chromium >/dev/null && command -v chromedriver >/dev/null ||
  { apt-get update -q && apt-get install -y -q --no-install-recommends chromium chromium-driver; } >&2
# The drain's memory goal (issue #10: peak RSS <= 64 MB) holds for the release
# build, the one a municipality runs: tests/it/intake.rs drains a 300 MB
# backlog with it (a bare `cargo test` holds the debug build to a looser bound).
cargo build --release --quiet --bin breachwatch
BREACHWATCH_RELEASE_BIN="$(dirname "$bw_bin")/../release/breachwatch"
export BREACHWATCH_RELEASE_BIN
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --all-targets 2>&1 | tee "$log"
# One closing line over every test binary (the per-binary lines are above).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
