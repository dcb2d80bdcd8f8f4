/**
 * Re-evaluating a decided gate check with the results as they are now: the same runs the
 * check recorded (gate_checks.runs), their *current* result rows (after a recompute, the
 * new ones), paired comparisons recomputed from the stored records with each metric's
 * current implementation version, and the gate's own rule evaluator
 * (domain/gates/evaluateRules.ts) — so a re-decision is exactly the decision the check
 * would make today. No model or judge calls: everything comes from stored records.
 */
import type { Pool } from 'pg';
import type { Storage } from '../../common/storage';
import {
  comparability,
  comparePairedRuns,
  loadComparableRun,
  type ComparableRun,
  type CurrentResult,
} from '../comparison';
import {
  evaluateRules,
  isRuleReason,
  type DatasetEvidence,
  type ResultEvidence,
  type RuleReason,
} from '../gates/evaluateRules';
import { loadCheckContext } from '../gates/dal';
import type { CheckRuns } from '../gates/reasons';
import { findVersionById } from '../suites/dal';
import { baseImplVersion } from './results';
import { resultEvidence } from '../gates/resultEvidence';

export interface Reevaluation {
  status: 'pass' | 'fail' | 'error';
  reasons: (RuleReason | { code: string; verdict: string; message: string })[];
  resultIds: string[];
}

/**
 * The suite's metrics with each one's implementation version taken from the run's current
 * result: after a recompute the comparison must use the fixed version, not the one the
 * suite pinned (a judge's build metadata dropped: the stored records carry the new scores).
 */
export function withCurrentImplVersions(run: ComparableRun): ComparableRun {
  const current = new Map(run.results.map((r) => [r.metricName, baseImplVersion(r.implVersion)]));
  return {
    ...run,
    suiteMetrics: run.suiteMetrics.map((m) => ({ ...m, implVersion: current.get(m.name) ?? m.implVersion })),
  };
}

export async function reevaluateCheck(deps: { pool: Pool; storage: Storage }, checkId: string): Promise<Reevaluation> {
  const ctx = await loadCheckContext(deps.pool, checkId);
  if (!ctx) throw new Error(`gate check ${checkId} does not exist`);
  const runs = ctx.check.runs as CheckRuns;
  if (!runs?.datasets?.length)
    return {
      status: 'error',
      reasons: [{ code: 'internal', verdict: 'error', message: 'the check recorded no runs to re-evaluate' }],
      resultIds: [],
    };
  const suiteVersion = await findVersionById(deps.pool, runs.suiteVersionId);
  const metricIds = Object.fromEntries(suiteVersion.metrics.map((m) => [m.name, m.metric]));
  const confidences = ctx.version.rules
    .filter((r) => r.kind === 'non_inferiority' && r.confidence !== undefined)
    .map((r) => r.confidence!);
  const evidence: Record<string, DatasetEvidence> = {};
  const closed: { code: string; verdict: string; message: string }[] = [];
  for (const d of runs.datasets) {
    const candidate = withCurrentImplVersions((await loadComparableRun(deps.pool, d.candidateRunId))!);
    const entry: DatasetEvidence = {
      datasetName: `${d.datasetName} v${d.datasetVersion}`,
      rowCount: d.rowCount,
      candidate: { runId: candidate.runId, results: resultEvidence(candidate.results) },
    };
    if (d.baselineRunId) {
      const baseline = withCurrentImplVersions((await loadComparableRun(deps.pool, d.baselineRunId))!);
      entry.baseline = { runId: baseline.runId, results: resultEvidence(baseline.results) };
      const check = comparability(candidate, baseline);
      if (!check.comparable)
        closed.push({
          code: 'not_comparable',
          verdict: 'error',
          message: `the candidate and baseline runs on ${d.datasetName} can no longer be compared: ${check.differences.join('; ')}`,
        });
      else if (baseline.runId !== candidate.runId)
        entry.comparison = (await comparePairedRuns(deps, candidate, baseline, confidences)).metrics;
    }
    evidence[d.datasetId] = entry;
  }
  const evaluation = evaluateRules({
    rules: ctx.version.rules,
    primaryDatasetId: ctx.version.dataset_ids[0],
    metricIds,
    datasets: evidence,
  });
  const resultIds = [...new Set(evaluation.reasons.flatMap((r) => r.resultIds))];
  if (closed.length) return { status: 'error', reasons: [...closed, ...evaluation.reasons], resultIds };
  return { status: evaluation.status, reasons: evaluation.reasons, resultIds };
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : Number(v.toFixed(4)).toString());

/**
 * The re-evaluated rule reasons, each carrying what the original decision said about the
 * same rule (`previous`) and, where a value changed, both values in its message.
 */
export function withPreviousValues(now: Reevaluation['reasons'], before: unknown[]): Reevaluation['reasons'] {
  const previous = new Map((before as RuleReason[]).filter((r) => r && isRuleReason(r)).map((r) => [r.rule, r]));
  return now.map((reason) => {
    if (!isRuleReason(reason)) return reason;
    const r = reason as RuleReason;
    const old = previous.get(r.rule);
    if (!old) return r;
    const changed = old.candidate !== r.candidate || old.baseline !== r.baseline;
    const was = `${fmt(old.candidate)}${old.baseline !== null ? ` vs baseline ${fmt(old.baseline)}` : ''}`;
    const is = `${fmt(r.candidate)}${r.baseline !== null ? ` vs baseline ${fmt(r.baseline)}` : ''}`;
    return {
      ...r,
      previous: {
        verdict: old.verdict,
        candidate: old.candidate,
        baseline: old.baseline,
        delta: old.delta,
        resultIds: old.resultIds,
      },
      message: changed ? `${r.message} [was ${was} (${old.verdict}) when decided; recomputed ${is}]` : r.message,
    };
  });
}
