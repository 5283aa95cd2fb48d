# lib.sh - shared by deploy/container/smoke-test.sh and deploy/systemd/boot-test.sh
# (sourced, not run). Set `who` (the script's name for messages) and `repo`
# before sourcing.

export CONTAINERS_CONF="${CONTAINERS_CONF:-$repo/deploy/container/sandbox.containers.conf}"
runtime=()
if command -v runc >/dev/null; then runtime=(--runtime runc); fi
pm() { podman "${runtime[@]}" "$@"; }
fail() { echo "$who: FAILED: $*" >&2; exit 1; }
t0=$SECONDS
step() { echo "$who: [$((SECONDS - t0))s] $*"; }

# The running loopback stack (what deploy/local/up.sh wrote).
stack_dir="${MAILSTACK_STATE_DIR:-/tmp/mailstack}"
[ -r "$stack_dir/mailstack.env" ] || fail "no mail stack in $stack_dir (eval \"\$(deploy/local/up.sh)\" first)"
senv() { sed -n "s/^$1=//p" "$stack_dir/mailstack.env"; }
imaps_port="$(senv MAILSTACK_IMAPS_PORT)"
smtp_port="$(senv MAILSTACK_SMTP_PORT)"
mail_dir="$(senv MAILSTACK_MAIL_DIR)"
domain="$(senv MAILSTACK_DOMAIN)"

# Users of this run only: $u-breach (the watched mailbox), -staff (the
# reporter), -official, -deputy, -dpo; `u` names them ("ct…", "st…").
new_users() {
  u="$1$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
  for role in breach staff official deputy dpo; do
    STATE_DIR="$stack_dir" "$repo/deploy/local/add-user.sh" "$u-$role" >/dev/null
  done
}

# config/local.toml for a daemon in a container: this run's users, the stack's
# ports, its own SQLite database under /var/lib/breachwatch, the CA at
# /etc/breachwatch/ca.pem, the IMAP password as the credential
# `imap-password`; extra sed expressions as arguments (-e …).
container_config() {
  sed -e 's#^database_url = .*#database_url = "sqlite:///var/lib/breachwatch/bw.db"#' \
      -e "s#^port = 3993#port = $imaps_port#" \
      -e "s#^port = 2525#port = $smtp_port#" \
      -e 's#^ca_file = .*#ca_file = "/etc/breachwatch/ca.pem"#' \
      -e 's#^password = "secret"#password_file = "imap-password"#' \
      -e "s#\\b\\(breach\\|official\\|deputy\\|dpo\\)@example.test#$u-\\1@$domain#g" \
      "$@" "$repo/config/local.toml"
}
