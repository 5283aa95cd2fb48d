#!/usr/bin/env bash
# up.sh (breachwatch loopback stack, derived from the team's mailstack recipe) - install (if missing), configure and start a loopback-only mail stack:
#   Dovecot  IMAP  127.0.0.1:$IMAP_PORT  (STARTTLS)   IMAPS 127.0.0.1:$IMAPS_PORT
#   Postfix  SMTP  127.0.0.1:$SMTP_PORT  -> Dovecot LMTP (unix socket) -> Maildir
#   Postfix  submission 127.0.0.1:$SUBMISSION_PORT (SASL through Dovecot: PLAIN/LOGIN or XOAUTH2/OAUTHBEARER)
#   OAuth2   http://127.0.0.1:$OAUTH_PORT (oauth-server.py): Dovecot's oauth2 passdb introspects
#            bearer tokens there; tests register their own clients (see that file)
# No systemd needed; nothing in /etc is edited. All state lives in $STATE_DIR.
# Idempotent: a second run regenerates the config and reloads a running daemon only
# when its config changed (ports, users, ...).
# Prints the connection settings as KEY=VALUE lines on stdout (also saved to
# $STATE_DIR/mailstack.env); progress goes to stderr.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$HERE/common.sh"

[ "$(id -u)" = 0 ] || die "run as root (Dovecot and Postfix masters start as root and drop privileges)"

