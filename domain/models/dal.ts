import type { Queryable } from '../../common/db';

export interface ModelRecord {
  model_id: string;
  name: string;
  owner_team: string;
  created_at: Date;
}
export interface ModelVersionRecord {
  model_version_id: string;
  model_id: string;
  version: string;
  version_seq: number;
  protocol: 'openai-chat' | 'json-predict';
  endpoint: { protocol: string; url: string; model?: string; maxConcurrency?: number };
  prompt_template: string | null;
  prompt_template_hash: string | null;
  params: Record<string, unknown>;
  params_hash: string;
  pricing: Pricing;
  created_at: Date;
}
export interface Pricing {
  inputPer1kTokensUsd?: number;
  outputPer1kTokensUsd?: number;
  perCallUsd?: number;
}

export async function insertModel(q: Queryable, m: { name: string; ownerTeam: string; createdBy: string }) {
  const { rows } = await q.query<ModelRecord>(
    'INSERT INTO models (name, owner_team, created_by) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING *',
    [m.name, m.ownerTeam, m.createdBy],
  );
  return rows[0];
}

export async function findModel(q: Queryable, modelId: string, lock = false) {
  const { rows } = await q.query<ModelRecord>(`SELECT * FROM models WHERE model_id = $1${lock ? ' FOR UPDATE' : ''}`, [
    modelId,
  ]);
  return rows[0];
}

export async function findModelByName(q: Queryable, name: string) {
  const { rows } = await q.query<ModelRecord>('SELECT * FROM models WHERE name = $1', [name]);
  return rows[0];
}

export async function findVersion(q: Queryable, modelId: string, version: string) {
  const { rows } = await q.query<ModelVersionRecord>(
    'SELECT * FROM model_versions WHERE model_id = $1 AND version = $2',
    [modelId, version],
  );
  return rows[0];
}

export async function findVersionById(q: Queryable, modelVersionId: string) {
  const { rows } = await q.query<ModelVersionRecord & { model_name: string }>(
    'SELECT v.*, m.name AS model_name FROM model_versions v JOIN models m USING (model_id) WHERE v.model_version_id = $1',
    [modelVersionId],
  );
  return rows[0];
}

export async function listVersions(q: Queryable, modelId: string) {
  const { rows } = await q.query<ModelVersionRecord>(
    'SELECT * FROM model_versions WHERE model_id = $1 ORDER BY version_seq',
    [modelId],
  );
  return rows;
}

export async function insertVersion(
  q: Queryable,
  v: {
    modelId: string;
    version: string | null;
    protocol: string;
    endpoint: unknown;
    promptTemplate: string | null;
    promptTemplateHash: string | null;
    params: unknown;
    paramsHash: string;
    pricing: unknown;
    createdBy: string;
  },
) {
  const { rows } = await q.query<ModelVersionRecord>(
    `WITH next AS (SELECT COALESCE(MAX(version_seq), 0) + 1 AS seq FROM model_versions WHERE model_id = $1)
     INSERT INTO model_versions (model_id, version, version_seq, protocol, endpoint, prompt_template,
     prompt_template_hash, params, params_hash, pricing, created_by)
     SELECT $1, COALESCE($2, next.seq::text), next.seq, $3, $4, $5, $6, $7, $8, $9, $10 FROM next
     RETURNING *`,
    [
      v.modelId,
      v.version,
      v.protocol,
      JSON.stringify(v.endpoint),
      v.promptTemplate,
      v.promptTemplateHash,
      JSON.stringify(v.params),
      v.paramsHash,
      JSON.stringify(v.pricing),
      v.createdBy,
    ],
  );
  return rows[0];
}

export async function listAliases(q: Queryable, modelId: string) {
  const { rows } = await q.query<{ alias: string; version: string; updated_at: Date }>(
    `SELECT a.alias, v.version, a.updated_at FROM model_aliases a JOIN model_versions v USING (model_version_id)
      WHERE a.model_id = $1 ORDER BY a.alias`,
    [modelId],
  );
  return rows;
}

export async function findAlias(q: Queryable, modelId: string, alias: string) {
  const { rows } = await q.query<{ model_version_id: string; updated_at: Date }>(
    'SELECT model_version_id, updated_at FROM model_aliases WHERE model_id = $1 AND alias = $2',
    [modelId, alias],
  );
  return rows[0];
}

/** Moves an alias and appends the move to its history in one statement pair (caller's transaction). */
export async function moveAlias(
  q: Queryable,
  a: {
    modelId: string;
    alias: string;
    modelVersionId: string;
    changedBy: string;
    gateCheckId?: string;
    /** The online experiment whose promotion moved it. */
    experimentId?: string;
  },
) {
  const { rows } = await q.query<{ model_version_id: string }>(
    'SELECT model_version_id FROM model_aliases WHERE model_id = $1 AND alias = $2 FOR UPDATE',
    [a.modelId, a.alias],
  );
  const previous = rows[0]?.model_version_id ?? null;
  await q.query(
    `INSERT INTO model_aliases (model_id, alias, model_version_id, updated_by) VALUES ($1, $2, $3, $4)
     ON CONFLICT (model_id, alias) DO UPDATE SET model_version_id = EXCLUDED.model_version_id, updated_by =
     EXCLUDED.updated_by, updated_at = now()`,
    [a.modelId, a.alias, a.modelVersionId, a.changedBy],
  );
  await q.query(
    `INSERT INTO model_alias_history (model_id, alias, model_version_id, previous_model_version_id, gate_check_id, changed_by,
       experiment_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [a.modelId, a.alias, a.modelVersionId, previous, a.gateCheckId ?? null, a.changedBy, a.experimentId ?? null],
  );
  return previous;
}

export async function aliasHistory(q: Queryable, modelId: string, alias: string) {
  const { rows } = await q.query<{
    version: string;
    previous: string | null;
    changed_at: Date;
    changed_by: string;
    gate_check_id: string | null;
    experiment_id: string | null;
  }>(
    `SELECT v.version, pv.version AS previous, h.changed_at, h.changed_by, h.gate_check_id, h.experiment_id
       FROM model_alias_history h JOIN model_versions v ON v.model_version_id = h.model_version_id
       LEFT JOIN model_versions pv ON pv.model_version_id = h.previous_model_version_id
      WHERE h.model_id = $1 AND h.alias = $2 ORDER BY h.history_id`,
    [modelId, alias],
  );
  return rows;
}

/** The gate check an alias move names: its status and the model version it checked. */
export async function findReleaseCheck(q: Queryable, checkId: string) {
  const { rows } = await q.query<{ status: string; candidate_model_version_id: string }>(
    'SELECT status, candidate_model_version_id FROM gate_checks WHERE check_id = $1',
    [checkId],
  );
  return rows[0];
}

/** Models in creation order, optionally of one team and with one name; keyset-paginated after the cursor's model. */
export async function listModels(
  q: Queryable,
  filter: { ownerTeam?: string; name?: string },
  afterId: string | null,
  limit: number,
) {
  const { rows } = await q.query<ModelRecord>(
    `SELECT * FROM models
      WHERE ($1::text IS NULL OR owner_team = $1) AND ($2::text IS NULL OR name = $2)
        AND ($3::uuid IS NULL OR (created_at, model_id) > (SELECT created_at, model_id FROM models WHERE model_id = $3))
      ORDER BY created_at, model_id
      LIMIT $4`,
    [filter.ownerTeam ?? null, filter.name ?? null, afterId, limit],
  );
  return rows;
}
