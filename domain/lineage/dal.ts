/**
 * Data access of lineage. The lineage graph's queries each follow recorded foreign keys or
 * recorded versions one hop, for a batch of ids at once, through an index (see 002 and 030).
 * Below them, the questions the incident workflows and the lineage API both ask, answered
 * from the records themselves: the versions a run recorded (eval_runs.metric_impl_versions,
 * GIN-indexed), the results it produced (metric_results by metric and version) and the
 * results and runs each gate decision recorded (GIN-indexed arrays); then the facts behind
 * stale baselines (staleness.ts holds the rules) and the incident gauges.
 */
import type { Queryable } from '../../common/db';

export interface RunRow {
  run_id: string;
  status: string;
  mode: string;
  created_at: Date;
  invalid_reason: string | null;
  model_version_id: string;
  model_version: string;
  dataset_version_id: string;
  dataset_id: string;
  dataset_name: string;
  dataset_version: number;
  dataset_status: string;
  visibility: 'public' | 'internal' | 'restricted';
  allowed_teams: string[];
  owner_team: string;
  metric_suite_version_id: string;
  suite_id: string;
  suite_name: string;
  suite_version: number;
  judge_fingerprint: string | null;
  metric_impl_versions: Record<string, string>;
}

const RUN_COLUMNS = `r.run_id, r.status, r.mode, r.created_at, r.invalid_reason, r.model_version_id, r.dataset_version_id,
  r.metric_suite_version_id, r.judge_fingerprint, r.metric_impl_versions`;

export type RunSelector =
  | { by: 'dataset_version' | 'metric_suite_version' | 'model_version' | 'judge' | 'run'; ids: string[] }
  | { by: 'metric_impl'; metric: string; version: string };

const RUN_FILTER: Record<Exclude<RunSelector['by'], 'metric_impl'>, string> = {
  dataset_version: 'r.dataset_version_id = ANY($1::uuid[])',
  metric_suite_version: 'r.metric_suite_version_id = ANY($1::uuid[])',
  model_version: 'r.model_version_id = ANY($1::uuid[])',
  judge: 'r.judge_fingerprint = ANY($1::text[])',
  run: 'r.run_id = ANY($1::uuid[])',
};

type CoreRun = Pick<
  RunRow,
  | 'run_id'
  | 'status'
  | 'mode'
  | 'created_at'
  | 'invalid_reason'
  | 'model_version_id'
  | 'dataset_version_id'
  | 'metric_suite_version_id'
  | 'judge_fingerprint'
  | 'metric_impl_versions'
>;

/**
 * Runs by what they used, newest first. For a metric implementation: the version a run
 * recorded, or one a result of it was (re)computed with. The runs come from one indexed
 * query on eval_runs alone; the names of the few distinct inputs they share are joined in
 * afterwards, which keeps the planning of the hot query small.
 */
export async function runs(q: Queryable, selector: RunSelector, limit: number): Promise<RunRow[]> {
  let core: CoreRun[];
  if (selector.by === 'metric_impl') {
    const predicate = implVersionPredicate('r.metric_impl_versions', selector.metric, [selector.version], 4);
    core = (
      await q.query<CoreRun>(
        `WITH used AS (SELECT run_id FROM eval_runs r WHERE ${predicate.sql}
                     UNION SELECT run_id FROM metric_results WHERE metric_id = $1 AND impl_version = $2)
       SELECT ${RUN_COLUMNS} FROM used JOIN eval_runs r USING (run_id) ORDER BY r.created_at DESC, r.run_id LIMIT $3`,
        [selector.metric, selector.version, limit, ...predicate.params],
      )
    ).rows;
  } else {
    core = (
      await q.query<CoreRun>(
        `SELECT ${RUN_COLUMNS} FROM eval_runs r WHERE ${RUN_FILTER[selector.by]} ORDER BY r.created_at DESC, r.run_id LIMIT $2`,
        [selector.ids, limit],
      )
    ).rows;
  }
  return withRunLabels(q, core);
}

