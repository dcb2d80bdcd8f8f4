/**
 * Whether two runs may be compared, and what a reader should know when they are.
 *
 * Refused (409 not_comparable): different dataset version, suite version or metric
 * implementation versions (per metric, read from each run's *current* results, so a run
 * recomputed by an incident and one that was not are told apart), and a different judge
 * for judged metrics. Warned: anything else that differs and may explain a difference —
 * prompt template, inference params, platform version — or that weakens the evidence.
 */
import type { Queryable } from '../../common/db';
import type { SuiteMetric } from './compareRuns';
import { findComparableRunRow, listComparableResults } from './dal';

export interface CurrentResult {
  resultId: string;
  metricName: string;
  metricId: string;
  implVersion: string;
  value: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  n: number;
  slices: Record<
    string,
    { value: number | null; ciLow?: number | null; ciHigh?: number | null; n?: number; reason?: string }
  >;
  partial: boolean;
}

export interface ComparableRun {
  runId: string;
  status: string;
  mode: 'exploratory' | 'release';
  invalidReason: string | null;
  errorClass: string | null;
  modelId: string;
  modelName: string;
  modelVersionId: string;
  modelVersion: string;
  modelOwnerTeam: string;
  datasetId: string;
  datasetName: string;
  datasetOwnerTeam: string;
  datasetVersionId: string;
  datasetVersion: number;
  /** Content hashes of the dataset and suite versions: what a comparison's seed derives from (domain/evidence/seeds.ts). */
  datasetContentHash: string;
  suiteContentHash: string;
  datasetStatus: string;
  visibility: 'public' | 'internal' | 'restricted';
  allowedTeams: string[];
  taskType: string;
  suiteId: string;
  suiteName: string;
  suitePurpose: string;
  suiteVersionId: string;
  suiteVersion: number;
  suiteMetrics: SuiteMetric[];
  judgeFingerprint: string | null;
  judgeDrift: boolean;
  platformVersion: string;
  promptTemplateHash: string | null;
  paramsHash: string;
  finishedAt: Date | null;
  results: CurrentResult[];
}

/**
 * The suite's metrics at the implementation version of the run's current result: a
 * comparison accumulates the stored records with the version the run's numbers now come
 * from (after a metric incident, the fixed one; a re-judged result's `+judge.…` build
 * metadata names the judge, not the code, and is dropped).
 */
function withResultImplVersions(
  metrics: SuiteMetric[],
  results: { metric_name: string; impl_version: string }[],
): SuiteMetric[] {
  const current = new Map(results.map((x) => [x.metric_name, x.impl_version.split('+')[0]]));
  return metrics.map((m) => ({ ...m, implVersion: current.get(m.name) ?? m.implVersion }));
}

export async function loadComparableRun(q: Queryable, runId: string): Promise<ComparableRun | undefined> {
  const r = await findComparableRunRow(q, runId);
  if (!r) return undefined;
  const results = await listComparableResults(q, runId);
  return {
    runId: r.run_id,
    status: r.status,
    mode: r.mode,
    invalidReason: r.invalid_reason,
    errorClass: r.error_class,
    modelId: r.model_id,
    modelName: r.model_name,
    modelVersionId: r.model_version_id,
    modelVersion: `${r.model_name}@${r.model_version}`,
    modelOwnerTeam: r.model_owner_team,
    datasetId: r.dataset_id,
    datasetName: r.dataset_name,
    datasetOwnerTeam: r.dataset_owner_team,
    datasetVersionId: r.dataset_version_id,
    datasetVersion: r.dataset_version,
    datasetContentHash: r.dataset_content_hash,
    suiteContentHash: r.suite_content_hash,
    datasetStatus: r.dataset_status,
    visibility: r.visibility,
    allowedTeams: r.allowed_teams,
    taskType: r.task_type,
    suiteId: r.metric_suite_id,
    suiteName: r.suite_name,
    suitePurpose: r.purpose,
    suiteVersionId: r.metric_suite_version_id,
    suiteVersion: r.suite_version,
    suiteMetrics: withResultImplVersions(r.metrics, results as { metric_name: string; impl_version: string }[]),
    judgeFingerprint: r.judge_fingerprint,
    judgeDrift: r.judge_flags?.drift === true,
    platformVersion: r.platform_version,
    promptTemplateHash: r.prompt_template_hash,
    paramsHash: r.params_hash,
    finishedAt: r.finished_at,
    results: results.map((x) => ({
      resultId: x.result_id,
      metricName: x.metric_name,
      metricId: x.metric_id,
      implVersion: x.impl_version,
      value: x.value,
      ciLow: x.ci_low,
      ciHigh: x.ci_high,
      n: Number(x.n),
      slices: x.slices ?? {},
      partial: x.partial,
    })),
  };
}

