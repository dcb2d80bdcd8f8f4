/**
 * The first step of a gate check: pin what it evaluates and find or create the runs.
 *
 * It resolves the gate's suite and datasets to their current versions and the baseline
 * alias to a model version, answers `frozen` at once when a rule's metric is frozen, and
 * `error` for anything that makes the check impossible (no baseline where a rule needs
 * one, every dataset version deprecated, a rule on a metric the suite no longer has).
 * Otherwise, per dataset, it reuses the newest run that may decide a gate or records a new
 * release-mode run (idempotency key derived from the check, so a retried attempt finds
 * the same run) and returns the runs the workflow must start.
 */
import type { Pool } from 'pg';
import type { Config } from '../../common/config';
import { withTransaction } from '../../common/db';
import { DomainError } from '../errors';
import { insertRunRecord, resolveRunTarget, type RunDefaults } from '../runs/createRun';
import { teamMayReadRows } from '../access/policy';
import { scopeOfRow } from '../access/scopes';
import { findDecidingRun, type RunRecord } from '../runs/dal';
import type { GateRule } from './evaluateRules';
import {
  activeFreezes,
  latestDatasetVersions,
  latestReleaseRun,
  latestSuiteVersion,
  loadCheckContext,
  pinCheckRuns,
  resolveAlias,
  setPendingCheckRuns,
  type CheckContext,
} from './dal';
import { recordDecision } from './decisions';
import { frozenReasons, type CheckDataset, type CheckRuns, type ClosedReason, type GateReason } from './reasons';

export interface RunToStart {
  runId: string;
  workflowId: string;
  taskQueue: string;
}
export interface GatePlan {
  decided?: { status: string; reasons: GateReason[] };
  toStart: RunToStart[];
}

export interface PrepareDeps {
  pool: Pool;
  config: RunDefaults;
  /**
   * Decides the check. When every run already exists there is nothing to wait for, so the
   * prepare step decides at once: one activity and one workflow task fewer on the path a
   * burst of CI checks takes.
   */
  decide?: (input: { checkId: string }) => Promise<{ status: string; reasons: GateReason[] }>;
}

const COMPARATIVE = new Set(['max_regression', 'non_inferiority']);

/** Datasets the gate evaluates, primary first; a must_pass rule's dataset is evaluated too. */
export function gateDatasetIds(datasetIds: string[], rules: GateRule[]): string[] {
  return [
    ...new Set([...datasetIds, ...rules.filter((r) => r.kind === 'must_pass' && r.datasetId).map((r) => r.datasetId!)]),
  ];
}

/** Datasets on which the baseline must run too: those with a rule other than must_pass. */
function baselineDatasets(primary: string, rules: GateRule[]): Set<string> {
  return new Set(rules.filter((r) => r.kind !== 'must_pass').map((r) => r.datasetId ?? primary));
}

/** Metric ids of the rules' suite metrics, with the rule metrics (suite names) that use each. */
export function ruleMetricIds(
  rules: GateRule[],
  suiteMetrics: { name: string; metric: string }[],
): Map<string, string[]> {
  const byName = new Map(suiteMetrics.map((m) => [m.name, m.metric]));
  const out = new Map<string, string[]>();
  for (const rule of rules) {
    const id = byName.get(rule.metric);
    if (!id) continue;
    out.set(id, [...new Set([...(out.get(id) ?? []), rule.metric])]);
  }
  return out;
}

