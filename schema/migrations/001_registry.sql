-- evalgate system of record: principals, registry, runs, gates, incidents, audit.
-- Registry rows are immutable once written: a change is a new version row.

CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Principals, API keys, teams and roles ------------------------------------
CREATE TABLE teams (
  team        text PRIMARY KEY CHECK (team ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' OR team = '*'),
  created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO teams (team) VALUES ('*');

CREATE TABLE principals (
  principal_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name         text NOT NULL UNIQUE,
  created_by   uuid REFERENCES principals(principal_id),
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- team '*' means every team (used for the bootstrap admin).
CREATE TABLE principal_roles (
  principal_id uuid NOT NULL REFERENCES principals(principal_id),
  team         text NOT NULL REFERENCES teams(team),
  role         text NOT NULL CHECK (role IN ('viewer', 'editor', 'approver', 'admin')),
  PRIMARY KEY (principal_id, team, role)
);
CREATE INDEX principal_roles_team ON principal_roles (team, role);

CREATE TABLE api_keys (
  key_id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  principal_id uuid NOT NULL REFERENCES principals(principal_id),
  key_hash     text NOT NULL UNIQUE,          -- sha256 of the key; the key itself is never stored
  key_prefix   text NOT NULL,                 -- first characters, to recognise a key in logs
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);

-- Append-only audit log ---------------------------------------------------------
CREATE TABLE audit_log (
  audit_id     bigserial PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  principal_id uuid REFERENCES principals(principal_id),
  action       text NOT NULL,
  entity_kind  text NOT NULL,
  entity_id    text NOT NULL,
  detail       jsonb NOT NULL DEFAULT '{}'::jsonb,
  request_id   text
);
CREATE INDEX audit_log_entity ON audit_log (entity_kind, entity_id, at);
CREATE INDEX audit_log_principal ON audit_log (principal_id, at);

CREATE FUNCTION forbid_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION forbid_mutation();

-- Datasets ---------------------------------------------------------------------------
CREATE TABLE datasets (
  dataset_id   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name         text NOT NULL,
  task_type    text NOT NULL CHECK (task_type IN ('classification', 'ranking', 'retrieval', 'generation', 'regression')),
  owner_team   text NOT NULL REFERENCES teams(team),
  description  text,
  created_by   uuid NOT NULL REFERENCES principals(principal_id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (owner_team, name)
);

CREATE TABLE dataset_versions (
  dataset_version_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  dataset_id     uuid NOT NULL REFERENCES datasets(dataset_id),
  version        integer NOT NULL CHECK (version > 0),
  content_hash   text NOT NULL,
  row_count      bigint NOT NULL CHECK (row_count > 0),
  byte_count     bigint NOT NULL,
  label_policy   text NOT NULL CHECK (label_policy IN ('human_reviewed', 'synthetic', 'implicit', 'mixed')),
  visibility     text NOT NULL CHECK (visibility IN ('public', 'internal', 'restricted')),
  allowed_teams  text[] NOT NULL DEFAULT '{}',
  classification text NOT NULL CHECK (classification IN ('public', 'internal', 'confidential', 'restricted')),
  tag_counts     jsonb NOT NULL DEFAULT '{}'::jsonb,
  status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deprecated')),
  deprecated_reason text,
  deprecated_at  timestamptz,
  deprecated_by  uuid REFERENCES principals(principal_id),
  created_by     uuid NOT NULL REFERENCES principals(principal_id),
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (dataset_id, version),
  UNIQUE (dataset_id, content_hash)
);

-- The manifest: one row per shard object.
CREATE TABLE dataset_shards (
  dataset_version_id uuid NOT NULL REFERENCES dataset_versions(dataset_version_id),
  shard_index    integer NOT NULL,
  object_key     text NOT NULL,
  row_count      integer NOT NULL,
  first_row      bigint NOT NULL,
  byte_count     bigint NOT NULL,
  content_hash   text NOT NULL,
  PRIMARY KEY (dataset_version_id, shard_index)
);

-- Metric suites ----------------------------------------------------------------------
CREATE TABLE metric_suites (
  metric_suite_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name         text NOT NULL,
  purpose      text NOT NULL CHECK (purpose IN ('exploratory', 'release_blocking')),
  owner_team   text NOT NULL REFERENCES teams(team),
  created_by   uuid NOT NULL REFERENCES principals(principal_id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (owner_team, name)
);

CREATE TABLE metric_suite_versions (
  metric_suite_version_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  metric_suite_id  uuid NOT NULL REFERENCES metric_suites(metric_suite_id),
  version          integer NOT NULL CHECK (version > 0),
  metrics          jsonb NOT NULL,          -- [{name, metric, params, slices, implVersion}] with impl versions pinned
  judge            jsonb,
  judge_fingerprint text,
  budget_max_cost_usd numeric(14, 6),
  budget_max_calls bigint,
  require_human_labels boolean NOT NULL DEFAULT false,
  content_hash     text NOT NULL,
  created_by       uuid NOT NULL REFERENCES principals(principal_id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (metric_suite_id, version)
);
CREATE INDEX metric_suite_versions_judge ON metric_suite_versions (judge_fingerprint) WHERE judge_fingerprint IS NOT NULL;

-- Models ---------------------------------------------------------------------------------
CREATE TABLE models (
  model_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name         text NOT NULL UNIQUE,
  owner_team   text NOT NULL REFERENCES teams(team),
  created_by   uuid NOT NULL REFERENCES principals(principal_id),
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE model_versions (
  model_version_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  model_id        uuid NOT NULL REFERENCES models(model_id),
  version         text NOT NULL,
  version_seq     integer NOT NULL,
  protocol        text NOT NULL CHECK (protocol IN ('openai-chat', 'json-predict')),
  endpoint        jsonb NOT NULL,
  prompt_template text,
  prompt_template_hash text,
  params          jsonb NOT NULL DEFAULT '{}'::jsonb,
  params_hash     text NOT NULL,
  pricing         jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_by      uuid NOT NULL REFERENCES principals(principal_id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (model_id, version),
  UNIQUE (model_id, version_seq)
);

CREATE TABLE model_aliases (
  model_id         uuid NOT NULL REFERENCES models(model_id),
  alias            text NOT NULL,
  model_version_id uuid NOT NULL REFERENCES model_versions(model_version_id),
  updated_by       uuid NOT NULL REFERENCES principals(principal_id),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, alias)
);

CREATE TABLE model_alias_history (
  history_id       bigserial PRIMARY KEY,
  model_id         uuid NOT NULL REFERENCES models(model_id),
  alias            text NOT NULL,
  model_version_id uuid NOT NULL REFERENCES model_versions(model_version_id),
  previous_model_version_id uuid REFERENCES model_versions(model_version_id),
  gate_check_id    uuid,
  changed_by       uuid NOT NULL REFERENCES principals(principal_id),
  changed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_alias_history_lookup ON model_alias_history (model_id, alias, changed_at);
CREATE TRIGGER model_alias_history_append_only BEFORE UPDATE OR DELETE ON model_alias_history
  FOR EACH ROW EXECUTE FUNCTION forbid_mutation();
