-- Incidents that act on lineage: which runs each incident touched and what it changed,
-- implementation versions an incident retracted, and the indexes the lineage graph walks.

-- A mistaken deprecation is undone by a new incident of its own, never by an edit.
ALTER TABLE metric_incidents DROP CONSTRAINT metric_incidents_kind_check;
ALTER TABLE metric_incidents ADD CONSTRAINT metric_incidents_kind_check
  CHECK (kind IN ('metric_bug', 'dataset_contamination', 'judge', 'dataset_reinstatement'));
ALTER TABLE metric_incidents ADD COLUMN idempotency_key text;
CREATE UNIQUE INDEX metric_incidents_idempotency ON metric_incidents (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX metric_incidents_kind ON metric_incidents (kind, created_at);
CREATE INDEX metric_incidents_dataset_version ON metric_incidents (dataset_version_id) WHERE dataset_version_id IS NOT NULL;

-- One row per run an incident touched. `changes` lists every result it replaced:
-- [{ metricName, metric, oldResultId, newResultId, oldImplVersion, newImplVersion, oldValue, newValue }].
CREATE TABLE incident_runs (
  incident_id   uuid NOT NULL REFERENCES metric_incidents(incident_id),
  run_id        uuid NOT NULL REFERENCES eval_runs(run_id),
  state         text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'recomputed', 'unchanged', 'unrecoverable', 'invalidated')),
  prior_status  text,
  changes       jsonb NOT NULL DEFAULT '[]'::jsonb,
  detail        text,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (incident_id, run_id)
);
CREATE INDEX incident_runs_run ON incident_runs (run_id);
CREATE INDEX incident_runs_pending ON incident_runs (incident_id, run_id) WHERE state = 'pending';

-- An implementation version named bad by a metric incident, and the version that fixes it.
CREATE TABLE metric_impl_retractions (
  metric              text NOT NULL,
  impl_version        text NOT NULL,
  fixed_impl_version  text NOT NULL,
  incident_id         uuid NOT NULL REFERENCES metric_incidents(incident_id),
  retracted_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (metric, impl_version, incident_id)
);

-- Lineage walks: decisions to the alias moves they allowed, models to their checks,
-- incidents to what they decided and froze.
CREATE INDEX model_alias_history_gate_check ON model_alias_history (gate_check_id) WHERE gate_check_id IS NOT NULL;
CREATE INDEX gate_checks_candidate ON gate_checks (candidate_model_version_id, created_at);
CREATE INDEX gate_decisions_incident ON gate_decisions (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX metric_freezes_incident ON metric_freezes (incident_id);
CREATE INDEX metric_results_incident ON metric_results (incident_id) WHERE incident_id IS NOT NULL;
