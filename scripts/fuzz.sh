#!/usr/bin/env bash
# Fuzzes what comes from outside for a short while (CI runs it): the Stripe event parser, the event -> outcome
# mapping with the lifecycle rules, and the Stripe-Signature header parser. Installs cargo-fuzz from crates.io when
# missing. The machine has one stable toolchain: libFuzzer's coverage instrumentation needs no nightly feature
# but cargo-fuzz passes -Z flags, which RUSTC_BOOTSTRAP allows on stable; without a sanitizer (-s none) a panic
# is still a crash that fails the run.
#   ./scripts/fuzz.sh            # 30 s for the mapping, 10 s for each parser
#   FUZZ_SECONDS=300 ./scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (cargo install cargo-fuzz)" >&2
  cargo install --locked --quiet cargo-fuzz
fi
seconds="${FUZZ_SECONDS:-30}"
export RUSTC_BOOTSTRAP=1
for target in event_outcome stripe_event signature_header; do
  budget=$seconds
  [ "$target" = event_outcome ] || budget=$(( seconds / 3 > 0 ? seconds / 3 : 1 ))
  echo "fuzzing $target for ${budget}s" >&2
  log="$(mktemp)"
  status=0
  cargo fuzz run "$target" -s none -- -max_total_time="$budget" -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(Done|stat::number_of_executed_units|==|thread|panicked|SUMMARY|artifact)" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    echo "fuzz target $target failed (exit $status; a crash is kept in fuzz/artifacts/$target)" >&2
    exit 1
  fi
  rm -f "$log"
done
