#!/usr/bin/env bash
# Obtains the Temporal CLI (which embeds the dev server), the MinIO server and
# promtool (Prometheus rule checks and rule unit tests) by building them from their Go modules — the only source reachable on our
# machines (no Docker, no direct downloads; the Go module proxy works).
#
# Binaries are cached outside the clone, keyed by version:
#   ${EVALGATE_CACHE_DIR:-~/.cache/evalgate}/bin/<name>-<version>
# A build goes into a temporary GOBIN and is renamed into place, under a flock,
# so concurrent callers never build twice nor see a half-written file.
#
#   bash infra/build.sh [temporal|minio|all]   prints the binaries' paths
#
#   bash infra/build.sh promtool              (not part of `all`: only the alert-rule tests need it)
#   bash infra/build.sh chromium              (the OS package, for the console's browser tests; not part of `all`)
#
# EVALGATE_TEMPORAL_BIN / EVALGATE_MINIO_BIN / EVALGATE_PROMTOOL_BIN point at existing binaries instead.
set -euo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TEMPORAL_CLI_MODULE=github.com/temporalio/cli/cmd/temporal
# v1.5.1 is the newest tag that `go install` accepts: later tags' go.mod has a
# replace directive (cliext => ./cliext), which go install refuses.
TEMPORAL_CLI_VERSION=${EVALGATE_TEMPORAL_CLI_VERSION:-v1.5.1}

MINIO_MODULE=github.com/minio/minio
# A pseudo-version, not a RELEASE tag: the module proxy answers 403 for
# RELEASE.2025-10-15T17-29-55Z (MinIO's tags are not semver). This is the
# commit `go install github.com/minio/minio@latest` resolved to (2026-02-12);
# pinned so every machine builds the same server.
MINIO_VERSION=${EVALGATE_MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}

PROMTOOL_MODULE=github.com/prometheus/prometheus/cmd/promtool
# Prometheus v3.x tags are published to the module proxy as v0.3xx.y (v0.316.0 = 3.16.0).
PROMTOOL_VERSION=${EVALGATE_PROMTOOL_VERSION:-v0.316.0}

# build_binary NAME MODULE VERSION — prints the cached binary's path.
build_binary() {
  local name=$1 module=$2 version=$3
  local bin_dir=$EVALGATE_CACHE_DIR/bin
  local target=$bin_dir/$name-${version#v}
  if [[ -x $target ]]; then
    printf '%s\n' "$target"
    return 0
  fi
  command -v go >/dev/null || die "$name is not cached at $target and Go is not installed to build it"
  mkdir -p "$bin_dir" "$EVALGATE_CACHE_DIR/locks" "$EVALGATE_CACHE_DIR/logs"
  local lock=$EVALGATE_CACHE_DIR/locks/$name-${version#v}.lock
  local build_log=$EVALGATE_CACHE_DIR/logs/build-$name-${version#v}.log
  (
    flock 9
    # Another caller may have finished the build while we waited for the lock.
    [[ -x $target ]] && exit 0
    local tmp started=$SECONDS
    tmp=$(mktemp -d "$bin_dir/.build-$name.XXXXXX") || exit 1
    trap 'rm -rf "$tmp"' EXIT
    log "building $name $version from $module (first time on this machine: several minutes; log $build_log)" >&2
    if ! GOBIN=$tmp go install "$module@$version" >"$build_log" 2>&1; then
      tail -n 30 "$build_log" >&2
      die "building $name failed (full log: $build_log)"
    fi
    mv -f "$tmp/$name" "$target" || exit 1
    log "built $name in $((SECONDS - started))s -> $target" >&2
  ) 9>"$lock" || return 1
  printf '%s\n' "$target"
}

temporal_bin() {
  if [[ -n ${EVALGATE_TEMPORAL_BIN:-} ]]; then
    printf '%s\n' "$EVALGATE_TEMPORAL_BIN"
  else
    build_binary temporal "$TEMPORAL_CLI_MODULE" "$TEMPORAL_CLI_VERSION"
  fi
}

minio_bin() {
  if [[ -n ${EVALGATE_MINIO_BIN:-} ]]; then
    printf '%s\n' "$EVALGATE_MINIO_BIN"
  else
    build_binary minio "$MINIO_MODULE" "$MINIO_VERSION"
  fi
}

promtool_bin() {
  if [[ -n ${EVALGATE_PROMTOOL_BIN:-} ]]; then
    printf '%s\n' "$EVALGATE_PROMTOOL_BIN"
  else
    build_binary promtool "$PROMTOOL_MODULE" "$PROMTOOL_VERSION"
  fi
}

# Chromium for the console's browser tests (playwright-core drives it; its own browser
# download cannot work here): the OS package, installed once when missing. Prints its path.
chromium_bin() {
  local bin=${EVALGATE_CHROMIUM:-/usr/bin/chromium}
  if [[ ! -x $bin ]]; then
    [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null ||
      die "chromium is missing at $bin: install it (apt-get install chromium) or set EVALGATE_CHROMIUM"
    echo "[build] installing chromium (apt-get)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2 ||
      die "apt-get install chromium failed"
  fi
  printf '%s\n' "$bin"
}

# Builds whatever is missing, both at once (module downloads overlap).
build_all() {
  local tpid mpid status=0
  temporal_bin >/dev/null &
  tpid=$!
  minio_bin >/dev/null &
  mpid=$!
  wait "$tpid" || status=1
  wait "$mpid" || status=1
  return "$status"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  case ${1:-all} in
    temporal) temporal_bin ;;
    minio) minio_bin ;;
    promtool) promtool_bin ;;
    chromium) chromium_bin ;;
    all) build_all && temporal_bin && minio_bin ;;
    *) die "usage: build.sh [temporal|minio|promtool|chromium|all]" ;;
  esac
fi
