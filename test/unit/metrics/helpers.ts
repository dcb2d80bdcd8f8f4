/** Builders for metric tests: examples in the runner's shape and one-call scoring. */
import {
  getMetricImpl,
  type MetricExample,
  type MetricId,
  type MetricOutcome,
  scoreExamples,
} from '../../../domain/metrics';

let nextId = 0;
const freshId = (): string => `t${nextId++}`;

/** A classification example; `scores` may be omitted. */
export function cls(
  label: string | undefined,
  predicted?: string,
  scores?: Record<string, number>,
  tags: string[] = [],
): MetricExample {
  const prediction: MetricExample['prediction'] = {};
  if (predicted !== undefined) prediction.label = predicted;
  if (scores !== undefined) prediction.scores = scores;
  return { id: freshId(), tags, label, prediction };
}

/** A binary example scored only by P(positive) under the label "1" (scikit-learn's y_true/y_score arrays). */
export const binary = (y: 0 | 1, score: number): MetricExample =>
  cls(String(y), undefined, { '1': score, '0': 1 - score });

export function rank(relevance: Record<string, number>, ranking: string[]): MetricExample {
  return { id: freshId(), tags: [], relevance, prediction: { ranking } };
}

export function gen(output: string | undefined, reference: string | undefined, judgeScore?: number): MetricExample {
  return { id: freshId(), tags: [], reference, prediction: output === undefined ? {} : { output }, judgeScore };
}

export function reg(target: number, value: number): MetricExample {
  return { id: freshId(), tags: [], target, prediction: { value } };
}

/** Score examples with the latest (or given) implementation, params validated as a suite would. */
export function score(
  metric: MetricId,
  params: unknown,
  examples: readonly MetricExample[],
  version?: string,
): MetricOutcome {
  const impl = getMetricImpl(metric, version);
  return scoreExamples(impl, impl.params.parse(params ?? {}), examples);
}

/** The value, asserting it is defined. */
export function value(metric: MetricId, params: unknown, examples: readonly MetricExample[], version?: string): number {
  const out = score(metric, params, examples, version);
  if (out.value === null) throw new Error(`${metric} undefined: ${out.reason}`);
  return out.value;
}

/** Deterministic PRNG for test data (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
