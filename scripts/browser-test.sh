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
source scripts/stack.sh

SECRET=whsec_browser_offline_secret
STRIPE_KEY=sk_test_browser_offline
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

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

stack_start browser-test "$SECRET" "$STRIPE_KEY"
CHROMIUM="$CHROMIUM" stack_run node --test "$@" e2e/checkout.test.mjs
