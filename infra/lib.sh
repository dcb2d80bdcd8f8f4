# shellcheck shell=bash disable=SC2034  # settings here are used by the sourcing scripts
# Shared settings and helpers for the infra/ scripts. Sourced, never run.
#
# Every setting below has the same name and default as common/config.ts, so the
# stack, the API, the workers and the tests agree without extra glue.

shopt -s inherit_errexit

EVALGATE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EVALGATE_STATE_DIR=${EVALGATE_STATE_DIR:-$EVALGATE_ROOT/.stack}
EVALGATE_CACHE_DIR=${EVALGATE_CACHE_DIR:-$HOME/.cache/evalgate}

: "${EVALGATE_DATABASE_URL:=postgres://postgres@127.0.0.1:5432/evalgate}"
: "${EVALGATE_TEMPORAL_ADDRESS:=127.0.0.1:7233}"
: "${EVALGATE_TEMPORAL_NAMESPACE:=default}"
: "${EVALGATE_S3_ENDPOINT:=127.0.0.1}"
: "${EVALGATE_S3_PORT:=9000}"
: "${EVALGATE_S3_USE_SSL:=false}"
: "${EVALGATE_S3_ACCESS_KEY:=evalgate}"
: "${EVALGATE_S3_SECRET_KEY:=evalgate-secret}"
: "${EVALGATE_S3_BUCKET:=evalgate}"
: "${EVALGATE_S3_REGION:=us-east-1}"
: "${EVALGATE_API_HOST:=127.0.0.1}"
: "${EVALGATE_API_PORT:=8080}"

export EVALGATE_DATABASE_URL EVALGATE_TEMPORAL_ADDRESS EVALGATE_TEMPORAL_NAMESPACE \
  EVALGATE_S3_ENDPOINT EVALGATE_S3_PORT EVALGATE_S3_USE_SSL EVALGATE_S3_ACCESS_KEY \
  EVALGATE_S3_SECRET_KEY EVALGATE_S3_BUCKET EVALGATE_S3_REGION EVALGATE_API_HOST EVALGATE_API_PORT

TEMPORAL_HOST=${EVALGATE_TEMPORAL_ADDRESS%:*}
TEMPORAL_PORT=${EVALGATE_TEMPORAL_ADDRESS##*:}
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-$((TEMPORAL_PORT + 1000))}
MINIO_CONSOLE_PORT=${MINIO_CONSOLE_PORT:-$((EVALGATE_S3_PORT + 1))}

