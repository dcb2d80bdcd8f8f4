import type { Queryable } from '../../common/db';
import type { TaskType } from '../../common/rows';

export interface DatasetRecord {
  dataset_id: string;
  name: string;
  task_type: TaskType;
  owner_team: string;
  description: string | null;
  created_at: Date;
}

export interface DatasetVersionRecord {
  dataset_version_id: string;
  dataset_id: string;
  version: number;
  content_hash: string;
  row_count: string;
  byte_count: string;
  label_policy: string;
  visibility: 'public' | 'internal' | 'restricted';
  allowed_teams: string[];
  classification: string;
  tag_counts: Record<string, number>;
  status: 'active' | 'deprecated';
  deprecated_reason: string | null;
  created_at: Date;
}

export interface ShardRecord {
  shard_index: number;
  object_key: string;
  row_count: number;
  first_row: string;
  byte_count: string;
  content_hash: string;
}

export async function insertDataset(
  q: Queryable,
  d: { name: string; taskType: TaskType; ownerTeam: string; description?: string; createdBy: string },
) {
  const { rows } = await q.query<DatasetRecord>(
    `INSERT INTO datasets (name, task_type, owner_team, description, created_by) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (owner_team, name) DO NOTHING RETURNING *`,
    [d.name, d.taskType, d.ownerTeam, d.description ?? null, d.createdBy],
  );
  return rows[0];
}

export async function findDatasetByName(q: Queryable, ownerTeam: string, name: string) {
  const { rows } = await q.query<DatasetRecord>('SELECT * FROM datasets WHERE owner_team = $1 AND name = $2', [
    ownerTeam,
    name,
  ]);
  return rows[0];
}

export async function findDataset(q: Queryable, datasetId: string, lock = false) {
  const { rows } = await q.query<DatasetRecord>(
    `SELECT * FROM datasets WHERE dataset_id = $1${lock ? ' FOR UPDATE' : ''}`,
    [datasetId],
  );
  return rows[0];
}

export async function listVersions(q: Queryable, datasetId: string) {
  const { rows } = await q.query<DatasetVersionRecord>(
    'SELECT * FROM dataset_versions WHERE dataset_id = $1 ORDER BY version',
    [datasetId],
  );
  return rows;
}

export async function findVersion(q: Queryable, datasetId: string, version: number) {
  const { rows } = await q.query<DatasetVersionRecord>(
    'SELECT * FROM dataset_versions WHERE dataset_id = $1 AND version = $2',
    [datasetId, version],
  );
  return rows[0];
}

export async function findLatestVersion(q: Queryable, datasetId: string) {
  const { rows } = await q.query<DatasetVersionRecord>(
    `SELECT * FROM dataset_versions WHERE dataset_id = $1 AND status = 'active' ORDER BY version DESC LIMIT 1`,
    [datasetId],
  );
  return rows[0];
}

export async function findVersionByHash(q: Queryable, datasetId: string, contentHash: string) {
  const { rows } = await q.query<DatasetVersionRecord>(
    'SELECT * FROM dataset_versions WHERE dataset_id = $1 AND content_hash = $2',
    [datasetId, contentHash],
  );
  return rows[0];
}

export async function insertVersion(
  q: Queryable,
  v: {
    datasetId: string;
    contentHash: string;
    rowCount: number;
    byteCount: number;
    labelPolicy: string;
    visibility: string;
    allowedTeams: string[];
    classification: string;
    tagCounts: Record<string, number>;
    createdBy: string;
  },
) {
  const { rows } = await q.query<DatasetVersionRecord>(
    `INSERT INTO dataset_versions (dataset_id, version, content_hash, row_count, byte_count, label_policy, visibility, allowed_teams,
                                   classification, tag_counts, created_by)
     SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM dataset_versions WHERE dataset_id = $1
     RETURNING *`,
    [
      v.datasetId,
      v.contentHash,
      v.rowCount,
      v.byteCount,
      v.labelPolicy,
      v.visibility,
      v.allowedTeams,
      v.classification,
      JSON.stringify(v.tagCounts),
      v.createdBy,
    ],
  );
  return rows[0];
}

