/**
 * Data access of online experiments: the experiment row (plan, state, decision, history), the
 * per-unit rows and per-arm aggregates events update, and the event ids that make ingestion
 * idempotent. Every function takes a Queryable: the pool or a transaction's client.
 */
import type { Queryable } from '../../common/db';
import type { ExperimentPlan } from './decide';
import type { ArmAggregate } from './statistics';

export type ExperimentStatus = 'running' | 'paused' | 'promoted' | 'rolled_back' | 'aborted';

export interface ExperimentRecord {
  experiment_id: string;
  name: string;
  owner_team: string;
  model_id: string;
  candidate_model_version_id: string;
  baseline_alias: string;
  baseline_model_version_id: string;
  gate_check_id: string;
  plan: ExperimentPlan;
  status: ExperimentStatus;
  step: number;
  percent: number;
  decision: Record<string, unknown> | null;
  history: Record<string, unknown>[];
  workflow_id: string;
  idempotency_key: string;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

/** The experiment with its model versions named `<model>@<version>`. */
export interface ExperimentView extends ExperimentRecord {
  candidate: string;
  baseline: string;
}

const VIEW = `SELECT e.*, m.name || '@' || cv.version AS candidate, m.name || '@' || bv.version AS baseline
  FROM experiments e JOIN models m USING (model_id)
  JOIN model_versions cv ON cv.model_version_id = e.candidate_model_version_id
  JOIN model_versions bv ON bv.model_version_id = e.baseline_model_version_id`;

export async function insertExperiment(
  q: Queryable,
  e: Pick<
    ExperimentRecord,
    | 'experiment_id'
    | 'name'
    | 'owner_team'
    | 'model_id'
    | 'candidate_model_version_id'
    | 'baseline_alias'
    | 'baseline_model_version_id'
    | 'gate_check_id'
    | 'plan'
    | 'workflow_id'
    | 'idempotency_key'
    | 'created_by'
  >,
): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO experiments (experiment_id, name, owner_team, model_id, candidate_model_version_id, baseline_alias,
       baseline_model_version_id, gate_check_id, plan, workflow_id, idempotency_key, created_by, history)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
       jsonb_build_array(jsonb_build_object('at', now(), 'event', 'created', 'step', 0, 'percent', 0)))
     ON CONFLICT (owner_team, idempotency_key) DO NOTHING`,
    [
      e.experiment_id,
      e.name,
      e.owner_team,
      e.model_id,
      e.candidate_model_version_id,
      e.baseline_alias,
      e.baseline_model_version_id,
      e.gate_check_id,
      JSON.stringify(e.plan),
      e.workflow_id,
      e.idempotency_key,
      e.created_by,
    ],
  );
  return rowCount === 1;
}

export async function findExperiment(
  q: Queryable,
  experimentId: string,
  lock = false,
): Promise<ExperimentView | undefined> {
  const { rows } = await q.query<ExperimentView>(
    `${VIEW} WHERE e.experiment_id = $1${lock ? ' FOR UPDATE OF e' : ''}`,
    [experimentId],
  );
  return rows[0];
}

export async function findExperimentByKey(q: Queryable, ownerTeam: string, key: string) {
  const { rows } = await q.query<ExperimentView>(`${VIEW} WHERE e.owner_team = $1 AND e.idempotency_key = $2`, [
    ownerTeam,
    key,
  ]);
  return rows[0];
}

/** Experiments started from any of these gate checks (newest first). */
export async function experimentsOfChecks(q: Queryable, checkIds: string[]) {
  const { rows } = await q.query<ExperimentView>(
    `${VIEW} WHERE e.gate_check_id = ANY($1::uuid[]) ORDER BY e.created_at DESC`,
    [checkIds],
  );
  return rows;
}

/** Experiments of a gate's checks, whichever version of the gate. */
export async function experimentsOfGate(q: Queryable, gateId: string) {
  const { rows } = await q.query<ExperimentView>(
    `${VIEW} JOIN gate_checks c ON c.check_id = e.gate_check_id JOIN gate_versions gv USING (gate_version_id)
      WHERE gv.gate_id = $1 ORDER BY e.created_at DESC`,
    [gateId],
  );
  return rows;
}

/**
 * Changes the experiment's state if it is still where the caller saw it (`from`: status and step),
 * appending one history entry. Returns false when it had moved on (another attempt or a signal won).
 */
export async function transition(
  q: Queryable,
  experimentId: string,
  from: { statuses: ExperimentStatus[]; step?: number },
  to: { status: ExperimentStatus; step: number; percent: number; decision?: Record<string, unknown> },
  entry: Record<string, unknown>,
): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE experiments SET status = $3, step = $4, percent = $5, decision = COALESCE($6::jsonb, decision),
            history = history || jsonb_build_array($7::jsonb || jsonb_build_object('at', now())), updated_at = now()
      WHERE experiment_id = $1 AND status = ANY($2::text[]) AND ($8::int IS NULL OR step = $8)`,
    [
      experimentId,
      from.statuses,
      to.status,
      to.step,
      to.percent,
      to.decision ? JSON.stringify(to.decision) : null,
      JSON.stringify(entry),
      from.step ?? null,
    ],
  );
  return rowCount === 1;
}

