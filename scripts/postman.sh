#!/usr/bin/env bash
# Runs the Postman collection (postman/) with newman against the real service, offline: builds the service and the
# Stripe stand-in, starts a private nats-server (JetStream, temporary store) and both binaries on free ports, waits
# for /ready, runs newman and stops everything it started. Never touches a NATS or a service you run on the usual
# ports (4222, 12111, 3000). Exits with newman's status. Extra arguments go to newman (e.g. --reporters cli,junit).
# Installs newman into .tools/node when missing (npm registry; never a global install).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stack.sh

COLLECTION=postman/payments.postman_collection.json
ENVIRONMENT=postman/local.postman_environment.json
NEWMAN_DIR=.tools/node
NEWMAN="$NEWMAN_DIR/node_modules/.bin/newman"
SECRET=whsec_postman_offline_secret
STRIPE_KEY=sk_test_postman_offline

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

stack_start postman "$SECRET" "$STRIPE_KEY"
stack_run "$NEWMAN" run "$COLLECTION" -e "$ENVIRONMENT" \
  --env-var "baseUrl=$SERVICE_URL" --env-var "webhookSecret=$SECRET" "$@"
