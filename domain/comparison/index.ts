/**
 * Run comparison as the API's read path and the gate activities both use it: the paired
 * comparison of two comparable runs, cached, and the examples that changed between them.
 *
 * A comparison is a pure function of the two runs' stored records and their current
 * result rows, so it is cached under a key made of exactly those: in process (a burst of
 * gate checks for the same candidate compares once) and in object storage (another
 * process, or a later request, reads it instead of streaming every record again). A
 * recompute that supersedes a result changes the key.
 */
import { assertPerExampleReadable } from '../retention/runRetention';
import { hashCanonical } from '../../common/canonical';
import type { Queryable } from '../../common/db';
import type { Storage } from '../../common/storage';
import type { ComparableRun } from './comparability';
import { comparisonSeedOf, runContentKey } from '../evidence/seeds';
import { compareRuns, type RunComparison } from './compareRuns';
import { datasetShardIndexes } from './dal';
import { listComparedExamples, type ExampleChange } from './examples';

export {
  comparability,
  loadComparableRun,
  type ComparableRun,
  type Comparability,
  type CurrentResult,
} from './comparability';
export { EXAMPLE_CHANGES, outcomeMetric, type ComparedExample, type ExampleChange } from './examples';
export type { ComparedValue, MetricComparisonView, RunComparison, SuiteMetric } from './compareRuns';

/** 2: content-derived seeds, Tango intervals for right/wrong outcomes, 1000 bootstrap replicates. */
const FORMAT = 'evalgate.comparison/2';
const MEMORY_ENTRIES = 256;
const memory = new Map<string, RunComparison>();

export interface CompareDeps {
  pool: Queryable;
  storage: Storage;
}

function cacheKey(candidate: ComparableRun, baseline: ComparableRun, confidences: number[]): string {
  return hashCanonical({
    format: FORMAT,
    candidate: candidate.runId,
    baseline: baseline.runId,
    candidateResults: candidate.results.map((r) => r.resultId).sort(),
    baselineResults: baseline.results.map((r) => r.resultId).sort(),
    metrics: candidate.suiteMetrics,
    confidences: [...new Set(confidences)].sort(),
  });
}

/**
 * A run's content key as a comparison sees it: the implementation versions are those of its
 * current results (after a metric incident, the fixed ones), as the comparison accumulates with.
 */
const comparedContentKey = (run: ComparableRun) =>
  runContentKey({
    datasetContentHash: run.datasetContentHash,
    modelVersion: run.modelVersion,
    metricSuiteContentHash: run.suiteContentHash,
    metricImplVersions: Object.fromEntries(run.suiteMetrics.map((m) => [m.name, m.implVersion])),
  });

/** The bootstrap seed of a comparison: both runs' content keys, never their ids. */
export const comparisonSeedFor = (candidate: ComparableRun, baseline: ComparableRun) =>
  comparisonSeedOf(comparedContentKey(candidate), comparedContentKey(baseline));

const objectKey = (candidateRunId: string, baselineRunId: string, key: string) =>
  `comparisons/${candidateRunId}/${baselineRunId}/${key}.json`;

/** The paired comparison of two runs on the same dataset version (check comparability first). */
export async function comparePairedRuns(
  deps: CompareDeps,
  candidate: ComparableRun,
  baseline: ComparableRun,
  confidences: number[] = [],
): Promise<RunComparison> {
  // candidate.suiteMetrics carry each metric's current implementation version (loadComparableRun): after an
  // incident recomputed a metric, the comparison accumulates with the fixed code, not the version the suite pinned.
  const key = cacheKey(candidate, baseline, confidences);
  const hit = memory.get(key);
  if (hit) return hit;
  const stored = objectKey(candidate.runId, baseline.runId, key);
  let comparison: RunComparison | undefined;
  if (await deps.storage.exists(stored)) comparison = await deps.storage.getJson<RunComparison>(stored);
  if (!comparison) {
    // Computing needs both runs' per-example records: past retention they are gone (410 expired), and comparing
    // what is left would count no examples instead of failing.
    await assertPerExampleReadable(deps.pool, candidate.runId);
    await assertPerExampleReadable(deps.pool, baseline.runId);
    comparison = await compareRuns(deps, {
      seed: comparisonSeedFor(candidate, baseline),
      candidateRunId: candidate.runId,
      baselineRunId: baseline.runId,
      shards: await datasetShardIndexes(deps.pool, candidate.datasetVersionId),
      metrics: candidate.suiteMetrics,
      confidences,
    });
    await deps.storage.put(stored, JSON.stringify(comparison), 'application/json');
  }
  if (memory.size >= MEMORY_ENTRIES) memory.delete(memory.keys().next().value as string);
  memory.set(key, comparison);
  return comparison;
}

/** One page of the examples that regressed, improved, stayed, errored or are in one run only (examples.ts). */
export async function listExamples(
  deps: CompareDeps,
  candidate: ComparableRun,
  baseline: ComparableRun,
  options: { change: ExampleChange; slice?: string; limit: number; cursor?: string },
) {
  const shards = await datasetShardIndexes(deps.pool, candidate.datasetVersionId);
  return listComparedExamples(deps, candidate, baseline, shards, options);
}