export async function insertShards(
  q: Queryable,
  datasetVersionId: string,
  shards: { objectKey: string; rowCount: number; firstRow: number; byteCount: number; contentHash: string }[],
) {
  await q.query(
    `INSERT INTO dataset_shards (dataset_version_id, shard_index, object_key, row_count, first_row, byte_count, content_hash)
     SELECT $1, i - 1, k, c, f, b, h
       FROM unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::text[]) WITH ORDINALITY AS x(k, c, f, b, h, i)`,
    [
      datasetVersionId,
      shards.map((s) => s.objectKey),
      shards.map((s) => s.rowCount),
      shards.map((s) => s.firstRow),
      shards.map((s) => s.byteCount),
      shards.map((s) => s.contentHash),
    ],
  );
}

export async function listShards(q: Queryable, datasetVersionId: string) {
  const { rows } = await q.query<ShardRecord>(
    'SELECT * FROM dataset_shards WHERE dataset_version_id = $1 ORDER BY shard_index',
    [datasetVersionId],
  );
  return rows;
}

/** The version's status, locked for the transaction (deprecation and reinstatement). */
export async function lockVersionStatus(q: Queryable, datasetVersionId: string) {
  const { rows } = await q.query<{ status: string; deprecated_reason: string | null }>(
    'SELECT status, deprecated_reason FROM dataset_versions WHERE dataset_version_id = $1 FOR UPDATE',
    [datasetVersionId],
  );
  return rows[0];
}

export async function deprecateVersion(
  q: Queryable,
  datasetVersionId: string,
  reason: string,
  deprecatedBy: string,
): Promise<void> {
  await q.query(
    `UPDATE dataset_versions SET status = 'deprecated', deprecated_reason = $2, deprecated_at = now(), deprecated_by = $3
      WHERE dataset_version_id = $1`,
    [datasetVersionId, reason, deprecatedBy],
  );
}

export async function reinstateVersion(q: Queryable, datasetVersionId: string): Promise<void> {
  await q.query(
    `UPDATE dataset_versions SET status = 'active', deprecated_reason = NULL, deprecated_at = NULL, deprecated_by = NULL
      WHERE dataset_version_id = $1`,
    [datasetVersionId],
  );
}

/**
 * Deprecates an active version for a contamination incident, keeping an earlier deprecation's
 * time and author, unless a reinstatement of the version came after the incident.
 */
export async function deprecateVersionForIncident(
  q: Queryable,
  incident: { dataset_version_id: string | null; note: string; created_by: string; created_at: Date },
): Promise<void> {
  await q.query(
    `UPDATE dataset_versions SET status = 'deprecated', deprecated_reason = $2, deprecated_at = COALESCE(deprecated_at, now()),
            deprecated_by = COALESCE(deprecated_by, $3)
      WHERE dataset_version_id = $1 AND status = 'active'
        AND NOT EXISTS (SELECT 1 FROM metric_incidents
                         WHERE kind = 'dataset_reinstatement' AND dataset_version_id = $1 AND created_at > $4)`,
    [incident.dataset_version_id, incident.note, incident.created_by, incident.created_at],
  );
}

export async function versionStatus(q: Queryable, datasetVersionId: string | null): Promise<string> {
  const { rows } = await q.query<{ status: string }>(
    'SELECT status FROM dataset_versions WHERE dataset_version_id = $1',
    [datasetVersionId],
  );
  return rows[0].status;
}

/** The dataset's name and the version's number. */
export async function versionName(q: Queryable, datasetVersionId: string): Promise<{ name: string; version: number }> {
  const { rows } = await q.query<{ name: string; version: number }>(
    'SELECT d.name, dv.version FROM dataset_versions dv JOIN datasets d USING (dataset_id) WHERE dv.dataset_version_id = $1',
    [datasetVersionId],
  );
  return rows[0];
}

/**
 * Datasets in creation order, optionally of one team and with one name; keyset-paginated
 * after the dataset whose id is the cursor (exact: no timestamp rounding in the cursor).
 */
export async function listDatasets(
  q: Queryable,
  filter: { ownerTeam?: string; name?: string },
  afterId: string | null,
  limit: number,
) {
  const { rows } = await q.query<DatasetRecord>(
    `SELECT * FROM datasets
      WHERE ($1::text IS NULL OR owner_team = $1) AND ($2::text IS NULL OR name = $2)
        AND ($3::uuid IS NULL OR (created_at, dataset_id) > (SELECT created_at, dataset_id FROM datasets WHERE dataset_id = $3))
      ORDER BY created_at, dataset_id
      LIMIT $4`,
    [filter.ownerTeam ?? null, filter.name ?? null, afterId, limit],
  );
  return rows;
}
