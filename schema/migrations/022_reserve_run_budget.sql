-- Budget reservation as one function: lock the run's budget row, compute the grant from
-- the locked (current) values, apply it. A single UPDATE ... FROM (CTE ... FOR UPDATE)
-- computed grants from a stale row under concurrency (the constraint caught it); inside
-- a function the SELECT ... FOR UPDATE returns the row as it is once locked.
CREATE FUNCTION reserve_run_budget(p_run uuid, p_calls bigint, p_per_call numeric, p_deficit numeric) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  b run_budgets%ROWTYPE;
  g bigint;
BEGIN
  SELECT * INTO b FROM run_budgets WHERE run_id = p_run FOR UPDATE;
  IF NOT FOUND THEN
    RETURN 0;
  END IF;
  g := GREATEST(0, LEAST(
    p_calls,
    COALESCE(b.max_calls - b.reserved_calls, p_calls),
    CASE WHEN b.max_cost_usd IS NULL OR p_per_call = 0 THEN p_calls
         ELSE FLOOR((b.max_cost_usd - b.reserved_cost_usd - p_deficit) / p_per_call)::bigint END));
  UPDATE run_budgets
     SET reserved_calls = reserved_calls + g,
         reserved_cost_usd = reserved_cost_usd + CASE WHEN g > 0 THEN g * p_per_call + p_deficit ELSE 0 END,
         exhausted_at = CASE WHEN g = 0 THEN COALESCE(exhausted_at, now()) ELSE exhausted_at END,
         updated_at = now()
   WHERE run_id = p_run;
  RETURN g;
END $$;
