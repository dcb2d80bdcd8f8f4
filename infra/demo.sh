#!/usr/bin/env bash
# What `npm run demo` runs: the full stack (services, API, worker), then the
# scripted walkthrough in examples/demo.ts against it.
set -euo pipefail
INFRA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$INFRA_DIR/.."

bash "$INFRA_DIR/ensure-deps.sh"
bash "$INFRA_DIR/stack.sh" up
if [[ ! -f examples/demo.ts ]]; then
  echo "[demo] examples/demo.ts does not exist yet; the stack is up, nothing else to run"
  exit 0
fi
# EVALGATE_URL and EVALGATE_TOKEN (the stack's bootstrap admin key) among them.
eval "$(bash "$INFRA_DIR/stack.sh" env)"
exec node_modules/.bin/tsx examples/demo.ts "$@"
