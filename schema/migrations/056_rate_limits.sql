-- Per-principal request rate limits, shared by every API process (API.md "Trust": rate limits).
-- One row per principal holding the theoretical arrival time of the generic cell rate algorithm
-- (GCRA): a request is admitted when tat + interval - now <= window, which allows `limit`
-- requests at once and then one per interval. One INSERT ... ON CONFLICT DO UPDATE per request
-- reads and moves it under the row's lock. UNLOGGED: no WAL flush per request (a logged table cost
-- about 4 ms a request on this machine, an unlogged one 0.95 ms); after a crash it is empty and
-- every principal starts again with a full allowance (losing it errs towards admitting).
CREATE UNLOGGED TABLE principal_rate_limits (
  principal_id uuid PRIMARY KEY REFERENCES principals(principal_id),
  tat          timestamptz NOT NULL,
  refused      boolean NOT NULL DEFAULT false
);
