/** The registry: compiler-checked coverage, every version kept, the historical recall@0.9.0 bug. */
import {
  getMetricImpl,
  latestImplVersion,
  METRIC_IDS,
  metricRegistry,
  metricVersions,
  UnknownMetricError,
  UnknownMetricVersionError,
} from '../../../domain/metrics';
import { cls, score, value } from './helpers';

const semver = (v: string): number[] => v.split('.').map(Number);
const newer = (a: string, b: string): boolean => {
  const [x, y] = [semver(a), semver(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] > y[i];
  return false;
};

describe('metric registry', () => {
  it('has an implementation for every metric id, under its own id', () => {
    for (const id of METRIC_IDS) {
      expect(metricRegistry[id].id).toBe(id);
      expect(metricRegistry[id].version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(metricVersions[id][metricRegistry[id].version]).toBe(metricRegistry[id]);
    }
  });

  it('does not compile without an implementation for a metric id', () => {
    const { rmse: _dropped, ...incomplete } = metricRegistry;
    // @ts-expect-error — 'rmse' is missing: the registry type demands every MetricId
    const registry: typeof metricRegistry = incomplete;
    expect(registry).toBeDefined();
  });

  it('serves the latest version by default, the newest of all kept versions', () => {
    for (const id of METRIC_IDS) {
      const versions = Object.keys(metricVersions[id]);
      expect(versions.every((v) => v === latestImplVersion(id) || newer(latestImplVersion(id), v))).toBe(true);
      expect(getMetricImpl(id)).toBe(metricRegistry[id]);
    }
    expect(latestImplVersion('recall')).toBe('1.0.0');
    expect(Object.keys(metricVersions.recall).sort()).toEqual(['0.9.0', '1.0.0']);
  });

  it('keeps exactly the historical versions: recall@0.9.0, f1@1.0.0', () => {
    const historical = METRIC_IDS.flatMap((id) =>
      Object.keys(metricVersions[id])
        .filter((v) => v !== latestImplVersion(id))
        .map((v) => `${id}@${v}`),
    );
    expect(historical).toEqual(['recall@0.9.0', 'f1@1.0.0']);
  });

  it('throws typed errors for unknown versions and ids', () => {
    expect(() => getMetricImpl('recall', '2.0.0')).toThrow(UnknownMetricVersionError);
    expect(() => getMetricImpl('recall', '__proto__')).toThrow(UnknownMetricVersionError);
    try {
      getMetricImpl('recall', '0.1.0');
    } catch (err) {
      expect(err).toMatchObject({
        code: 'unknown_metric_impl_version',
        metric: 'recall',
        version: '0.1.0',
        known: ['0.9.0', '1.0.0'],
      });
    }
    // @ts-expect-error — runtime strings from the API are checked too
    expect(() => getMetricImpl('recal')).toThrow(UnknownMetricError);
  });
});

describe('recall@0.9.0 (the historical bug)', () => {
  // y_true [1,1,1,0,0,0,0,1], y_pred [1,0,1,1,0,0,0,0]: TP 2, FP 1, FN 2 -> precision 2/3, recall 1/2
  const ex = [1, 1, 1, 0, 0, 0, 0, 1].map((t, i) => cls(String(t), String([1, 0, 1, 1, 0, 0, 0, 0][i])));

  it('returns precision: TP divided by predicted positives', () => {
    expect(value('recall', { positiveLabel: '1' }, ex, '0.9.0')).toBeCloseTo(2 / 3, 12);
    expect(value('recall', { positiveLabel: '1' }, ex, '0.9.0')).toBe(value('precision', { positiveLabel: '1' }, ex));
    expect(value('recall', { positiveLabel: '1' }, ex, '1.0.0')).toBe(0.5);
  });

  it('returns macro precision for macro averaging', () => {
    const multi = ['a', 'b', 'c', 'a', 'b', 'c'].map((t, i) => cls(t, ['a', 'c', 'b', 'a', 'a', 'b'][i]));
    expect(value('recall', { average: 'macro' }, multi, '0.9.0')).toBe(value('precision', { average: 'macro' }, multi));
    expect(value('recall', { average: 'macro' }, multi, '0.9.0')).not.toBe(
      value('recall', { average: 'macro' }, multi),
    );
  });

  it('is recomputable: same state API, same params schema', () => {
    expect(score('recall', { positiveLabel: '1' }, ex, '0.9.0').n).toBe(8);
  });
});

describe('every metric on empty input', () => {
  const params: Record<string, unknown> = { recall_at_k: { k: 3 }, precision_at_k: { k: 3 } };

  it.each(METRIC_IDS.map((id) => [id]))('%s is null with a reason, never NaN', (id) => {
    expect(score(id, params[id] ?? {}, [])).toEqual({ value: null, n: 0, reason: 'no_examples' });
  });
});
