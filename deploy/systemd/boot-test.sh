#!/usr/bin/env bash
# boot-test.sh - run deploy/systemd/breachwatch.service under a real systemd:
# a Debian bookworm root file system with systemd (mmdebstrap, imported into
# podman; no registry needed) booted as a container on the host network, the
# unit installed as docs/install.md installs it, then:
#   systemctl start → active (Type=notify: start returns once the daemon said
#   READY), a notice forwarded through the loopback stack's Postfix opens a
#   case and the reporter gets the acknowledgement, a supplier's notice in an
#   attached PDF is read (the PDF reader's child may set its limits under the
#   unit's SystemCallFilter), `systemctl stop` → the unit ends with
#   Result=success.
# With all of the unit's sandboxing (DynamicUser, ProtectSystem=strict,
# SystemCallFilter, MemoryDenyWriteExecute, PrivateUsers, ...).
# LoadCredential= is tried first. Where systemd in a container cannot hand
# credentials to a unit at all (a bare `systemd-run -p User=nobody
# -p LoadCredential=...` cannot read its credential either: seen with systemd
# 252 under podman on this project's CI machines), the script says so and
# runs the unit with a drop-in that replaces LoadCredential= by
# CREDENTIALS_DIRECTORY pointing at the files in /etc.
# Usage: deploy/systemd/boot-test.sh PATH-TO-BREACHWATCH
# Needs root, podman, runc, mmdebstrap, python3 and the stack
# (eval "$(deploy/local/up.sh)"). Not part of `make test` (the root file
# system costs about 80 s on a fresh machine); run it after changing the unit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="$(realpath "${1:?usage: boot-test.sh PATH-TO-BREACHWATCH}")"
who=boot-test
# shellcheck source=deploy/container/lib.sh
. "$repo/deploy/container/lib.sh"

