#!/usr/bin/env bash
# What `npm test` runs (and so CI, through .ci/run): dependencies, the services
# (PostgreSQL, Temporal, MinIO), the type check, then every jest project against
# the evalgate_test database and the evalgate-test bucket (EVALGATE_TEST_DATABASE and
# EVALGATE_TEST_BUCKET name others, so two clones on one machine can test at once).
#
#   npm test [-- <jest args>]      e.g. npm test -- --selectProjects unit
#
# The services are left running for the next run; EVALGATE_TEST_STOP_STACK=1
# stops them at the end.
set -euo pipefail
INFRA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$INFRA_DIR/.."

bash "$INFRA_DIR/ensure-deps.sh"
bash "$INFRA_DIR/stack.sh" up --services-only
if [[ ${EVALGATE_TEST_STOP_STACK:-0} == 1 ]]; then
  trap 'bash "$INFRA_DIR/stack.sh" down' EXIT
fi

# promtool checks and unit-tests the alert rules (test/unit/operations); cached after its first build.
EVALGATE_PROMTOOL_BIN=$(bash "$INFRA_DIR/build.sh" promtool)
export EVALGATE_PROMTOOL_BIN
# The console's browser tests (test/e2e/console.test.ts) drive the OS's Chromium; installed when missing.
EVALGATE_CHROMIUM=$(bash "$INFRA_DIR/build.sh" chromium)
export EVALGATE_CHROMIUM

# The stack's settings (exported by lib.sh), then the test overrides.
# shellcheck source=infra/lib.sh
source "$INFRA_DIR/lib.sh"
TEST_DATABASE=${EVALGATE_TEST_DATABASE:-evalgate_test}
[[ $TEST_DATABASE =~ ^[a-z_][a-z0-9_]*$ ]] || die "EVALGATE_TEST_DATABASE must be a plain database name: $TEST_DATABASE"
# A fresh test database every run: incident and lineage tests act on "every run that
# used X", so rows left by earlier runs must not be there. EVALGATE_TEST_KEEP_DB=1 keeps it.
if [[ ${EVALGATE_TEST_KEEP_DB:-0} != 1 ]]; then
  echo "[test] recreating database $TEST_DATABASE"
  PGPASSWORD=$PG_PASSWORD psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -qc \
    "DROP DATABASE IF EXISTS \"$TEST_DATABASE\" WITH (FORCE)" -c "CREATE DATABASE \"$TEST_DATABASE\""
fi
EVALGATE_DATABASE_URL=$(database_url_for "$TEST_DATABASE")
export EVALGATE_DATABASE_URL
export EVALGATE_S3_BUCKET=${EVALGATE_TEST_BUCKET:-evalgate-test}
export NODE_ENV=test
export EVALGATE_LOG_LEVEL=${EVALGATE_LOG_LEVEL:-error}

# Both always run, so one CI log shows type errors and test failures together.
tsc_status=0 lint_status=0 format_status=0 layers_status=0 jest_status=0
echo "[test] tsc --noEmit -p tsconfig.json and ui/tsconfig.json"
node_modules/.bin/tsc --noEmit -p tsconfig.json || tsc_status=$?
node_modules/.bin/tsc --noEmit -p ui/tsconfig.json || tsc_status=$? # the console's browser code (DOM types)
echo "[test] eslint (no floating promises; deterministic workflow code)"
node_modules/.bin/eslint . || lint_status=$?
echo "[test] prettier --check (one formatter decides layout)"
node_modules/.bin/prettier --check --log-level warn . || format_status=$?
echo "[test] layers (dependency-cruiser: api, activities, domain, workflows; no cycles) and lines of at most 140 characters"
node_modules/.bin/depcruise --config .dependency-cruiser.cjs api activities domain workflows workers common schema cli || layers_status=$?
bash "$INFRA_DIR/check-lines.sh" || layers_status=$?
echo "[test] jest --runInBand $*"
node_modules/.bin/jest --runInBand "$@" || jest_status=$?

if ((tsc_status || lint_status || format_status || layers_status || jest_status)); then
  failed=$( ((tsc_status)) && echo ' type check')$( ((lint_status)) && echo ' lint')$( ((format_status)) && echo ' format')
  failed+=$( ((layers_status)) && echo ' layers')$( ((jest_status)) && echo ' jest')
  echo "[test] FAILED:$failed" >&2
  exit 1
fi
echo "[test] passed: type check, lint, format, layers and jest"
