#!/usr/bin/env bash
# Installs node_modules only when it is missing or older than package-lock.json
# (npm writes node_modules/.package-lock.json on every install: our stamp).
#
# npm 11 does not run dependencies' install scripts unless allowed. Nothing we
# use needs one: @temporalio/core-bridge ships prebuilt native binaries and
# esbuild (under tsx) gets its binary from an optional dependency. The smoke
# check below proves it after every install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stamp=node_modules/.package-lock.json
if [[ -f $stamp && ( ! -f package-lock.json || ! package-lock.json -nt $stamp ) ]]; then
  exit 0
fi

echo "[deps] installing node_modules (missing or older than package-lock.json)"
if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
node -e "require('@temporalio/worker')" ||
  { echo "[deps] @temporalio/worker does not load after install" >&2; exit 1; }
node_modules/.bin/tsx --version >/dev/null ||
  { echo "[deps] tsx does not run after install" >&2; exit 1; }