export interface Comparability {
  comparable: boolean;
  differences: string[];
  warnings: string[];
}

const JUDGED_METRICS = new Set(['judge_score']);

export function comparability(candidate: ComparableRun, baseline: ComparableRun): Comparability {
  const differences: string[] = [];
  const warnings: string[] = [];
  if (candidate.datasetVersionId !== baseline.datasetVersionId) {
    differences.push(
      candidate.datasetId === baseline.datasetId
        ? `dataset version differs: the candidate ran on ${candidate.datasetName} v${candidate.datasetVersion}, the ` +
            `baseline on v${baseline.datasetVersion}`
        : `dataset differs: the candidate ran on ${candidate.datasetName}, the baseline on ${baseline.datasetName}`,
    );
  }
  if (candidate.suiteVersionId !== baseline.suiteVersionId) {
    differences.push(
      candidate.suiteId === baseline.suiteId
        ? `metric suite version differs: the candidate used ${candidate.suiteName} v${candidate.suiteVersion}, the ` +
            `baseline v${baseline.suiteVersion}`
        : `metric suite differs: the candidate used ${candidate.suiteName}, the baseline ${baseline.suiteName}`,
    );
  }
  const baseResults = new Map(baseline.results.map((r) => [r.metricName, r]));
  for (const c of candidate.results) {
    const b = baseResults.get(c.metricName);
    if (!b) differences.push(`metric ${c.metricName} has no current result in the baseline run`);
    else if (c.implVersion !== b.implVersion || c.metricId !== b.metricId) {
      differences.push(
        `metric implementation differs for ${c.metricName}: candidate ${c.metricId}@${c.implVersion}, baseline ` +
          `${b.metricId}@${b.implVersion}`,
      );
    }
  }
  const judged = candidate.suiteMetrics.filter((m) => JUDGED_METRICS.has(m.metric));
  if (judged.length && candidate.judgeFingerprint !== baseline.judgeFingerprint) {
    differences.push(
      `judge differs for ${judged.map((m) => m.name).join(', ')}: ` +
        `candidate judge ${candidate.judgeFingerprint ?? 'none'}, baseline judge ${baseline.judgeFingerprint ?? 'none'}`,
    );
  }
  if (candidate.promptTemplateHash !== baseline.promptTemplateHash) warnings.push('the prompt templates differ');
  if (candidate.paramsHash !== baseline.paramsHash) warnings.push('the inference params differ');
  if (candidate.platformVersion !== baseline.platformVersion)
    warnings.push(`the platform versions differ (${candidate.platformVersion} vs ${baseline.platformVersion})`);
  for (const [role, run] of [
    ['candidate', candidate],
    ['baseline', baseline],
  ] as const) {
    if (run.status === 'invalid')
      warnings.push(`the ${role} run is invalid: ${run.invalidReason ?? 'no reason recorded'}`);
    if (run.mode !== 'release') warnings.push(`the ${role} run is exploratory: it cannot decide a gate`);
    if (run.judgeDrift) warnings.push(`the ${role} run's judge was flagged for drift`);
    if (run.results.some((r) => r.partial)) warnings.push(`the ${role} run's results are partial (its budget ran out)`);
    if (run.datasetStatus === 'deprecated') warnings.push(`the ${role} run's dataset version is deprecated`);
  }
  return { comparable: differences.length === 0, differences, warnings };
}
