/**
 * Helpers for incident tests: declare an incident as an operator and wait for its
 * workflow, and snapshot everything an incident writes so two executions can be compared.
 */
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