# ---------------------------------------------------------------- install
PKGS="dovecot-core dovecot-imapd dovecot-lmtpd postfix openssl"
# The test OAuth2 server is a Python script: any python3 on PATH will do.
command -v python3 >/dev/null || PKGS="$PKGS python3-minimal"
missing_pkgs() {
  local p
  for p in $PKGS; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || printf '%s ' "$p"
  done
}
install_packages() {
  local missing; missing="$(missing_pkgs)"
  [ -z "$missing" ] && return 0
  log "installing: $missing"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix: "No configuration" -> the package writes no /etc/postfix/main.cf and starts nothing.
  debconf-set-selections <<EOF
postfix postfix/main_mailer_type select No configuration
postfix postfix/mailname string $MAIL_DOMAIN
EOF
  # Keep maintainer scripts from starting the system-wide daemons (dovecot on :143/:993)
  # when the machine has no policy-rc.d (the Debian docker-style images already have one).
  local prc=/usr/sbin/policy-rc.d added_prc=0
  if [ ! -e "$prc" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$prc"; chmod 0755 "$prc"; added_prc=1
  fi
  local rc=0
  { apt-get update -q && apt-get install -y -q --no-install-recommends $missing; } >&2 || rc=$?
  [ "$added_prc" = 1 ] && rm -f "$prc"
  [ "$rc" = 0 ] || die "apt-get failed (rc=$rc)"
}
install_packages
for c in dovecot doveconf doveadm postfix postconf openssl; do
  command -v "$c" >/dev/null || die "$c not found after install"
done

# ---------------------------------------------------------------- helpers
# install_new FILE: move FILE.new over FILE only if the content differs; sets CHANGED_<tag>
install_new() { # file tag
  if [ -f "$1" ] && cmp -s "$1.new" "$1"; then rm -f "$1.new"; return 0; fi
  mv -f "$1.new" "$1"
  eval "CHANGED_$2=1"
}
CHANGED_dovecot=0; CHANGED_postfix=0

# ---------------------------------------------------------------- layout
getent passwd "$VMAIL_USER" >/dev/null || die "system user $VMAIL_USER does not exist"
VMAIL_UID="$(id -u "$VMAIL_USER")"; VMAIL_GID="$(id -g "$VMAIL_USER")"
[ "$VMAIL_UID" != 0 ] || die "VMAIL_USER must not be root (Dovecot refuses mail_uid 0)"

mkdir -p "$OAUTH_DIR" "$STATE_DIR" "$STATE_DIR/dovecot" "$DOVECOT_BASE" "$STATE_DIR/lib/dovecot" \
         "$STATE_DIR/mail" "$POSTFIX_DIR" "$STATE_DIR/lib/postfix" "$POSTFIX_SPOOL" "$TLS_DIR" "$LOG_DIR"
chmod 0755 "$STATE_DIR" "$STATE_DIR/dovecot" "$STATE_DIR/run" "$DOVECOT_BASE" "$STATE_DIR/lib" \
           "$STATE_DIR/spool" "$POSTFIX_DIR" "$TLS_DIR" "$LOG_DIR"
chown root:root "$POSTFIX_SPOOL" "$POSTFIX_DIR"; chmod 0755 "$POSTFIX_SPOOL"
chown postfix:postfix "$STATE_DIR/lib/postfix"; chmod 0700 "$STATE_DIR/lib/postfix"
chown "$VMAIL_UID:$VMAIL_GID" "$STATE_DIR/mail"; chmod 0770 "$STATE_DIR/mail"
# Postfix's lmtp client (user postfix) must reach the LMTP socket, and the mail
# user must reach $STATE_DIR/mail: every parent of STATE_DIR must be searchable.
for u in postfix "$VMAIL_USER"; do
  runuser -u "$u" -- test -x "$STATE_DIR/run/dovecot" ||
    die "user $u cannot traverse $STATE_DIR (a parent dir is not world-searchable?); choose another STATE_DIR"
done

# ---------------------------------------------------------------- TLS (own tiny CA + leaf)
# A CA-signed leaf (not a bare self-signed CA cert) so that rustls/webpki accepts it
# when ca.pem is added as a root; SAN covers localhost, 127.0.0.1 and mail.$MAIL_DOMAIN.
if [ ! -s "$TLS_DIR/cert.pem" ] || [ ! -s "$TLS_DIR/key.pem" ] || [ ! -s "$TLS_DIR/ca.pem" ]; then
  log "generating TLS certificates in $TLS_DIR"
  (
    cd "$TLS_DIR"; umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
      -subj "/CN=mailstack test CA" -keyout ca.key -out ca.pem \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
      -keyout key.pem -out server.csr 2>/dev/null
    cat > server.ext <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:mail.$MAIL_DOMAIN
EOF
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
      -days 3650 -sha256 -extfile server.ext -out cert.pem 2>/dev/null
    cat cert.pem ca.pem > fullchain.pem
    rm -f server.csr server.ext
    chmod 0644 ca.pem cert.pem fullchain.pem; chmod 0600 ca.key key.pem
  )
fi

# ---------------------------------------------------------------- users
[ -e "$POSTFIX_VMAILBOX" ] || : > "$POSTFIX_VMAILBOX"
vmailbox_before="$(cksum < "$POSTFIX_VMAILBOX")"
USER_LIST=""
for u in $MAIL_USERS; do
  USER_LIST="$USER_LIST${USER_LIST:+,}$(set_user "$u" "$MAIL_PASSWORD")"
done
# Dovecot rereads its passwd-file by itself; Postfix needs a reload for the recipient map
[ "$vmailbox_before" = "$(cksum < "$POSTFIX_VMAILBOX")" ] || CHANGED_postfix=1

# ---------------------------------------------------------------- Dovecot config
DH_LINE=""
[ -r /usr/share/dovecot/dh.pem ] && DH_LINE="ssl_dh = </usr/share/dovecot/dh.pem"
cat > "$DOVECOT_CONF.new" <<EOF
# Generated by mailstack/up.sh - edits are overwritten on the next run.
# Standalone: does not include /etc/dovecot. Start: dovecot -c $DOVECOT_CONF
instance_name = mailstack
base_dir = $DOVECOT_BASE
state_dir = $STATE_DIR/lib/dovecot
protocols = imap lmtp
listen = $LISTEN_ADDR
hostname = mail.$MAIL_DOMAIN
log_path = $LOG_DIR/dovecot.log
info_log_path = $LOG_DIR/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull

ssl = yes
ssl_cert = <$TLS_DIR/fullchain.pem
ssl_key = <$TLS_DIR/key.pem
$DH_LINE
ssl_min_protocol = TLSv1.2

# plaintext LOGIN/AUTHENTICATE PLAIN allowed also without TLS (loopback test stack)
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_username_format = %Lu
# Test-friendly failed-login timing. Dovecot's defaults (AUTH_FAILURE_DELAY=2, AUTH_PENALTY=1)
# delay a failed login 2 s and then make anvil delay EVERY later login from the same IP
# (127.0.0.1) by 2..15 s, so one wrong-password test would slow down unrelated tests.
auth_failure_delay = $AUTH_FAILURE_DELAY secs
$( [ "$AUTH_PENALTY" = 1 ] || printf 'service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}' )
# Passwords for PLAIN/LOGIN; bearer tokens (XOAUTH2/OAUTHBEARER) are checked by
# introspection at the loopback OAuth2 server, which names the mailbox (email).
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%Lu $DOVECOT_USERS_DIR/%Ld/%Ln
}
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $STATE_DIR/dovecot/oauth2.conf.ext
}
userdb {
  driver = passwd-file
  args = username_format=%Lu $DOVECOT_USERS_DIR/%Ld/%Ln
  default_fields = uid=$VMAIL_UID gid=$VMAIL_GID home=$STATE_DIR/mail/%d/%n
}