async function withRunLabels(q: Queryable, core: CoreRun[]): Promise<RunRow[]> {
  if (!core.length) return [];
  const distinct = (key: keyof CoreRun) => [...new Set(core.map((r) => r[key] as string))];
  const [datasets, models, suites] = await Promise.all([
    q.query<Record<string, any>>(
      `SELECT dv.dataset_version_id, d.dataset_id, d.name AS dataset_name, dv.version AS dataset_version, dv.status AS dataset_status,
              dv.visibility, dv.allowed_teams, d.owner_team
         FROM dataset_versions dv JOIN datasets d USING (dataset_id) WHERE dv.dataset_version_id = ANY($1::uuid[])`,
      [distinct('dataset_version_id')],
    ),
    q.query<Record<string, any>>(
      `SELECT mv.model_version_id, m.name || '@' || mv.version AS model_version FROM model_versions mv JOIN models m USING (model_id)
        WHERE mv.model_version_id = ANY($1::uuid[])`,
      [distinct('model_version_id')],
    ),
    q.query<Record<string, any>>(
      `SELECT sv.metric_suite_version_id, s.metric_suite_id AS suite_id, s.name AS suite_name, sv.version AS suite_version
         FROM metric_suite_versions sv JOIN metric_suites s USING (metric_suite_id) WHERE sv.metric_suite_version_id = ANY($1::uuid[])`,
      [distinct('metric_suite_version_id')],
    ),
  ]);
  const byId = (rows: Record<string, any>[], key: string) => new Map(rows.map((r) => [r[key] as string, r]));
  const dvs = byId(datasets.rows, 'dataset_version_id');
  const mvs = byId(models.rows, 'model_version_id');
  const svs = byId(suites.rows, 'metric_suite_version_id');
  return core.map(
    (r) =>
      ({
        ...r,
        ...dvs.get(r.dataset_version_id),
        ...mvs.get(r.model_version_id),
        ...svs.get(r.metric_suite_version_id),
      }) as RunRow,
  );
}

export interface ResultRow {
  result_id: string;
  run_id: string;
  metric_name: string;
  metric_id: string;
  impl_version: string;
  value: number | null;
  superseded_by: string | null;
  superseded_at: Date | null;
  incident_id: string | null;
}

/** Results of runs, every computation (current and superseded); optionally only one metric's. */
export async function results(q: Queryable, runIds: string[], metricId?: string): Promise<ResultRow[]> {
  if (!runIds.length) return [];
  const { rows } = await q.query<ResultRow>(
    `SELECT result_id::text, run_id, metric_name, metric_id, impl_version, value, superseded_by::text, superseded_at, incident_id
       FROM metric_results WHERE run_id = ANY($1::uuid[]) AND ($2::text IS NULL OR metric_id = $2) ORDER BY run_id, metric_name, result_id`,
    [runIds, metricId ?? null],
  );
  return rows;
}

export async function resultsById(q: Queryable, resultIds: string[]): Promise<ResultRow[]> {
  if (!resultIds.length) return [];
  const { rows } = await q.query<ResultRow>(
    `SELECT result_id::text, run_id, metric_name, metric_id, impl_version, value, superseded_by::text, superseded_at, incident_id
       FROM metric_results WHERE result_id = ANY($1::bigint[]) ORDER BY result_id`,
    [resultIds],
  );
  return rows;
}

export interface DecisionRow {
  decision_id: string;
  check_id: string;
  status: string;
  cause: string;
  incident_id: string | null;
  decided_at: Date;
  result_ids: string[];
  run_ids: string[];
}

const DECISION_COLUMNS =
  'decision_id::text, check_id, status, cause, incident_id, decided_at, result_ids::text[] AS result_ids, run_ids::text[] AS run_ids';

/** Decisions that used any of the results, or any of the runs when they recorded no results. */
export async function decisionsUsing(q: Queryable, resultIds: string[], runIds: string[]): Promise<DecisionRow[]> {
  if (!resultIds.length && !runIds.length) return [];
  const { rows } = await q.query<DecisionRow>(
    `SELECT ${DECISION_COLUMNS} FROM gate_decisions
      WHERE result_ids && $1::bigint[] OR (run_ids && $2::uuid[] AND cardinality(result_ids) = 0) ORDER BY decision_id`,
    [resultIds, runIds],
  );
  return rows;
}

