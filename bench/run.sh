#!/usr/bin/env bash
# The payments benchmark, one command (see bench/README.md):
#   ./bench/run.sh                 # parts 1-4, table on stdout, JSON in bench/results/latest.json
#   ./bench/run.sh --scaling       # replicas x NATS cluster, JSON in bench/results/scaling.json
#   ./bench/run.sh --readiness     # 3 replicas at once on a fresh 3-node cluster (--starts runs), results/readiness.json
#   ./bench/run.sh --duration 10 --warmup 3 --session-duration 5    # shorter
# Builds the release binaries of the service and the Stripe stand-in, installs nats-server (>= 2.10) into
# .tools/ when missing, builds the load generator (bench/ is its own cargo project, never part of the tests).
set -euo pipefail

bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench/.." && pwd)"

# shellcheck source=../scripts/lib.sh
source "$root/scripts/lib.sh"
ensure_nats_server

# The service's workspace target dir (the usual one unless CARGO_TARGET_DIR says otherwise).
payments_target="${CARGO_TARGET_DIR:-$root/target}"
echo "building the release binaries: payments, stripe-standin ..." >&2
(cd "$root" && CARGO_TARGET_DIR="$payments_target" cargo build --release --quiet -p payments --bin payments)
(cd "$root" && CARGO_TARGET_DIR="$payments_target" cargo build --release --quiet -p stripe-standin --bin stripe-standin)

echo "building the load generator (bench/) ..." >&2
(cd "$bench" && CARGO_TARGET_DIR="$bench/target" cargo build --release --quiet)

mkdir -p "$bench/results/logs"
exec "$bench/target/release/payments-bench" \
  --payments-bin "$payments_target/release/payments" \
  --standin-bin "$payments_target/release/stripe-standin" \
  "$@"
