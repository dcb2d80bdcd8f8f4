#!/usr/bin/env bash
# No source line over 140 characters (Prettier wraps code at 120; ESLint's max-len covers
# TypeScript; this covers the rest). Applied migrations are exempt: their checksums pin them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
long=$(find . \( -path ./node_modules -o -path ./dist -o -path ./.stack -o -path ./.git -o -path ./bench/out \
  -o -path ./coverage -o -path ./test-output -o -path ./schema/migrations -o -path ./web/node_modules \) -prune -o \
  -type f \( -name '*.sh' -o -name '*.js' -o -name '*.cjs' -o -name '*.mjs' -o -name '*.yml' -o -name '*.yaml' \
  -o -name '*.sql' -o -name '*.ts' -o -name '*.tsx' \) -print0 |
  xargs -0 awk 'length($0) > 140 { printf "%s:%d: %d characters\n", FILENAME, FNR, length($0) }')
if [[ -n $long ]]; then
  echo "lines over 140 characters:" >&2
  echo "$long" >&2
  exit 1
fi
