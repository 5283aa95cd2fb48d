#!/usr/bin/env bash
# bench-daemon.sh - `make bench-daemon`: the daemon against the bare IMAP fetch,
# on the shared loopback stack with its own users (<role>-bench@example.test),
# on SQLite and PostgreSQL. BENCH_N (default 10000) messages, BENCH_LATENCY_RUNS
# (default 50) notices for the latency; BENCH_PG=0 skips PostgreSQL; BENCH_BIN
# a binary to measure instead of a fresh release build; BENCH_PERF=PREFIX records
# a CPU profile (perf, cpu-clock) of the drain, the intake-alone drain and the
# reminder burst in PREFIX-BACKEND[-intake|-reminders].data
# (`perf report -i FILE --no-children`), of the whole machine with BENCH_PERF_ALL=1,
# with call stacks with BENCH_PERF_CALLERS=1 (DWARF) or =fp (frame pointers);
# BENCH_REMINDERS (default 10000) open cases for the reminder burst, 0 skips it;
# BENCH_DRAIN_LATENCY_RUNS (default 20) notices sent one by one during the drain;
# BENCH_INTAKE_ONLY=0 skips the second drain with SMTP unreachable (intake alone);
# BENCH_SQLITE=0 measures PostgreSQL only; BENCH_BATCH_BYTES / BENCH_BATCH_MESSAGES /
# BENCH_MOVE_EVERY set imap.batch_max_bytes / imap.batch_max_messages / imap.move_every;
# BENCH_SQLITE_PAGE_SIZE=N makes the SQLite database with pages of N bytes (an
# experiment; the daemon makes 4,096);
# BENCH_KEEP_DB=DIR copies the SQLite database (and its WAL, if one is left)
# there at the end: the last SQLite phase's (each phase starts a fresh one;
# the drain's with BENCH_INTAKE_ONLY=0 BENCH_REMINDERS=0), for sqlite3 and
# its dbstat table;
# BENCH_LOGS=DIR keeps the daemon's logs there (with e.g.
# BREACHWATCH_LOG=info,breachwatch::workers=debug: the drain's phase timings;
# BREACHWATCH_LOG must keep breachwatch's info lines: the bench waits for one).
# BENCH_AB=BIN compares the drain of BENCH_BIN (A) with BIN's (B) instead of
# the whole table: BENCH_AB_ROUNDS (default 3) rounds, alternated, each drain
# against its own round's bare fetch, the median of each figure (a change too
# small to show over this machine's spread shows as crossing rounds).
# Not a test: it prints a table (deploy/local/bench_daemon.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
# One run at a time: every run uses the same bench users of the shared stack.
exec 9>/tmp/breachwatch-bench-daemon.lock
if ! flock -n 9; then
  echo "bench-daemon: another run is using the bench users; waiting for it" >&2
  flock 9
fi
# The stack's services it starts must not keep the lock (fd 9) after this run.
eval "$(deploy/local/up.sh 9>&-)"
for role in breach staff official deputy dpo; do
  STATE_DIR="$MAILSTACK_STATE_DIR" deploy/local/add-user.sh "$role-bench" >/dev/null
done
# BENCH_BIN: a binary built before (e.g. a copy of an older release build).
BIN="${BENCH_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build --release --bin breachwatch >&2
  BIN="${CARGO_TARGET_DIR:-target}/release/breachwatch"
fi
PG=""
if [ "${BENCH_PG:-1}" = 1 ]; then PG="$(deploy/local/postgres.sh)"; fi
WORK="$(mktemp -d /tmp/bw-bench-daemon.XXXXXX)"
LOGS="${BENCH_LOGS:-}"
# On exit, however the bench ends: keep what was asked for, then remove the
# work directory.
on_exit() {
  if [ -n "$LOGS" ]; then
    mkdir -p "$LOGS" && cp "$WORK"/daemon-*.log "$LOGS"/ 2>/dev/null || true
  fi
  if [ -n "${BENCH_KEEP_DB:-}" ]; then
    mkdir -p "$BENCH_KEEP_DB" && cp "$WORK"/*.db "$WORK"/*.db-wal "$BENCH_KEEP_DB"/ 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap on_exit EXIT
MAILSTACK_POSTFIX_CONFIG_DIR="$MAILSTACK_POSTFIX_CONFIG_DIR" python3 deploy/local/bench_daemon.py --bin "$BIN" --ca "$MAILSTACK_TLS_CA" \
  --imaps-port "$MAILSTACK_IMAPS_PORT" --smtp-port "$MAILSTACK_SMTP_PORT" \
  --password "$MAILSTACK_PASSWORD" --domain "$MAILSTACK_DOMAIN" --mail-dir "$MAILSTACK_MAIL_DIR" \
  --corpus "${BREACHWATCH_PUBLIC_CORPUS:-../shared/corpus/public}" --fixtures tests/fixtures/notices \
  --workdir "$WORK" --n "${BENCH_N:-10000}" --latency-runs "${BENCH_LATENCY_RUNS:-50}" \
  --reminders "${BENCH_REMINDERS:-10000}" --drain-latency-runs "${BENCH_DRAIN_LATENCY_RUNS:-20}" \
  --intake-only "${BENCH_INTAKE_ONLY:-1}" --sqlite "${BENCH_SQLITE:-1}" --pg "$PG" \
  --ab "${BENCH_AB:-}" --ab-rounds "${BENCH_AB_ROUNDS:-3}"
