-- Online experiments: a passed gate check's candidate ramped against the baseline alias on live
-- traffic. Events are aggregated as they arrive: one row per (experiment, step, unit) with the
-- unit's guardrail sums, and one row per (experiment, step, variant) with exposed units and the
-- sums and sums of squares of per-unit values, so a check reads two rows whatever the traffic.

CREATE TABLE experiments (
  experiment_id    uuid PRIMARY KEY,
  name             text NOT NULL,
  owner_team       text NOT NULL REFERENCES teams(team),
  model_id         uuid NOT NULL REFERENCES models(model_id),
  candidate_model_version_id uuid NOT NULL REFERENCES model_versions(model_version_id),
  baseline_alias   text NOT NULL,
  baseline_model_version_id uuid NOT NULL REFERENCES model_versions(model_version_id),
  gate_check_id    uuid NOT NULL REFERENCES gate_checks(check_id),
  plan             jsonb NOT NULL,           -- ramp, guardrails, srmAlpha, checkEverySeconds, onInconclusive
  status           text NOT NULL DEFAULT 'running'
                   CHECK (status IN ('running', 'paused', 'promoted', 'rolled_back', 'aborted')),
  step             integer NOT NULL DEFAULT 0,
  percent          double precision NOT NULL DEFAULT 0,   -- the treatment's share now (0 when paused or decided against)
  decision         jsonb,                    -- { status, reason, message, at, snapshot }
  history          jsonb NOT NULL DEFAULT '[]'::jsonb,
  workflow_id      text NOT NULL,
  idempotency_key  text NOT NULL,
  created_by       uuid NOT NULL REFERENCES principals(principal_id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (owner_team, idempotency_key)
);
CREATE INDEX experiments_check ON experiments (gate_check_id);
CREATE INDEX experiments_status ON experiments (status);

CREATE TABLE experiment_units (
  experiment_id    uuid NOT NULL REFERENCES experiments(experiment_id),
  step             integer NOT NULL,
  unit             text NOT NULL,
  variant          smallint NOT NULL CHECK (variant IN (0, 1)),   -- 0 control, 1 treatment
  exposed          boolean NOT NULL DEFAULT false,
  vals             double precision[] NOT NULL,                   -- per guardrail, the sum of its event values
  PRIMARY KEY (experiment_id, step, unit)
);

CREATE TABLE experiment_arms (
  experiment_id    uuid NOT NULL REFERENCES experiments(experiment_id),
  step             integer NOT NULL,
  variant          smallint NOT NULL CHECK (variant IN (0, 1)),
  units            bigint NOT NULL DEFAULT 0,                     -- exposed units
  sums             double precision[] NOT NULL,
  sumsqs           double precision[] NOT NULL,
  PRIMARY KEY (experiment_id, step, variant)
);

-- Events sent with an eventId count once.
CREATE TABLE experiment_event_ids (
  experiment_id    uuid NOT NULL REFERENCES experiments(experiment_id),
  event_id         text NOT NULL,
  PRIMARY KEY (experiment_id, event_id)
);

-- An alias moved by a promotion names its experiment (the check is gate_check_id, as for any release).
ALTER TABLE model_alias_history ADD COLUMN experiment_id uuid REFERENCES experiments(experiment_id);
