/**
 * Where the eval runner meets the metrics library: the suite's metric definitions become
 * an accumulator spec seeded from the run, and stored example records become metric examples.
 */
import {
  createAccumulator,
  finalizeAccumulator,
  mergeAccumulatorStates,
  type AccumulatorSpec,
  type AccumulatorState,
} from '../../domain/metrics/accumulator';
import type { MetricExample, MetricId } from '../../domain/metrics/types';
import type { NewMetricResult } from '../../domain/runs/dal';
import type { RunContext } from '../../domain/runs/context';
import type { ExampleRecord } from '../../domain/runs/records';

export function accumulatorSpec(ctx: Pick<RunContext, 'metrics' | 'seed'>): AccumulatorSpec {
  return {
    seed: ctx.seed,
    metrics: ctx.metrics.map((m) => ({
      name: m.name,
      metric: m.metric as MetricId,
      params: m.params,
      slices: m.slices,
      implVersion: m.implVersion,
    })),
  };
}

export function createRunAccumulator(ctx: Pick<RunContext, 'metrics' | 'seed'>) {
  return createAccumulator(accumulatorSpec(ctx));
}

/** States fetched and merged at a time: a run of 200 shards never holds 200 states at once. */
const MERGE_BATCH = 8;

/**
 * Loads shard states a few at a time and folds them into one. Merging is exact and
 * order-independent, so folding in batches gives the same bits as merging all at once,
 * while memory stays at a batch of states instead of every shard's.
 */
export async function mergeStoredStates(
  spec: AccumulatorSpec,
  keys: string[],
  load: (key: string) => Promise<AccumulatorState>,
): Promise<AccumulatorState> {
  let merged: AccumulatorState | undefined;
  for (let i = 0; i < keys.length; i += MERGE_BATCH) {
    const batch = await Promise.all(keys.slice(i, i + MERGE_BATCH).map(load));
    merged = mergeAccumulatorStates(spec, merged ? [merged, ...batch] : batch);
  }
  if (!merged) throw new Error('no shard states to merge');
  return merged;
}

/** Merges the stored shard states of a run and finalises every metric of the suite. */
export async function finalizeRunStates(
  ctx: Pick<RunContext, 'metrics' | 'seed'>,
  keys: string[],
  load: (key: string) => Promise<AccumulatorState>,
): Promise<NewMetricResult[]> {
  const spec = accumulatorSpec(ctx);
  const results = finalizeAccumulator(spec, await mergeStoredStates(spec, keys, load));
  return ctx.metrics.map((m) => {
    const r = results[m.name];
    return {
      name: m.name,
      metric: m.metric,
      implVersion: r.implVersion,
      value: r.value,
      ciLow: r.ciLow,
      ciHigh: r.ciHigh,
      n: r.n,
      reason: r.reason,
      slices: r.slices,
    };
  });
}
