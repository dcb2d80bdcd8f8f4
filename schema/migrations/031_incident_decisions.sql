-- What an incident did to each gate check whose latest decision depended on what it changed.
-- One row per (incident, check): the idempotency record of the re-decision and the report's source.
CREATE TABLE incident_decisions (
  incident_id       uuid NOT NULL REFERENCES metric_incidents(incident_id),
  check_id          uuid NOT NULL REFERENCES gate_checks(check_id),
  prior_decision_id bigint NOT NULL REFERENCES gate_decisions(decision_id),
  prior_status      text NOT NULL,
  outcome           text NOT NULL CHECK (outcome IN ('revoked', 'now_passing', 'still_passing', 'still_failing', 'not_reevaluated')),
  new_decision_id   bigint REFERENCES gate_decisions(decision_id),
  detail            jsonb NOT NULL DEFAULT '{}'::jsonb,
  decided_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (incident_id, check_id)
);
CREATE INDEX incident_decisions_check ON incident_decisions (check_id);