export function createPrepareActivity(deps: PrepareDeps) {
  const { pool } = deps;

  async function decideNow(
    ctx: CheckContext,
    status: 'frozen' | 'error',
    reasons: ClosedReason[],
    runs?: Partial<CheckRuns>,
  ): Promise<GatePlan> {
    await withTransaction(pool, async (tx) => {
      if (runs) await setPendingCheckRuns(tx, ctx.check.check_id, runs);
      await recordDecision(tx, {
        checkId: ctx.check.check_id,
        status,
        reasons,
        resultIds: [],
        runIds: [],
        cause: 'check',
        from: ['pending'],
        audit: { action: 'gate_check.decide', detail: { gate: ctx.gate.name, candidate: ctx.candidate.modelVersion } },
      });
    });
    const check = (await loadCheckContext(pool, ctx.check.check_id))!.check;
    return { decided: { status: check.status, reasons: check.reasons }, toStart: [] };
  }

  /** A new release-mode run for this check, or the one an earlier attempt of this step recorded. */
  async function recordRun(
    ctx: CheckContext,
    role: 'candidate' | 'baseline',
    modelVersionId: string,
    dataset: { dataset_id: string; version: number },
    suiteVersion: number,
  ): Promise<RunRecord> {
    const target = await resolveRunTarget(pool, {
      modelVersion: { modelVersionId },
      datasetId: dataset.dataset_id,
      datasetVersion: dataset.version,
      metricSuiteId: ctx.version.metric_suite_id,
      metricSuiteVersion: suiteVersion,
      mode: 'release',
    });
    const { run } = await insertRunRecord(pool, target, {
      idempotencyKey: `gateCheck:${ctx.check.check_id}:${role}:${dataset.dataset_id}`,
      createdBy: ctx.check.created_by,
      config: deps.config,
    });
    return run;
  }

  /**
   * `decideInlineUpToRows`: decide at once only when the paired comparisons to compute
   * cover at most this many rows (the step then runs as a local activity and must stay
   * short); without it, decide at once whenever every run exists.
   */
  return async function prepareGateCheck({
    checkId,
    decideInlineUpToRows,
  }: {
    checkId: string;
    decideInlineUpToRows?: number;
  }): Promise<GatePlan> {
    const ctx = await loadCheckContext(pool, checkId);
    if (!ctx) throw new Error(`gate check ${checkId} does not exist`);
    if (ctx.check.status !== 'pending')
      return { decided: { status: ctx.check.status, reasons: ctx.check.reasons }, toStart: [] };
    const { version } = ctx;
    const suite = await latestSuiteVersion(pool, version.metric_suite_id, version.metric_suite_version);
    const metricIds = ruleMetricIds(version.rules, suite.metrics);
    const freezes = await activeFreezes(pool, [...metricIds.keys()]);
    if (freezes.length) return decideNow(ctx, 'frozen', frozenReasons(freezes, metricIds));

    const closed: ClosedReason[] = [];
    if (suite.purpose !== 'release_blocking') {
      closed.push({
        code: 'not_release_blocking',
        verdict: 'error',
        message: `suite ${suite.name} is ${suite.purpose}; only release-blocking suites can decide a gate`,
      });
    }
    const suiteNames = new Set(suite.metrics.map((m) => m.name));
    for (const rule of version.rules) {
      if (!suiteNames.has(rule.metric)) {
        closed.push({
          code: 'rule_unknown_metric',
          verdict: 'error',
          metric: rule.metric,
          message:
            `rule on ${rule.metric}: suite ${suite.name} v${suite.version} has no metric named ${rule.metric}; ` +
            'publish a gate version that matches the suite',
        });
      }
    }
    const datasetIds = gateDatasetIds(version.dataset_ids, version.rules);
    const datasets = new Map((await latestDatasetVersions(pool, datasetIds)).map((r) => [r.dataset_id, r]));
    for (const id of datasetIds) {
      const d = datasets.get(id);
      if (!d?.dataset_version_id)
        closed.push({
          code: 'dataset_deprecated',
          verdict: 'error',
          datasetId: id,
          message: `dataset ${d?.name ?? id} has no active version (every version is deprecated); upload a new version`,
        });
      // The check shows its runs' results to the gate's team: that team must be allowed the rows.
      else if (!teamMayReadRows(ctx.gate.owner_team, scopeOfRow({ ...d, visibility: d.visibility! })))
        closed.push({
          code: 'dataset_not_authorized',
          verdict: 'error',
          datasetId: id,
          message: `team ${ctx.gate.owner_team} (the gate's) may not read ${d.name} v${d.version}; the gate cannot evaluate it`,
        });
    }
    const needsBaseline = version.rules.some((r) => COMPARATIVE.has(r.kind));
    const baseline = await resolveAlias(pool, ctx.candidate.modelId, version.baseline_alias);
    if (!baseline && needsBaseline) {
      closed.push({
        code: 'no_baseline',
        verdict: 'error',
        message:
          `model ${ctx.candidate.modelName} has no '${version.baseline_alias}' alias to compare against; ` +
          `point the alias at the released version (PUT /v1/models/{modelId}/aliases/${version.baseline_alias})`,
      });
    }
    const runs: CheckRuns = {
      suiteVersionId: suite.metric_suite_version_id,
      suiteVersion: suite.version,
      baseline: baseline
        ? {
            alias: version.baseline_alias,
            modelVersionId: baseline.model_version_id,
            modelVersion: baseline.model_version,
          }
        : null,
      datasets: [],
    };
    if (closed.length) return decideNow(ctx, 'error', closed, runs);

    const toStart: RunToStart[] = [];
    const withBaseline = baselineDatasets(version.dataset_ids[0], version.rules);
    for (const id of datasetIds) {
      const d = datasets.get(id)!;
      const dv = { dataset_id: id, version: d.version!, dataset_version_id: d.dataset_version_id! };
      const key = { datasetVersionId: dv.dataset_version_id, suiteVersionId: suite.metric_suite_version_id };
      const entry: CheckDataset = {
        datasetId: id,
        datasetName: d.name,
        datasetVersionId: dv.dataset_version_id,
        datasetVersion: dv.version,
        rowCount: Number(d.row_count),
        candidateRunId: '',
        baselineRunId: null,
        started: [],
      };
      const use = async (role: 'candidate' | 'baseline', modelVersionId: string): Promise<string> => {
        const existing = await findDecidingRun(pool, { modelVersionId, ...key });
        if (existing) return existing.run_id;
        const run = await recordRun(ctx, role, modelVersionId, dv, suite.version);
        if (run.status === 'queued')
          toStart.push({ runId: run.run_id, workflowId: run.workflow_id, taskQueue: run.task_queue });
        entry.started.push(run.run_id);
        return run.run_id;
      };
      try {
        entry.candidateRunId = await use('candidate', ctx.check.candidate_model_version_id);
        if (baseline && withBaseline.has(id)) {
          if (baseline.model_version_id === ctx.check.candidate_model_version_id)
            entry.baselineRunId = entry.candidateRunId;
          else if (version.baseline_runs === 'start_missing')
            entry.baselineRunId = await use('baseline', baseline.model_version_id);
          else {
            const found = await findDecidingRun(pool, { modelVersionId: baseline.model_version_id, ...key });
            if (!found) closed.push(await missingBaselineRun(pool, baseline, d.name, dv.version, suite.version, id));
            else entry.baselineRunId = found.run_id;
          }
        }
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        closed.push({
          code: 'run_not_startable',
          verdict: 'error',
          datasetId: id,
          message: `a release run on ${d.name} v${dv.version} cannot be started: ${err.message}`,
        });
      }
      runs.datasets.push(entry);
    }
    if (closed.length) return decideNow(ctx, 'error', closed, runs);
    await pinCheckRuns(pool, checkId, runs, baseline?.model_version_id ?? null);
    const compareRows = runs.datasets.reduce(
      (n, d) => n + (d.baselineRunId && d.baselineRunId !== d.candidateRunId ? d.rowCount : 0),
      0,
    );
    const cheap = decideInlineUpToRows === undefined || compareRows <= decideInlineUpToRows;
    if (!toStart.length && deps.decide && cheap) return { decided: await deps.decide({ checkId }), toStart };
    return { toStart };
  };
}

/** With baseline runs required to exist: a stale one (older dataset or suite version) or none at all. */
async function missingBaselineRun(
  pool: Pool,
  baseline: { model_version_id: string; model_version: string },
  datasetName: string,
  datasetVersion: number,
  suiteVersion: number,
  datasetId: string,
): Promise<ClosedReason> {
  const stale = await latestReleaseRun(pool, baseline.model_version_id, datasetId);
  if (stale) {
    return {
      code: 'stale_baseline',
      verdict: 'error',
      datasetId,
      runId: stale.run_id,
      message:
        `the baseline ${baseline.model_version}'s latest release run ${stale.run_id} used ${datasetName} v${stale.dataset_version} ` +
        `and suite v${stale.suite_version}; ` +
        `the gate now needs v${datasetVersion} and suite v${suiteVersion}: ` +
        'run the baseline on the current versions (POST /v1/eval-runs, mode release)',
    };
  }
  return {
    code: 'no_baseline',
    verdict: 'error',
    datasetId,
    message: `the baseline ${baseline.model_version} has no release run on ${datasetName}; run it in release mode first`,
  };
}
