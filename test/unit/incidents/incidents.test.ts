import { implVersionPredicate } from '../../../domain/lineage/dal';
import { baseImplVersion } from '../../../domain/incidents/results';
import { withPreviousValues } from '../../../domain/incidents/reevaluate';
import { LineageGraph } from '../../../api/features/lineage/graph';

describe('implVersionPredicate', () => {
  it('ORs one containment test per version, so each can use the GIN index', () => {
    const p = implVersionPredicate('r.metric_impl_versions', 'recall', ['0.9.0', '0.9.1'], 3);
    expect(p.sql).toBe('(r.metric_impl_versions @> $3::jsonb OR r.metric_impl_versions @> $4::jsonb)');
    expect(p.params).toEqual(['{"recall":"0.9.0"}', '{"recall":"0.9.1"}']);
  });

  it('matches nothing for no versions', () => {
    expect(implVersionPredicate('c', 'recall', [], 1)).toEqual({ sql: '(false)', params: [] });
  });
});

describe('baseImplVersion', () => {
  it("drops a judge's SemVer build metadata and keeps plain versions", () => {
    expect(baseImplVersion('1.0.0+judge.0123456789abcdef')).toBe('1.0.0');
    expect(baseImplVersion('0.9.0')).toBe('0.9.0');
  });
});

describe('withPreviousValues', () => {
  const rule = (candidate: number, verdict: string, message = 'recall_spam: must be >= 0.8') => ({
    code: 'rule',
    rule: 'recall_spam:min',
    metric: 'recall_spam',
    kind: 'min',
    blocking: true,
    datasetId: 'd',
    verdict,
    candidate,
    baseline: null,
    delta: null,
    relativeDelta: null,
    deltaCiLow: null,
    deltaCiHigh: null,
    resultIds: ['1'],
    message,
  });

  it('puts the value the decision saw beside the recomputed one', () => {
    const [now] = withPreviousValues([rule(0.72, 'fail') as any], [rule(0.8504, 'pass')]);
    expect(now).toMatchObject({ verdict: 'fail', candidate: 0.72, previous: { verdict: 'pass', candidate: 0.8504 } });
    expect(now.message).toBe('recall_spam: must be >= 0.8 [was 0.8504 (pass) when decided; recomputed 0.72]');
  });

  it('leaves unchanged values and non-rule reasons as they are', () => {
    const closed = { code: 'not_comparable', verdict: 'error', message: 'x' };
    const out = withPreviousValues([rule(0.9, 'pass') as any, closed], [rule(0.9, 'pass')]);
    expect(out[0].message).toBe('recall_spam: must be >= 0.8');
    expect(out[1]).toBe(closed);
  });
});

describe('LineageGraph', () => {
  it('keeps nodes once, drops edges to missing nodes, and says when it was truncated', () => {
    const g = new LineageGraph(2);
    const a = g.node('eval_run', 'a', 'run a');
    expect(g.node('eval_run', 'a', 'again')).toBe(a);
    const b = g.node('metric_result', '1', 'r');
    expect(g.node('metric_result', '2', 'r')).toBeUndefined();
    g.edge(a, b, 'produced');
    g.edge(a, 'metric_result:2', 'produced');
    const json = g.toJSON(a!, 'downstream');
    expect(json.nodes.map((n) => n.id)).toEqual(['eval_run:a', 'metric_result:1']);
    expect(json.edges).toEqual([{ from: 'eval_run:a', to: 'metric_result:1', relation: 'produced' }]);
    expect(json.truncated).toBe(true);
  });
});
