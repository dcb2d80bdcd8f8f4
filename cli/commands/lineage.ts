import type { Command } from 'commander';
import type { CliContext } from '../context';
import { query } from '../http';

export interface LineageGraphBody {
  root: string;
  direction: 'upstream' | 'downstream';
  nodes: { id: string; kind: string; key: string; label: string }[];
  edges: { from: string; to: string; relation: string }[];
  truncated: boolean;
}

/**
 * The graph as a tree from its root, walking edges the way the query went (downstream:
 * from → to; upstream: to → from). A node reached twice is printed once in full and then
 * as "(shown above)", so a diamond in the graph does not repeat a subtree.
 */
export function renderLineageTree(graph: LineageGraphBody): string {
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const children = new Map<string, { id: string; relation: string }[]>();
  for (const e of graph.edges) {
    const [parent, child] = graph.direction === 'upstream' ? [e.to, e.from] : [e.from, e.to];
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent)!.push({ id: child, relation: e.relation });
  }
  for (const list of children.values()) list.sort((a, b) => a.id.localeCompare(b.id));
  const name = (id: string) => {
    const n = nodes.get(id);
    return n ? `${n.kind} ${n.label}` : id;
  };
  const lines = [name(graph.root)];
  const shown = new Set([graph.root]);
  const walk = (id: string, prefix: string) => {
    const list = children.get(id) ?? [];
    list.forEach((c, i) => {
      const last = i === list.length - 1;
      const seen = shown.has(c.id);
      lines.push(`${prefix}${last ? '└── ' : '├── '}${c.relation}: ${name(c.id)}${seen ? ' (shown above)' : ''}`);
      if (!seen) {
        shown.add(c.id);
        walk(c.id, `${prefix}${last ? '    ' : '│   '}`);
      }
    });
  };
  walk(graph.root, '');
  if (graph.truncated) lines.push('… truncated: the graph is larger than the limit (--limit)');
  return lines.join('\n');
}

export function registerLineage(program: Command, ctx: CliContext): void {
  program
    .command('lineage <kind> <id>')
    .description(
      'what a record came from (upstream) or what depends on it (downstream), as a tree; kinds: dataset_version, ' +
        'model_version, metric_suite_version, metric_impl, judge, eval_run, gate_check, …',
    )
    .option('--direction <direction>', 'upstream or downstream', 'downstream')
    .option('--limit <n>', 'at most this many nodes')
    .addOption(ctx.format())
    .action(
      ctx.run(async (api, opts, [kind, id]) => {
        const graph = await api.get<LineageGraphBody>(
          `/v1/lineage/${encodeURIComponent(kind)}/${encodeURIComponent(id)}${query({ direction: opts.direction, limit: opts.limit })}`,
        );
        ctx.out.log(opts.format === 'json' ? JSON.stringify(graph, null, 2) : renderLineageTree(graph));
        return 0;
      }),
    );
}
