/**
 * The metric registry. The compiler checks it: `metricRegistry` must have an entry for
 * every MetricId (and each entry's `id` must equal its key), so a metric id without an
 * implementation does not compile.
 *
 * Every implementation version ever used stays here (`metricVersions[id][version]`):
 * a run records the versions it used and must be recomputable bit for bit with them, and
 * incident recomputes pin a fixed version. Never edit a released version in place — add
 * a new module with a new version and keep the old one.
 */
import { accuracy } from './classification/accuracy';
import { brier } from './classification/brier';
import { ece } from './classification/ece';
import { f1 } from './classification/f1';
import { f1V1_0_0 } from './classification/f1.v1_0_0';
import { logLoss } from './classification/logLoss';
import { prAuc } from './classification/prAuc';
import { precision } from './classification/precision';
import { recall } from './classification/recall';
import { recallV0_9_0 } from './classification/recall.v0_9_0';
import { rocAuc } from './classification/rocAuc';
import { bleu } from './generation/bleu';
import { exactMatch } from './generation/exactMatch';
import { judgeScore } from './generation/judgeScore';
import { rougeL } from './generation/rougeL';
import { tokenF1 } from './generation/tokenF1';
import { map } from './ranking/map';
import { mrr } from './ranking/mrr';
import { ndcg } from './ranking/ndcg';
import { precisionAtK } from './ranking/precisionAtK';
import { recallAtK } from './ranking/recallAtK';
import { mae } from './regression/mae';
import { rmse } from './regression/rmse';
import { type AnyMetricImpl, METRIC_IDS, type MetricId, UnknownMetricError, UnknownMetricVersionError } from './types';

/** The latest implementation of each metric. */
export const metricRegistry: { readonly [Id in MetricId]: AnyMetricImpl<Id> } = {
  accuracy,
  precision,
  recall,
  f1,
  roc_auc: rocAuc,
  pr_auc: prAuc,
  log_loss: logLoss,
  brier,
  ece,
  ndcg,
  mrr,
  recall_at_k: recallAtK,
  precision_at_k: precisionAtK,
  map,
  exact_match: exactMatch,
  token_f1: tokenF1,
  rouge_l: rougeL,
  bleu,
  judge_score: judgeScore,
  mae,
  rmse,
};

/** Superseded versions, kept for bit-for-bit recomputation of the runs that used them. */
const historical: { readonly [Id in MetricId]?: readonly AnyMetricImpl<Id>[] } = {
  recall: [recallV0_9_0],
  f1: [f1V1_0_0],
};

/** Every implementation version of every metric: metricVersions[id][version]. */
export const metricVersions: { readonly [Id in MetricId]: Readonly<Record<string, AnyMetricImpl<Id>>> } = Object.freeze(
  Object.fromEntries(
    METRIC_IDS.map((id) => {
      const impls: AnyMetricImpl[] = [...(historical[id] ?? []), metricRegistry[id]];
      return [id, Object.freeze(Object.fromEntries(impls.map((impl) => [impl.version, impl])))];
    }),
  ) as { [Id in MetricId]: Record<string, AnyMetricImpl<Id>> },
);

export function isMetricId(id: string): id is MetricId {
  return (METRIC_IDS as readonly string[]).includes(id);
}

export function latestImplVersion(id: MetricId): string {
  if (!isMetricId(id)) throw new UnknownMetricError(id);
  return metricRegistry[id].version;
}

/** The implementation of `id` at `version` (default: latest). Throws a typed error for unknown ids/versions. */
export function getMetricImpl<Id extends MetricId>(id: Id, version?: string): AnyMetricImpl<Id> {
  if (!isMetricId(id)) throw new UnknownMetricError(id);
  if (version === undefined) return metricRegistry[id];
  const versions = metricVersions[id];
  const impl = Object.hasOwn(versions, version) ? versions[version] : undefined;
  if (!impl) throw new UnknownMetricVersionError(id, version, Object.keys(metricVersions[id]));
  return impl;
}
