/**
 * Helpers for incident tests: declare an incident as an operator and wait for its
 * workflow, and snapshot everything an incident writes so two executions can be compared.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { EvalWorld } from './evalWorld';
import { client, type ApiClient } from './stack';

export const operator = (world: EvalWorld): ApiClient => client(world.stack.baseUrl, world.stack.adminToken);

/**
 * Declares a metric incident. Incidents are platform-wide, and other test files (or other
 * engineers' tests on the shared database) may hold an open one on the same metric and
 * version: wait for that one to end, then declare ours.
 */
export async function declareMetricIncident(world: EvalWorld, body: Record<string, unknown>, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await operator(world).post('/v1/metric-incidents', body);
    if (res.status === 202 || res.status === 200) return res.body.incidentId as string;
    if (res.status !== 409 || res.body.error.code !== 'incident_open' || Date.now() > deadline) {
      throw new Error(`declaring the incident failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function waitForIncident(world: EvalWorld, incidentId: string, timeoutMs = 180_000, until: (body: any) => boolean = (b) => ['resolved', 'failed'].includes(b.status)) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await operator(world).get(`/v1/incidents/${incidentId}`);
    if (res.status !== 200) throw new Error(`GET incident ${incidentId}: ${res.status} ${JSON.stringify(res.body)}`);
    if (until(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`incident ${incidentId} still ${res.body.status} (${res.body.progress.step}) after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Everything the incident wrote about the given runs, without timestamps: equal snapshots mean equal states. */
export async function incidentState(pool: Pool, incidentId: string, runIds: string[]) {
  const results = await pool.query(
    `SELECT result_id::text, run_id, metric_name, metric_id, impl_version, value, ci_low, ci_high, n, slices, superseded_by::text,
            superseded_at IS NOT NULL AS superseded, incident_id
       FROM metric_results WHERE run_id = ANY($1::uuid[]) ORDER BY result_id`, [runIds]);
  const runs = await pool.query(
    `SELECT r.run_id, r.status, r.invalid_reason, i.state, i.changes FROM eval_runs r
       LEFT JOIN incident_runs i ON i.run_id = r.run_id AND i.incident_id = $2
      WHERE r.run_id = ANY($1::uuid[]) ORDER BY r.run_id`, [runIds, incidentId]);
  const decisions = await pool.query(
    `SELECT check_id, prior_decision_id::text, outcome, new_decision_id::text, detail FROM incident_decisions WHERE incident_id = $1 ORDER BY check_id`, [incidentId]);
  const gateDecisions = await pool.query(
    `SELECT decision_id::text, check_id, status, reasons, result_ids::text[], cause FROM gate_decisions WHERE incident_id = $1 ORDER BY decision_id`, [incidentId]);
  const freezes = await pool.query('SELECT metric, unfrozen_at IS NOT NULL AS unfrozen FROM metric_freezes WHERE incident_id = $1 ORDER BY metric', [incidentId]);
  const incident = await pool.query('SELECT status, report FROM metric_incidents WHERE incident_id = $1', [incidentId]);
  // The report covers every run on the shared database; compare what it says about ours.
  const report = incident.rows[0].report ?? {};
  const mine = new Set(runIds);
  return {
    results: results.rows, runs: runs.rows, decisions: decisions.rows, gateDecisions: gateDecisions.rows, freezes: freezes.rows,
    status: incident.rows[0].status,
    reportedChanges: (report.valuesChanged?.listed ?? []).filter((c: { runId: string }) => mine.has(c.runId)),
    reportedRevocations: report.decisions?.revoked ?? [],
  };
}

/**
 * Records a gate check that passed on the given runs' current results, as the release-gate
 * workflow records one (a check, its decision with the result and run ids it used, and an
 * alias move made on its strength). For tests of what incidents do to decisions without
 * running a whole gate; the e2e stories use real gate checks.
 */
export async function recordPassingCheck(world: EvalWorld, input: {
  metricSuiteId: string; datasetIds: string[]; runIds: string[]; candidateRunId: string; modelId: string; rules: unknown[]; moveAlias?: string;
}) {
  const pool = world.stack.pool;
  const { rows } = await pool.query(
    `SELECT (SELECT model_version_id FROM eval_runs WHERE run_id = $2) AS candidate,
            (SELECT array_agg(result_id)::text[] FROM metric_results WHERE run_id = ANY($1::uuid[]) AND superseded_at IS NULL) AS result_ids`,
    [input.runIds, input.candidateRunId]);
  const { candidate, result_ids: resultIds } = rows[0];
  const gate = await pool.query('INSERT INTO gates (name, owner_team, created_by) VALUES ($1, $2, $3) RETURNING gate_id', [`gate-${randomUUID().slice(0, 8)}`, world.team, world.editor.principalId]);
  const gateVersion = await pool.query(
    `INSERT INTO gate_versions (gate_id, version, metric_suite_id, dataset_ids, baseline_alias, rules, required_approvals, override_ttl_hours, created_by)
     VALUES ($1, 1, $2, $3, 'production', $4, 2, 24, $5) RETURNING gate_version_id`,
    [gate.rows[0].gate_id, input.metricSuiteId, input.datasetIds, JSON.stringify(input.rules), world.editor.principalId]);
  const checkId = randomUUID();
  await pool.query(
    `INSERT INTO gate_checks (check_id, gate_version_id, candidate_model_version_id, status, workflow_id, created_by, decided_at)
     VALUES ($1, $2, $3, 'pass', $4, $5, now())`, [checkId, gateVersion.rows[0].gate_version_id, candidate, `gateCheck:${checkId}`, world.editor.principalId]);
  const decision = await pool.query(
    `INSERT INTO gate_decisions (check_id, status, reasons, result_ids, run_ids) VALUES ($1, 'pass', '[]', $2::bigint[], $3::uuid[]) RETURNING decision_id::text`,
    [checkId, resultIds, input.runIds]);
  let moveId: string | undefined;
  if (input.moveAlias) {
    const move = await pool.query(
      `INSERT INTO model_alias_history (model_id, alias, model_version_id, gate_check_id, changed_by) VALUES ($1, $2, $3, $4, $5) RETURNING history_id::text`,
      [input.modelId, input.moveAlias, candidate, checkId, world.editor.principalId]);
    moveId = move.rows[0].history_id;
  }
  return { gateId: gate.rows[0].gate_id as string, checkId, decisionId: decision.rows[0].decision_id as string, resultIds: resultIds as string[], moveId };
}
