/**
 * Reads evalgate files: one file, or every *.yaml / *.yml in a directory (sorted), each
 * holding one or more YAML documents. Every entry keeps where it came from, so a refusal —
 * by the file's schema here or by the API later — names the file, the line and the field.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ruleSchema } from '../../api/features/gates/schemas';
import { evalgateDocument, type DatasetEntry, type GateEntry, type MetricSuiteEntry, type ModelEntry } from './schema';

export type Path = (string | number)[];

/** A refusal that points into a file: `file:line:col: field: message`. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
  override toString(): string {
    return `${this.file}:${this.line}:${this.col}: ${this.field ? `${this.field}: ` : ''}${this.message}`;
  }
}

/** Where an entry lives: its file, its YAML document and its path in that document. */
export interface Source {
  file: string;
  dir: string;
  doc: Document;
  lines: LineCounter;
  path: Path;
}

export interface Located<T> {
  spec: T;
  source: Source;
}

export interface EvalgateFiles {
  files: string[];
  datasets: Located<DatasetEntry>[];
  metricSuites: Located<MetricSuiteEntry>[];
  models: Located<ModelEntry>[];
  gates: Located<GateEntry>[];
}

/** `metrics[0].name` from ['metrics', 0, 'name']. */
export function fieldOf(path: Path): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/** `rules[0].threshold` → ['rules', 0, 'threshold'] (the API's field paths). */
export function pathOf(field: string): Path {
  const path: Path = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) path.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  return path;
}

/**
 * The YAML node at `path`, or the deepest one that exists (a missing field is reported at
 * the map that lacks it). A key of a map is preferred for the last step: an unknown field
 * points at its own name.
 */
function nodeAt(doc: Document, path: Path): Node | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = (doc.contents as Node) ?? undefined;
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === step);
      if (!pair) break;
      node = pair.value;
      found = (pair.value as Node) ?? (pair.key as Node);
    } else if (isSeq(node) && typeof step === 'number' && node.items[step]) {
      node = node.items[step];
      found = node as Node;
    } else break;
  }
  return found;
}

function keyNodeAt(doc: Document, path: Path, key: string): Node | undefined {
  const parent = nodeAt(doc, path);
  if (isMap(parent)) {
    const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
    if (pair) return pair.key as Node;
  }
  return parent;
}

export function refusal(source: Source, subpath: Path, message: string, opts: { key?: string } = {}): ConfigError {
  const path = [...source.path, ...subpath];
  const node = opts.key ? keyNodeAt(source.doc, path, opts.key) : nodeAt(source.doc, path);
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = source.lines.linePos(offset);
  return new ConfigError(source.file, line, col, fieldOf(opts.key ? [...path, opts.key] : path), message);
}

function zodRefusal(source: Source, error: z.ZodError, prefix: Path = []): ConfigError {
  const issue = error.issues[0];
  const path = [...prefix, ...(issue.path as Path)];
  if (issue.code === 'unrecognized_keys')
    return refusal(source, path, `unknown field ${issue.keys[0]} (not part of this entry)`, { key: issue.keys[0] });
  return refusal(source, path, issue.message);
}

function yamlFiles(target: string): string[] {
  let stat;
  try {
    stat = statSync(target);
  } catch {
    throw new ConfigError(target, 1, 1, '', 'no such file or directory');
  }
  if (!stat.isDirectory()) return [target];
  const files = readdirSync(target)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(target, f));
  if (!files.length) throw new ConfigError(target, 1, 1, '', 'the directory has no .yaml or .yml files');
  return files;
}

/** Reads, parses and validates; the first refusal is thrown as a ConfigError. */
export function loadEvalgateFiles(targets: string[], cwd = process.cwd()): EvalgateFiles {
  const result: EvalgateFiles = { files: [], datasets: [], metricSuites: [], models: [], gates: [] };
  const seen = new Map<string, Source>();
  for (const target of targets) {
    for (const file of yamlFiles(resolve(cwd, target))) {
      const near = relative(cwd, file);
      const shown = near && !near.startsWith('..') ? near : file;
      result.files.push(shown);
      const lines = new LineCounter();
      const docs = parseAllDocuments(readFileSync(file, 'utf8'), { lineCounter: lines, prettyErrors: false });
      if (!Array.isArray(docs)) continue; // an empty file
      for (const doc of docs) {
        const source = (path: Path): Source => ({ file: shown, dir: dirname(file), doc, lines, path });
        if (doc.errors.length) {
          const e = doc.errors[0];
          const { line, col } = lines.linePos(e.pos[0]);
          throw new ConfigError(shown, line, col, '', `not valid YAML: ${e.message.split('\n')[0]}`);
        }
        if (doc.contents === null) continue; // an empty document
        const parsed = evalgateDocument.safeParse(doc.toJS());
        if (!parsed.success) throw zodRefusal(source([]), parsed.error);
        const kinds = ['datasets', 'metricSuites', 'models', 'gates'] as const;
        for (const kind of kinds)
          (parsed.data[kind] ?? []).forEach((spec, i) => {
            const at = source([kind, i]);
            const key = `${kind}:${kind === 'gates' || kind === 'models' ? '' : `${spec.ownerTeam}/`}${spec.name}`;
            const earlier = seen.get(key);
            if (earlier) {
              const first = earlier.lines.linePos(nodeAt(earlier.doc, earlier.path)?.range?.[0] ?? 0);
              throw refusal(at, ['name'], `${spec.name} is declared twice (first at ${earlier.file}:${first.line})`);
            }
            seen.set(key, at);
            (result[kind] as Located<typeof spec>[]).push({ spec, source: at });
          });
      }
    }
  }
  checkGates(result);
  return result;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A gate's references resolve to entries of these files (or are ids), and its rules pass the API's rule checks. */
function checkGates(files: EvalgateFiles): void {
  const datasets = new Set(files.datasets.map((d) => d.spec.name));
  const suites = new Set(files.metricSuites.map((s) => s.spec.name));
  for (const { spec, source } of files.gates) {
    if (!suites.has(spec.metricSuite) && !UUID.test(spec.metricSuite))
      throw refusal(source, ['metricSuite'], `no metric suite named ${spec.metricSuite} in ${files.files.join(', ')}`);
    spec.datasets.forEach((name, i) => {
      if (!datasets.has(name) && !UUID.test(name))
        throw refusal(source, ['datasets', i], `no dataset named ${name} in ${files.files.join(', ')}`);
    });
    spec.rules.forEach((rule, i) => {
      const { dataset, ...rest } = rule;
      if (dataset !== undefined && !datasets.has(dataset) && !UUID.test(dataset))
        throw refusal(source, ['rules', i, 'dataset'], `no dataset named ${dataset} in ${files.files.join(', ')}`);
      // The API's own rule checks (kind-specific fields), with a stand-in id for a named dataset.
      const checked = ruleSchema.safeParse({
        ...rest,
        ...(dataset !== undefined ? { datasetId: '00000000-0000-4000-8000-000000000000' } : {}),
      });
      if (!checked.success) {
        const issue = checked.error.issues[0];
        const path = (issue.path as Path).map((p) => (p === 'datasetId' ? 'dataset' : p));
        throw refusal(source, ['rules', i, ...path], issue.message.replace('needs datasetId', 'needs dataset'));
      }
    });
  }
}
