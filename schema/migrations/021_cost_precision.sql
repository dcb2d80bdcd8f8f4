-- Run costs to the nano-dollar: a judged run's cost is thousands of calls priced per
-- token, and it must add up to what the endpoints' own counts give, not to the micro-dollar.
ALTER TABLE eval_runs
  ALTER COLUMN cost_model_usd TYPE numeric(20, 9),
  ALTER COLUMN cost_judge_usd TYPE numeric(20, 9);