# all mail is owned by one unprivileged system user; Dovecot refuses uids below
# first_valid_uid (default 500), so lower it to that user's uid.
mail_uid = $VMAIL_UID
mail_gid = $VMAIL_GID
first_valid_uid = $VMAIL_UID
last_valid_uid = $VMAIL_UID
first_valid_gid = $VMAIL_GID
last_valid_gid = $VMAIL_GID
mail_location = maildir:~/Maildir
mail_fsync = $DOVECOT_MAIL_FSYNC
# IDLE: inotify wakes IDLE at once; this is only the fallback poll
mailbox_idle_check_interval = 1 secs

namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \Drafts
  }
  mailbox Sent {
    special_use = \Sent
  }
  mailbox Trash {
    special_use = \Trash
  }
  mailbox Junk {
    special_use = \Junk
  }
}

service imap-login {
  inet_listener imap {
    address = $LISTEN_ADDR
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = $LISTEN_ADDR
    port = $IMAPS_PORT
    ssl = yes
  }
}
service auth {
  # Postfix submission authenticates through Dovecot SASL (smtpd runs as postfix)
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service lmtp {
  # Postfix's lmtp client runs as user postfix
  unix_listener lmtp {
    mode = 0666
  }
}

protocol imap {
  # default 10 would break test suites that open many sessions per user
  mail_max_userip_connections = 200
}
protocol lmtp {
  postmaster_address = postmaster@$MAIL_DOMAIN
}
EOF
cat > "$STATE_DIR/dovecot/oauth2.conf.ext.new" <<EOF
# Generated by mailstack/up.sh. Every XOAUTH2/OAUTHBEARER login asks the loopback
# OAuth2 server (RFC 7662 introspection); no cache, so a revoked token fails at once.
introspection_url = http://$LISTEN_ADDR:$OAUTH_PORT/introspect
introspection_mode = post
force_introspection = yes
username_attribute = email
active_attribute = active
active_value = true
EOF
install_new "$STATE_DIR/dovecot/oauth2.conf.ext" dovecot
chmod 0644 "$STATE_DIR/dovecot/oauth2.conf.ext"
doveconf -c "$DOVECOT_CONF.new" -n > /dev/null || die "generated dovecot.conf is invalid"
install_new "$DOVECOT_CONF" dovecot

# ---------------------------------------------------------------- Postfix config
if [ "$SMTP_STARTTLS" = 1 ]; then
  SMTPD_TLS="smtpd_tls_security_level = may
smtpd_tls_chain_files = $TLS_DIR/key.pem, $TLS_DIR/fullchain.pem
smtpd_tls_loglevel = 1"
else
  SMTPD_TLS="smtpd_tls_security_level = none"
fi
cat > "$POSTFIX_DIR/main.cf.new" <<EOF
# Generated by mailstack/up.sh - edits are overwritten on the next run.
# Start: postfix -c $POSTFIX_DIR start
compatibility_level = 3.6
queue_directory = $POSTFIX_SPOOL
data_directory = $STATE_DIR/lib/postfix
mail_owner = postfix
myhostname = mail.$MAIL_DOMAIN
mydomain = $MAIL_DOMAIN
myorigin = \$mydomain
inet_interfaces = $LISTEN_ADDR
inet_protocols = ipv4
maillog_file = $LOG_DIR/postfix.log
maillog_file_prefixes = $LOG_DIR
smtpd_banner = \$myhostname ESMTP mailstack
biff = no
append_dot_mydomain = no
readme_directory = no

# Loopback clients are exempt from connection/rate limits (default exceptions =
# \$mynetworks) but get NO relay permission: only $MAIL_DOMAIN is accepted.
mynetworks = 127.0.0.0/8
relay_domains =
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = reject_unauth_destination
disable_vrfy_command = yes

# nothing is delivered locally or to the outside world
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:5.1.1 local delivery disabled (mailstack)
default_transport = error:5.7.1 outbound mail disabled (mailstack)
relay_transport = error:5.7.1 outbound mail disabled (mailstack)

# $MAIL_DOMAIN -> Dovecot LMTP; unknown users are rejected at RCPT time
virtual_mailbox_domains = $MAIL_DOMAIN
virtual_mailbox_maps = texthash:$POSTFIX_VMAILBOX
virtual_transport = lmtp:unix:$DOVECOT_BASE/lmtp

# quick retries if Dovecot was briefly down
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 60s
# A delivery agent that dies at start is restarted after 1 s, not 60: a reload
# (add-user.sh, as tests add users) while LMTP delivers can make the new lmtp
# process find a queue file still locked by the old one ("fatal: shared lock
# active/...") and exit, and master would then suspend every LMTP delivery for
# a minute, longer than a test waits for its mail.
service_throttle_time = 1s

$SMTPD_TLS
smtp_tls_security_level = none
EOF
cat > "$POSTFIX_DIR/master.cf.new" <<EOF
# Generated by mailstack/up.sh. No service is chrooted (no copies of /etc files needed).
# service type  private unpriv  chroot  wakeup  maxproc command + args
$LISTEN_ADDR:$SMTP_PORT inet n - n - - smtpd
$LISTEN_ADDR:$SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_type=dovecot
  -o smtpd_sasl_path=$DOVECOT_BASE/auth-postfix
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
install_new "$POSTFIX_DIR/main.cf" postfix
install_new "$POSTFIX_DIR/master.cf" postfix
chmod 0644 "$POSTFIX_DIR/main.cf" "$POSTFIX_DIR/master.cf" "$POSTFIX_VMAILBOX"
# Every Postfix program re-reads main.cf (and texthash tables) every 0.3 s until the
# file's mtime is >1 s in the past ("let the file cool down"), which costs ~1.7 s on
# each fresh start; the file was written atomically, so backdate it.
touch -d "@$(( $(date +%s) - 10 ))" "$POSTFIX_DIR/main.cf"

# ---------------------------------------------------------------- start / reload
port_busy() { (exec 3<>"/dev/tcp/$LISTEN_ADDR/$1") 2>/dev/null; }

# The OAuth2 server first: Dovecot asks it at every token login. It keeps its
# clients in memory, so it is restarted only when the script changed.
command -v python3 >/dev/null || die "python3 is required for the test OAuth2 server"
cp "$HERE/oauth-server.py" "$OAUTH_DIR/oauth-server.py.new"
CHANGED_oauth=0
install_new "$OAUTH_DIR/oauth-server.py" oauth
if [ -n "$(oauth_pid)" ] && [ "$CHANGED_oauth" = 1 ]; then
  log "oauth-server changed: restarting (pid $(oauth_pid))"
  kill -TERM "$(oauth_pid)" 2>/dev/null || true
  for _ in $(seq 100); do port_busy "$OAUTH_PORT" || break; sleep 0.05; done
fi
if [ -z "$(oauth_pid)" ]; then
  port_busy "$OAUTH_PORT" && die "port $LISTEN_ADDR:$OAUTH_PORT is already in use by another process"
  log "starting oauth-server on $LISTEN_ADDR:$OAUTH_PORT"
  setsid python3 "$OAUTH_DIR/oauth-server.py" --port "$OAUTH_PORT" --pid-file "$OAUTH_DIR/oauth-server.pid" \
    </dev/null >>"$LOG_DIR/oauth-server.log" 2>&1 &
  for _ in $(seq 100); do port_busy "$OAUTH_PORT" && break; sleep 0.05; done
  port_busy "$OAUTH_PORT" || die "oauth-server did not start (see $LOG_DIR/oauth-server.log)"
else
  log "oauth-server already running (pid $(oauth_pid))"
fi

if [ -n "$(dovecot_pid)" ]; then
  if [ "$CHANGED_dovecot" = 1 ]; then
    log "dovecot running (pid $(dovecot_pid)), config changed: reloading"
    dovecot -c "$DOVECOT_CONF" reload </dev/null >&2 || die "dovecot reload failed"
  else
    log "dovecot already running (pid $(dovecot_pid))"
  fi
else
  for p in "$IMAP_PORT" "$IMAPS_PORT"; do
    port_busy "$p" && die "port $LISTEN_ADDR:$p is already in use by another process"
  done
  log "starting dovecot"
  # Dovecot's master keeps its stderr open for its lifetime: never hand it our
  # stdout/stderr, or a caller reading them through a pipe ($(up.sh), | tee,
  # Command::output()) would wait for EOF forever.
  if ! dovecot -c "$DOVECOT_CONF" </dev/null >>"$LOG_DIR/dovecot.stderr" 2>&1; then
    tail -n 20 "$LOG_DIR/dovecot.stderr" "$LOG_DIR/dovecot.log" >&2 2>/dev/null || true
    die "dovecot failed to start"
  fi
fi

if [ -n "$(postfix_pid)" ]; then
  if [ "$CHANGED_postfix" = 1 ]; then
    log "postfix running (pid $(postfix_pid)), config changed: reloading"
    postfix -c "$POSTFIX_DIR" reload </dev/null >>"$LOG_DIR/postfix.stderr" 2>&1 || die "postfix reload failed"
  else
    log "postfix already running (pid $(postfix_pid))"
  fi
else
  port_busy "$SMTP_PORT" && die "port $LISTEN_ADDR:$SMTP_PORT is already in use by another process"
  log "starting postfix"
  if ! postfix -c "$POSTFIX_DIR" start </dev/null >>"$LOG_DIR/postfix.stderr" 2>&1; then
    # postfix(1) prints its reason only to a tty or syslog: replay the check under script(1)
    script -qec "postfix -c '$POSTFIX_DIR' check" /dev/null >&2 || true
    tail -n 20 "$LOG_DIR/postfix.log" >&2 2>/dev/null || true
    die "postfix failed to start"
  fi
fi

# ---------------------------------------------------------------- wait until ready
# banner PORT SEND PREFIX: true when the server on PORT greets with PREFIX (then sends SEND)
banner() (
  line=""
  exec 3<>"/dev/tcp/$LISTEN_ADDR/$1" || exit 1
  IFS= read -r -t 2 line <&3 || true
  printf '%s\r\n' "$2" >&3 2>/dev/null || true
  case "$line" in "$3"*) exit 0 ;; *) exit 1 ;; esac
)
deadline=$((SECONDS + ${READY_TIMEOUT:-30}))
until banner "$IMAP_PORT" "a LOGOUT" "* OK" 2>/dev/null &&
      port_busy "$IMAPS_PORT" &&
      [ -S "$DOVECOT_BASE/lmtp" ] &&
      banner "$SMTP_PORT" "QUIT" "220 " 2>/dev/null &&
      banner "$SUBMISSION_PORT" "QUIT" "220 " 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    tail -n 20 "$LOG_DIR/dovecot.log" "$LOG_DIR/postfix.log" >&2 2>/dev/null || true
    die "stack not ready after ${READY_TIMEOUT:-30}s"
  fi
  sleep 0.05
