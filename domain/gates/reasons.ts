/**
 * What a gate check records as its reasons and its pinned runs: the verdict a person reads
 * (rule reasons, fail-closed reasons, override reasons) and the runs per dataset it used.
 */
import type { RuleReason } from './evaluateRules';

/** Why a check blocked without (or before) evaluating its rules: fail closed, with a reason a person can act on. */
export type ClosedCode =
  | 'no_baseline'
  | 'stale_baseline'
  | 'stale_versions'
  | 'run_failed'
  | 'run_invalid'
  | 'run_partial'
  | 'run_not_release'
  | 'judge_drift'
  | 'dataset_deprecated'
  | 'metric_frozen'
  | 'not_comparable'
  /** A run's per-example records are past retention: the paired comparison cannot be computed. */
  | 'records_expired'
  | 'not_release_blocking'
  | 'rule_unknown_metric'
  | 'run_not_startable'
  | 'dataset_not_authorized'
  | 'timeout'
  | 'cancelled'
  | 'internal';

export interface ClosedReason {
  code: ClosedCode;
  verdict: 'error' | 'frozen';
  message: string;
  datasetId?: string;
  runId?: string;
  metric?: string;
  incidentId?: string;
}

export interface OverrideReason {
  code: 'override';
  verdict: 'overridden' | 'expired';
  message: string;
  overrideIds: string[];
  rules: string[];
  justification: string[];
  requestedBy: string[];
  approvedBy: string[];
}

export type GateReason = (RuleReason & { overridden?: boolean }) | ClosedReason | OverrideReason;

/** What a check evaluated: the suite version, the resolved baseline and, per dataset, the runs. */
export interface CheckRuns {
  suiteVersionId: string;
  suiteVersion: number;
  baseline: { alias: string; modelVersionId: string; modelVersion: string } | null;
  datasets: CheckDataset[];
}

export interface CheckDataset {
  datasetId: string;
  datasetName: string;
  datasetVersionId: string;
  datasetVersion: number;
  rowCount: number;
  candidateRunId: string;
  baselineRunId: string | null;
  /** Runs this check started (the others already existed and were reused). */
  started: string[];
}

export function frozenReasons(
  freezes: { metric: string; incident_id: string; note: string | null; frozen_at: Date }[],
  ruleMetricsById: Map<string, string[]>,
): ClosedReason[] {
  return freezes.map((f) => ({
    code: 'metric_frozen',
    verdict: 'frozen',
    metric: f.metric,
    incidentId: f.incident_id,
    message:
      `metric ${f.metric} (rules on ${(ruleMetricsById.get(f.metric) ?? [f.metric]).join(', ')}) is frozen by incident ${f.incident_id}` +
      `${f.note ? ` (${f.note})` : ''} since ${f.frozen_at.toISOString()}; checks answer frozen until the incident is resolved`,
  }));
}
