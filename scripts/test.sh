#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs moto (the CloudWatch Logs server the
# end-to-end tests talk to through the real AWS SDK) when it is missing, then every test of the
# workspace and of tests/consumer. Each test binary that needs moto starts one on a free
# 127.0.0.1 port, shared by its tests; moto watches a pipe from the test process and exits with
# it, so none outlives the run.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_SPEC='moto[server]==5.2.5'
# The Prometheus project's Python client: its OpenMetrics parser checks /metrics
# (tests/tests/metrics_exposition.rs).
PROMETHEUS_SPEC='prometheus-client==0.26.0'
PIP=(python3 -m pip install --quiet --disable-pip-version-check)

have_moto() {
    # moto.server needs the [server] extras (Flask, werkzeug); the launcher speaks moto 5's CLI.
    python3 - >/dev/null 2>&1 <<'PY'
import moto, moto.server
import prometheus_client.openmetrics.parser
raise SystemExit(0 if moto.__version__.split(".")[0] == "5" else 1)
PY
}

if ! command -v python3 >/dev/null 2>&1; then
    echo "python3 is needed for the CloudWatch tests (moto): install Python 3 with pip" >&2
    exit 1
fi
if ! have_moto; then
    echo "installing ${MOTO_SPEC} and ${PROMETHEUS_SPEC} for the CloudWatch and metrics tests" >&2
    python3 -m pip --version >/dev/null 2>&1 || python3 -m ensurepip --upgrade >/dev/null 2>&1 || true
    if ! output=$("${PIP[@]}" "${MOTO_SPEC}" "${PROMETHEUS_SPEC}" 2>&1); then
        if grep -q externally-managed <<<"${output}"; then
            # A system Python that refuses installs outside a virtualenv (PEP 668).
            "${PIP[@]}" --user --break-system-packages "${MOTO_SPEC}" "${PROMETHEUS_SPEC}"
        else
            echo "${output}" >&2
            exit 1
        fi
    fi
    if ! have_moto; then
        echo "moto 5 or prometheus_client is still not importable by python3: pip install '${MOTO_SPEC}' '${PROMETHEUS_SPEC}'" >&2
        exit 1
    fi
fi

cargo test --workspace --all-features --locked "$@"

# tests/consumer uses event-core and sink-file as an outside application would: not a workspace
# member, with its own lock file and its own Kubernetes version. It shares the workspace's target
# directory (and profiles), so only what its other Kubernetes version reaches is built again.
# Run with the whole suite (no arguments) only, since arguments select workspace tests.
if [[ $# -eq 0 ]]; then
    CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" \
        cargo test --manifest-path tests/consumer/Cargo.toml --locked
fi
