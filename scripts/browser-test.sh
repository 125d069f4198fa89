#!/usr/bin/env bash
# The browser end-to-end test (e2e/checkout.test.mjs), offline: builds the service and the Stripe stand-in, starts a
# private nats-server (JetStream, temporary store), the stand-in (its webhooks signed and sent to the service) and
# the service on free ports, waits for /ready, and runs `node --test`: headless Chromium creates a session through
# the service, pays it on the stand-in's hosted Checkout page and waits for `payment.succeeded` on NATS. Stops
# everything it started. Never touches a NATS or a service you run on the usual ports (4222, 12111, 3000).
# Exits with the test's status; extra arguments go to `node --test` (e.g. --test-reporter=tap).
#
# Installs what is missing: Chromium with apt-get (Debian's `chromium`, /usr/bin/chromium) when run as root —
# otherwise the test is skipped with a message saying so; the npm packages of e2e/ (`npm ci`, into e2e/node_modules;
# playwright-core never downloads a browser). CHROMIUM=/path/to/chromium uses another binary; E2E_REQUIRE_BROWSER=1
# (CI) makes a missing browser a failure instead of a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

SECRET=whsec_browser_offline_secret
STRIPE_KEY=sk_test_browser_offline
READY_TIMEOUT_S=60
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/payments-browser.XXXXXX")"
pids=()
status=1
cleanup() {
  local pid
  # The test runs in its own process group (see below): signal the group, so its test process and Chromium stop too.
  if [ -n "${test_pid:-}" ]; then kill -- "-$test_pid" 2>/dev/null || true; fi
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

# Chromium (Debian's package). Without it, and unable to install it, the test itself skips and says why.
if [ ! -x "$CHROMIUM" ]; then
  if [ "$CHROMIUM" = /usr/bin/chromium ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium (apt-get update && apt-get install -y chromium)" >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
      echo "browser-test.sh: installing chromium failed; the browser test will be skipped" >&2
    fi
  elif [ "$CHROMIUM" != /usr/bin/chromium ]; then
    echo "browser-test.sh: no Chromium at CHROMIUM=$CHROMIUM; the browser test will be skipped" >&2
  else
    echo "browser-test.sh: no Chromium at $CHROMIUM and cannot install it (needs root and apt-get);" \
      "the browser test will be skipped (apt-get install chromium, or set CHROMIUM)" >&2
  fi
fi

# Node.js and npm come with the machine; on a bare Debian they are installed from its packages.
if ! command -v npm >/dev/null 2>&1; then
  echo "installing nodejs and npm (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ -f e2e/package-lock.json ]; then
  echo "installing e2e/ npm packages (npm ci)" >&2
  npm ci --prefix e2e --no-audit --no-fund --loglevel=error >&2
else
  echo "installing e2e/ npm packages (npm install; no package-lock.json yet)" >&2
  npm install --prefix e2e --no-audit --no-fund --loglevel=error >&2
fi

# -p for both packages: a bare `--bin stripe-standin` is not found from the root package (default-run).
cargo build --quiet -p payments -p stripe-standin --bin payments --bin stripe-standin
bin="${CARGO_TARGET_DIR:-target}/debug"
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac

ensure_nats_server
nats_port="$(free_port)"
"$NATS_SERVER_BIN" -js -a 127.0.0.1 -p "$nats_port" -sd "$tmp/nats" >"$tmp/nats-server.log" 2>&1 &
pids+=($!)

port="$(free_port)"
base="http://127.0.0.1:$port"

standin_port="$(free_port)"
HOST=127.0.0.1 PORT="$standin_port" API_KEY="$STRIPE_KEY" \
  PUBLIC_URL="http://127.0.0.1:$standin_port" \
  WEBHOOK_URL="$base/payments/webhook" WEBHOOK_SECRET="$SECRET" \
  "$bin/stripe-standin" >"$tmp/stripe-standin.log" 2>&1 &
pids+=($!)

# Started in the temporary directory so that a developer's .env (read from the working directory) cannot leak in.
(cd "$tmp" && exec env PORT="$port" HOST=127.0.0.1 \
  NATS_SERVERS="nats://127.0.0.1:$nats_port" \
  STRIPE_SECRET="$STRIPE_KEY" \
  STRIPE_ENDPOINT_SECRET="$SECRET" \
  STRIPE_SUCCESS_URL="$base/payments/success" \
  STRIPE_CANCEL_URL="$base/payments/cancel" \
  STRIPE_API_BASE="http://127.0.0.1:$standin_port" \
  SHUTDOWN_GRACE=5s NO_COLOR=1 \
  "$bin/payments" serve) >"$tmp/payments.log" 2>&1 &
payments_pid=$!
pids+=($payments_pid)

deadline=$((SECONDS + READY_TIMEOUT_S))
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base/ready" || true)" = 200 ]; do
  if ! kill -0 "$payments_pid" 2>/dev/null; then
    echo "browser-test.sh: the service exited before it was ready" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "browser-test.sh: $base/ready not 200 after ${READY_TIMEOUT_S}s" >&2
    exit 1
  fi
  sleep 0.2
done

# In the background and waited for, so that a TERM or INT stops the run at once (traps run during `wait`); in its own
# process group (set -m) so that cleanup stops the runner, its test process and Chromium together.
set -m
NATS_URL="nats://127.0.0.1:$nats_port" SERVICE_URL="$base" CHROMIUM="$CHROMIUM" \
  node --test "$@" e2e/checkout.test.mjs </dev/null &
test_pid=$!
set +m
set +e
wait "$test_pid"
status=$?
set -e
exit "$status"