# The systemd root file system, made once per machine (label = hash of the
# mmdebstrap command line, as deploy/container/build.sh does).
base="localhost/breachwatch-systemd-base:bookworm"
args=(--quiet --variant=apt --include=systemd,systemd-sysv,dbus,ca-certificates
  --dpkgopt=force-unsafe-io --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright' bookworm)
key="$(printf '%s\n' "${args[@]}" | sha256sum | cut -c1-16)"
have="$(pm image inspect --format '{{index .Labels "org.breachwatch.rootfs"}}' "$base" 2>/dev/null || true)"
work="$(mktemp -d)"
name="bw-boot-$$"
cleanup() {
  pm rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
if [ "$have" != "$key" ]; then
  mmdebstrap "${args[@]}" "$work/rootfs.tar"
  pm import --change "LABEL=org.breachwatch.rootfs=$key" "$work/rootfs.tar" "$base" >/dev/null
  rm -f "$work/rootfs.tar"
  step "made $base with mmdebstrap"
fi

# Mailbox users of this run only.
new_users sd
addr() { printf '%s-%s@%s' "$u" "$1" "$domain"; }

cp "$bin" "$work/breachwatch"
if command -v strip >/dev/null; then strip --strip-debug "$work/breachwatch"; fi
pm run -d --name "$name" --privileged --network host --systemd=always \
  -v "$work/breachwatch:/usr/local/bin/breachwatch:ro" "$base" /sbin/init >/dev/null
inside() { pm exec "$name" "$@"; }
for _ in $(seq 1 100); do
  state="$(inside systemctl is-system-running 2>/dev/null || true)"
  case "$state" in running | degraded) break ;; esac
  sleep 0.2
done
step "systemd is $state in $name"

# The configuration and credentials as docs/install.md lays them out.
container_config >"$work/breachwatch.toml"
inside mkdir -p /etc/breachwatch/credentials
pm cp "$work/breachwatch.toml" "$name:/etc/breachwatch/breachwatch.toml"
pm cp "$(senv MAILSTACK_TLS_CA)" "$name:/etc/breachwatch/ca.pem"
pm cp "$here/breachwatch.service" "$name:/etc/systemd/system/breachwatch.service"
inside sh -c "umask 077 && printf '%s\n' '$(senv MAILSTACK_PASSWORD)' >/etc/breachwatch/credentials/imap-password &&
  printf 'unused\n' >/etc/breachwatch/credentials/smtp-password &&
  chmod 0644 /etc/breachwatch/breachwatch.toml /etc/breachwatch/ca.pem && systemctl daemon-reload"

if ! inside systemctl start breachwatch; then
  journal="$(inside journalctl -u breachwatch --no-pager 2>&1 | tail -5)"
  case "$journal" in *credentials*"Permission denied"*) denied=1 ;; *) denied=0 ;; esac
  if [ "$denied" = 1 ] && ! inside systemd-run -q --wait -P -p User=nobody \
         -p LoadCredential=probe:/etc/breachwatch/credentials/imap-password \
         sh -c 'cat "$CREDENTIALS_DIRECTORY/probe"' >/dev/null 2>&1; then
    step "NOT CHECKED: LoadCredential= (systemd in this container hands no unit its credentials; a bare systemd-run probe fails too)"
    inside sh -c 'mkdir -p /etc/systemd/system/breachwatch.service.d &&
      printf "[Service]\nLoadCredential=\nEnvironment=CREDENTIALS_DIRECTORY=/etc/breachwatch/credentials\n" \
        >/etc/systemd/system/breachwatch.service.d/no-credentials.conf &&
      chmod 0755 /etc/breachwatch/credentials && chmod 0644 /etc/breachwatch/credentials/* &&
      systemctl daemon-reload && systemctl reset-failed breachwatch'
    inside systemctl start breachwatch || fail "start: $(inside journalctl -u breachwatch --no-pager | tail -5)"
  else
    fail "start: $journal"
  fi
fi
show() { inside systemctl show breachwatch -p "$1" --value; }
[ "$(show ActiveState)" = active ] || fail "not active after start: $(inside journalctl -u breachwatch --no-pager | tail -5)"
step "started: $(show ActiveState)/$(show SubState), Type=$(show Type), user $(show User), watchdog $(show WatchdogUSec)"

python3 "$repo/deploy/container/notice.py" forward "$smtp_port" "$(addr staff)" "$(addr breach)" ProvWeb
ack=""
for _ in $(seq 1 150); do
  ack="$(python3 "$repo/deploy/container/notice.py" find "$mail_dir/$domain/$u-staff/Maildir" Mottaget "[PUI-" || true)"
  [ -n "$ack" ] && break
  sleep 0.2
done
[ -n "$ack" ] || fail "no acknowledgement: $(inside journalctl -u breachwatch --no-pager | tail -10)"
step "a notice forwarded through Postfix was acknowledged: $ack"

# A supplier's notice whose facts are in an attached PDF: the unit's
# sandbox must let the PDF reader's child set its limits (setrlimit), or
# the PDF stays unread and the opening notice says so.
python3 "$repo/deploy/container/notice.py" send "$smtp_port" support@tidvis.example "$(addr breach)" \
  "$repo/tests/fixtures/forms/f01-pdf-form-bifogad.eml"
read_pdf=""
for _ in $(seq 1 150); do
  read_pdf="$(python3 "$repo/deploy/container/notice.py" find-text "$mail_dir/$domain/$u-official/Maildir" \
    "Tidvis Mobil" "läst ur meddelandets text och ur filen" || true)"
  [ -n "$read_pdf" ] && break
  sleep 0.2
done
[ -n "$read_pdf" ] || fail "the PDF was not read under the unit: $(inside journalctl -u breachwatch --no-pager | grep -i pdf | tail -5)"
step "a notice in an attached PDF was read under the unit's sandbox: $read_pdf"

inside systemctl stop breachwatch
[ "$(show Result)" = success ] && [ "$(show ExecMainStatus)" = 0 ] ||
  fail "stop: Result=$(show Result) status=$(show ExecMainStatus)"
step "stopped: Result=success, exit 0"
echo "boot-test: OK in $((SECONDS - t0))s"