export async function decisionsOfChecks(q: Queryable, checkIds: string[]): Promise<DecisionRow[]> {
  if (!checkIds.length) return [];
  const { rows } = await q.query<DecisionRow>(
    `SELECT ${DECISION_COLUMNS} FROM gate_decisions WHERE check_id = ANY($1::uuid[]) ORDER BY decision_id`,
    [checkIds],
  );
  return rows;
}

export interface CheckRow {
  check_id: string;
  status: string;
  gate_id: string;
  gate_name: string;
  gate_version: number;
  candidate_model_version_id: string;
  candidate: string;
  created_at: Date;
}

export async function checks(
  q: Queryable,
  by: { checkIds?: string[]; candidateModelVersionIds?: string[] },
): Promise<CheckRow[]> {
  const { rows } = await q.query<CheckRow>(
    `SELECT c.check_id, c.status, g.gate_id, g.name AS gate_name, gv.version AS gate_version, c.candidate_model_version_id,
            m.name || '@' || mv.version AS candidate, c.created_at
       FROM gate_checks c JOIN gate_versions gv USING (gate_version_id) JOIN gates g ON g.gate_id = gv.gate_id
       JOIN model_versions mv ON mv.model_version_id = c.candidate_model_version_id JOIN models m ON m.model_id = mv.model_id
      WHERE c.check_id = ANY($1::uuid[]) OR c.candidate_model_version_id = ANY($2::uuid[]) ORDER BY c.created_at, c.check_id`,
    [by.checkIds ?? [], by.candidateModelVersionIds ?? []],
  );
  return rows;
}

export interface AliasMoveRow {
  history_id: string;
  gate_check_id: string | null;
  model: string;
  alias: string;
  model_version_id: string;
  model_version: string;
  changed_at: Date;
  /** The online experiment whose promotion made the move, if one did. */
  experiment_id: string | null;
}

/** Alias moves made on the strength of gate checks, or to given model versions. */
export async function aliasMoves(
  q: Queryable,
  by: { checkIds?: string[]; modelVersionIds?: string[] },
): Promise<AliasMoveRow[]> {
  const { rows } = await q.query<AliasMoveRow>(
    `SELECT h.history_id::text, h.gate_check_id, m.name AS model, h.alias, h.model_version_id,
            m.name || '@' || v.version AS model_version, h.changed_at, h.experiment_id
       FROM model_alias_history h JOIN models m USING (model_id) JOIN model_versions v ON v.model_version_id = h.model_version_id
      WHERE h.gate_check_id = ANY($1::uuid[]) OR h.model_version_id = ANY($2::uuid[]) ORDER BY h.history_id`,
    [by.checkIds ?? [], by.modelVersionIds ?? []],
  );
  return rows;
}

export interface IncidentRow {
  incident_id: string;
  kind: string;
  status: string;
  note: string;
}

export async function incidents(q: Queryable, incidentIds: string[]): Promise<IncidentRow[]> {
  if (!incidentIds.length) return [];
  const { rows } = await q.query<IncidentRow>(
    'SELECT incident_id, kind, status, note FROM metric_incidents WHERE incident_id = ANY($1::uuid[])',
    [incidentIds],
  );
  return rows;
}

