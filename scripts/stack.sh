# Sourced by the scripts that test the running service from outside (postman.sh, browser-test.sh). Builds the
# binaries and starts a private stack on free ports in a temporary directory — never the usual ports (4222, 12111,
# 3000): nats-server (JetStream, temporary store), the Checkout emulator (its webhooks signed and sent to the
# service) and the service. `stack_start` exports NATS_URL, SERVICE_URL and EMULATOR_URL; `stack_run CMD…` runs the
# test client in its own process group and exits with its status. Everything started is stopped on exit, and when
# anything failed the last lines of each process's log are printed.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stack_pids=()
stack_status=1

stack_cleanup() {
  local pid log
  # The client runs in its own process group: signal the group, so that e.g. Chromium stops with it.
  if [ -n "${stack_client_pid:-}" ]; then kill -- "-$stack_client_pid" 2>/dev/null || true; fi
  for pid in "${stack_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${stack_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$stack_status" -ne 0 ]; then
    for log in "$stack_tmp"/*.log; do
      [ -s "$log" ] || continue
      echo "---- last lines of $(basename "$log") ----" >&2
      tail -n 40 "$log" >&2
    done
  fi
  rm -rf "$stack_tmp"
}

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# stack_start NAME WEBHOOK_SECRET STRIPE_KEY
stack_start() {
  local name=$1 secret=$2 stripe_key=$3 bin nats_port port emulator_port deadline
  stack_tmp="$(mktemp -d "${TMPDIR:-/tmp}/payments-$name.XXXXXX")"
  trap stack_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # -p for both packages: a bare `--bin stripe-standin` is not found from the root package (default-run).
  cargo build --quiet -p payments -p stripe-standin --bin payments --bin stripe-standin
  bin="${CARGO_TARGET_DIR:-target}/debug"
  case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac

  ensure_nats_server
  nats_port="$(free_port)"
  "$NATS_SERVER_BIN" -js -a 127.0.0.1 -p "$nats_port" -sd "$stack_tmp/nats" >"$stack_tmp/nats-server.log" 2>&1 &
  stack_pids+=($!)

  port="$(free_port)"
  emulator_port="$(free_port)"
  export NATS_URL="nats://127.0.0.1:$nats_port"
  export SERVICE_URL="http://127.0.0.1:$port"
  export EMULATOR_URL="http://127.0.0.1:$emulator_port"

  HOST=127.0.0.1 PORT="$emulator_port" API_KEY="$stripe_key" PUBLIC_URL="$EMULATOR_URL" \
    WEBHOOK_URL="$SERVICE_URL/payments/webhook" WEBHOOK_SECRET="$secret" \
    "$bin/stripe-standin" >"$stack_tmp/stripe-standin.log" 2>&1 &
  stack_pids+=($!)

  # Started in the temporary directory so that a developer's .env (read from the working directory) cannot leak in.
  (cd "$stack_tmp" && exec env PORT="$port" HOST=127.0.0.1 NATS_SERVERS="$NATS_URL" \
    STRIPE_SECRET="$stripe_key" STRIPE_ENDPOINT_SECRET="$secret" \
    STRIPE_SUCCESS_URL="$SERVICE_URL/payments/success" STRIPE_CANCEL_URL="$SERVICE_URL/payments/cancel" \
    STRIPE_API_BASE="$EMULATOR_URL" SHUTDOWN_GRACE=5s NO_COLOR=1 \
    "$bin/payments" serve) >"$stack_tmp/payments.log" 2>&1 &
  local service_pid=$!
  stack_pids+=($service_pid)

  deadline=$((SECONDS + 60))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$SERVICE_URL/ready" || true)" = 200 ]; do
    if ! kill -0 "$service_pid" 2>/dev/null; then
      echo "$name: the service exited before it was ready" >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$name: $SERVICE_URL/ready not 200 after 60s" >&2
      exit 1
    fi
    sleep 0.2
  done
}

# stack_run CMD…: in the background and waited for, so that TERM or INT stop the run at once (traps run during
# `wait`), and in its own process group (set -m) so that cleanup stops the client and its children together.
stack_run() {
  set -m
  "$@" </dev/null &
  stack_client_pid=$!
  set +m
  set +e
  wait "$stack_client_pid"
  stack_status=$?
  set -e
  exit "$stack_status"
}
