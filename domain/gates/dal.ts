import type { Queryable } from '../../common/db';
import type { GateRecord, GateVersionRecord } from './store';

export type { GateRecord, GateVersionRecord };

export async function insertGate(q: Queryable, g: { name: string; ownerTeam: string; createdBy: string }) {
  const { rows } = await q.query<GateRecord>(
    'INSERT INTO gates (name, owner_team, created_by) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING *',
    [g.name, g.ownerTeam, g.createdBy],
  );
  return rows[0];
}

export async function findGate(q: Queryable, gateId: string, lock = false) {
  const { rows } = await q.query<GateRecord>(`SELECT * FROM gates WHERE gate_id = $1${lock ? ' FOR UPDATE' : ''}`, [
    gateId,
  ]);
  return rows[0];
}

export async function findGateByName(q: Queryable, name: string, lock = false) {
  const { rows } = await q.query<GateRecord>(`SELECT * FROM gates WHERE name = $1${lock ? ' FOR UPDATE' : ''}`, [name]);
  return rows[0];
}

export async function listGates(q: Queryable, after: { createdAt: string; gateId: string } | null, limit: number) {
  const { rows } = await q.query<GateRecord>(
    `SELECT * FROM gates WHERE ($1::timestamptz IS NULL OR (created_at, gate_id) > ($1::timestamptz, $2::uuid))
      ORDER BY created_at, gate_id LIMIT $3`,
    [after?.createdAt ?? null, after?.gateId ?? null, limit],
  );
  return rows;
}

export async function latestVersion(q: Queryable, gateId: string) {
  const { rows } = await q.query<GateVersionRecord>(
    'SELECT * FROM gate_versions WHERE gate_id = $1 ORDER BY version DESC LIMIT 1',
    [gateId],
  );
  return rows[0];
}

export async function listVersions(q: Queryable, gateId: string) {
  const { rows } = await q.query<GateVersionRecord>('SELECT * FROM gate_versions WHERE gate_id = $1 ORDER BY version', [
    gateId,
  ]);
  return rows;
}

export async function insertVersion(
  q: Queryable,
  v: {
    gateId: string;
    suiteId: string;
    datasetIds: string[];
    baselineAlias: string;
    rules: unknown;
    requiredApprovals: number;
    overrideTtlSeconds: number;
    baselineRuns: string;
    description: string | null;
    contentHash: string;
    createdBy: string;
  },
) {
  const { rows } = await q.query<GateVersionRecord>(
    `INSERT INTO gate_versions (gate_id, version, metric_suite_id, dataset_ids, baseline_alias, rules, required_approvals, override_ttl_hours,
                                override_ttl_seconds, baseline_runs, description, content_hash, created_by)
     SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3::uuid[], $4, $5, $6, CEIL($7 / 3600.0)::int, $7, $8, $9, $10, $11
       FROM gate_versions WHERE gate_id = $1
     RETURNING *`,
    [
      v.gateId,
      v.suiteId,
      v.datasetIds,
      v.baselineAlias,
      JSON.stringify(v.rules),
      v.requiredApprovals,
      v.overrideTtlSeconds,
      v.baselineRuns,
      v.description,
      v.contentHash,
      v.createdBy,
    ],
  );
  return rows[0];
}
