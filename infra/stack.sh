#!/usr/bin/env bash
# The local stack, without Docker: the machine's PostgreSQL, the Temporal dev
# server and MinIO (built from their Go modules by build.sh), then the API and
# the workers. Everything binds to 127.0.0.1 unless the EVALGATE_* addresses say
# otherwise; state, logs and pid files live in ${EVALGATE_STATE_DIR:-.stack}.
#
#   npm run stack -- up [--services-only] [--workers N]   start what is not running (idempotent)
#   npm run stack -- down [component...]        stop what this stack started (all by default)
#   npm run stack -- restart [--services-only] [--workers N]  down, then up
#   npm run stack -- status                     each component: state, pid, URL
#   npm run stack -- env                        `export VAR=...` lines; eval them
#   npm run stack -- logs [component]           the last lines of the logs
#
# A port already served by a healthy service (another clone's stack, say) is
# reused and left alone by `down`; a port held by anything else is an error.
# Workers: `worker`, `worker-2` ... `worker-N`, each its own process group, log and
# /metrics port (EVALGATE_WORKER_METRICS_PORT + index - 1). `--workers N` scales to N
# (stopping any beyond); without it, up keeps the workers that run (at least one).
# `down worker` stops every worker; `down worker-2` that one.
# Ports: EVALGATE_TEMPORAL_ADDRESS, TEMPORAL_UI_PORT (gRPC port + 1000),
# EVALGATE_S3_PORT, MINIO_CONSOLE_PORT (S3 port + 1), EVALGATE_API_PORT.
# Waits: EVALGATE_STACK_START_TIMEOUT (60s), EVALGATE_STACK_REUSE_WAIT (20s).
set -euo pipefail
INFRA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=infra/lib.sh
source "$INFRA_DIR/lib.sh"
# shellcheck source=infra/build.sh
source "$INFRA_DIR/build.sh"

START_TIMEOUT=${EVALGATE_STACK_START_TIMEOUT:-60}
# How long a busy port may take to turn healthy (e.g. another clone's `up` is
# still starting it) before we call it unhealthy.
REUSE_WAIT=${EVALGATE_STACK_REUSE_WAIT:-20}
WORKER_SETTLE=${EVALGATE_STACK_WORKER_SETTLE:-5}
TSX=$EVALGATE_ROOT/node_modules/.bin/tsx
SERVICES=(temporal minio)
APPS=(api worker)
STOP_ORDER=(worker api minio temporal)
declare -A LAUNCHED=() # components this run started, which await() checks

# --- what each component is ---------------------------------------------------

# The text in a live process's command line that proves a pid file is current
# (for the services: their data paths, unique to this state dir).
marker() {
  case $1 in
    temporal) echo "$EVALGATE_STATE_DIR/temporal/temporal.db" ;;
    minio) echo "$EVALGATE_STATE_DIR/minio/data" ;;
    api | worker | worker-*) echo "$EVALGATE_ROOT/$(entry_of "$1")" ;;
  esac
}

# The file a component runs; apps are skipped while theirs does not exist yet.
entry_of() {
  case $1 in
    api) echo api/main.ts ;;
    worker | worker-*) echo workers/main.ts ;;
  esac
}

host_of() {
  case $1 in
    temporal) echo "$TEMPORAL_HOST" ;;
    minio) echo "$EVALGATE_S3_ENDPOINT" ;;
    api) echo "$EVALGATE_API_HOST" ;;
  esac
}

port_of() {
  case $1 in
    temporal) echo "$TEMPORAL_PORT" ;;
    minio) echo "$EVALGATE_S3_PORT" ;;
    api) echo "$EVALGATE_API_PORT" ;;
  esac
}

# The variable a user changes to move a component to another port.
port_var_of() {
  case $1 in
    temporal) echo EVALGATE_TEMPORAL_ADDRESS ;;
    minio) echo EVALGATE_S3_PORT ;;
    api) echo EVALGATE_API_PORT ;;
  esac
}

# Connecting hosts: a service bound to 0.0.0.0 is reached on loopback.
reach_host() { [[ $1 == 0.0.0.0 ]] && echo 127.0.0.1 || echo "$1"; }

