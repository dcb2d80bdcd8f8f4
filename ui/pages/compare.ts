/**
 * Candidate vs baseline: per metric and slice the delta with its interval and p-value, read
 * with the metric's direction; counts of regressed / improved / unchanged / errored /
 * one-run-only examples that filter the example table; the examples side by side, a page
 * at a time from the API (the browser never holds a run's examples). Every bit of state is
 * in the query string: candidate, baseline, filter, slice, cursor, example.
 */
import { api, ApiError, qs } from '../api';
import { h, link, render, table, uiHref, type Child } from '../dom';
import { deltaVerdict, interval, num, pValue, shortId, signed, type Direction } from '../format';

type Filter = 'regressed' | 'improved' | 'unchanged' | 'errored' | 'candidate_only' | 'baseline_only';

const FILTERS: { filter: Filter; label: string }[] = [
  { filter: 'regressed', label: '▼ Regressed' },
  { filter: 'improved', label: '▲ Improved' },
  { filter: 'unchanged', label: '= Unchanged' },
  { filter: 'errored', label: '⚠ Errored' },
  { filter: 'candidate_only', label: 'Only in candidate' },
  { filter: 'baseline_only', label: 'Only in baseline' },
];

interface Compared {
  candidate: number | null;
  baseline: number | null;
  delta: number | null;
  deltaCiLow: number | null;
  deltaCiHigh: number | null;
  pValue: number | null;
  n: number;
  regressed?: number;
  improved?: number;
}
interface MetricView extends Compared {
  metric: string;
  direction: Direction;
  slices: Record<string, Compared>;
}
interface RunSummary {
  runId: string;
  modelVersion: string;
  mode: string;
  dataset: { datasetId: string; name: string; version: number };
  metricSuite: { metricSuiteId: string; version: number };
}
interface Comparison {
  warnings: string[];
  candidate: RunSummary;
  baseline: RunSummary & { via: string };
  examples: { paired: number; candidateOnly: number; baselineOnly: number; errored: number };
  metrics: Record<string, MetricView>;
}
interface Side {
  label?: string;
  output?: string;
  value?: number;
  scores?: Record<string, number>;
  ranking?: string[];
  correct?: boolean;
  judgeScore?: number;
  error?: { class: string; message: string };
}
interface Example {
  id: string;
  change: Filter;
  tags: string[];
  input?: Record<string, unknown>;
  truth: { label?: string; reference?: string; target?: number };
  candidate: Side | null;
  baseline: Side | null;
}

const PAGE_SIZE = 25;
const OUTCOME_METRICS = ['accuracy', 'exact_match'];

function pickForm(query: URLSearchParams): void {
  const candidate = h('input', {
    id: 'candidate',
    name: 'candidate',
    value: query.get('candidate') ?? '',
    required: true,
  });
  const baseline = h('input', { id: 'baseline', name: 'baseline', value: query.get('baseline') ?? 'alias:production' });
  render(
    'Compare runs',
    h(
      'form',
      { method: 'get', action: '/ui/compare', class: 'stack' },
      h('label', { for: 'candidate' }, 'Candidate run id'),
      candidate,
      h(
        'label',
        { for: 'baseline' },
        'Baseline: a run id, or alias:<name> (the alias’s release run on the same dataset version)',
      ),
      baseline,
      h('button', { type: 'submit' }, 'Compare'),
    ),
  );
  candidate.focus();
}

export async function comparePage(query: URLSearchParams): Promise<void> {
  const candidate = query.get('candidate');
  if (!candidate) return pickForm(query);
  const baseline = query.get('baseline') || 'alias:production';
  const filter = (FILTERS.find((f) => f.filter === query.get('filter'))?.filter ?? 'regressed') as Filter;
  const slice = query.get('slice') || undefined;
  const cursor = query.get('cursor') || undefined;
  const sort = query.get('sort') === 'regressions' ? 'regressions' : undefined;
  const state = { candidate, baseline, filter, slice, cursor, sort };
  const href = (change: Partial<typeof state> & { example?: string }) =>
    uiHref('compare', { ...state, cursor: undefined, ...change });

  // Both requests at once: the first screen waits for the slower, not for their sum.
  const base = `/v1/eval-runs/${encodeURIComponent(candidate)}/comparison`;
  const examplesRequest = api<{ items: Example[]; nextCursor: string | null }>(
    `${base}/examples${qs({ baseline, change: filter, slice, limit: PAGE_SIZE, cursor })}`,
  ).catch((err: unknown) => err as Error);
  const comparison = await api<Comparison>(`${base}${qs({ baseline })}`);
  const examples = await examplesRequest;

  const metrics = Object.entries(comparison.metrics);
  const outcome = metrics.find(([, m]) => OUTCOME_METRICS.includes(m.metric));
  const c = comparison.candidate;
  const b = comparison.baseline;
  render(
    `Comparison: ${c.modelVersion} vs ${b.modelVersion}`,
    h(
      'p',
      { class: 'summary' },
      'Candidate ',
      link(uiHref(`runs/${c.runId}`), `${c.modelVersion} (run ${shortId(c.runId)})`),
      ' against baseline ',
      link(uiHref(`runs/${b.runId}`), `${b.modelVersion} (run ${shortId(b.runId)}, ${b.mode})`),
      b.via === 'run' ? '' : ` via ${b.via}`,
      `. Both evaluated ${c.dataset.name} v${c.dataset.version} — the dataset version the baseline used — `,
      `with metric suite v${c.metricSuite.version}; ${comparison.examples.paired} examples paired.`,
    ),
    comparison.warnings.length
      ? h(
          'ul',
          { class: 'warnings', 'aria-label': 'Warnings' },
          comparison.warnings.map((w) => h('li', {}, `⚠ ${w}`)),
        )
      : null,
    h(
      'p',
      {},
      sort
        ? link(href({ sort: undefined, cursor }), 'Slices in dataset order')
        : link(href({ sort: 'regressions', cursor }), 'Sort slices by regressions, most first'),
    ),
    metricsTable(metrics, href, sort === 'regressions'),
    outcome ? countsBar(comparison, outcome[1], state, href) : null,
    examplesSection(examples, state, href, outcome?.[0]),
  );
  const open = query.get('example');
  if (open && !(examples instanceof Error)) {
    const item = examples.items.find((e) => e.id === open);
    if (item) showExample(item, href);
  }
}