/** The two arms of one step (zeros for an arm without exposed units yet). */
export async function readArms(
  q: Queryable,
  experimentId: string,
  step: number,
  guardrails: number,
): Promise<{ control: ArmAggregate; treatment: ArmAggregate }> {
  const { rows } = await q.query<{ variant: number; units: string; sums: number[]; sumsqs: number[] }>(
    'SELECT variant, units, sums, sumsqs FROM experiment_arms WHERE experiment_id = $1 AND step = $2',
    [experimentId, step],
  );
  const empty = (): ArmAggregate => ({
    units: 0,
    sums: new Array<number>(guardrails).fill(0),
    sumsqs: new Array<number>(guardrails).fill(0),
  });
  const arm = (variant: number) => {
    const row = rows.find((r) => r.variant === variant);
    return row ? { units: Number(row.units), sums: row.sums, sumsqs: row.sumsqs } : empty();
  };
  return { control: arm(0), treatment: arm(1) };
}

/** Keeps the event ids not seen before (the rest were counted already). */
export async function claimEventIds(q: Queryable, experimentId: string, eventIds: string[]): Promise<Set<string>> {
  if (!eventIds.length) return new Set();
  const { rows } = await q.query<{ event_id: string }>(
    `INSERT INTO experiment_event_ids (experiment_id, event_id) SELECT $1, unnest($2::text[])
     ON CONFLICT DO NOTHING RETURNING event_id`,
    [experimentId, eventIds],
  );
  return new Set(rows.map((r) => r.event_id));
}

export interface UnitRow {
  unit: string;
  variant: number;
  exposed: boolean;
  vals: number[];
}

/**
 * Ensures a row per unit (new units with their variant) and locks them all, in unit order so
 * concurrent batches wait rather than deadlock. Returns the rows as they are before this batch.
 */
export async function lockUnits(
  q: Queryable,
  experimentId: string,
  step: number,
  units: { unit: string; variant: number }[],
  guardrails: number,
): Promise<UnitRow[]> {
  // One statement: new units are inserted, existing ones locked by a no-op update, and RETURNING gives every row as it was.
  const { rows } = await q.query<UnitRow>(
    `INSERT INTO experiment_units AS u (experiment_id, step, unit, variant, vals)
     SELECT $1, $2, x.unit, x.variant, array_fill(0::float8, ARRAY[$5::int])
       FROM unnest($3::text[], $4::smallint[]) AS x(unit, variant) ORDER BY x.unit
     ON CONFLICT (experiment_id, step, unit) DO UPDATE SET exposed = u.exposed
     RETURNING unit, variant, exposed, vals`,
    [experimentId, step, units.map((u) => u.unit), units.map((u) => u.variant), guardrails],
  );
  return rows;
}

export async function updateUnits(q: Queryable, experimentId: string, step: number, rows: UnitRow[]) {
  if (!rows.length) return;
  await q.query(
    `UPDATE experiment_units u SET exposed = x.exposed, vals = x.vals::float8[]
       FROM unnest($3::text[], $4::bool[], $5::text[]) AS x(unit, exposed, vals)
      WHERE u.experiment_id = $1 AND u.step = $2 AND u.unit = x.unit`,
    [experimentId, step, rows.map((r) => r.unit), rows.map((r) => r.exposed), rows.map((r) => `{${r.vals.join(',')}}`)],
  );
}

/** Adds a batch's change to one arm's aggregate (element-wise over guardrails). */
export async function addToArm(q: Queryable, experimentId: string, step: number, variant: number, delta: ArmAggregate) {
  await q.query(
    `INSERT INTO experiment_arms AS a (experiment_id, step, variant, units, sums, sumsqs)
     VALUES ($1, $2, $3, $4, $5::float8[], $6::float8[])
     ON CONFLICT (experiment_id, step, variant) DO UPDATE SET
       units = a.units + EXCLUDED.units,
       sums = ARRAY(SELECT x + y FROM unnest(a.sums, EXCLUDED.sums) AS t(x, y)),
       sumsqs = ARRAY(SELECT x + y FROM unnest(a.sumsqs, EXCLUDED.sumsqs) AS t(x, y))`,
    [experimentId, step, variant, delta.units, delta.sums, delta.sumsqs],
  );
}

/** Counts of experiments by status (the /metrics gauge). */
export async function countByStatus(q: Queryable) {
  const { rows } = await q.query<{ status: string; n: string }>(
    'SELECT status, count(*) AS n FROM experiments GROUP BY status',
  );
  return rows.map((r) => ({ status: r.status, n: Number(r.n) }));
}

/** Rollbacks decided in the last hour, by reason (the /metrics gauge the rollback alert reads). */
export async function rollbacksLastHour(q: Queryable) {
  const { rows } = await q.query<{ reason: string; n: string }>(
    `SELECT COALESCE(decision->>'reason', 'unknown') AS reason, count(*) AS n FROM experiments
      WHERE status = 'rolled_back' AND updated_at > now() - interval '1 hour' GROUP BY 1`,
  );
  return rows.map((r) => ({ reason: r.reason, n: Number(r.n) }));
}