urls_of() {
  local s3_scheme=http
  [[ $EVALGATE_S3_USE_SSL == true || $EVALGATE_S3_USE_SSL == 1 ]] && s3_scheme=https
  case $1 in
    postgres) echo "$EVALGATE_DATABASE_URL (+ evalgate_test)" ;;
    temporal) echo "gRPC $(reach_host "$TEMPORAL_HOST"):$TEMPORAL_PORT, UI http://$(reach_host "$TEMPORAL_HOST"):$TEMPORAL_UI_PORT" ;;
    minio)
      local s3_host
      s3_host=$(reach_host "$EVALGATE_S3_ENDPOINT")
      echo "S3 $s3_scheme://$s3_host:$EVALGATE_S3_PORT, console http://$s3_host:$MINIO_CONSOLE_PORT"
      ;;
    api) api_url ;;
    worker | worker-*)
      local port metrics=''
      port=$(worker_metrics_port "$(worker_index "$1")")
      if ((port)); then metrics=", metrics :$port/metrics"; fi
      echo "task queues ${EVALGATE_TASK_QUEUE_PREFIX:-evalgate}-*$metrics"
      ;;
  esac
}

api_url() { echo "http://$(reach_host "$EVALGATE_API_HOST"):$EVALGATE_API_PORT"; }

# The cached Temporal CLI, without building it (for status).
temporal_cli() {
  local bin=${EVALGATE_TEMPORAL_BIN:-$EVALGATE_CACHE_DIR/bin/temporal-${TEMPORAL_CLI_VERSION#v}}
  [[ -x $bin ]] && echo "$bin"
}

# --- health -------------------------------------------------------------------

postgres_healthy() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 3; }

temporal_healthy() {
  local cli
  cli=$(temporal_cli) || return 1
  "$cli" operator cluster health --address "$(reach_host "$TEMPORAL_HOST"):$TEMPORAL_PORT" \
    --command-timeout 3s 2>/dev/null | grep -q SERVING
}

minio_healthy() {
  local scheme=http
  [[ $EVALGATE_S3_USE_SSL == true || $EVALGATE_S3_USE_SSL == 1 ]] && scheme=https
  curl -fsS -m 3 -o /dev/null "$scheme://$(reach_host "$EVALGATE_S3_ENDPOINT"):$EVALGATE_S3_PORT/minio/health/live" 2>/dev/null
}

api_healthy() { curl -fsS -m 3 -o /dev/null "$(api_url)/readyz" 2>/dev/null; }

# A worker is healthy while its process lives (its /metrics port may be off, or taken).
worker_healthy() { running_pid "${1:-worker}" "$(marker worker)" >/dev/null; }

# Health of any component: workers by name, the rest by their own check.
healthy() {
  case $1 in
    worker | worker-*) worker_healthy "$1" ;;
    *) "${1}_healthy" ;;
  esac
}

# --- PostgreSQL (the machine's service: started if down, never stopped) -------

psql_admin() {
  PGPASSWORD=$PG_PASSWORD psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres \
    -v ON_ERROR_STOP=1 -qtAX "$@"
}

database_exists() {
  [[ $(psql_admin -v db="$1" <<<"SELECT 1 FROM pg_database WHERE datname = :'db'") == 1 ]]
}