function metricsTable(
  metrics: [string, MetricView][],
  href: (c: Record<string, string | undefined>) => string,
  byRegressions: boolean,
) {
  const rows: Child[][] = [];
  const row = (name: string, slice: string | undefined, v: Compared, direction: Direction): Child[] => {
    const verdict = deltaVerdict(v.delta, v.deltaCiLow, v.deltaCiHigh, direction);
    const count = (n: number | undefined, filter: Filter, label: string) =>
      n === undefined ? '—' : link(href({ filter, slice }), `${label} ${n}`);
    return [
      slice ? h('span', { class: 'slice' }, `slice ${slice}`) : h('strong', {}, name),
      direction === 'higher_is_better' ? 'higher is better' : 'lower is better',
      num(v.baseline),
      num(v.candidate),
      signed(v.delta),
      interval(v.deltaCiLow, v.deltaCiHigh),
      pValue(v.pValue),
      h('span', { class: `verdict ${verdict.kind}` }, verdict.label),
      count(v.regressed, 'regressed', '▼'),
      count(v.improved, 'improved', '▲'),
      String(v.n),
    ];
  };
  for (const [name, m] of metrics) {
    rows.push(row(name, undefined, m, m.direction));
    const slices = Object.entries(m.slices);
    if (byRegressions) slices.sort(([, a], [, b]) => (b.regressed ?? 0) - (a.regressed ?? 0));
    for (const [tag, s] of slices) rows.push(row(name, tag, s, m.direction));
  }
  return table(
    'Metrics: candidate − baseline, with the 95% interval of the delta',
    [
      'Metric',
      'Direction',
      'Baseline',
      'Candidate',
      'Δ',
      '95% interval',
      'p-value',
      'Verdict',
      'Regressed',
      'Improved',
      'n',
    ],
    rows,
    { class: 'metrics' },
  );
}

function countsBar(
  comparison: Comparison,
  outcome: MetricView,
  state: { filter: Filter; slice?: string },
  href: (c: Record<string, string | undefined>) => string,
) {
  const layer = state.slice ? outcome.slices[state.slice] : outcome;
  const r = layer?.regressed ?? 0;
  const i = layer?.improved ?? 0;
  const counts: Record<Filter, number | undefined> = {
    regressed: r,
    improved: i,
    unchanged: layer ? layer.n - r - i : undefined,
    // Errors and one-run-only examples are counted over the whole run, not per slice.
    errored: state.slice ? undefined : comparison.examples.errored,
    candidate_only: state.slice ? undefined : comparison.examples.candidateOnly,
    baseline_only: state.slice ? undefined : comparison.examples.baselineOnly,
  };
  return h(
    'nav',
    { class: 'counts', 'aria-label': 'Filter the examples' },
    h('span', {}, state.slice ? `Examples in slice ${state.slice}: ` : 'Examples: '),
    FILTERS.map(({ filter, label }) =>
      h(
        'a',
        {
          href: href({ filter, slice: state.slice }),
          class: `count ${filter}`,
          'data-filter': filter,
          'aria-current': filter === state.filter ? 'true' : undefined,
        },
        `${label} `,
        h('b', {}, counts[filter] === undefined ? '' : String(counts[filter])),
      ),
    ),
    state.slice ? link(href({ filter: state.filter, slice: undefined }), 'All slices') : null,
  );
}

const inputText = (input: Record<string, unknown> | undefined): string => {
  if (!input) return '—';
  const values = Object.values(input);
  return values.length === 1 && typeof values[0] === 'string' ? values[0] : JSON.stringify(input);
};

