/**
 * Throughput of the metrics run accumulator on the shape the brief sizes for:
 * 1,000,000 binary classification examples, accuracy + f1 + roc_auc + log_loss, one slice
 * tag per example, 200 Poisson bootstrap replicates. Prints examples/second for `add`,
 * then the cost of serialising, merging and finalising.
 *
 *   npx tsx bench/metrics-accumulator.ts [examples] [replicates]
 */
import {
  createAccumulator,
  finalizeAccumulator,
  mergeAccumulatorStates,
  type AccumulatorSpec,
  type MetricExample,
} from '../domain/metrics';

const total = Number(process.argv[2] ?? 1_000_000);
const replicates = Number(process.argv[3] ?? 200);
const spec: AccumulatorSpec = {
  seed: 'bench-seed',
  replicates,
  metrics: [
    { name: 'accuracy', metric: 'accuracy' },
    { name: 'f1', metric: 'f1', params: { positiveLabel: 'spam' } },
    { name: 'roc_auc', metric: 'roc_auc', params: { positiveLabel: 'spam' } },
    { name: 'log_loss', metric: 'log_loss', params: { positiveLabel: 'spam' } },
  ],
};

/** Deterministic synthetic data (mulberry32) so runs are comparable. */
function makeExamples(count: number): MetricExample[] {
  let s = 42;
  const rand = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const tags = ['en', 'de', 'fr', 'es', 'ja'];
  return Array.from({ length: count }, (_, i) => {
    const spam = rand() < 0.3;
    const p = Math.min(0.999, Math.max(0.001, (spam ? 0.65 : 0.35) + (rand() - 0.5) * 0.6));
    return {
      id: `ex-${i}`,
      tags: [tags[i % tags.length]],
      label: spam ? 'spam' : 'ham',
      prediction: { label: p >= 0.5 ? 'spam' : 'ham', scores: { spam: p, ham: 1 - p } },
    };
  });
}

const examples = makeExamples(total);
const shards = 4;
const accumulators = Array.from({ length: shards }, () => createAccumulator(spec));
const started = process.hrtime.bigint();
const cpuStarted = process.cpuUsage();
for (let i = 0; i < examples.length; i++) accumulators[i % shards].add(examples[i]);
const addSeconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuStarted);
const addCpuSeconds = (cpu.user + cpu.system) / 1e6; // robust when other processes share the cores

const t1 = process.hrtime.bigint();
const states = accumulators.map((a) => a.toJSON());
const json = states.map((st) => JSON.stringify(st));
const serialiseSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
const t2 = process.hrtime.bigint();
const merged = mergeAccumulatorStates(
  spec,
  json.map((j) => JSON.parse(j)),
);
const mergeSeconds = Number(process.hrtime.bigint() - t2) / 1e9;
const t3 = process.hrtime.bigint();
const results = finalizeAccumulator(spec, merged);
const finalizeSeconds = Number(process.hrtime.bigint() - t3) / 1e9;

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
process.stdout.write(
  [
    `examples: ${total}, replicates: ${replicates}, metrics: ${spec.metrics.length}, slices: 1 tag per example`,
    `add: ${(total / addSeconds).toFixed(0)} examples/s wall (${addSeconds.toFixed(2)} s), ` +
      `${(total / addCpuSeconds).toFixed(0)} examples/CPU-second`,
    `serialise ${shards} shard states: ${serialiseSeconds.toFixed(2)} s, ${mb(json.reduce((n, j) => n + j.length, 0))} JSON`,
    `merge: ${mergeSeconds.toFixed(2)} s, finalize: ${finalizeSeconds.toFixed(2)} s`,
    ...Object.entries(results).map(
      ([name, r]) => `${name}: ${r.value?.toFixed(5)} [${r.ciLow?.toFixed(5)}, ${r.ciHigh?.toFixed(5)}] n=${r.n}`,
    ),
    `heap used: ${mb(process.memoryUsage().heapUsed)}`,
  ].join('\n') + '\n',
);
