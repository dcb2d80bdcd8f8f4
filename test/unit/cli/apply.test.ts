import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadEvalgateFiles, pathOf } from '../../../cli/apply/load';
import { evalgateJsonSchema } from '../../../cli/apply/schema';
import { changeLine } from '../../../cli/commands/apply';
import { bashCompletion, completionTable } from '../../../cli/commands/completion';
import { renderLineageTree } from '../../../cli/commands/lineage';
import { buildProgram, main } from '../../../cli/main';
import { createContext } from '../../../cli/context';
import { progressReporter, rowLocation } from '../../../cli/upload';

const ROOT = join(__dirname, '..', '..', '..');

function load(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'evalgate-unit-'));
  writeFileSync(join(dir, 'e.yaml'), text);
  try {
    return loadEvalgateFiles([join(dir, 'e.yaml')], dir);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
}

describe('the evalgate file', () => {
  it('publishes the JSON Schema generated from the zod schemas (docs/evalgate.schema.json is in sync)', async () => {
    const committed = JSON.parse(readFileSync(join(ROOT, 'docs', 'evalgate.schema.json'), 'utf8'));
    expect(committed).toEqual(evalgateJsonSchema());
    const lines: string[] = [];
    expect(await main(['schema'], {}, { log: (l) => lines.push(l), err: (l) => lines.push(l) })).toBe(0);
    expect(JSON.parse(lines.join('\n'))).toEqual(committed);
  });

  it("accepts the demo's file", () => {
    const files = loadEvalgateFiles([join(ROOT, 'examples', 'demo', 'evalgate.yaml')], ROOT);
    expect([files.datasets, files.models, files.metricSuites, files.gates].map((l) => l.length)).toEqual([1, 1, 1, 1]);
    expect(files.gates[0].spec.rules[0]).toEqual({
      metric: 'accuracy',
      kind: 'max_regression',
      threshold: 0.03,
      blocking: true,
    });
  });

  it('reads several documents and names the line, column and field of a refusal', () => {
    const err = load(
      [
        'datasets: []',
        '---',
        'metricSuites:',
        '  - name: s',
        '    purpose: release_blocking',
        '    ownerTeam: t',
        '    metrics:',
        '      - { name: acc, metric: accuracy, parms: {} }',
      ].join('\n'),
    );
    expect(String(err)).toMatch(/e\.yaml:8:40: metricSuites\[0\]\.metrics\[0\]\.parms: unknown field parms/);
    const missing = load('models:\n  - name: m\n    versions: []\n');
    expect(String(missing)).toMatch(/e\.yaml:2:5: models\[0\]\.ownerTeam: /);
    const twice = load('models:\n  - { name: m, ownerTeam: t }\n  - { name: m, ownerTeam: t }\n');
    expect(String(twice)).toBe(
      `${(twice as ConfigError).file}:3:13: models[1].name: m is declared twice (first at ${(twice as ConfigError).file}:2)`,
    );
  });

  it('reads every YAML file of a directory in name order; a gate may name what another file declares', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evalgate-dir-'));
    writeFileSync(
      join(dir, 'b-gates.yml'),
      'gates:\n  - name: g\n    ownerTeam: t\n    metricSuite: s\n    datasets: [d]\n' +
        '    rules: [{ metric: acc, kind: min, threshold: 0.9 }]\n',
    );
    writeFileSync(
      join(dir, 'a-registry.yaml'),
      'datasets:\n  - { name: d, taskType: classification, ownerTeam: t, file: d.jsonl, labelPolicy: synthetic }\n' +
        'metricSuites:\n  - { name: s, purpose: release_blocking, ownerTeam: t, metrics: [{ name: acc, metric: accuracy }] }\n',
    );
    writeFileSync(join(dir, 'notes.txt'), 'not yaml: ignored');
    const files = loadEvalgateFiles([dir], dir);
    expect(files.files).toEqual(['a-registry.yaml', 'b-gates.yml']);
    expect(files.gates[0].spec).toMatchObject({ metricSuite: 's', datasets: ['d'], baselineAlias: 'production' });
    expect(files.datasets[0].source.file).toBe('a-registry.yaml');
  });

  it('maps API field paths and dataset rows back to the file', () => {
    expect(pathOf('rules[0].threshold')).toEqual(['rules', 0, 'threshold']);
    expect(pathOf('datasetIds[1]')).toEqual(['datasetIds', 1]);
    expect(rowLocation('rows[41].label')).toEqual({ line: 42, field: 'label' });
    expect(rowLocation('rows[0]')).toEqual({ line: 1, field: 'row' });
    expect(rowLocation('labelPolicy')).toBeUndefined();
  });

  it('prints one line per entry, for apply and for a plan', () => {
    const base = { name: 'n', id: null };
    expect(changeLine({ ...base, kind: 'dataset', action: 'created', version: 1 }, false)).toBe(
      'dataset n: created (version 1)',
    );
    expect(changeLine({ ...base, kind: 'gate', action: 'new_version', version: 3 }, true)).toBe(
      'gate n: would get new version 3',
    );
    expect(changeLine({ ...base, kind: 'metricSuite', action: 'unchanged', version: 2 }, false)).toBe(
      'metric suite n: unchanged',
    );
    expect(
      changeLine(
        { ...base, kind: 'model', action: 'updated', version: null, detail: 'alias production → n@v2' },
        false,
      ),
    ).toBe('model n: updated (alias production → n@v2)');
  });
});

