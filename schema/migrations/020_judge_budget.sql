-- Model-as-judge and hard cost budgets (issue 4): the judge cache, per-run budgets
-- reserved atomically before each model or judge call, per-shard and per-run judge
-- aggregates, drift-canary results and the first recorded agreement of each judge.

-- Judgements cached by (judge model version, prompt hash, params, candidate output hash,
-- reference hash, repeat index), like prediction_cache. Errors are never cached.
CREATE TABLE judge_cache (
  cache_key        text PRIMARY KEY,
  judge_model_version_id uuid NOT NULL REFERENCES model_versions(model_version_id),
  prompt_hash      text NOT NULL,
  params_hash      text NOT NULL,
  output_hash      text NOT NULL,
  reference_hash   text NOT NULL,
  repeat_index     integer NOT NULL CHECK (repeat_index >= 0),
  score            double precision NOT NULL,     -- on the judge's own scale (output.min..output.max)
  raw_output       text NOT NULL,
  usage            jsonb,
  expires_at       timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX judge_cache_expiry ON judge_cache (expires_at) WHERE expires_at IS NOT NULL;

-- One row per run whose suite sets a budget. reserved_* is what leases hold or have
-- spent; a lease returns what it did not use. The call limit is a constraint, so no
-- code path can hand out more calls than the suite allows.
CREATE TABLE run_budgets (
  run_id            uuid PRIMARY KEY REFERENCES eval_runs(run_id),
  max_calls         bigint CHECK (max_calls IS NULL OR max_calls > 0),
  max_cost_usd      numeric(20, 9) CHECK (max_cost_usd IS NULL OR max_cost_usd > 0),
  reserved_calls    bigint NOT NULL DEFAULT 0 CHECK (reserved_calls >= 0),
  reserved_cost_usd numeric(20, 9) NOT NULL DEFAULT 0,
  exhausted_at      timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CHECK (max_calls IS NULL OR reserved_calls <= max_calls)
);

-- Judge totals per shard, summed into the run like the model totals. judge_stats holds
-- mergeable sums (repeat variance, spread, judge-human confusion counts).
ALTER TABLE eval_run_shards
  ADD COLUMN judged              integer NOT NULL DEFAULT 0,
  ADD COLUMN judge_errors        integer NOT NULL DEFAULT 0,
  ADD COLUMN judge_cache_hits    integer NOT NULL DEFAULT 0,
  ADD COLUMN judge_cost_usd      double precision NOT NULL DEFAULT 0,
  ADD COLUMN judge_input_tokens  bigint NOT NULL DEFAULT 0,
  ADD COLUMN judge_output_tokens bigint NOT NULL DEFAULT 0,
  ADD COLUMN judge_stats         jsonb NOT NULL DEFAULT '{}'::jsonb;

-- 'partial': the shard stopped early (budget exhausted) after writing what it had.
ALTER TABLE eval_run_shards DROP CONSTRAINT eval_run_shards_status_check;
ALTER TABLE eval_run_shards ADD CONSTRAINT eval_run_shards_status_check CHECK (status IN ('running', 'done', 'failed', 'partial'));

-- Results computed from the part of a run that finished before it stopped (budget_exceeded).
ALTER TABLE metric_results ADD COLUMN partial boolean NOT NULL DEFAULT false;

-- The run's judge aggregates, written when the run ends.
CREATE TABLE eval_run_judge_stats (
  run_id            uuid PRIMARY KEY REFERENCES eval_runs(run_id),
  judge_fingerprint text NOT NULL,
  repeats           integer NOT NULL,
  judged            bigint NOT NULL,            -- examples with a judge outcome (score or judge_error)
  judge_errors      bigint NOT NULL,
  error_rate        double precision,
  error_rate_limit  double precision NOT NULL,
  calls             bigint NOT NULL,
  cache_hits        bigint NOT NULL,
  cost_usd          double precision NOT NULL,
  input_tokens      bigint NOT NULL,
  output_tokens     bigint NOT NULL,
  noise             double precision,           -- pooled SD of the normalised score across repeats
  mean_spread       double precision,           -- mean (max - min) of the normalised score across repeats
  human_n           bigint NOT NULL DEFAULT 0,
  human_accuracy    double precision,
  human_kappa       double precision,
  partial           boolean NOT NULL DEFAULT false,
  computed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX eval_run_judge_stats_judge ON eval_run_judge_stats (judge_fingerprint);

-- Drift canary: every release-mode run judges the suite's human-labelled canary live.
CREATE TABLE judge_canary_results (
  run_id            uuid PRIMARY KEY REFERENCES eval_runs(run_id),
  judge_fingerprint text NOT NULL,
  canary_dataset_version_id uuid NOT NULL REFERENCES dataset_versions(dataset_version_id),
  n                 integer NOT NULL,
  judge_errors      integer NOT NULL,
  calls             integer NOT NULL,
  cost_usd          double precision NOT NULL,
  input_tokens      bigint NOT NULL,
  output_tokens     bigint NOT NULL,
  accuracy          double precision,
  kappa             double precision,
  baseline_accuracy double precision,
  baseline_run_id   uuid,
  agreement_floor   double precision,
  max_agreement_drop double precision NOT NULL,
  drift             boolean NOT NULL,
  reasons           jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX judge_canary_results_judge ON judge_canary_results (judge_fingerprint, created_at);

-- The first agreement recorded for a judge on a canary version that passed its floor:
-- later runs are compared with it, so a judge that slowly drifts is still caught.
CREATE TABLE judge_agreement_baselines (
  judge_fingerprint text NOT NULL,
  canary_dataset_version_id uuid NOT NULL REFERENCES dataset_versions(dataset_version_id),
  accuracy          double precision NOT NULL,
  kappa             double precision,
  n                 integer NOT NULL,
  run_id            uuid NOT NULL REFERENCES eval_runs(run_id),
  recorded_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (judge_fingerprint, canary_dataset_version_id)
);
