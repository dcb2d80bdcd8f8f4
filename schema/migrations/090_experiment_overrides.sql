-- Early promotion of an online experiment goes through the same governed overrides as gate
-- checks: an override now belongs to exactly one subject, a gate check or an experiment.
ALTER TABLE overrides
  ADD COLUMN experiment_id uuid REFERENCES experiments(experiment_id),
  ALTER COLUMN check_id DROP NOT NULL,
  ADD CONSTRAINT overrides_one_subject CHECK ((check_id IS NULL) <> (experiment_id IS NULL));
CREATE INDEX overrides_experiment ON overrides (experiment_id, requested_at) WHERE experiment_id IS NOT NULL;
