#!/usr/bin/env bash
# The run command: the whole payment flow on this machine, without Stripe. Starts nats-server with JetStream (port
# 4222, data in .tools/nats-data), the Checkout emulator in place of Stripe (port 12111: API, hosted checkout pages,
# signed webhooks to the service), the service (port 3000), and `payments watch`, which prints every payment event
# published on NATS. Each process's lines are prefixed with its name ([nats], [stripe], [payments], [watch]). When
# one of them stops, the script says which and how, and stops the others; Ctrl-C stops all of them.
#
# It writes the settings it uses to .env (marked as written by this script), which every `payments` command reads
# from the repository's directory, so `./target/debug/payments inspect|replay|watch|reconcile|trigger` work from a
# second terminal without retyping them. A .env of your own (without that mark) is never overwritten.
#
# Environment: PORT (3000), EMULATOR_PORT (12111), NATS_PORT (4222), NATS_SERVERS (use your own NATS instead of
# starting one), and any of the service's variables (README, "Configuration").
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ENV_MARK="# Written by scripts/run.sh"
BIN="${CARGO_TARGET_DIR:-target}/debug"
case "$BIN" in /*) ;; *) BIN="./$BIN" ;; esac

declare -A names=()   # pid -> name
pids=()
stopping=0

say() { printf '[run.sh] %s\n' "$*" >&2; }

# start NAME CMD…: runs CMD in the background, each output line prefixed with [NAME].
start() {
  local name="$1"; shift
  # The prefixers ignore Ctrl-C (the terminal sends it to the whole group), so shutdown lines still come through.
  "$@" > >(trap '' INT; exec sed -u "s/^/[$name] /") 2> >(trap '' INT; exec sed -u "s/^/[$name] /" >&2) &
  pids+=($!)
  names[$!]="$name"
}

stop_all() {
  [ "$stopping" = 1 ] && return
  stopping=1
  local pid deadline
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # The service drains in-flight work for up to SHUTDOWN_GRACE; then whatever is left is killed.
  deadline=$((SECONDS + 30))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap 'stop_all' EXIT
trap 'say "stopping (Ctrl-C)"; exit 130' INT
trap 'say "stopping (SIGTERM)"; exit 143' TERM

# wait_port NAME HOST PORT PID: until HOST:PORT accepts connections, or fail if PID ended first (30 s at most).
wait_port() {
  local name="$1" host="$2" port="$3" pid="$4" deadline=$((SECONDS + 30))
  until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then say "$name exited before it listened on $host:$port"; exit 1; fi
    if [ "$SECONDS" -ge "$deadline" ]; then say "$name does not listen on $host:$port after 30 s"; exit 1; fi
    sleep 0.1
  done
}

say "building payments and the Checkout emulator (cargo build)"
cargo build --quiet -p payments -p stripe-standin --bin payments --bin stripe-standin
ABS_BIN="$(cd "$BIN" && pwd)"

if [ -z "${NATS_SERVERS:-}" ]; then
  ensure_nats_server
  mkdir -p .tools/nats-data
  NATS_PORT="${NATS_PORT:-4222}"
  start nats "$NATS_SERVER_BIN" -js -a 127.0.0.1 -p "$NATS_PORT" -sd .tools/nats-data
  wait_port nats-server 127.0.0.1 "$NATS_PORT" "${pids[-1]}"
  export NATS_SERVERS="nats://127.0.0.1:$NATS_PORT"
fi

export PORT="${PORT:-3000}"
EMULATOR_PORT="${EMULATOR_PORT:-12111}"
EMULATOR="http://localhost:$EMULATOR_PORT"
export STRIPE_SECRET="${STRIPE_SECRET:-sk_test_local_offline}"
export STRIPE_ENDPOINT_SECRET="${STRIPE_ENDPOINT_SECRET:-whsec_local_offline_secret}"
# After Checkout the emulator's own readable pages (the service's /payments/success answers JSON, for API clients).
result_page="$EMULATOR/checkout/{CHECKOUT_SESSION_ID}/result"
export STRIPE_SUCCESS_URL="${STRIPE_SUCCESS_URL:-$result_page}"
export STRIPE_CANCEL_URL="${STRIPE_CANCEL_URL:-$EMULATOR/checkout/cancelled}"
export STRIPE_API_BASE="${STRIPE_API_BASE:-http://127.0.0.1:$EMULATOR_PORT}"

# .env for the CLI in other terminals: ours is rewritten, a user's is left alone.
if [ ! -e .env ] || [[ "$(head -n1 .env)" == "$ENV_MARK"* ]]; then
  cat > .env <<ENV
$ENV_MARK for the local stack (emulator, local NATS): the \`payments\` commands read it from this
# directory. Rewritten on each run; remove the first line to keep your own edits (run.sh then leaves it alone).
PORT=$PORT
NATS_SERVERS=$NATS_SERVERS
STRIPE_SECRET=$STRIPE_SECRET
STRIPE_ENDPOINT_SECRET=$STRIPE_ENDPOINT_SECRET
STRIPE_SUCCESS_URL=$STRIPE_SUCCESS_URL
STRIPE_CANCEL_URL=$STRIPE_CANCEL_URL
STRIPE_API_BASE=$STRIPE_API_BASE
ENV
  env_note="Settings written to .env, which every payments command reads in this directory."
else
  env_note="A .env of your own is here, so run.sh left it alone: the payments commands read it, not this stack's
settings. To point them at this stack, put in it: NATS_SERVERS=$NATS_SERVERS STRIPE_API_BASE=$STRIPE_API_BASE
STRIPE_SECRET=$STRIPE_SECRET STRIPE_ENDPOINT_SECRET=${STRIPE_ENDPOINT_SECRET%%,*} PORT=$PORT"
fi

start stripe env PORT="$EMULATOR_PORT" PUBLIC_URL="$EMULATOR" \
  WEBHOOK_URL="http://127.0.0.1:$PORT/payments/webhook" WEBHOOK_SECRET="${STRIPE_ENDPOINT_SECRET%%,*}" \
  "$BIN/stripe-standin"
wait_port stripe-standin 127.0.0.1 "$EMULATOR_PORT" "${pids[-1]}"

start payments "$BIN/payments" serve
wait_port payments 127.0.0.1 "$PORT" "${pids[-1]}"
start watch "$BIN/payments" watch

cat >&2 <<INFO

payments: http://localhost:$PORT   NATS: $NATS_SERVERS   Checkout emulator: $EMULATOR
$env_note

Create a session, open its "url" in a browser and click Pay; [watch] prints payment.succeeded:
  curl -s localhost:$PORT/payments/create-session -H 'content-type: application/json' \\
    -d '{"orderId":"3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69","currency":"usd","items":[{"name":"T-Shirt","price":20.5,"quantity":2}]}'
From a second terminal, in $PWD:
  $BIN/payments inspect 3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69   # the payment's story
  $BIN/payments trigger charge.succeeded                       # one signed event of any type
  alias payments=$ABS_BIN/payments   # then simply: payments inspect …, payments watch, …
Ctrl-C stops everything.

INFO

# Whichever process ends first ends the run: name it and how it ended, then stop the rest.
set +e
wait -n -p ended "${pids[@]}"
status=$?
set -e
if [ -n "${ended:-}" ]; then
  if [ "$status" -gt 128 ]; then how="was killed by signal $((status - 128))"; else how="exited with status $status"; fi
  say "${names[$ended]} (pid $ended) $how; stopping the others"
fi
exit 1