/** Resolves the root's id forms to the record's primary key (or null when there is no such record). */
export async function resolveRoot(q: Queryable, kind: string, id: string): Promise<Record<string, any> | null> {
  const at = id.lastIndexOf('@');
  const [head, tail] = at > 0 ? [id.slice(0, at), id.slice(at + 1)] : [id, ''];
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const one = async (sql: string, params: unknown[]) => (await q.query(sql, params)).rows[0] ?? null;
  switch (kind) {
    case 'dataset_version':
      if (uuid.test(id))
        return one(
          'SELECT dv.*, d.owner_team, d.name FROM dataset_versions dv JOIN datasets d USING (dataset_id) WHERE dv.dataset_version_id = $1',
          [id],
        );
      if (uuid.test(head) && /^\d{1,9}$/.test(tail))
        return one(
          'SELECT dv.*, d.owner_team, d.name FROM dataset_versions dv JOIN datasets d USING (dataset_id) WHERE ' +
            'dv.dataset_id = $1 AND dv.version = $2',
          [head, Number(tail)],
        );
      return null;
    case 'metric_suite_version':
      if (uuid.test(id))
        return one(
          'SELECT sv.*, s.name FROM metric_suite_versions sv JOIN metric_suites s USING (metric_suite_id) WHERE ' +
            'sv.metric_suite_version_id = $1',
          [id],
        );
      if (uuid.test(head) && /^\d{1,9}$/.test(tail))
        return one(
          'SELECT sv.*, s.name FROM metric_suite_versions sv JOIN metric_suites s USING (metric_suite_id) WHERE ' +
            'sv.metric_suite_id = $1 AND sv.version = $2',
          [head, Number(tail)],
        );
      return null;
    case 'model_version':
      if (uuid.test(id))
        return one(
          `SELECT mv.*, m.name || '@' || mv.version AS label FROM model_versions mv JOIN models m USING (model_id)
                  WHERE mv.model_version_id = $1`,
          [id],
        );
      if (tail)
        return one(
          `SELECT mv.*, m.name || '@' || mv.version AS label FROM model_versions mv JOIN models m USING (model_id)
                  WHERE m.name = $1 AND mv.version = $2`,
          [head, tail],
        );
      return null;
    case 'eval_run':
      return uuid.test(id) ? one('SELECT run_id FROM eval_runs WHERE run_id = $1', [id]) : null;
    case 'gate_check':
      return uuid.test(id) ? one('SELECT check_id FROM gate_checks WHERE check_id = $1', [id]) : null;
    case 'judge':
      return /^[0-9a-f]{8,64}$/.test(id)
        ? one('SELECT judge_fingerprint, judge FROM metric_suite_versions WHERE judge_fingerprint = $1 LIMIT 1', [id])
        : null;
    case 'metric_impl':
      return head && tail ? { metric: head, version: tail } : null;
    default:
      return null;
  }
}

/**
 * `metric_impl_versions @> {metric: version}` for each version, OR-ed so the planner
 * answers each from the GIN index (a GIN index cannot serve `@> ANY(array)`).
 */
export function implVersionPredicate(
  column: string,
  metric: string,
  versions: string[],
  firstParam: number,
): { sql: string; params: string[] } {
  const params = versions.map((v) => JSON.stringify({ [metric]: v }));
  const sql = params.map((_, i) => `${column} @> $${firstParam + i}::jsonb`).join(' OR ');
  return { sql: `(${sql || 'false'})`, params };
}

export interface RunUsingImpl {
  run_id: string;
  status: string;
  mode: string;
}

/** Every run that recorded using `metric` at one of `versions`, or holds a result computed with one. */
export async function runsUsingMetricImpl(
  q: Queryable,
  metric: string,
  versions: string[],
  limit = 100_000,
): Promise<RunUsingImpl[]> {
  const predicate = implVersionPredicate('metric_impl_versions', metric, versions, 4);
  const { rows } = await q.query<RunUsingImpl>(
    `SELECT run_id, status, mode FROM eval_runs WHERE ${predicate.sql}
     UNION
     SELECT r.run_id, r.status, r.mode FROM metric_results mr JOIN eval_runs r USING (run_id)
      WHERE mr.metric_id = $1 AND mr.impl_version = ANY($2::text[])
     ORDER BY run_id LIMIT $3`,
    [metric, versions, limit, ...predicate.params],
  );
  return rows;
}

/**
 * Runs whose *current* result for `metric` was computed with a bad version: what a
 * metric incident must recompute. Queued and running runs are returned apart: they have
 * no results yet, and an operator reruns the incident once they finish.
 */
export async function runsWithBadCurrentResults(q: Queryable, metric: string, badVersions: string[]) {
  const predicate = implVersionPredicate('r.metric_impl_versions', metric, badVersions, 3);
  const { rows } = await q.query<{ run_id: string; status: string; has_bad_result: boolean }>(
    `SELECT r.run_id, r.status,
            EXISTS (SELECT 1 FROM metric_results mr WHERE mr.run_id = r.run_id AND mr.metric_id = $1
                       AND mr.impl_version = ANY($2::text[]) AND mr.superseded_at IS NULL) AS has_bad_result
       FROM eval_runs r WHERE ${predicate.sql}
     UNION
     SELECT mr.run_id, r.status, true FROM metric_results mr JOIN eval_runs r USING (run_id)
      WHERE mr.metric_id = $1 AND mr.impl_version = ANY($2::text[]) AND mr.superseded_at IS NULL`,
    [metric, badVersions, ...predicate.params],
  );
  return {
    affected: rows
      .filter((r) => r.has_bad_result)
      .map((r) => r.run_id)
      .sort(),
    inFlight: rows
      .filter((r) => !r.has_bad_result && (r.status === 'queued' || r.status === 'running'))
      .map((r) => r.run_id)
      .sort(),
  };
}

