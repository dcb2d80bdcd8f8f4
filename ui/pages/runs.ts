/** The runs the key may see, newest first, filtered by status and mode (in the URL), a page at a time. */
import { api, qs } from '../api';
import { h, link, render, table, uiHref } from '../dom';
import { shortId, usd, when } from '../format';

const STATUSES = ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'budget_exceeded', 'invalid'];

interface RunListItem {
  runId: string;
  status: string;
  mode: string;
  modelVersion: string;
  datasetVersion: number;
  progress: { done: number; total: number };
  costUsd: number;
  createdAt: string;
}

export async function runsPage(query: URLSearchParams): Promise<void> {
  const status = query.get('status') ?? '';
  const mode = query.get('mode') ?? '';
  const cursor = query.get('cursor') ?? '';
  const page = await api<{ items: RunListItem[]; nextCursor: string | null }>(
    `/v1/eval-runs${qs({ status, mode, cursor, limit: 50 })}`,
  );
  const select = (name: string, values: string[], current: string) =>
    h(
      'select',
      { id: name, name },
      values.map((v) => h('option', { value: v, selected: v === current }, v || 'any')),
    );
  render(
    'Eval runs',
    h(
      'form',
      { method: 'get', action: '/ui/runs', class: 'filters' },
      h('label', { for: 'status' }, 'Status '),
      select('status', STATUSES, status),
      h('label', { for: 'mode' }, ' Mode '),
      select('mode', ['', 'exploratory', 'release'], mode),
      ' ',
      h('button', { type: 'submit' }, 'Filter'),
    ),
    page.items.length
      ? table(
          'Runs, newest first',
          ['Run', 'Model version', 'Status', 'Mode', 'Progress', 'Cost', 'Created'],
          page.items.map((r) => [
            link(uiHref(`runs/${r.runId}`), shortId(r.runId)),
            r.modelVersion,
            r.status,
            r.mode,
            `${r.progress.done} / ${r.progress.total}`,
            usd(r.costUsd),
            when(r.createdAt),
          ]),
          { class: 'runs' },
        )
      : h('p', {}, 'No runs match.'),
    page.nextCursor ? h('p', {}, link(uiHref('runs', { status, mode, cursor: page.nextCursor }), 'Next page →')) : null,
  );
}
