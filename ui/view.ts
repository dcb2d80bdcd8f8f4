/** A readable view of any JSON the API returns (lineage attributes, incident reports): lists, tables, links for ids. */
import { h, link, uiHref, type Child } from './dom';

const ID_LINKS: Record<string, (id: string) => string> = {
  runId: (id) => uiHref(`runs/${id}`),
  candidateRunId: (id) => uiHref(`runs/${id}`),
  baselineRunId: (id) => uiHref(`runs/${id}`),
  checkId: (id) => uiHref(`checks/${id}`),
  incidentId: (id) => uiHref(`incidents/${id}`),
  experimentId: (id) => uiHref(`experiments/${id}`),
};

export function jsonView(value: unknown, key?: string, depth = 0): Child {
  if (value === null || value === undefined) return '—';
  if (typeof value !== 'object') {
    const text = String(value);
    return key && ID_LINKS[key] && typeof value === 'string' ? link(ID_LINKS[key](text), text) : text;
  }
  if (depth > 4) return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return 'none';
    if (value.every((v) => v && typeof v === 'object' && !Array.isArray(v))) {
      const columns = [...new Set(value.flatMap((v) => Object.keys(v as object)))];
      return h(
        'table',
        { class: 'json' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            columns.map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          {},
          value.map((row) =>
            h(
              'tr',
              {},
              columns.map((c) => h('td', {}, jsonView((row as Record<string, unknown>)[c], c, depth + 1))),
            ),
          ),
        ),
      );
    }
    return h(
      'ul',
      {},
      value.map((v) => h('li', {}, jsonView(v, key, depth + 1))),
    );
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return 'none';
  return h(
    'dl',
    { class: 'json' },
    entries.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, jsonView(v, k, depth + 1))]),
  );
}
