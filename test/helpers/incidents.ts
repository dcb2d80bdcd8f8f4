/**
 * Helpers for incident tests: declare an incident as an operator and wait for its
 * workflow, and snapshot everything an incident writes so two executions can be compared.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { reevaluateCheck } from '../../domain/incidents/reevaluate';
import { releaseGateWorkflowId } from '../../common/names';
import type { EvalWorld } from '../../testkit/evalWorld';
import { client, type ApiClient } from '../../testkit/stack';

export const operator = (world: EvalWorld): ApiClient => client(world.stack.baseUrl, world.stack.adminToken);

/**
 * Declares a metric incident. Incidents are platform-wide, and other test files (or other
 * engineers' tests on the shared database) may hold an open one on the same metric and
 * version: wait for that one to end, then declare ours.
 */
export async function declareMetricIncident(
  world: EvalWorld,
  body: Record<string, unknown>,
  timeoutMs = 120_000,
): Promise<string> {
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

export async function waitForIncident(
  world: EvalWorld,
  incidentId: string,
  timeoutMs = 180_000,
  until: (body: any) => boolean = (b) => ['resolved', 'failed'].includes(b.status),
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await operator(world).get(`/v1/incidents/${incidentId}`);
    if (res.status !== 200) throw new Error(`GET incident ${incidentId}: ${res.status} ${JSON.stringify(res.body)}`);
    if (until(res.body)) return res.body;
    if (Date.now() > deadline)
      throw new Error(
        `incident ${incidentId} still ${res.body.status} (${res.body.progress.step}) after ${timeoutMs} ms`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Everything the incident wrote about the given runs, without timestamps: equal snapshots mean equal states. */
export async function incidentState(pool: Pool, incidentId: string, runIds: string[]) {
  const results = await pool.query(
    `SELECT result_id::text, run_id, metric_name, metric_id, impl_version, value, ci_low, ci_high, n, slices, superseded_by::text,
            superseded_at IS NOT NULL AS superseded, incident_id
       FROM metric_results WHERE run_id = ANY($1::uuid[]) ORDER BY result_id`,
    [runIds],
  );
  const runs = await pool.query(
    `SELECT r.run_id, r.status, r.invalid_reason, i.state, i.changes FROM eval_runs r
       LEFT JOIN incident_runs i ON i.run_id = r.run_id AND i.incident_id = $2
      WHERE r.run_id = ANY($1::uuid[]) ORDER BY r.run_id`,
    [runIds, incidentId],
  );
  const decisions = await pool.query(
    `SELECT check_id, prior_decision_id::text, outcome, new_decision_id::text, detail FROM incident_decisions WHERE ` +
      `incident_id = $1 ORDER BY check_id`,
    [incidentId],
  );
  const gateDecisions = await pool.query(
    `SELECT decision_id::text, check_id, status, reasons, result_ids::text[], cause FROM gate_decisions WHERE ` +
      `incident_id = $1 ORDER BY decision_id`,
    [incidentId],
  );
  const freezes = await pool.query(
    'SELECT metric, unfrozen_at IS NOT NULL AS unfrozen FROM metric_freezes WHERE incident_id = $1 ORDER BY metric',
    [incidentId],
  );
  const incident = await pool.query('SELECT status, report FROM metric_incidents WHERE incident_id = $1', [incidentId]);
  // The report covers every run on the shared database; compare what it says about ours.
  const report = incident.rows[0].report ?? {};
  const mine = new Set(runIds);
  return {
    results: results.rows,
    runs: runs.rows,
    decisions: decisions.rows,
    gateDecisions: gateDecisions.rows,
    freezes: freezes.rows,
    status: incident.rows[0].status,
    reportedChanges: (report.valuesChanged?.listed ?? []).filter((c: { runId: string }) => mine.has(c.runId)),
    reportedRevocations: report.decisions?.revoked ?? [],
  };
}

/**
 * Records a decided gate check on existing runs, as the release-gate workflow records one:
 * the check with the runs it evaluated (gate_checks.runs), its decision made by the gate's
 * own rule evaluator over the runs' current results (with the result and run ids it used),
 * and optionally an alias move made on its strength. For tests of what incidents do to
 * decisions without running whole gate checks; the e2e stories use real gate checks.
 */
export async function recordDecidedCheck(
  world: EvalWorld,
  input: {
    metricSuiteId: string;
    datasets: { datasetId: string; candidateRunId: string; baselineRunId?: string }[];
    modelId: string;
    rules: unknown[];
    moveAlias?: string;
  },
) {
  const pool = world.stack.pool;
  const runIds = input.datasets.flatMap((d) =>
    [d.candidateRunId, d.baselineRunId].filter((id): id is string => Boolean(id)),
  );
  const { rows } = await pool.query(
    `SELECT r.run_id, r.model_version_id, r.metric_suite_version_id, sv.version AS suite_version, dv.dataset_id,
    dv.dataset_version_id, dv.version, dv.row_count, d.name
       FROM eval_runs r JOIN metric_suite_versions sv USING (metric_suite_version_id) JOIN dataset_versions dv USING
       (dataset_version_id) JOIN datasets d USING (dataset_id)
      WHERE r.run_id = ANY($1::uuid[])`,
    [runIds],
  );
  const byRun = new Map(rows.map((r) => [r.run_id, r]));
  const first = byRun.get(input.datasets[0].candidateRunId)!;
  const checkRuns = {
    suiteVersionId: first.metric_suite_version_id,
    suiteVersion: first.suite_version,
    baseline: null,
    datasets: input.datasets.map((d) => {
      const run = byRun.get(d.candidateRunId)!;
      return {
        datasetId: d.datasetId,
        datasetName: run.name,
        datasetVersionId: run.dataset_version_id,
        datasetVersion: run.version,
        rowCount: Number(run.row_count),
        candidateRunId: d.candidateRunId,
        baselineRunId: d.baselineRunId ?? null,
        started: [],
      };
    }),
  };
  const gate = await pool.query(
    'INSERT INTO gates (name, owner_team, created_by) VALUES ($1, $2, $3) RETURNING gate_id',
    [`gate-${randomUUID().slice(0, 8)}`, world.team, world.editor.principalId],
  );
  const gateVersion = await pool.query(
    `INSERT INTO gate_versions (gate_id, version, metric_suite_id, dataset_ids, baseline_alias, rules,
    required_approvals, override_ttl_hours, created_by)
     VALUES ($1, 1, $2, $3, 'production', $4, 2, 24, $5) RETURNING gate_version_id`,
    [
      gate.rows[0].gate_id,
      input.metricSuiteId,
      input.datasets.map((d) => d.datasetId),
      JSON.stringify(input.rules),
      world.editor.principalId,
    ],
  );
  const checkId = randomUUID();
  await pool.query(
    `INSERT INTO gate_checks (check_id, gate_version_id, candidate_model_version_id, status, runs, workflow_id, created_by)
     VALUES ($1, $2, $3, 'pending', $4, $5, $6)`,
    [
      checkId,
      gateVersion.rows[0].gate_version_id,
      first.model_version_id,
      JSON.stringify(checkRuns),
      releaseGateWorkflowId(checkId),
      world.editor.principalId,
    ],
  );
  const decided = await reevaluateCheck({ pool, storage: world.stack.storage }, checkId);
  await pool.query(`UPDATE gate_checks SET status = $2, reasons = $3, decided_at = now() WHERE check_id = $1`, [
    checkId,
    decided.status,
    JSON.stringify(decided.reasons),
  ]);
  const decision = await pool.query(
    `INSERT INTO gate_decisions (check_id, status, reasons, result_ids, run_ids) VALUES ($1, $2, $3, $4::bigint[], ` +
      `$5::uuid[]) RETURNING decision_id::text`,
    [checkId, decided.status, JSON.stringify(decided.reasons), decided.resultIds, runIds],
  );
  let moveId: string | undefined;
  if (input.moveAlias) {
    const move = await pool.query(
      `INSERT INTO model_alias_history (model_id, alias, model_version_id, gate_check_id, changed_by) VALUES ($1, $2, ` +
        `$3, $4, $5) RETURNING history_id::text`,
      [input.modelId, input.moveAlias, first.model_version_id, checkId, world.editor.principalId],
    );
    moveId = move.rows[0].history_id;
  }
  return {
    gateId: gate.rows[0].gate_id as string,
    checkId,
    status: decided.status,
    decisionId: decision.rows[0].decision_id as string,
    resultIds: decided.resultIds,
    moveId,
  };
}
