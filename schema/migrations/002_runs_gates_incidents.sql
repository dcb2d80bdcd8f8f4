-- Eval runs, their shards and results; the prediction cache; gates, checks,
-- decisions and overrides; incidents. Later issues fill what this declares.

CREATE TABLE eval_runs (
  run_id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  idempotency_key  text,
  model_version_id uuid NOT NULL REFERENCES model_versions(model_version_id),
  dataset_version_id uuid NOT NULL REFERENCES dataset_versions(dataset_version_id),
  metric_suite_version_id uuid NOT NULL REFERENCES metric_suite_versions(metric_suite_version_id),
  mode             text NOT NULL CHECK (mode IN ('exploratory', 'release')),
  status           text NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'budget_exceeded', 'invalid')),
  error_class      text,
  error_message    text,
  invalid_reason   text,
  progress_done    bigint NOT NULL DEFAULT 0,
  progress_total   bigint NOT NULL DEFAULT 0,
  seed             text NOT NULL,
  judge_fingerprint text,
  metric_impl_versions jsonb NOT NULL DEFAULT '{}'::jsonb,   -- {metricId: version}
  lineage          jsonb NOT NULL DEFAULT '{}'::jsonb,
  platform_version text NOT NULL,
  workflow_id      text NOT NULL UNIQUE,
  task_queue       text NOT NULL,
  cost_model_usd   numeric(14, 6) NOT NULL DEFAULT 0,
  cost_judge_usd   numeric(14, 6) NOT NULL DEFAULT 0,
  calls_model      bigint NOT NULL DEFAULT 0,
  calls_judge      bigint NOT NULL DEFAULT 0,
  cache_hits       bigint NOT NULL DEFAULT 0,
  errors           bigint NOT NULL DEFAULT 0,
  queue_ms         bigint,
  run_ms           bigint,
  judge_flags      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_by       uuid NOT NULL REFERENCES principals(principal_id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz
);
CREATE UNIQUE INDEX eval_runs_idempotency ON eval_runs (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX eval_runs_dataset_version ON eval_runs (dataset_version_id);
CREATE INDEX eval_runs_model_version ON eval_runs (model_version_id, dataset_version_id, metric_suite_version_id, mode, status, finished_at);
CREATE INDEX eval_runs_suite_version ON eval_runs (metric_suite_version_id);
CREATE INDEX eval_runs_judge ON eval_runs (judge_fingerprint) WHERE judge_fingerprint IS NOT NULL;
CREATE INDEX eval_runs_impl_versions ON eval_runs USING gin (metric_impl_versions jsonb_path_ops);
CREATE INDEX eval_runs_status ON eval_runs (status, created_at);

CREATE TABLE eval_run_shards (
  run_id         uuid NOT NULL REFERENCES eval_runs(run_id),
  shard_index    integer NOT NULL,
  status         text NOT NULL CHECK (status IN ('running', 'done', 'failed')),
  rows_done      integer NOT NULL DEFAULT 0,
  row_count      integer NOT NULL,
  predictions_key text,
  state_key      text,
  calls_model    integer NOT NULL DEFAULT 0,
  calls_judge    integer NOT NULL DEFAULT 0,
  cache_hits     integer NOT NULL DEFAULT 0,
  errors         integer NOT NULL DEFAULT 0,
  cost_usd       double precision NOT NULL DEFAULT 0,
  input_tokens   bigint NOT NULL DEFAULT 0,
  output_tokens  bigint NOT NULL DEFAULT 0,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, shard_index)
);

-- One row per (run, metric name, implementation version) computation. A recompute adds a
-- row and marks the old one superseded; nothing is overwritten or deleted.
CREATE TABLE metric_results (
  result_id      bigserial PRIMARY KEY,
  run_id         uuid NOT NULL REFERENCES eval_runs(run_id),
  metric_name    text NOT NULL,
  metric_id      text NOT NULL,
  impl_version   text NOT NULL,
  value          double precision,
  ci_low         double precision,
  ci_high        double precision,
  n              bigint NOT NULL,
  reason         text,
  slices         jsonb NOT NULL DEFAULT '{}'::jsonb,
  superseded_at  timestamptz,
  superseded_by  bigint REFERENCES metric_results(result_id),
  incident_id    uuid,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (run_id, metric_name, impl_version)
);
CREATE UNIQUE INDEX metric_results_current ON metric_results (run_id, metric_name) WHERE superseded_at IS NULL;
CREATE INDEX metric_results_impl ON metric_results (metric_id, impl_version);