/** A gate check's latest decision, with its gate and rules (deprecation and metric incidents redecide it). */
export interface LatestDecisionRow {
  decision_id: string;
  check_id: string;
  status: string;
  reasons: unknown;
  result_ids: string[];
  run_ids: string[];
  gate_id: string;
  gate_name: string;
  gate_version_id: string;
  rules: unknown;
  decided_at: Date;
}

/**
 * The latest decision of every gate check whose latest decision used one of the given
 * results or runs. Only the latest decision counts: an earlier one was already replaced.
 */
export async function latestDecisionsUsing(
  q: Queryable,
  by: { resultIds?: string[]; runIds?: string[] },
): Promise<LatestDecisionRow[]> {
  const { rows } = await q.query<LatestDecisionRow>(
    `WITH touched AS (
       SELECT DISTINCT check_id FROM gate_decisions
        WHERE result_ids && $1::bigint[] OR run_ids && $2::uuid[])
     SELECT d.decision_id, d.check_id, d.status, d.reasons, d.result_ids::text[] AS result_ids, d.run_ids::text[] AS run_ids,
            g.gate_id, g.name AS gate_name, gv.gate_version_id, gv.rules, d.decided_at
       FROM touched t
       JOIN LATERAL (SELECT * FROM gate_decisions WHERE check_id = t.check_id ORDER BY decision_id DESC LIMIT 1) d ON true
       JOIN gate_checks c ON c.check_id = d.check_id
       JOIN gate_versions gv ON gv.gate_version_id = c.gate_version_id
       JOIN gates g ON g.gate_id = gv.gate_id
      WHERE d.result_ids && $1::bigint[] OR d.run_ids && $2::uuid[]
      ORDER BY d.check_id`,
    [by.resultIds ?? [], by.runIds ?? []],
  );
  return rows;
}

/** Gates whose latest version has a rule on a suite metric that is `metricId` in some version of the gate's suite. */
export async function gatesWithRuleOnMetric(
  q: Queryable,
  metricId: string,
): Promise<{ gate_id: string; name: string }[]> {
  const { rows } = await q.query<{ gate_id: string; name: string }>(
    `SELECT DISTINCT g.gate_id, g.name
       FROM gates g
       JOIN LATERAL (SELECT * FROM gate_versions WHERE gate_id = g.gate_id ORDER BY version DESC LIMIT 1) gv ON true
       JOIN metric_suite_versions sv ON sv.metric_suite_id = gv.metric_suite_id
      WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(gv.rules) rule, jsonb_array_elements(sv.metrics) m
                     WHERE m->>'metric' = $1 AND m->>'name' = rule->>'metric')
      ORDER BY g.name`,
    [metricId],
  );
  return rows;
}

/** Alias moves made on the strength of the given gate checks (model_alias_history.gate_check_id). */
export async function aliasMovesForChecks(q: Queryable, checkIds: string[]) {
  if (!checkIds.length) return [];
  const { rows } = await q.query<{
    check_id: string;
    model: string;
    alias: string;
    model_version: string;
    changed_at: Date;
  }>(
    `SELECT h.gate_check_id AS check_id, m.name AS model, h.alias, m.name || '@' || v.version AS model_version, h.changed_at
       FROM model_alias_history h JOIN models m USING (model_id) JOIN model_versions v ON v.model_version_id = h.model_version_id
      WHERE h.gate_check_id = ANY($1::uuid[]) ORDER BY h.history_id`,
    [checkIds],
  );
  return rows;
}

// ---- stale baselines (staleness.ts) ----