done

# the users work (matters when a run changed users or passwords of a running stack)
for u in ${USER_LIST//,/ }; do
  wait_user_ready "$u" "$MAIL_PASSWORD"
  wait_rcpt_ok "$u"
done

cat > "$STATE_DIR/mailstack.env" <<EOF
MAILSTACK_STATE_DIR=$STATE_DIR
MAILSTACK_HOST=$LISTEN_ADDR
MAILSTACK_DOMAIN=$MAIL_DOMAIN
MAILSTACK_IMAP_PORT=$IMAP_PORT
MAILSTACK_IMAPS_PORT=$IMAPS_PORT
MAILSTACK_SMTP_PORT=$SMTP_PORT
MAILSTACK_SUBMISSION_PORT=$SUBMISSION_PORT
MAILSTACK_OAUTH_PORT=$OAUTH_PORT
MAILSTACK_OAUTH_URL=http://$LISTEN_ADDR:$OAUTH_PORT
MAILSTACK_USERS=$USER_LIST
MAILSTACK_PASSWORD=$MAIL_PASSWORD
MAILSTACK_TLS_CA=$TLS_DIR/ca.pem
MAILSTACK_TLS_CERT=$TLS_DIR/cert.pem
MAILSTACK_TLS_SERVER_NAME=localhost
MAILSTACK_MAIL_DIR=$STATE_DIR/mail
MAILSTACK_DOVECOT_CONF=$DOVECOT_CONF
MAILSTACK_POSTFIX_CONFIG_DIR=$POSTFIX_DIR
MAILSTACK_LOG_DIR=$LOG_DIR
MAILSTACK_DOVECOT_PID=$(dovecot_pid)
MAILSTACK_POSTFIX_PID=$(postfix_pid)
EOF
log "ready"
cat "$STATE_DIR/mailstack.env"
