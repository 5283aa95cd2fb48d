#!/usr/bin/env bash
# smoke-test.sh - run the image built by build.sh the way the deployment files
# do (user 10001, read-only root, no capabilities, config and secrets as files)
# against the loopback mail stack of deploy/local/up.sh, and send a notice
# through it:
#   check-config; `migrate` into the state volume; `run --no-migrate` watching a
#   mailbox of its own (fresh users ct<tag>-breach@, …, so it reads no other
#   test's mail); a forwarded supplier notice sent through Postfix opens a case
#   (`cases list --json` in a second container on the same volume), the
#   reporter receives the acknowledgement and the official the opening notice;
#   the image's HEALTHCHECK (`breachwatch probe`: /readyz of the web listener,
#   moved to a free loopback port) reports healthy, and a probe of a closed
#   port exits 1; SIGTERM → exit 0; `backup`, and `register verify` on the backup; the backup
#   restored as the database of a fresh daemon, which opens the next case for a
#   second notice, stops cleanly, and leaves a register that verifies.
# Usage: deploy/container/smoke-test.sh [TAG]   (default localhost/breachwatch:dev)
# Needs the stack running (eval "$(deploy/local/up.sh)"; MAILSTACK_STATE_DIR
# names it, default /tmp/mailstack), root, podman and python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tag="${1:-localhost/breachwatch:dev}"
who=smoke-test
# shellcheck source=deploy/container/lib.sh
. "$here/lib.sh"
# `cmd | grep -q` fails under pipefail when grep stops reading early (SIGPIPE):
# capture the output first, then look in it.
has() { case "$2" in *"$1"*) return 0 ;; *) return 1 ;; esac; }
ca="$(senv MAILSTACK_TLS_CA)"
password="$(senv MAILSTACK_PASSWORD)"
new_users ct
addr() { printf '%s-%s@%s' "$u" "$1" "$domain"; }
step "mailbox users $(addr breach) and the rest of $u-*"

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
# The web listener (/readyz for the HEALTHCHECK) on a free port: the container
# shares the host's network, where a demo may hold 8080.
web_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# config/local.toml with this run's users, its own database in the volume, the
# stack's CA mounted beside the config, the password as a credential file.
container_config -e "s#^listen = \"127.0.0.1:8080\"#listen = \"127.0.0.1:$web_port\"#" \
  >"$work/etc/breachwatch.toml"
has "127.0.0.1:$web_port" "$(cat "$work/etc/breachwatch.toml")" || fail "config/local.toml no longer has [web] listen = \"127.0.0.1:8080\""
has "$(addr breach)" "$(cat "$work/etc/breachwatch.toml")" || fail "config/local.toml no longer names breach@example.test"
cp "$ca" "$work/etc/ca.pem"
printf '%s\n' "$password" >"$work/secrets/imap-password"
chmod 0644 "$work/etc/breachwatch.toml" "$work/etc/ca.pem" "$work/secrets/imap-password"
pm volume create "$vol" >/dev/null
common=(--network host --read-only --cap-drop ALL --security-opt no-new-privileges
  -v "$work/etc:/etc/breachwatch:ro"
  -v "$work/secrets:/run/secrets/breachwatch:ro"
  -e CREDENTIALS_DIRECTORY=/run/secrets/breachwatch
  -v "$vol:/var/lib/breachwatch")

# The HEALTHCHECK's periodic timer is a systemd unit, and this machine may have
# no systemd: one-shot commands run without it (--no-healthcheck), the daemon
# with no timer (--health-interval disable; podman 4.3 still logs that it
# cannot reach systemd), and `podman healthcheck run`
# below runs the check itself.
uid="$(pm run --rm --no-healthcheck --entrypoint id "$tag" -u)"
[ "$uid" = 10001 ] || fail "runs as uid $uid, not 10001"
step "runs as uid $uid"
has ': ok' "$(pm run --rm --no-healthcheck "${common[@]}" "$tag" check-config)" || fail "check-config"
step "check-config ok"
out="$(pm run --rm --no-healthcheck "${common[@]}" "$tag" migrate)"
has 'migrated: applied' "$out" || fail "migrate said: $out"
step "$out"
pm run -d --health-interval disable --name "$name" "${common[@]}" -e BREACHWATCH_LOG=info "$tag" >/dev/null
logs() { pm logs "$name" 2>&1; }
for _ in $(seq 1 150); do
  has 'store ready' "$(logs)" && break
  sleep 0.2
done
has 'store ready' "$(logs)" || fail "no 'store ready': $(logs | tail -5)"
step "run --no-migrate started"

# forward SYSTEM: a supplier's notice about SYSTEM forwarded by the reporter
# (Outlook, Swedish), through Postfix to the watched mailbox.
forward() { python3 "$here/notice.py" forward "$smtp_port" "$(addr staff)" "$(addr breach)" "$1"; }
forward ProvWeb
step "notice forwarded through Postfix to $(addr breach)"

# The case, read by `cases list` in a second container on the same volume.
case_ref=""
for _ in $(seq 1 150); do
  list="$(pm run --rm --no-healthcheck "${common[@]}" "$tag" cases list --json 2>/dev/null || true)"
  case_ref="$(printf '%s' "$list" | python3 -c 'import json,sys
try: cases = json.load(sys.stdin)
except ValueError: cases = []
print(cases[0]["ref"] if len(cases) == 1 else "")')"
  [ -n "$case_ref" ] && break
  sleep 0.2
done
[ -n "$case_ref" ] || fail "no case opened: $(logs | tail -10)"
step "case $case_ref opened"

