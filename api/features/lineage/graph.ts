/**
 * A lineage graph as the API returns it: nodes keyed `<kind>:<key>`, and edges that always
 * point the way data flows (dataset version → run → result → decision → check → alias
 * move), whichever direction was walked. Bounded: past `limit` nodes the walk stops adding
 * and the graph says it was truncated.
 */

export type NodeKind =
  | 'dataset'
  | 'dataset_version'
  | 'model'
  | 'model_version'
  | 'metric_suite'
  | 'metric_suite_version'
  | 'metric_impl'
  | 'judge'
  | 'eval_run'
  | 'metric_result'
  | 'gate'
  | 'gate_decision'
  | 'gate_check'
  | 'experiment'
  | 'alias_move'
  | 'incident';

export interface LineageNode {
  id: string;
  kind: NodeKind;
  key: string;
  label: string;
  attrs: Record<string, unknown>;
}
export interface LineageEdge {
  from: string;
  to: string;
  relation: string;
}

export const nodeId = (kind: NodeKind, key: string) => `${kind}:${key}`;

export class LineageGraph {
  private readonly nodes = new Map<string, LineageNode>();
  private readonly edges = new Map<string, LineageEdge>();
  truncated = false;

  constructor(private readonly limit: number) {}

  has(kind: NodeKind, key: string): boolean {
    return this.nodes.has(nodeId(kind, key));
  }

  /** Adds a node (once); returns its id, or undefined when the graph is full. */
  node(kind: NodeKind, key: string, label: string, attrs: Record<string, unknown> = {}): string | undefined {
    const id = nodeId(kind, key);
    if (this.nodes.has(id)) return id;
    if (this.nodes.size >= this.limit) {
      this.truncated = true;
      return undefined;
    }
    this.nodes.set(id, { id, kind, key, label, attrs });
    return id;
  }

  /** Adds an edge between two nodes already in the graph (a missing end is skipped). */
  edge(from: string | undefined, to: string | undefined, relation: string): void {
    if (!from || !to || !this.nodes.has(from) || !this.nodes.has(to)) return;
    this.edges.set(`${from}|${to}|${relation}`, { from, to, relation });
  }

  toJSON(root: string, direction: string) {
    return {
      root,
      direction,
      nodes: [...this.nodes.values()],
      edges: [...this.edges.values()],
      truncated: this.truncated,
    };
  }
}