# postgres://user[:password]@host[:port]/db[?query] — only what psql needs.
if [[ $EVALGATE_DATABASE_URL =~ ^postgres(ql)?://(([^:@/]+)(:[^@/]*)?@)?([^:/?]+)(:([0-9]+))?/([^?]+) ]]; then
  PG_USER=${BASH_REMATCH[3]:-postgres}
  PG_PASSWORD=${BASH_REMATCH[4]#:}
  PG_HOST=${BASH_REMATCH[5]}
  PG_PORT=${BASH_REMATCH[7]:-5432}
  PG_DATABASE=${BASH_REMATCH[8]}
else
  echo "evalgate: EVALGATE_DATABASE_URL is not a postgres:// URL: $EVALGATE_DATABASE_URL" >&2
  exit 78
fi

PIDS_DIR=$EVALGATE_STATE_DIR/pids
LOGS_DIR=$EVALGATE_STATE_DIR/logs

log() { printf '[stack] %s\n' "$*"; }
warn() { printf '[stack] warning: %s\n' "$*" >&2; }
die() {
  printf '[stack] error: %s\n' "$*" >&2
  exit 1
}

# The same database URL pointed at another database (keeps user, password, query).
database_url_for() {
  local db=$1 base=${EVALGATE_DATABASE_URL%%\?*} query=''
  [[ $EVALGATE_DATABASE_URL == *\?* ]] && query="?${EVALGATE_DATABASE_URL#*\?}"
  printf '%s/%s%s\n' "${base%/*}" "$db" "$query"
}

# True when something accepts TCP connections on host:port.
port_open() {
  # shellcheck disable=SC2016  # $1 and $2 are the inner shell's arguments
  timeout 2 bash -c ': </dev/tcp/"$1"/"$2"' port_open "$1" "$2" 2>/dev/null
}

# Who listens on a port, for error messages.
port_owner() {
  ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n 1
}

# Polls "$@" every half second until it succeeds or $1 seconds pass.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# --- processes we start -------------------------------------------------------
# Each component runs in its own session (setsid), so it survives the calling
# shell and `down` can signal its whole process group (tsx forks a child node).

pid_file() { printf '%s/%s.pid\n' "$PIDS_DIR" "$1"; }
log_file() { printf '%s/%s.log\n' "$LOGS_DIR" "$1"; }

# Prints the pid of a component we started while it is still alive and is still
# the same program (a command line containing $2), guarding against pid reuse.
# The pid recorded is the session (and process group) leader that start_detached
# made: the launcher (tsx), whose child is the real server. A launcher killed
# alone leaves that child running in the same session and group: it still counts,
# so `down` stops it (by group) and `up` does not start a second one beside it.
running_pid() {
  local name=$1 marker=$2 file pid
  file=$(pid_file "$name")
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  if [[ $pid =~ ^[0-9]+$ ]] && { has_marker "$pid" "$marker" || session_member "$pid" "$marker" >/dev/null; }; then
    printf '%s\n' "$pid"
    return 0
  fi
  rm -f "$file"
  return 1
}

has_marker() { [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; }

# The pid of a live process of session SID whose command line contains MARKER (the real server).
session_member() {
  local sid=$1 marker=$2 member
  for member in $(pgrep -s "$sid" 2>/dev/null || true); do
    if has_marker "$member" "$marker"; then
      printf '%s\n' "$member"
      return 0
    fi
  done
  return 1
}

# What became of a component's recorded process: live, orphaned (the launcher is gone, the
# server lives on), dead (recorded, nothing left), or none (never recorded).
process_state() {
  local name=$1 marker=$2 file pid
  file=$(pid_file "$name")
  [[ -f $file ]] || {
    echo none
    return
  }
  pid=$(<"$file")
  if ! [[ $pid =~ ^[0-9]+$ ]]; then
    echo dead
  elif has_marker "$pid" "$marker"; then
    echo live
  elif session_member "$pid" "$marker" >/dev/null; then
    echo orphaned
  else
    echo dead
  fi
}

# Workers are `worker` (the first), `worker-2`, `worker-3`...; each serves /metrics on the
# base port plus its index minus one, so workers on one machine do not collide (0: off).
worker_name() { (($1 == 1)) && echo worker || echo "worker-$1"; }
worker_index() { [[ $1 == worker-* ]] && echo "${1#worker-}" || echo 1; }
worker_metrics_port() {
  local base=${EVALGATE_WORKER_METRICS_PORT:-9464}
  ((base == 0)) && echo 0 || echo $((base + $1 - 1))
}
# Indexes of the workers with a pid file (running, orphaned or dead), ascending.
worker_indexes() {
  local file name
  for file in "$PIDS_DIR"/worker.pid "$PIDS_DIR"/worker-*.pid; do
    [[ -f $file ]] || continue
    name=${file##*/}
    worker_index "${name%.pid}"
  done | sort -n
}

# start_detached NAME CMD... — environment comes from the caller's exports.
start_detached() {
  local name=$1 logf
  shift
  logf=$(log_file "$name")
  mkdir -p "$PIDS_DIR" "$LOGS_DIR"
  printf '\n==== %s: starting %s\n' "$(date -u +%FT%TZ)" "$*" >>"$logf"
  # Background jobs of a non-interactive shell are not group leaders, so setsid
  # does not fork and $! is the session leader's pid.
  # fds 8 and 9 are our lock files: a service must not hold them open.
  setsid nohup "$@" >>"$logf" 2>&1 </dev/null 8>&- 9>&- &
  echo "$!" >"$(pid_file "$name")"
}

# stop_detached NAME MARKER — TERM the process group, wait, then KILL.
stop_detached() {
  local name=$1 marker=$2 pid
  if ! pid=$(running_pid "$name" "$marker"); then
    rm -f "$(pid_file "$name")"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM -- "-$pid" 2>/dev/null || true
  if ! wait_until "${EVALGATE_STOP_TIMEOUT:-20}" session_gone "$pid"; then
    warn "$name did not stop after TERM; sending KILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait_until 5 session_gone "$pid" || warn "processes of $name's session $pid are still alive: $(pgrep -s "$pid" | tr '\n' ' ')"
  fi
  rm -f "$(pid_file "$name")"
}

session_gone() { ! pgrep -s "$1" >/dev/null; }

# The last lines of a component's log, to explain a failed start.
show_log_tail() {
  local logf
  logf=$(log_file "$1")
  [[ -f $logf ]] || return 0
  echo "---- last lines of $logf ----" >&2
  tail -n "${2:-25}" "$logf" >&2
  echo "----" >&2
}
