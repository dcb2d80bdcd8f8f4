/**
 * Lineage as a graph around any node: what fed into it (upstream) and what depends on it
 * (downstream), laid out left to right in the direction data flows. Every node that can be
 * a centre is a link that re-centres the graph on it; a table lists the same edges as text.
 */
import { api, qs } from '../api';
import { h, render, table, uiHref } from '../dom';
import { jsonView } from '../view';

interface Node {
  id: string;
  kind: string;
  key: string;
  label: string;
  attrs: Record<string, unknown>;
}
interface Edge {
  from: string;
  to: string;
  relation: string;
}
interface Graph {
  root: string;
  nodes: Node[];
  edges: Edge[];
  truncated: boolean;
}

const CENTRES = new Set([
  'dataset_version',
  'metric_suite_version',
  'metric_impl',
  'judge',
  'model_version',
  'eval_run',
  'gate_check',
]);
const MAX_DRAWN = 400;
const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  ...children: (Node | SVGElement | string)[]
) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children)
    el.append(typeof c === 'string' ? document.createTextNode(c) : (c as unknown as globalThis.Node));
  return el;
}

/** Column of each node: the longest path to it from a node nothing feeds (Kahn's order; a cycle ends it). */
function columns(nodes: Node[], edges: Edge[]): Map<string, number> {
  const incoming = new Map(nodes.map((n) => [n.id, 0]));
  const out = new Map<string, string[]>();
  for (const e of edges) {
    if (!incoming.has(e.from) || !incoming.has(e.to) || e.from === e.to) continue; // a self-link (a run's alias) does not order
    incoming.set(e.to, incoming.get(e.to)! + 1);
    out.set(e.from, [...(out.get(e.from) ?? []), e.to]);
  }
  const column = new Map(nodes.map((n) => [n.id, 0]));
  const ready = nodes.filter((n) => incoming.get(n.id) === 0).map((n) => n.id);
  while (ready.length) {
    const id = ready.shift()!;
    for (const next of out.get(id) ?? []) {
      column.set(next, Math.max(column.get(next)!, column.get(id)! + 1));
      incoming.set(next, incoming.get(next)! - 1);
      if (incoming.get(next) === 0) ready.push(next);
    }
  }
  return column;
}

const nodeHref = (n: Node) => uiHref(`lineage/${n.kind}/${encodeURIComponent(n.key)}`);
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function drawing(graph: Graph): SVGSVGElement {
  const col = columns(graph.nodes, graph.edges);
  const byColumn = new Map<number, Node[]>();
  for (const n of graph.nodes) byColumn.set(col.get(n.id)!, [...(byColumn.get(col.get(n.id)!) ?? []), n]);
  const W = 210;
  const H = 54;
  const place = new Map<string, { x: number; y: number }>();
  for (const [c, list] of byColumn) {
    list.sort((a, b) => a.kind.localeCompare(b.kind) || a.label.localeCompare(b.label));
    list.forEach((n, i) => place.set(n.id, { x: 10 + c * (W + 40), y: 10 + i * (H + 14) }));
  }
  const width = 20 + (Math.max(0, ...byColumn.keys()) + 1) * (W + 40);
  const height = 20 + Math.max(1, ...[...byColumn.values()].map((l) => l.length)) * (H + 14);
  const root = svg('svg', {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': 'Lineage graph',
    class: 'lineage',
  });
  root.append(
    svg(
      'defs',
      {},
      svg(
        'marker',
        { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto' },
        svg('path', { d: 'M0,0 L10,5 L0,10 z' }),
      ),
    ),
  );
  for (const e of graph.edges) {
    const a = place.get(e.from);
    const b = place.get(e.to);
    if (!a || !b) continue;
    root.append(
      svg(
        'line',
        { x1: a.x + W, y1: a.y + H / 2, x2: b.x, y2: b.y + H / 2, class: 'edge', 'marker-end': 'url(#arrow)' },
        svg('title', {}, e.relation),
      ),
    );
  }
  for (const n of graph.nodes) {
    const p = place.get(n.id)!;
    const isRoot = n.id === graph.root;
    const box = svg(
      'g',
      { class: `node ${n.kind}${isRoot ? ' root' : ''}`, transform: `translate(${p.x},${p.y})` },
      svg('rect', { width: W, height: H, rx: 6 }),
      svg('text', { x: 8, y: 20 }, clip(n.label, 30)),
      svg('text', { x: 8, y: 40, class: 'kind' }, `${isRoot ? '● centre · ' : ''}${n.kind.replace(/_/g, ' ')}`),
      svg('title', {}, `${n.kind} ${n.label}`),
    );
    root.append(
      CENTRES.has(n.kind) && !isRoot ? svg('a', { href: nodeHref(n), 'aria-label': `${n.kind} ${n.label}` }, box) : box,
    );
  }
  return root;
}

export async function lineagePage(kind: string, id: string, query: URLSearchParams): Promise<void> {
  const limit = Number(query.get('limit') ?? 500);
  const path = `/v1/lineage/${encodeURIComponent(kind)}/${encodeURIComponent(id)}`;
  const [up, down] = await Promise.all([
    api<Graph>(`${path}${qs({ direction: 'upstream', limit })}`),
    api<Graph>(`${path}${qs({ direction: 'downstream', limit })}`),
  ]);
  const nodes = new Map<string, Node>();
  for (const n of [...up.nodes, ...down.nodes]) nodes.set(n.id, n);
  const edges = new Map<string, Edge>();
  for (const e of [...up.edges, ...down.edges]) edges.set(`${e.from}|${e.relation}|${e.to}`, e);
  const graph: Graph = {
    root: up.root,
    nodes: [...nodes.values()],
    edges: [...edges.values()],
    truncated: up.truncated || down.truncated,
  };
  const centre = nodes.get(graph.root);
  const label = (nodeId: string) => {
    const n = nodes.get(nodeId);
    return n
      ? CENTRES.has(n.kind)
        ? h('a', { href: nodeHref(n) }, `${n.kind} ${n.label}`)
        : `${n.kind} ${n.label}`
      : nodeId;
  };
  render(
    `Lineage around ${centre ? `${centre.kind.replace(/_/g, ' ')} ${centre.label}` : id}`,
    h(
      'p',
      {},
      `${graph.nodes.length} records, ${graph.edges.length} links; arrows point the way data flows. Select a record to centre on it.`,
    ),
    graph.truncated ? h('p', { role: 'alert' }, `The graph was cut at ${limit} records per direction.`) : null,
    graph.nodes.length <= MAX_DRAWN
      ? h('div', { class: 'graph' }, drawing(graph) as unknown as HTMLElement)
      : h('p', {}, 'Too many records to draw; see the table.'),
    centre && Object.keys(centre.attrs).length ? [h('h2', {}, 'The centre record'), jsonView(centre.attrs)] : null,
    table(
      'Links',
      ['From', 'Relation', 'To'],
      graph.edges.map((e) => [label(e.from), e.relation, label(e.to)]),
      { class: 'edges' },
    ),
  );
}
