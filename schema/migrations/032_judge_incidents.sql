-- Judge incidents. Re-judging a run's stored outputs with a replacement judge is budgeted
-- like a run: its own budget per (incident, run) with the limits of the run's suite, reserved
-- through the same lease protocol as run_budgets (activities/budget/lease.ts).
CREATE TABLE incident_budgets (
  incident_id       uuid NOT NULL REFERENCES metric_incidents(incident_id),
  run_id            uuid NOT NULL REFERENCES eval_runs(run_id),
  max_calls         bigint CHECK (max_calls IS NULL OR max_calls > 0),
  max_cost_usd      numeric(20, 9) CHECK (max_cost_usd IS NULL OR max_cost_usd > 0),
  reserved_calls    bigint NOT NULL DEFAULT 0 CHECK (reserved_calls >= 0),
  reserved_cost_usd numeric(20, 9) NOT NULL DEFAULT 0,
  exhausted_at      timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (incident_id, run_id),
  CHECK (max_calls IS NULL OR reserved_calls <= max_calls)
);

-- A result an incident declared invalid (the judge that scored it was replaced) stays
-- readable, marked, until a new result supersedes it or its run is invalidated.
ALTER TABLE metric_results ADD COLUMN invalidated_by uuid REFERENCES metric_incidents(incident_id);
CREATE INDEX metric_results_invalidated ON metric_results (invalidated_by) WHERE invalidated_by IS NOT NULL;

-- What re-judging cost, per run of the incident.
ALTER TABLE incident_runs
  ADD COLUMN judge_calls bigint NOT NULL DEFAULT 0,
  ADD COLUMN judge_cost_usd numeric(20, 9) NOT NULL DEFAULT 0;
