/**
 * Bootstrap seeds derived from content, never from run ids (API.md, "Evidence"): the same
 * predictions always give the same values, intervals and verdicts, so a cached rerun or a
 * re-started check cannot re-roll a decision.
 *
 * - A run's content key hashes what determines its per-example records and how they are
 *   scored: the dataset version's content hash, the model version, the metric suite
 *   version's content hash, and the metric implementation versions. Its seed is
 *   `run:<content key>`.
 * - A comparison's seed is `compare:<candidate content key>:<baseline content key>`.
 * Both are recorded in the run's lineage (`seeds`) and in the comparison.
 */
import { hashCanonical } from '../../common/canonical';

export const RUN_CONTENT_KEY_FORMAT = 'evalgate.run-content/1';

export interface RunContent {
  datasetContentHash: string;
  /** `<model name>@<version>`. */
  modelVersion: string;
  metricSuiteContentHash: string;
  /** Suite metric name -> implementation version. */
  metricImplVersions: Record<string, string>;
}

export function runContentKey(content: RunContent): string {
  return hashCanonical({
    format: RUN_CONTENT_KEY_FORMAT,
    dataset: content.datasetContentHash,
    model: content.modelVersion,
    suite: content.metricSuiteContentHash,
    metrics: content.metricImplVersions,
  });
}

export const runSeed = (content: RunContent): string => `run:${runContentKey(content)}`;

export const comparisonSeedOf = (candidateContentKey: string, baselineContentKey: string): string =>
  `compare:${candidateContentKey}:${baselineContentKey}`;
