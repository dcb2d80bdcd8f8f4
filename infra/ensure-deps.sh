#!/usr/bin/env bash
# Installs node_modules only when it is missing or was installed from another
# package-lock.json: the lock's hash is our stamp (node_modules/.evalgate-lock.sha256).
# A hash, not a timestamp: a fresh checkout (or a git worktree sharing an install)
# has a new lock file with the same content, and must not reinstall.
#
# npm 11 does not run dependencies' install scripts unless allowed (it warns
# about esbuild, @swc/core and protobufjs). None is needed: esbuild (under tsx)
# and @swc/core (the worker's workflow bundler) get their native binaries from
# optional dependencies, @temporalio/core-bridge ships prebuilt ones, and
# protobufjs's script only prints a notice. The smoke check below proves it
# after every install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stamp=node_modules/.evalgate-lock.sha256
want=$(sha256sum package-lock.json 2>/dev/null | cut -d' ' -f1 || true)
if [[ -f $stamp && -n $want && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi

echo "[deps] installing node_modules (missing, or installed from another package-lock.json)"
if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
node -e "
  require('@temporalio/worker');
  require('@swc/core').transformSync('const a: number = 1', { jsc: { parser: { syntax: 'typescript' } } });
  require('esbuild').transformSync('const a: number = 1', { loader: 'ts' });
" || { echo "[deps] @temporalio/worker, @swc/core or esbuild does not load after install" >&2; exit 1; }
[[ -z $want ]] || printf '%s\n' "$want" >"$stamp"