-- Predictions are cached by (model version, input hash, inference params hash).
CREATE TABLE prediction_cache (
  cache_key        text PRIMARY KEY,
  model_version_id uuid NOT NULL REFERENCES model_versions(model_version_id),
  input_hash       text NOT NULL,
  params_hash      text NOT NULL,
  prediction       jsonb NOT NULL,
  usage            jsonb,
  expires_at       timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX prediction_cache_expiry ON prediction_cache (expires_at) WHERE expires_at IS NOT NULL;

-- Gates ---------------------------------------------------------------------------------
CREATE TABLE gates (
  gate_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name         text NOT NULL UNIQUE,
  owner_team   text NOT NULL REFERENCES teams(team),
  created_by   uuid NOT NULL REFERENCES principals(principal_id),
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE gate_versions (
  gate_version_id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  gate_id          uuid NOT NULL REFERENCES gates(gate_id),
  version          integer NOT NULL,
  metric_suite_id  uuid NOT NULL REFERENCES metric_suites(metric_suite_id),
  dataset_ids      uuid[] NOT NULL,
  baseline_alias   text NOT NULL,
  rules            jsonb NOT NULL,
  required_approvals integer NOT NULL,
  override_ttl_hours integer NOT NULL,
  created_by       uuid NOT NULL REFERENCES principals(principal_id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (gate_id, version)
);

CREATE TABLE gate_checks (
  check_id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  gate_version_id  uuid NOT NULL REFERENCES gate_versions(gate_version_id),
  candidate_model_version_id uuid NOT NULL REFERENCES model_versions(model_version_id),
  idempotency_key  text NOT NULL DEFAULT '',
  commit_sha       text,
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'pass', 'fail', 'frozen', 'error', 'overridden', 'revoked')),
  reasons          jsonb NOT NULL DEFAULT '[]'::jsonb,
  runs             jsonb NOT NULL DEFAULT '{}'::jsonb,
  workflow_id      text NOT NULL,
  created_by       uuid NOT NULL REFERENCES principals(principal_id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  decided_at       timestamptz,
  UNIQUE (gate_version_id, candidate_model_version_id, idempotency_key)
);
CREATE INDEX gate_checks_status ON gate_checks (status, decided_at);

-- Every decision, including re-decisions after incidents, is a new row.
CREATE TABLE gate_decisions (
  decision_id      bigserial PRIMARY KEY,
  check_id         uuid NOT NULL REFERENCES gate_checks(check_id),
  status           text NOT NULL CHECK (status IN ('pass', 'fail', 'frozen', 'error', 'overridden', 'revoked')),
  reasons          jsonb NOT NULL,
  result_ids       bigint[] NOT NULL DEFAULT '{}',
  run_ids          uuid[] NOT NULL DEFAULT '{}',
  cause            text NOT NULL DEFAULT 'check',   -- check | override | incident
  incident_id      uuid,
  decided_by       uuid REFERENCES principals(principal_id),
  decided_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gate_decisions_check ON gate_decisions (check_id, decided_at);
CREATE INDEX gate_decisions_results ON gate_decisions USING gin (result_ids);
CREATE INDEX gate_decisions_runs ON gate_decisions USING gin (run_ids);

CREATE TABLE overrides (
  override_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  check_id         uuid NOT NULL REFERENCES gate_checks(check_id),
  justification    text NOT NULL,
  rules            text[],
  status           text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'granted', 'expired', 'refused', 'revoked')),
  required_approvals integer NOT NULL,
  requested_by     uuid NOT NULL REFERENCES principals(principal_id),
  requested_at     timestamptz NOT NULL DEFAULT now(),
  request_expires_at timestamptz NOT NULL,
  granted_at       timestamptz,
  expires_at       timestamptz
);

CREATE TABLE override_approvals (
  override_id      uuid NOT NULL REFERENCES overrides(override_id),
  approver_id      uuid NOT NULL REFERENCES principals(principal_id),
  comment          text,
  approved_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (override_id, approver_id)
);

-- Incidents -------------------------------------------------------------------------------
CREATE TABLE metric_incidents (
  incident_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind             text NOT NULL CHECK (kind IN ('metric_bug', 'dataset_contamination', 'judge')),
  metric           text,
  bad_impl_versions text[],
  fixed_impl_version text,
  dataset_version_id uuid REFERENCES dataset_versions(dataset_version_id),
  judge_fingerprint text,
  replacement_judge jsonb,
  note             text NOT NULL,
  status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'recomputing', 'resolved', 'failed')),
  progress         jsonb NOT NULL DEFAULT '{}'::jsonb,
  report           jsonb,
  workflow_id      text NOT NULL,
  created_by       uuid NOT NULL REFERENCES principals(principal_id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  resolved_at      timestamptz
);

-- A frozen metric blocks every gate with a rule on it until its incident ends.
CREATE TABLE metric_freezes (
  metric           text NOT NULL,
  incident_id      uuid NOT NULL REFERENCES metric_incidents(incident_id),
  frozen_at        timestamptz NOT NULL DEFAULT now(),
  unfrozen_at      timestamptz,
  PRIMARY KEY (metric, incident_id)
);
CREATE INDEX metric_freezes_active ON metric_freezes (metric) WHERE unfrozen_at IS NULL;

-- Idempotency records for activities that write (key derived from workflow id + step).
CREATE TABLE activity_effects (
  idempotency_key  text PRIMARY KEY,
  result           jsonb,
  created_at       timestamptz NOT NULL DEFAULT now()
);
