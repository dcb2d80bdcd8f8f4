-- How long a run's metrics took to compute: merging its shards' metric states and finalising
-- every metric (confidence intervals included), in milliseconds; set when the run succeeds.
-- The API's /metrics reads it (evalgate_metric_compute_seconds) as it reads queue_ms and run_ms.
ALTER TABLE eval_runs ADD COLUMN metrics_ms bigint;
