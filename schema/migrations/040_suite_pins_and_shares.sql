-- Trust across teams (issue 12): a gate pins its suite version, and a suite owned by another
-- team backs a gate only through that team's share.

-- The suite version a gate version evaluates with. NULL on gate versions recorded before
-- pinning: those keep following the suite's newest version until their gate gets a new version.
ALTER TABLE gate_versions ADD COLUMN metric_suite_version integer;

-- A suite's owning team consents to another team's gates using the suite.
CREATE TABLE metric_suite_shares (
  metric_suite_id uuid NOT NULL REFERENCES metric_suites(metric_suite_id),
  team            text NOT NULL REFERENCES teams(team),
  created_by      uuid NOT NULL REFERENCES principals(principal_id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (metric_suite_id, team)
);
