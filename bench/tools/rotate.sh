#!/usr/bin/env bash
# A/B of service builds on a noisy machine: ROUNDS rounds, each running every build once, in an order that rotates
# from round to round, so that slow drift of the machine falls on every build alike. Compare them with rounds.py.
#
#   bench/tools/rotate.sh OUT_DIR ROUNDS DURATION name=path/to/payments [name=path ...]
#
# Every run uses the same stand-in binary and `--skip-sessions --no-diagnostic` (webhook intake and the pipeline's
# catch-up only). Build the benchmark first (./bench/run.sh does), and the stand-in (cargo build --release).
set -euo pipefail
out=$1 rounds=$2 duration=$3
shift 3
builds=("$@")
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
for round in $(seq 1 "$rounds"); do
  for j in $(seq 0 $((${#builds[@]} - 1))); do
    spec=${builds[$(((j + round) % ${#builds[@]}))]}
    name=${spec%%=*} bin=${spec#*=}
    "$root/bench/target/release/payments-bench" --duration "$duration" --warmup 2 --skip-sessions --no-diagnostic \
      --payments-bin "$bin" --standin-bin "$root/target/release/stripe-standin" \
      --out "$out/$name-$round.json" >"$out/$name-$round.log" 2>&1
  done
done
