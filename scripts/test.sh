#!/usr/bin/env bash
# The test command: installs nats-server when missing, then runs every test of the workspace. Each test starts
# its own nats-server on a free port; nothing touches a NATS you may run on 4222.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_nats_server
exec cargo test --workspace "$@"
