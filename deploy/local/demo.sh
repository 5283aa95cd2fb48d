#!/usr/bin/env bash
# demo.sh - the whole thing on one machine: loopback mail stack, breachwatch on
# SQLite, a few sample notices, and where to read the result. `make demo`.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v cargo >/dev/null || { echo "cargo (Rust 1.95) is required" >&2; exit 1; }
command -v python3 >/dev/null || { apt-get update -q && apt-get install -y -q python3; } >&2

eval "$(deploy/local/up.sh)"
cargo build --release
BIN=target/release/breachwatch
CFG=config/local.toml
export BREACHWATCH_IMAP_CA_FILE="$MAILSTACK_TLS_CA"
mkdir -p var
if [ -f var/breachwatch.pid ] && kill -0 "$(cat var/breachwatch.pid)" 2>/dev/null; then
  kill -TERM "$(cat var/breachwatch.pid)"; sleep 1
fi
$BIN check-config --config "$CFG"
nohup $BIN run --config "$CFG" > var/breachwatch.log 2>&1 < /dev/null &
echo $! > var/breachwatch.pid
sleep 1
python3 deploy/local/demo.py --ca "$MAILSTACK_TLS_CA" --smtp-port "$MAILSTACK_SMTP_PORT" \
  --imaps-port "$MAILSTACK_IMAPS_PORT" --password "$MAILSTACK_PASSWORD"
echo
$BIN cases list --config "$CFG"
cat <<TXT

breachwatch is running (pid $(cat var/breachwatch.pid), log var/breachwatch.log, database var/breachwatch.db).
Read the mail it sent over IMAPS 127.0.0.1:$MAILSTACK_IMAPS_PORT (CA $MAILSTACK_TLS_CA), password "$MAILSTACK_PASSWORD":
  official@example.test  opening notices and reminders
  staff@example.test     acknowledgements of the notices staff forwarded
  dpo@example.test       copies, and acknowledgements of notices suppliers sent directly
or as files under $MAILSTACK_MAIL_DIR/example.test/<user>/Maildir/new/.
Web view: http://127.0.0.1:8080/  sign in as dpo@example.test (or official@example.test), password "demo".
More: $BIN cases show PUI-YYYY-NNNN --config $CFG    Stop: make stop
TXT
