/**
 * Lineage questions the incident workflows and the lineage API both ask, answered from
 * the records themselves: the versions a run recorded (eval_runs.metric_impl_versions,
 * GIN-indexed), the results it produced (metric_results by metric and version) and the
 * results and runs each gate decision recorded (GIN-indexed arrays).
 */
import type { Queryable } from '../../common/db';

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

export interface DecisionRow {
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
): Promise<DecisionRow[]> {
  const { rows } = await q.query<DecisionRow>(
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