ensure_postgres() {
  if postgres_healthy; then
    log "postgres: running at $PG_HOST:$PG_PORT"
  elif [[ $PG_HOST =~ ^(127\.0\.0\.1|localhost|::1)$ ]] && command -v pg_ctlcluster >/dev/null; then
    local cluster
    for cluster in /etc/postgresql/*/main; do
      [[ -d $cluster ]] || continue
      cluster=${cluster#/etc/postgresql/}
      log "postgres: not answering; starting cluster $cluster"
      pg_ctlcluster --skip-systemctl-redirect "${cluster%/main}" main start || true
    done
    wait_until 30 postgres_healthy || die "postgres does not answer at $PG_HOST:$PG_PORT (see /var/log/postgresql)"
  else
    die "postgres does not answer at $PG_HOST:$PG_PORT; start it or fix EVALGATE_DATABASE_URL"
  fi
  local db
  for db in $(printf '%s\n' "$PG_DATABASE" evalgate evalgate_test | awk '!seen[$0]++'); do
    database_exists "$db" && continue
    # A concurrent `up` may create it first; that is fine.
    PGPASSWORD=$PG_PASSWORD createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$db" 2>/dev/null ||
      database_exists "$db" || die "could not create database $db"
    log "postgres: created database $db"
  done
}

# --- starting and stopping ----------------------------------------------------

start_temporal() {
  local bin ui_host
  bin=$(temporal_bin)
  ui_host=$(reach_host "$TEMPORAL_HOST")
  port_open "$ui_host" "$TEMPORAL_UI_PORT" &&
    die "temporal: the UI port $TEMPORAL_UI_PORT is busy ($(port_owner "$TEMPORAL_UI_PORT")); set TEMPORAL_UI_PORT"
  mkdir -p "$EVALGATE_STATE_DIR/temporal"
  local args=(server start-dev --ip "$TEMPORAL_HOST" --port "$TEMPORAL_PORT"
    --ui-port "$TEMPORAL_UI_PORT" --db-filename "$EVALGATE_STATE_DIR/temporal/temporal.db"
    --log-level warn)
  # "default" always exists; any other namespace is created at launch.
  [[ $EVALGATE_TEMPORAL_NAMESPACE != default ]] && args+=(--namespace "$EVALGATE_TEMPORAL_NAMESPACE")
  start_detached temporal "$bin" "${args[@]}"
}

start_minio() {
  local bin host
  bin=$(minio_bin)
  host=$EVALGATE_S3_ENDPOINT
  port_open "$(reach_host "$host")" "$MINIO_CONSOLE_PORT" &&
    die "minio: the console port $MINIO_CONSOLE_PORT is busy ($(port_owner "$MINIO_CONSOLE_PORT")); set MINIO_CONSOLE_PORT"
  mkdir -p "$EVALGATE_STATE_DIR/minio/data" "$EVALGATE_STATE_DIR/minio/certs"
  # MINIO_UPDATE=off stops the update check against dl.min.io; call-home is
  # off by default and kept off. Buckets are created by the application.
  MINIO_ROOT_USER=$EVALGATE_S3_ACCESS_KEY MINIO_ROOT_PASSWORD=$EVALGATE_S3_SECRET_KEY \
    MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off MINIO_SITE_REGION=$EVALGATE_S3_REGION \
    start_detached minio "$bin" server "$EVALGATE_STATE_DIR/minio/data" \
    --address "$host:$EVALGATE_S3_PORT" --console-address "$host:$MINIO_CONSOLE_PORT" \
    --certs-dir "$EVALGATE_STATE_DIR/minio/certs"
}

# Heap limits as a deployment sets them (README, Benchmarks): V8 collects before RSS runs away.
start_api() { NODE_OPTIONS="--max-old-space-size=${EVALGATE_API_HEAP_MB:-256}" start_detached api "$TSX" "$EVALGATE_ROOT/api/main.ts"; }
start_worker() {
  local name=${1:-worker}
  EVALGATE_WORKER_METRICS_PORT=$(worker_metrics_port "$(worker_index "$name")") \
    NODE_OPTIONS="--max-old-space-size=${EVALGATE_WORKER_HEAP_MB:-512}" \
    start_detached "$name" "$TSX" "$EVALGATE_ROOT/workers/main.ts"
}

# Starts NAME unless it already runs (ours) or a healthy service holds its port.
launch() {
  local name=$1 pid host port
  if pid=$(running_pid "$name" "$(marker "$name")"); then
    log "$name: already running (pid $pid)"
    return 0
  fi
  port=$(port_of "$name")
  if [[ -n $port ]]; then
    host=$(reach_host "$(host_of "$name")")
    if port_open "$host" "$port"; then
      if wait_until "$REUSE_WAIT" "${name}_healthy"; then
        log "$name: reusing the healthy $name already serving $host:$port (not started by this stack; down leaves it alone)"
        return 0
      fi
      die "$name: port $port on $host is busy ($(port_owner "$port" || true)) but does not answer as a healthy $name;" \
        "stop that process or set $(port_var_of "$name")"
    fi
  fi
  log "$name: starting (log $(log_file "$name"))"
  case $name in
    worker-*) start_worker "$name" ;;
    *) "start_$name" ;;
  esac
  LAUNCHED[$name]=1
}

# Waits until a component launch() started is healthy; explains and cleans up if not.
await() {
  local name=$1 deadline=$((SECONDS + START_TIMEOUT))
  [[ -n ${LAUNCHED[$name]:-} ]] || return 0 # running before, or reused: checked already
  while ! healthy "$name"; do
    if ! running_pid "$name" "$(marker "$name")" >/dev/null; then
      show_log_tail "$name"
      die "$name exited during start-up (log $(log_file "$name"))"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$name"
      stop_detached "$name" "$(marker "$name")"
      die "$name did not become healthy within ${START_TIMEOUT}s (log $(log_file "$name"))"
    fi
    sleep 0.5
  done
  # Healthy may mean another stack won the race for the port: then ours
  # cannot bind, so stop it and use theirs.
  local pid
  if ! pid=$(running_pid "$name" "$(marker "$name")"); then
    log "$name: another process serves its port; reusing it"
  elif ! session_owns_port "$pid" "$(port_of "$name")"; then
    log "$name: another process serves its port; stopping ours and reusing it"
    stop_detached "$name" "$(marker "$name")"
  fi
}

# True when a process of session SID listens on PORT (tsx's child listens, not tsx).
session_owns_port() {
  local sid=$1 port=$2 owner
  for owner in $(ss -Hltnp "sport = :$port" | grep -o 'pid=[0-9]*' | cut -d= -f2 || true); do
    [[ $(ps -o sid= -p "$owner" | tr -d ' ') == "$sid" ]] && return 0
  done
  return 1
}

# Workers have no health endpoint: each must survive its first seconds, when it
# connects to Temporal and bundles the workflows (all settle together).
await_workers() {
  local until=$((SECONDS + WORKER_SETTLE)) name
  while ((SECONDS < until)); do
    for name in "$@"; do
      if ! worker_healthy "$name"; then
        show_log_tail "$name"
        die "$name exited during start-up (log $(log_file "$name"))"
      fi
    done
    sleep 0.5
  done
}

link_binaries() {
  mkdir -p "$EVALGATE_STATE_DIR/bin"
  ln -sfn "$(temporal_bin)" "$EVALGATE_STATE_DIR/bin/temporal"
  ln -sfn "$(minio_bin)" "$EVALGATE_STATE_DIR/bin/minio"
}

# A dev bootstrap token, made once per state dir, so the API, the demo and
# `eval "$(npm run -s stack -- env)"` share an admin key.
bootstrap_token() {
  if [[ -n ${EVALGATE_BOOTSTRAP_TOKEN:-} ]]; then
    echo "$EVALGATE_BOOTSTRAP_TOKEN"
    return
  fi
  local file=$EVALGATE_STATE_DIR/bootstrap-token
  if [[ ! -s $file ]]; then
    mkdir -p "$EVALGATE_STATE_DIR"
    (umask 077 && od -An -tx1 -N20 /dev/urandom | tr -d ' \n' >"$file")
  fi
  cat "$file"
}

run_migrations() {
  if [[ ! -f $EVALGATE_ROOT/schema/migrate.ts ]]; then
    log "migrations: skipped (schema/migrate.ts does not exist yet)"
    return 0
  fi
  local logf
  logf=$(log_file migrate)
  mkdir -p "$LOGS_DIR"
  printf '==== %s: %s\n' "$(date -u +%FT%TZ)" "$EVALGATE_DATABASE_URL" >>"$logf"
  if ! "$TSX" schema/migrate.ts >>"$logf" 2>&1; then
    show_log_tail migrate
    die "migrations failed (log $logf)"
  fi
  log "migrations: $(tail -n 1 "$logf")"
}

# EVALGATE_ENDPOINT_ALLOW as the API and worker get it: the caller's entries plus those the
# stack's own loopback servers need (the demo's reference model server, examples/demo.ts,
# on 127.0.0.1:8700). Entries are added, never dropped.
STACK_ENDPOINT_ALLOW=127.0.0.1:8700
endpoint_allow() { echo "${EVALGATE_ENDPOINT_ALLOW:+$EVALGATE_ENDPOINT_ALLOW,}$STACK_ENDPOINT_ALLOW"; }

start_apps() {
  local workers=$1
  bash "$INFRA_DIR/ensure-deps.sh"
  EVALGATE_ENDPOINT_ALLOW=$(endpoint_allow)
  export EVALGATE_ENDPOINT_ALLOW
  EVALGATE_BOOTSTRAP_TOKEN=$(bootstrap_token)
  export EVALGATE_BOOTSTRAP_TOKEN
  run_migrations
  local name entry index
  for name in "${APPS[@]}"; do
    entry=$(entry_of "$name")
    if [[ ! -f $EVALGATE_ROOT/$entry ]]; then
      log "$name: skipped ($entry does not exist yet)"
      continue
    fi
    if [[ $name != worker ]]; then
      launch "$name"
      await "$name"
      continue
    fi
    local started=()
    for ((index = 1; index <= workers; index++)); do
      name=$(worker_name "$index")
      launch "$name"
      if [[ -n ${LAUNCHED[$name]:-} ]]; then started+=("$name"); fi
    done
    ((${#started[@]} == 0)) || await_workers "${started[@]}"
    # Scaled down: workers beyond the count stop.
    for index in $(worker_indexes); do
      if ((index > workers)); then stop_detached "$(worker_name "$index")" "$(marker worker)"; fi
    done
  done
}

cmd_up() {
  local services_only=0 workers='' index
  while (($#)); do
    case $1 in
      --services-only) services_only=1 ;;
      --workers)
        [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--workers takes a count of at least 1"
        workers=$2
        shift
        ;;
      *) die "usage: stack.sh up [--services-only] [--workers N]" ;;
    esac
    shift
  done
  if [[ -z $workers ]]; then
    # As many as run now (at least one): up never stops a worker it was not asked to.
    workers=1
    for index in $(worker_indexes); do
      if ((index > workers)); then workers=$index; fi
    done
  fi
  local started=$SECONDS name
  ensure_postgres
  build_all || die "could not obtain the temporal and minio binaries"
  link_binaries
  for name in "${SERVICES[@]}"; do launch "$name"; done
  for name in "${SERVICES[@]}"; do await "$name"; done
  ((services_only)) || start_apps "$workers"
  log "up in $((SECONDS - started))s"
  cmd_status
}

cmd_down() {
  local names=("$@") name any=0 index
  ((${#names[@]})) || names=("${STOP_ORDER[@]}")
  for name in "${names[@]}"; do
    [[ -n $(marker "$name") ]] || die "unknown component $name (worker, worker-N, api, minio, temporal)"
    local each=("$name")
    if [[ $name == worker ]]; then
      each=()
      for index in $(worker_indexes); do each=("$(worker_name "$index")" "${each[@]}"); done
    fi
    for name in "${each[@]}"; do
      if running_pid "$name" "$(marker "$name")" >/dev/null; then
        any=1
        stop_detached "$name" "$(marker "$name")"
      fi
    done
  done
  ((any)) || log "nothing started by this stack is running"
  (($#)) || log "postgres: left running (the machine's service, shared with other clones)"
}

cmd_status() {
  local name pid state recorded
  printf '%-9s %-36s %-8s %s\n' COMPONENT STATE PID URL
  local extra=() index
  for index in $(worker_indexes); do
    if ((index > 1)); then extra+=("$(worker_name "$index")"); fi
  done
  for name in postgres "${SERVICES[@]}" "${APPS[@]}" "${extra[@]}"; do
    recorded=none
    [[ $name != postgres ]] && recorded=$(process_state "$name" "$(marker "$name")")
    if [[ $name != postgres ]] && pid=$(running_pid "$name" "$(marker "$name")"); then
      healthy "$name" && state=healthy || state=unhealthy
      # The launcher died but the server it started lives on in its process group (down stops it).
      if [[ $recorded == orphaned ]]; then
        state+=" (launcher gone)"
        pid=$(session_member "$pid" "$(marker "$name")" || echo "$pid")
      fi
    elif [[ $recorded == dead ]]; then
      pid=-
      state="dead (exited; see logs)"
    else
      pid=-
      if [[ $name == worker || $name == worker-* ]]; then
        state=stopped
      elif healthy "$name"; then
        [[ $name == postgres ]] && state='healthy (system)' || state='healthy (external)'
      elif [[ $name == temporal ]] && ! temporal_cli >/dev/null; then
        state='unknown (no CLI yet)'
      else
        state=stopped
      fi
    fi
    printf '%-9s %-36s %-8s %s\n' "$name" "$state" "$pid" "$(urls_of "$name")"
  done
}

cmd_env() {
  local var
  for var in EVALGATE_DATABASE_URL EVALGATE_TEMPORAL_ADDRESS EVALGATE_TEMPORAL_NAMESPACE \
    EVALGATE_S3_ENDPOINT EVALGATE_S3_PORT EVALGATE_S3_USE_SSL EVALGATE_S3_ACCESS_KEY \
    EVALGATE_S3_SECRET_KEY EVALGATE_S3_BUCKET EVALGATE_S3_REGION EVALGATE_API_HOST \
    EVALGATE_API_PORT; do
    printf 'export %s=%q\n' "$var" "${!var}"
  done
  printf 'export EVALGATE_BOOTSTRAP_TOKEN=%q\n' "$(bootstrap_token)"
  printf 'export EVALGATE_ENDPOINT_ALLOW=%q\n' "$(endpoint_allow)"
  # For the evalgate CLI and the temporal CLI.
  printf 'export EVALGATE_URL=%q\n' "$(api_url)"
  printf 'export EVALGATE_TOKEN=%q\n' "$(bootstrap_token)"
  printf 'export TEMPORAL_ADDRESS=%q\n' "$(reach_host "$TEMPORAL_HOST"):$TEMPORAL_PORT"
  printf 'export TEMPORAL_NAMESPACE=%q\n' "$EVALGATE_TEMPORAL_NAMESPACE"
  # shellcheck disable=SC2016  # $PATH expands where the lines are eval'd
  printf 'export PATH=%q:"$PATH"\n' "$EVALGATE_STATE_DIR/bin"
}

cmd_logs() {
  local names=("$@") name index
  if ((${#names[@]} == 0)); then
    names=(temporal minio migrate api worker)
    for index in $(worker_indexes); do
      if ((index > 1)); then names+=("$(worker_name "$index")"); fi
    done
  fi
  for name in "${names[@]}"; do
    [[ -f $(log_file "$name") ]] || continue
    echo "==== $(log_file "$name")"
    tail -n "${EVALGATE_LOG_LINES:-40}" "$(log_file "$name")"
  done
}

cmd_restart() {
  cmd_down "${STOP_ORDER[@]}"
  cmd_up "$@"
}

# up, down and restart change processes: one at a time per state dir. The lock
# is fd 8, which start_detached closes so services do not inherit it.
with_stack_lock() {
  mkdir -p "$EVALGATE_STATE_DIR"
  exec 8>"$EVALGATE_STATE_DIR/stack.lock"
  if ! flock -n 8; then
    log "another stack command is running on $EVALGATE_STATE_DIR; waiting for it"
    flock 8
  fi
  "$@"
}

cd "$EVALGATE_ROOT"
command=${1:-status}
shift || true
case $command in
  up) with_stack_lock cmd_up "$@" ;;
  down) with_stack_lock cmd_down "$@" ;;
  restart) with_stack_lock cmd_restart "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  logs) cmd_logs "$@" ;;
  *)
    die "usage: stack.sh up [--services-only] [--workers N] | down [component...] |" \
      "restart [--services-only] [--workers N] | status | env | logs [component]"
    ;;
esac