# mail_with ROLE TEXT [REF]: a delivered mail in ROLE's INBOX whose subject
# has TEXT and the case ref (default $case_ref).
mail_with() { python3 "$here/notice.py" find "$mail_dir/$domain/$u-$1/Maildir" "$2" "${3:-$case_ref}"; }
ack="" opening=""
for _ in $(seq 1 150); do
  [ -n "$ack" ] || ack="$(mail_with staff Mottaget || true)"
  [ -n "$opening" ] || opening="$(mail_with official 'Ny personuppgiftsincident' || true)"
  [ -n "$ack" ] && [ -n "$opening" ] && break
  sleep 0.2
done
[ -n "$ack" ] || fail "no acknowledgement for $case_ref in $(addr staff): $(logs | tail -10)"
step "acknowledgement delivered to the reporter: $ack"
[ -n "$opening" ] || fail "no opening notice for $case_ref in $(addr official): $(logs | tail -10)"
step "opening notice delivered to the official: $opening"

# The image's HEALTHCHECK, run now (the mailbox is watched, the mail sent).
hc="$(pm inspect --format '{{json .Config.Healthcheck}}' "$name")"
has probe "$hc" || fail "the image has no HEALTHCHECK running probe: $hc"
health=""
for _ in $(seq 1 50); do
  if pm healthcheck run "$name" >/dev/null 2>&1; then health=healthy; break; fi
  sleep 0.2
done
[ "$health" = healthy ] || fail "podman healthcheck run: unhealthy: $(pm exec "$name" breachwatch probe 2>&1 || true)"
probe_line="$(pm exec "$name" breachwatch probe)"
has "127.0.0.1:$web_port/readyz: 200" "$probe_line" || fail "probe said: $probe_line"
if pm exec "$name" breachwatch probe --url "http://127.0.0.1:1/readyz" >/dev/null 2>&1; then
  fail "probe of a closed port exited 0"
fi
step "HEALTHCHECK healthy ($probe_line); a closed port is not"
pm stop -t 20 "$name" >/dev/null
code="$(pm inspect --format '{{.State.ExitCode}}' "$name")"
[ "$code" = 0 ] || fail "run exited $code after SIGTERM: $(logs | tail -5)"
step "stopped on SIGTERM, exit 0"
has 'backup written' "$(pm run --rm --no-healthcheck "${common[@]}" "$tag" backup --out /var/lib/breachwatch/copy.db)" || fail "backup"
verify="$(pm run --rm --no-healthcheck "${common[@]}" -e BREACHWATCH_DATABASE_URL=sqlite:///var/lib/breachwatch/copy.db "$tag" register verify)"
has 'register intact' "$verify" || fail "register verify on the backup: $verify"
has "$case_ref" "$(pm run --rm --no-healthcheck "${common[@]}" -e BREACHWATCH_DATABASE_URL=sqlite:///var/lib/breachwatch/copy.db "$tag" cases list)" ||
  fail "the backup lacks $case_ref"
step "backup written, verified, holds $case_ref"
# Restored: the copy as the database of a fresh daemon (a new volume, the same
# mailbox): it starts on it, a second notice opens the next case, and it
# stops cleanly; the register holds both.
vol2="$vol-restored"
pm volume create "$vol2" >/dev/null
trap 'cleanup; pm volume rm -f "$vol2" >/dev/null 2>&1 || true' EXIT
pm run --rm --no-healthcheck -v "$vol:/from:ro" -v "$vol2:/var/lib/breachwatch" --entrypoint cp "$tag" \
  /from/copy.db /var/lib/breachwatch/bw.db
restored=(--network host --read-only --cap-drop ALL --security-opt no-new-privileges
  -v "$work/etc:/etc/breachwatch:ro" -v "$work/secrets:/run/secrets/breachwatch:ro"
  -e CREDENTIALS_DIRECTORY=/run/secrets/breachwatch -v "$vol2:/var/lib/breachwatch")
pm rm -f "$name" >/dev/null
pm run -d --health-interval disable --name "$name" "${restored[@]}" -e BREACHWATCH_LOG=info "$tag" >/dev/null
for _ in $(seq 1 150); do
  has 'store ready' "$(logs)" && break
  sleep 0.2
done
has 'store ready' "$(logs)" || fail "no 'store ready' on the restored copy: $(logs | tail -5)"
forward ProvArkiv
second="$(printf '%s' "$case_ref" | awk -F- '{ printf "%s-%s-%04d", $1, $2, $3 + 1 }')"
ack2=""
for _ in $(seq 1 150); do
  ack2="$(mail_with staff Mottaget "$second" || true)"
  [ -n "$ack2" ] && break
  sleep 0.2
done
[ -n "$ack2" ] || fail "no acknowledgement for $second from the restored daemon: $(logs | tail -10)"
pm stop -t 20 "$name" >/dev/null
code="$(pm inspect --format '{{.State.ExitCode}}' "$name")"
[ "$code" = 0 ] || fail "the daemon on the restored copy exited $code: $(logs | tail -5)"
list="$(pm run --rm --no-healthcheck "${restored[@]}" "$tag" cases list --json)"
n="$(printf '%s' "$list" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
[ "$n" = 2 ] && has "$case_ref" "$list" && has "$second" "$list" || fail "the restored store lists $n case(s): $list"
has 'register intact' "$(pm run --rm --no-healthcheck "${restored[@]}" "$tag" register verify)" || fail "register verify after the restored daemon ran"
step "a fresh daemon on the restored copy opened $second ($ack2); register intact"
echo "smoke-test: OK ($tag) in $((SECONDS - t0))s"