function sideText(s: Side | null): string {
  if (!s) return 'not in this run';
  if (s.error) return `error: ${s.error.class}`;
  const answer = s.label ?? s.output ?? (s.value !== undefined ? String(s.value) : s.ranking?.join(', ')) ?? '—';
  const score =
    s.label !== undefined && s.scores?.[s.label] !== undefined ? ` (p=${s.scores[s.label].toFixed(3)})` : '';
  const judge = s.judgeScore !== undefined ? ` judge ${s.judgeScore.toFixed(3)}` : '';
  const mark = s.correct === undefined ? '' : s.correct ? ' ✓ right' : ' ✗ wrong';
  return `${answer}${score}${judge}${mark}`;
}

function examplesSection(
  examples: { items: Example[]; nextCursor: string | null } | Error,
  state: { filter: Filter; slice?: string; cursor?: string },
  href: (c: Record<string, string | undefined>) => string,
  outcomeName: string | undefined,
) {
  const what = `${FILTERS.find((f) => f.filter === state.filter)!.label.replace(/^\W+ /, '')} examples${
    state.slice ? ` in slice ${state.slice}` : ''
  }`;
  if (examples instanceof Error) {
    const message =
      examples instanceof ApiError && examples.status === 403
        ? `Examples are not shown: ${examples.message}. The aggregates above are.`
        : `Examples could not be loaded: ${examples.message}`;
    return h('section', { id: 'examples' }, h('h2', {}, what), h('p', { role: 'alert', class: 'error' }, message));
  }
  const rows = examples.items.map((e) => [
    h('code', {}, e.id),
    h('span', { class: 'clip' }, inputText(e.input)),
    e.truth.label ?? e.truth.reference ?? (e.truth.target !== undefined ? String(e.truth.target) : '—'),
    h('span', { class: e.baseline?.correct === false ? 'wrong' : '' }, sideText(e.baseline)),
    h('span', { class: e.candidate?.correct === false ? 'wrong' : '' }, sideText(e.candidate)),
    h('button', { type: 'button', class: 'open', 'data-example': e.id, onclick: () => showExample(e, href) }, 'Open'),
  ]);
  return h(
    'section',
    { id: 'examples' },
    h('h2', {}, what),
    outcomeName ? h('p', {}, `Right and wrong by the suite's ${outcomeName} metric.`) : null,
    rows.length
      ? table(what, ['Example', 'Input', 'Label', 'Baseline output', 'Candidate output', ''], rows, {
          class: 'examples',
        })
      : h('p', {}, `No ${what.toLowerCase()}${state.cursor ? ' on this page' : ''}.`),
    h(
      'p',
      { class: 'pager' },
      state.cursor ? link(href({ filter: state.filter, slice: state.slice }), '⇤ First page') : null,
      state.cursor && examples.nextCursor ? ' · ' : null,
      examples.nextCursor
        ? link(href({ filter: state.filter, slice: state.slice, cursor: examples.nextCursor }), 'Next page →')
        : null,
    ),
    h('section', { id: 'example-detail', 'aria-live': 'polite' }),
  );
}

/** A single text field (an email, a prompt) as the text itself; anything else as JSON. */
const fullInput = (input: Record<string, unknown>): string => {
  const values = Object.values(input);
  return values.length === 1 && typeof values[0] === 'string' ? values[0] : JSON.stringify(input, null, 2);
};

const fieldText = (v: unknown): string =>
  v === undefined || v === null ? '—' : typeof v === 'string' ? v : JSON.stringify(v);

/** One example side by side: its input, its truth, and each field of both outputs, with the ones that differ marked. */
function showExample(e: Example, href: (c: Record<string, string | undefined>) => string): void {
  const panel = document.getElementById('example-detail')!;
  const fields = ['label', 'output', 'value', 'ranking', 'scores', 'correct', 'judgeScore', 'error'] as const;
  const present = fields.filter((f) => e.baseline?.[f] !== undefined || e.candidate?.[f] !== undefined);
  const rows = present.map((f) => {
    const before = fieldText(e.baseline?.[f]);
    const after = fieldText(e.candidate?.[f]);
    return [f, before, after, before === after ? '= same' : '≠ differs'];
  });
  panel.replaceChildren(
    h('h2', { tabindex: '-1', id: 'example-title' }, `Example ${e.id}`),
    h('p', {}, `Change: ${e.change.replace('_', ' ')}. Tags: ${e.tags.length ? e.tags.join(', ') : 'none'}.`),
    h('h3', {}, 'Input'),
    h('pre', { class: 'input' }, e.input ? fullInput(e.input) : '(not stored any more)'),
    h('h3', {}, 'Truth'),
    h('pre', {}, JSON.stringify(e.truth, null, 2)),
    table('Baseline and candidate, field by field', ['Field', 'Baseline', 'Candidate', 'Diff'], rows, {
      class: 'sideBySide',
    }),
    h('p', {}, link(href({ example: e.id }), 'Link to this example')),
  );
  const url = new URL(location.href);
  url.searchParams.set('example', e.id);
  history.replaceState(null, '', url);
  (document.getElementById('example-title') as HTMLElement).focus();
}
