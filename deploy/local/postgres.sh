#!/usr/bin/env bash
# postgres.sh - make sure a PostgreSQL server answers on 127.0.0.1:5432 for the
# tests, installing (Debian) and starting it when needed. Prints the admin URL
# the tests use (BREACHWATCH_TEST_PG) on stdout.
set -euo pipefail
log() { printf '[postgres] %s\n' "$*" >&2; }
URL_TRUST="postgres://postgres@127.0.0.1:5432/postgres"
URL_PW="postgres://postgres:postgres@127.0.0.1:5432/postgres"

answers() { PGCONNECT_TIMEOUT=3 psql "$1" -Atqc 'select 1' >/dev/null 2>&1; }

if command -v psql >/dev/null && answers "$URL_TRUST"; then echo "$URL_TRUST"; exit 0; fi
if command -v psql >/dev/null && answers "$URL_PW"; then echo "$URL_PW"; exit 0; fi

[ "$(id -u)" = 0 ] || { log "not running and not root: cannot start PostgreSQL"; exit 1; }
if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  log "installing postgresql"
  prc=/usr/sbin/policy-rc.d; added=0
  if [ ! -e "$prc" ]; then printf '#!/bin/sh\nexit 101\n' > "$prc"; chmod 0755 "$prc"; added=1; fi
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -q && apt-get install -y -q --no-install-recommends postgresql postgresql-client; } >&2
  [ "$added" = 1 ] && rm -f "$prc"
fi
ver="$(ls /etc/postgresql | sort -n | tail -n 1)"
log "starting cluster $ver/main"
pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || true
for _ in $(seq 1 50); do
  su postgres -c "psql -Atqc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.2
done
# Password auth over TCP is Debian's default; give the test admin a known password.
su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >&2
if answers "$URL_TRUST"; then echo "$URL_TRUST"; exit 0; fi
if answers "$URL_PW"; then echo "$URL_PW"; exit 0; fi
log "PostgreSQL does not answer on 127.0.0.1:5432"
exit 1