describe('lineage as a tree', () => {
  it('walks the edges the way the query went, and prints a node reached twice once', () => {
    const graph = {
      root: 'dataset_version:d@1',
      direction: 'downstream' as const,
      nodes: [
        { id: 'dataset_version:d@1', kind: 'dataset_version', key: 'd@1', label: 'mail v1' },
        { id: 'eval_run:r1', kind: 'eval_run', key: 'r1', label: 'run r1' },
        { id: 'eval_run:r2', kind: 'eval_run', key: 'r2', label: 'run r2' },
        { id: 'gate_check:c', kind: 'gate_check', key: 'c', label: 'check c (pass)' },
      ],
      edges: [
        { from: 'dataset_version:d@1', to: 'eval_run:r1', relation: 'evaluated_on' },
        { from: 'dataset_version:d@1', to: 'eval_run:r2', relation: 'evaluated_on' },
        { from: 'eval_run:r1', to: 'gate_check:c', relation: 'decided' },
        { from: 'eval_run:r2', to: 'gate_check:c', relation: 'decided' },
      ],
      truncated: false,
    };
    expect(renderLineageTree(graph).split('\n')).toEqual([
      'dataset_version mail v1',
      '├── evaluated_on: eval_run run r1',
      '│   └── decided: gate_check check c (pass)',
      '└── evaluated_on: eval_run run r2',
      '    └── decided: gate_check check c (pass) (shown above)',
    ]);
    expect(renderLineageTree({ ...graph, root: 'gate_check:c', direction: 'upstream' }).split('\n')[1]).toBe(
      '├── decided: eval_run run r1',
    );
  });
});

describe('shell completion', () => {
  it('offers every command and, after a command, its flags', () => {
    const program = buildProgram(createContext({}, { log: () => undefined, err: () => undefined }));
    const table = completionTable(program);
    expect(table.get('')).toEqual(
      expect.arrayContaining(['apply', 'plan', 'datasets', 'runs', 'gate', 'gates', 'lineage']),
    );
    expect(table.get('gate check')).toEqual(expect.arrayContaining(['--gate', '--candidate', '--wait', '--format']));
    expect(table.get('runs')).toEqual(expect.arrayContaining(['list', 'show', 'watch', 'cancel', 'compare', 'start']));
    const script = bashCompletion(program);
    expect(script).toContain('complete -o default -F _evalgate evalgate');
    expect(script).toContain('"incidents metric-bug") words="--metric');
  });
});

describe('upload progress', () => {
  it('redraws a bar on a terminal and prints a line per 10% in a log', () => {
    const lines: string[] = [];
    const drawn: string[] = [];
    const out = { log: () => undefined, err: (l: string) => lines.push(l), status: (t: string) => drawn.push(t) };
    const plain = progressReporter(1000, out, false, 'uploading f');
    for (let sent = 0; sent <= 1000; sent += 50) plain.update(sent);
    expect(lines).toEqual(Array.from({ length: 11 }, (_, i) => `uploading f: ${i * 10}% (0.0 MB of 0.0 MB)`));
    const bar = progressReporter(4 * 1024 * 1024, out, true, 'uploading f');
    bar.update(1024 * 1024);
    bar.done();
    expect(drawn).toEqual([`uploading f [########${' '.repeat(22)}] 25% 1.0 MB/4.0 MB`, '\n']);
  });
});