/** What makes a baseline run stale: its status, its dataset version's state and its results from retracted implementations. */
export async function baselineRunFacts(q: Queryable, runIds: string[]) {
  const { rows } = await q.query<{
    run_id: string;
    status: string;
    invalid_reason: string | null;
    dataset_name: string;
    version: number;
    dataset_status: string;
    deprecated_reason: string | null;
    newest_active: number | null;
    retracted: { metricName: string; metric: string; implVersion: string; incidentId: string; fixed: string }[];
  }>(
    `SELECT r.run_id, r.status, r.invalid_reason, d.name AS dataset_name, dv.version, dv.status AS dataset_status, dv.deprecated_reason,
            (SELECT max(v.version) FROM dataset_versions v WHERE v.dataset_id = dv.dataset_id AND v.status = 'active') AS newest_active,
            COALESCE((SELECT jsonb_agg(jsonb_build_object('metricName', mr.metric_name, 'metric', mr.metric_id,
                                                          'implVersion', mr.impl_version, 'incidentId', x.incident_id,
                                                          'fixed', x.fixed_impl_version) ORDER BY mr.metric_name)
                        FROM metric_results mr
                        JOIN LATERAL (SELECT incident_id, fixed_impl_version FROM metric_impl_retractions
                                       WHERE metric = mr.metric_id AND impl_version = mr.impl_version AND retracted_at > mr.created_at
                                       ORDER BY retracted_at LIMIT 1) x ON true
                       WHERE mr.run_id = r.run_id AND mr.superseded_at IS NULL), '[]'::jsonb) AS retracted
       FROM eval_runs r JOIN dataset_versions dv ON dv.dataset_version_id = r.dataset_version_id
       JOIN datasets d ON d.dataset_id = dv.dataset_id
      WHERE r.run_id = ANY($1::uuid[]) ORDER BY r.run_id`,
    [runIds],
  );
  return rows;
}

/**
 * Every gate's latest check with a baseline, and the baseline runs its latest decision used;
 * only gates whose baselines include one of `runIds` when given.
 */
export async function latestCheckBaselineRuns(q: Queryable, runIds?: string[]) {
  const { rows } = await q.query<{
    gate_id: string;
    gate_name: string;
    check_id: string;
    baseline: string;
    run_ids: string[];
  }>(
    `WITH latest_check AS (
       SELECT DISTINCT ON (gv.gate_id) gv.gate_id, c.check_id, c.baseline_model_version_id
         FROM gate_checks c JOIN gate_versions gv USING (gate_version_id)
        WHERE c.baseline_model_version_id IS NOT NULL
        ORDER BY gv.gate_id, c.created_at DESC, c.check_id DESC)
     SELECT lc.gate_id, g.name AS gate_name, lc.check_id, m.name || '@' || mv.version AS baseline,
            array_agg(DISTINCT r.run_id)::text[] AS run_ids
       FROM latest_check lc
       JOIN gates g ON g.gate_id = lc.gate_id
       JOIN model_versions mv ON mv.model_version_id = lc.baseline_model_version_id JOIN models m ON m.model_id = mv.model_id
       JOIN LATERAL (SELECT run_ids FROM gate_decisions d WHERE d.check_id = lc.check_id ORDER BY d.decision_id DESC LIMIT 1) d ON true
       JOIN eval_runs r ON r.run_id = ANY(d.run_ids) AND r.model_version_id = lc.baseline_model_version_id
      WHERE $1::uuid[] IS NULL OR r.run_id = ANY($1::uuid[])
      GROUP BY 1, 2, 3, 4 ORDER BY g.name`,
    [runIds ?? null],
  );
  return rows;
}

// ---- incident gauges (api/features/lineage/staleMetrics.ts) ----

/** Incidents still being worked, by kind (failed ones included: they keep their freeze). */
export async function openIncidentCounts(q: Queryable) {
  const { rows } = await q.query<{ kind: string; n: number }>(
    `SELECT kind, count(*)::int AS n FROM metric_incidents WHERE status IN ('open', 'recomputing', 'failed') GROUP BY kind`,
  );
  return rows;
}

export async function activeFreezeCount(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    'SELECT count(DISTINCT metric)::int AS n FROM metric_freezes WHERE unfrozen_at IS NULL',
  );
  return rows[0].n;
}
