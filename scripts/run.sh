#!/usr/bin/env bash
# The run command: the whole payment flow locally and offline. Starts nats-server with JetStream (port 4222, data
# in .tools/nats-data), the Checkout emulator in place of Stripe (port 12111: API, hosted checkout pages, signed
# webhooks to the service), the service (port 3000), and `payments watch`, which prints every payment event
# published on NATS. Ctrl-C stops all of them. Set NATS_SERVERS to use a NATS of your own instead.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

cargo build --quiet -p payments -p stripe-standin --bin payments --bin stripe-standin

if [ -z "${NATS_SERVERS:-}" ]; then
  ensure_nats_server
  mkdir -p .tools/nats-data
  "$NATS_SERVER_BIN" -js -a 127.0.0.1 -p "${NATS_PORT:-4222}" -sd .tools/nats-data &
  pids+=($!)
  export NATS_SERVERS="nats://127.0.0.1:${NATS_PORT:-4222}"
fi

export PORT="${PORT:-3000}"
EMULATOR_PORT="${EMULATOR_PORT:-12111}"
export STRIPE_SECRET="${STRIPE_SECRET:-sk_test_local_offline}"
export STRIPE_ENDPOINT_SECRET="${STRIPE_ENDPOINT_SECRET:-whsec_local_offline_secret}"
export STRIPE_SUCCESS_URL="${STRIPE_SUCCESS_URL:-http://localhost:$PORT/payments/success}"
export STRIPE_CANCEL_URL="${STRIPE_CANCEL_URL:-http://localhost:$PORT/payments/cancel}"
export STRIPE_API_BASE="${STRIPE_API_BASE:-http://127.0.0.1:$EMULATOR_PORT}"

webhook_url="http://127.0.0.1:$PORT/payments/webhook"
PORT="$EMULATOR_PORT" PUBLIC_URL="http://localhost:$EMULATOR_PORT" \
  WEBHOOK_URL="$webhook_url" WEBHOOK_SECRET="${STRIPE_ENDPOINT_SECRET%%,*}" \
  target/debug/stripe-standin > /dev/null &
pids+=($!)

target/debug/payments serve &
pids+=($!)
target/debug/payments watch &
pids+=($!)

cat <<INFO

payments: http://localhost:$PORT   NATS: $NATS_SERVERS   Checkout emulator: $STRIPE_API_BASE
Create a session, open its "url" in a browser and click Pay; payment.succeeded is printed here:
  curl -s localhost:$PORT/payments/create-session -H 'content-type: application/json' \\
    -d '{"orderId":"3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69","currency":"usd","items":[{"name":"T-Shirt","price":20.5,"quantity":2}]}'
Or send one signed event of any type (from another terminal):
  STRIPE_ENDPOINT_SECRET=${STRIPE_ENDPOINT_SECRET%%,*} STRIPE_API_BASE=$STRIPE_API_BASE target/debug/payments trigger charge.succeeded

INFO
wait -n "${pids[@]}"
