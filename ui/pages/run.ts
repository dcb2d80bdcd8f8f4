/**
 * One run: its metrics with intervals overall and per slice, its cost, its progress while
 * it runs (polled every 2 s), what it evaluated (lineage), and a way to compare it.
 */
import { api } from '../api';
import { h, link, render, table, uiHref, type Child } from '../dom';
import { num, usd, when } from '../format';
import { jsonView } from '../view';

interface MetricResult {
  metric?: string;
  value: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  n: number;
  implVersion: string;
  slices?: Record<string, { value: number | null; ciLow: number | null; ciHigh: number | null; n: number }>;
}
interface Run {
  runId: string;
  status: string;
  mode: string;
  progress: { done: number; total: number };
  results: Record<string, MetricResult>;
  cost: { totalUsd: number; modelUsd: number; judgeUsd: number; calls: number; cacheHits?: number };
  lineage: Record<string, unknown>;
  timing?: { createdAt: string; finishedAt: string | null };
  error?: { class: string; message: string };
  invalidReason?: string;
}

const ACTIVE = new Set(['queued', 'running']);

function progressView(run: Run): Child {
  const { done, total } = run.progress;
  const percent = total ? Math.floor((100 * done) / total) : 0;
  return h(
    'p',
    { class: 'progress' },
    h('label', { for: 'run-progress' }, `Progress: ${done} of ${total} examples (${percent}%) `),
    h('progress', { id: 'run-progress', max: total || 1, value: done }),
  );
}

function metricsTable(run: Run): Child {
  const rows: Child[][] = [];
  for (const [name, r] of Object.entries(run.results)) {
    rows.push([h('strong', {}, name), num(r.value), `[${num(r.ciLow)}, ${num(r.ciHigh)}]`, String(r.n), r.implVersion]);
    for (const [tag, s] of Object.entries(r.slices ?? {}))
      rows.push([
        h('span', { class: 'slice' }, `slice ${tag}`),
        num(s.value),
        `[${num(s.ciLow)}, ${num(s.ciHigh)}]`,
        String(s.n),
        '',
      ]);
  }
  return rows.length
    ? table(
        'Metrics with their 95% intervals, overall and per slice',
        ['Metric', 'Value', '95% interval', 'n', 'Implementation'],
        rows,
        {
          class: 'metrics',
        },
      )
    : h('p', {}, 'No results yet.');
}

export async function runPage(runId: string): Promise<void> {
  const run = await api<Run>(`/v1/eval-runs/${encodeURIComponent(runId)}`);
  const baseline = h('input', { id: 'baseline', name: 'baseline', value: 'alias:production' });
  render(
    `Run ${runId}`,
    h('p', { class: `status ${run.status}` }, `Status: ${run.status} · mode ${run.mode}`),
    run.error ? h('p', { role: 'alert', class: 'error' }, `${run.error.class}: ${run.error.message}`) : null,
    run.invalidReason ? h('p', { role: 'alert', class: 'error' }, `Invalid: ${run.invalidReason}`) : null,
    progressView(run),
    metricsTable(run),
    h('h2', {}, 'Cost'),
    h(
      'p',
      {},
      `Total ${usd(run.cost.totalUsd)} (model ${usd(run.cost.modelUsd)}, judge ${usd(run.cost.judgeUsd)}); ${run.cost.calls} calls` +
        (run.cost.cacheHits !== undefined ? `, ${run.cost.cacheHits} cache hits` : '') +
        `. Created ${when(run.timing?.createdAt)}, finished ${when(run.timing?.finishedAt)}.`,
    ),
    h('h2', {}, 'Compare'),
    h(
      'form',
      { method: 'get', action: '/ui/compare' },
      h('input', { type: 'hidden', name: 'candidate', value: runId }),
      h('label', { for: 'baseline' }, 'Baseline (run id or alias:<name>) '),
      baseline,
      ' ',
      h('button', { type: 'submit' }, 'Compare with baseline'),
    ),
    h('h2', {}, 'Lineage'),
    h('p', {}, link(uiHref(`lineage/eval_run/${runId}`), 'Lineage graph around this run')),
    jsonView(run.lineage),
  );
  if (ACTIVE.has(run.status)) setTimeout(() => void runPage(runId).catch(() => undefined), 2000);
}
