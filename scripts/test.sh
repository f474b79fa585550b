#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs moto (the CloudWatch Logs server the
# end-to-end tests talk to through the real AWS SDK) when it is missing, then every test of the
# workspace. Each test that needs moto starts its own server on a free 127.0.0.1 port and stops
# it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_SPEC='moto[server]==5.2.5'
if ! python3 -c 'import moto.server' >/dev/null 2>&1; then
    echo "installing ${MOTO_SPEC} for the CloudWatch tests" >&2
    python3 -m pip install --quiet --disable-pip-version-check "${MOTO_SPEC}"
fi

exec cargo test --workspace --all-features --locked "$@"
