-- Per-team daily quotas on model and judge calls (docs/security.md "Rate limits, quotas and keys").
-- A run's calls are charged to the team that owns its model; shards reserve blocks of calls
-- from the team's row for the UTC day, as they reserve from run_budgets, and give back what
-- they did not use. reserve_team_calls locks the row and grants from its current values.
CREATE TABLE team_call_quotas (
  team           text NOT NULL REFERENCES teams(team),
  day            date NOT NULL,
  reserved_calls bigint NOT NULL DEFAULT 0 CHECK (reserved_calls >= 0),
  exhausted_at   timestamptz,
  PRIMARY KEY (team, day)
);

CREATE FUNCTION reserve_team_calls(p_team text, p_day date, p_calls bigint, p_quota bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  used bigint;
  g bigint;
BEGIN
  INSERT INTO team_call_quotas (team, day) VALUES (p_team, p_day) ON CONFLICT DO NOTHING;
  SELECT reserved_calls INTO used FROM team_call_quotas WHERE team = p_team AND day = p_day FOR UPDATE;
  g := GREATEST(0, LEAST(p_calls, p_quota - used));
  UPDATE team_call_quotas
     SET reserved_calls = reserved_calls + g,
         exhausted_at = CASE WHEN g = 0 THEN COALESCE(exhausted_at, now()) ELSE exhausted_at END
   WHERE team = p_team AND day = p_day;
  RETURN g;
END $$;
