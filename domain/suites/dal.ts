import type { Queryable } from '../../common/db';
import type { JudgeDef, MetricDef } from './schemas';

export interface SuiteRecord {
  metric_suite_id: string;
  name: string;
  purpose: 'exploratory' | 'release_blocking';
  owner_team: string;
  created_at: Date;
}
export interface SuiteVersionRecord {
  metric_suite_version_id: string;
  metric_suite_id: string;
  version: number;
  metrics: MetricDef[];
  judge: (JudgeDef & { modelVersionId: string; promptHash: string }) | null;
  judge_fingerprint: string | null;
  budget_max_cost_usd: string | null;
  budget_max_calls: string | null;
  require_human_labels: boolean;
  content_hash: string;
  created_at: Date;
}

export async function insertSuite(
  q: Queryable,
  s: { name: string; purpose: string; ownerTeam: string; createdBy: string },
) {
  const { rows } = await q.query<SuiteRecord>(
    `INSERT INTO metric_suites (name, purpose, owner_team, created_by) VALUES ($1, $2, $3, $4)
     ON CONFLICT (owner_team, name) DO NOTHING RETURNING *`,
    [s.name, s.purpose, s.ownerTeam, s.createdBy],
  );
  return rows[0];
}

export async function findSuiteByName(q: Queryable, ownerTeam: string, name: string) {
  const { rows } = await q.query<SuiteRecord>('SELECT * FROM metric_suites WHERE owner_team = $1 AND name = $2', [
    ownerTeam,
    name,
  ]);
  return rows[0];
}

export async function findSuite(q: Queryable, suiteId: string, lock = false) {
  const { rows } = await q.query<SuiteRecord>(
    `SELECT * FROM metric_suites WHERE metric_suite_id = $1${lock ? ' FOR UPDATE' : ''}`,
    [suiteId],
  );
  return rows[0];
}

export async function listVersions(q: Queryable, suiteId: string) {
  const { rows } = await q.query<SuiteVersionRecord>(
    'SELECT * FROM metric_suite_versions WHERE metric_suite_id = $1 ORDER BY version',
    [suiteId],
  );
  return rows;
}

export async function findVersion(q: Queryable, suiteId: string, version?: number) {
  const { rows } =
    version === undefined
      ? await q.query<SuiteVersionRecord>(
          'SELECT * FROM metric_suite_versions WHERE metric_suite_id = $1 ORDER BY version DESC LIMIT 1',
          [suiteId],
        )
      : await q.query<SuiteVersionRecord>(
          'SELECT * FROM metric_suite_versions WHERE metric_suite_id = $1 AND version = $2',
          [suiteId, version],
        );
  return rows[0];
}

export async function findVersionById(q: Queryable, suiteVersionId: string) {
  const { rows } = await q.query<SuiteVersionRecord>(
    'SELECT * FROM metric_suite_versions WHERE metric_suite_version_id = $1',
    [suiteVersionId],
  );
  return rows[0];
}

export async function insertVersion(
  q: Queryable,
  v: {
    suiteId: string;
    metrics: MetricDef[];
    judge: unknown;
    judgeFingerprint: string | null;
    maxCostUsd: number | null;
    maxCalls: number | null;
    requireHumanLabels: boolean;
    contentHash: string;
    createdBy: string;
  },
) {
  const { rows } = await q.query<SuiteVersionRecord>(
    `INSERT INTO metric_suite_versions (metric_suite_id, version, metrics, judge, judge_fingerprint,
    budget_max_cost_usd, budget_max_calls, require_human_labels, content_hash, created_by)
     SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9 FROM metric_suite_versions WHERE metric_suite_id = $1
     RETURNING *`,
    [
      v.suiteId,
      JSON.stringify(v.metrics),
      v.judge === null ? null : JSON.stringify(v.judge),
      v.judgeFingerprint,
      v.maxCostUsd,
      v.maxCalls,
      v.requireHumanLabels,
      v.contentHash,
      v.createdBy,
    ],
  );
  return rows[0];
}

/** Metric suites in creation order, optionally of one team and with one name; keyset-paginated after the cursor's suite. */
export async function listSuites(
  q: Queryable,
  filter: { ownerTeam?: string; name?: string },
  afterId: string | null,
  limit: number,
) {
  const { rows } = await q.query<SuiteRecord>(
    `SELECT * FROM metric_suites
      WHERE ($1::text IS NULL OR owner_team = $1) AND ($2::text IS NULL OR name = $2)
        AND ($3::uuid IS NULL
             OR (created_at, metric_suite_id) > (SELECT created_at, metric_suite_id FROM metric_suites WHERE metric_suite_id = $3))
      ORDER BY created_at, metric_suite_id
      LIMIT $4`,
    [filter.ownerTeam ?? null, filter.name ?? null, afterId, limit],
  );
  return rows;
}
