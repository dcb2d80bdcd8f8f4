-- Release gates (issue 5): versioned gate definitions, checks that share one workflow per
-- (gate version, candidate, idempotency key), and governed overrides whose approvals the
-- gate workflow re-verifies.

-- A gate version's content hash makes re-posting the same definition idempotent.
-- override_ttl_seconds is the exact TTL (overrideTtlHours may be fractional; the integer
-- hours column of 002 keeps its rounded-up value). baseline_runs says whether a check may
-- start the baseline's missing runs or must find them already made.
ALTER TABLE gate_versions
  ADD COLUMN content_hash text,
  ADD COLUMN override_ttl_seconds integer CHECK (override_ttl_seconds > 0),
  ADD COLUMN baseline_runs text NOT NULL DEFAULT 'start_missing' CHECK (baseline_runs IN ('start_missing', 'require_existing')),
  ADD COLUMN description text;

-- The baseline model version a check resolved from the gate's alias, and the request that made it.
ALTER TABLE gate_checks
  ADD COLUMN baseline_model_version_id uuid REFERENCES model_versions(model_version_id),
  ADD COLUMN request_id text;
-- Concurrent checks without an idempotency key share the pending check of the same candidate.
CREATE INDEX gate_checks_pending ON gate_checks (gate_version_id, candidate_model_version_id) WHERE status = 'pending';
CREATE INDEX gate_checks_created ON gate_checks (created_at);

-- Why an override ended the way it did (refused, expired), and which decision it produced.
ALTER TABLE overrides
  ADD COLUMN ended_reason text,
  ADD COLUMN granted_decision_id bigint REFERENCES gate_decisions(decision_id);
CREATE INDEX overrides_check ON overrides (check_id, requested_at);
CREATE INDEX overrides_status ON overrides (status);

-- The workflow re-verifies every approval; one it does not count keeps its row with the reason.
ALTER TABLE override_approvals ADD COLUMN refused_reason text;
