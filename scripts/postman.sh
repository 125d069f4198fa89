#!/usr/bin/env bash
# Runs the Postman collection (postman/) with newman against the real service, offline: builds the service and the
# Stripe stand-in, starts a private nats-server (JetStream, temporary store) and both binaries on free ports, waits
# for /ready, runs newman and stops everything it started. Never touches a NATS or a service you run on the usual
# ports (4222, 12111, 3000). Exits with newman's status. Extra arguments go to newman (e.g. --reporters cli,junit).
# Installs newman into .tools/node when missing (npm registry; never a global install).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

COLLECTION=postman/payments.postman_collection.json
ENVIRONMENT=postman/local.postman_environment.json
NEWMAN_DIR=.tools/node
NEWMAN="$NEWMAN_DIR/node_modules/.bin/newman"
SECRET=whsec_postman_offline_secret
STRIPE_KEY=sk_test_postman_offline
READY_TIMEOUT_S=60

tmp="$(mktemp -d "${TMPDIR:-/tmp}/payments-postman.XXXXXX")"
pids=()
status=1
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then
    for log in "$tmp"/*.log; do
      [ -s "$log" ] || continue
      echo "---- last lines of $(basename "$log") ----" >&2
      tail -n 40 "$log" >&2
    done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# newman (Node.js and npm come with the machine; on a bare Debian they are installed from its packages).
if [ ! -x "$NEWMAN" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "installing nodejs and npm (apt-get)" >&2
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  fi
  echo "installing newman into $NEWMAN_DIR (npm install newman@6)" >&2
  mkdir -p "$NEWMAN_DIR"
  npm install --prefix "$NEWMAN_DIR" --no-audit --no-fund --loglevel=error newman@6 >&2
fi

# -p for both packages: a bare `--bin stripe-standin` is not found from the root package (default-run).
cargo build --quiet -p payments -p stripe-standin --bin payments --bin stripe-standin
bin="${CARGO_TARGET_DIR:-target}/debug"
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac

ensure_nats_server
nats_port="$(free_port)"
"$NATS_SERVER_BIN" -js -a 127.0.0.1 -p "$nats_port" -sd "$tmp/nats" >"$tmp/nats-server.log" 2>&1 &
pids+=($!)

standin_port="$(free_port)"
PORT="$standin_port" API_KEY="$STRIPE_KEY" "$bin/stripe-standin" >"$tmp/stripe-standin.log" 2>&1 &
pids+=($!)

port="$(free_port)"
# Started in the temporary directory so that a developer's .env (read from the working directory) cannot leak in.
(cd "$tmp" && exec env PORT="$port" HOST=127.0.0.1 \
  NATS_SERVERS="nats://127.0.0.1:$nats_port" \
  STRIPE_SECRET="$STRIPE_KEY" \
  STRIPE_ENDPOINT_SECRET="$SECRET" \
  STRIPE_SUCCESS_URL="http://127.0.0.1:$port/payments/success" \
  STRIPE_CANCEL_URL="http://127.0.0.1:$port/payments/cancel" \
  STRIPE_API_BASE="http://127.0.0.1:$standin_port" \
  SHUTDOWN_GRACE=5s NO_COLOR=1 \
  "$bin/payments" serve) >"$tmp/payments.log" 2>&1 &
payments_pid=$!
pids+=($payments_pid)

base="http://127.0.0.1:$port"
deadline=$((SECONDS + READY_TIMEOUT_S))
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base/ready" || true)" = 200 ]; do
  if ! kill -0 "$payments_pid" 2>/dev/null; then
    echo "postman.sh: the service exited before it was ready" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "postman.sh: $base/ready not 200 after ${READY_TIMEOUT_S}s" >&2
    exit 1
  fi
  sleep 0.2
done

# In the background and waited for, so that a TERM or INT stops the run at once (traps run during `wait`).
"$NEWMAN" run "$COLLECTION" -e "$ENVIRONMENT" \
  --env-var "baseUrl=$base" --env-var "webhookSecret=$SECRET" "$@" </dev/null &
newman_pid=$!
pids=("$newman_pid" "${pids[@]}")
set +e
wait "$newman_pid"
status=$?
set -e
exit "$status"
