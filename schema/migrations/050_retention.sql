-- Retention and legal holds (docs/decisions/retention.md).
--
-- A run's stored outputs (per-example records, judge transcripts, under runs/<runId>/ in
-- object storage) expire retention_seconds after the run ended. The seconds are fixed when
-- the run is created, from EVALGATE_RETENTION_<CLASSIFICATION>; a run created before this
-- migration has none and gets the built-in default of its dataset's classification.
-- A sweep (retentionWorkflow) marks the run with a tombstone (expired_at: per-example reads
-- answer 410 from then on), deletes the objects, then records purged_at; a run marked but not
-- purged (a sweep that died midway) is picked up again. Aggregates (metric_results, metric
-- states), decisions and lineage stay.
ALTER TABLE eval_runs ADD COLUMN retention_seconds bigint CHECK (retention_seconds IS NULL OR retention_seconds > 0);
ALTER TABLE eval_runs ADD COLUMN expired_at timestamptz;
ALTER TABLE eval_runs ADD COLUMN purged_at timestamptz;
CREATE INDEX eval_runs_unpurged ON eval_runs (finished_at) WHERE purged_at IS NULL;

-- A legal hold on a dataset version: while one is active (released_at IS NULL), no sweep
-- deletes anything of the version's runs or cache entries its runs wrote. A released hold
-- stays as a record.
CREATE TABLE legal_holds (
  hold_id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  dataset_version_id uuid NOT NULL REFERENCES dataset_versions(dataset_version_id),
  reason             text NOT NULL,
  placed_by          uuid NOT NULL REFERENCES principals(principal_id),
  placed_at          timestamptz NOT NULL DEFAULT now(),
  released_by        uuid REFERENCES principals(principal_id),
  released_at        timestamptz
);
CREATE INDEX legal_holds_active ON legal_holds (dataset_version_id) WHERE released_at IS NULL;

-- The dataset versions whose runs wrote a cache entry (a cache entry is shared across
-- datasets with the same input): an entry is held while any of them is. Entries written
-- before this migration name none.
ALTER TABLE prediction_cache ADD COLUMN dataset_version_ids uuid[] NOT NULL DEFAULT '{}';
ALTER TABLE judge_cache ADD COLUMN dataset_version_ids uuid[] NOT NULL DEFAULT '{}';
