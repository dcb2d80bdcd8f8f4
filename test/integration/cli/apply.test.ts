/**
 * `evalgate apply` as a repository runs it: a real process (bin/evalgate) reading a YAML
 * file and a JSONL file from disk, against the API in this process and the real database.
 * Apply twice changes nothing; a changed rule versions the gate and nothing else;
 * --dry-run and plan write nothing; a bad file is refused with its file, line and field.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../testkit/cli';
import { client, startTestStack, unique, type TestStack } from '../../../testkit/stack';

let stack: TestStack;
let key: string;
let principalId: string;
let team: string;
let dir: string;
const names = { dataset: '', suite: '', model: '', gate: '' };

/**
 * Every table apply could write to, counted: equal counts before and after mean nothing was written.
 * The audit log counts only this test's principal: other tests' background work (a run finishing,
 * an override expiring) writes audit rows of its own at any time.
 */
const TABLES = [
  'teams',
  'datasets',
  'dataset_versions',
  'dataset_shards',
  'metric_suites',
  'metric_suite_versions',
  'models',
  'model_versions',
  'model_aliases',
  'model_alias_history',
  'gates',
  'gate_versions',
  'audit_log',
];
async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES) {
    const [sql, args] =
      t === 'audit_log'
        ? ['SELECT count(*) AS n FROM audit_log WHERE principal_id = $1', [principalId]]
        : [`SELECT count(*) AS n FROM ${t}`, []];
    out[t] = Number((await stack.pool.query(sql, args)).rows[0].n);
  }
  return out;
}
const delta = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(TABLES.filter((t) => after[t] !== before[t]).map((t) => [t, after[t] - before[t]]));

function rows(n: number, extra = ''): string {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      id: `r${i}`,
      input: `mail ${i}${extra}`,
      label: i % 3 ? 'ham' : 'spam',
      tags: [i % 2 ? 'a' : 'b'],
    }),
  ).join('\n');
}

const TWO_METRICS = [
  '      - { name: accuracy, metric: accuracy }',
  '      - { name: f1_spam, metric: f1, params: { average: binary, positiveLabel: spam } }',
].join('\n');

interface Knobs {
  threshold?: number;
  metrics?: string;
  rowsFile?: string;
  extraRule?: string;
  production?: string;
}
function evalgateYaml(k: Knobs = {}): string {
  return `# yaml-language-server: $schema=../../docs/evalgate.schema.json
datasets:
  - name: ${names.dataset}
    taskType: classification
    ownerTeam: ${team}
    description: held-out mail
    file: ${k.rowsFile ?? 'rows.jsonl'}
    labelPolicy: human_reviewed
    visibility: internal
models:
  - name: ${names.model}
    ownerTeam: ${team}
    versions:
      - version: v1
        endpoint: { protocol: json-predict, url: "http://127.0.0.1:9/predict/v1" }
      - version: v2
        endpoint: { protocol: openai-chat, url: "http://127.0.0.1:9/v1", model: m2 }
        promptTemplate: "Classify: {{input}}"
        params: { temperature: 0 }
    aliases:
      production: ${k.production ?? 'v1'}
---
metricSuites:
  - name: ${names.suite}
    purpose: release_blocking
    ownerTeam: ${team}
    metrics:
${k.metrics ?? TWO_METRICS}
    requireHumanLabels: true
gates:
  - name: ${names.gate}
    ownerTeam: ${team}
    metricSuite: ${names.suite}
    datasets: [${names.dataset}]
    baselineAlias: production
    rules:
      - metric: accuracy
        kind: max_regression
        threshold: ${k.threshold ?? 0.03}
      - { metric: accuracy, slice: a, kind: non_inferiority, margin: 0.05 }
${k.extraRule ?? ''}`;
}

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const evalgate = (...args: string[]) => runCli(stack.baseUrl, key, args);

beforeAll(async () => {
  stack = await startTestStack();
  team = unique('cfg');
  const made = await client(stack.baseUrl, stack.adminToken).post('/v1/principals', {
    name: unique('cfg-editor'),
    teams: [{ team, roles: ['editor'] }],
  });
  key = made.body.apiKey;
  principalId = made.body.principalId;
  expect(principalId).toEqual(expect.any(String));
  names.dataset = unique('mail');
  names.suite = unique('release');
  names.model = unique('filter');
  names.gate = unique('gate');
  dir = mkdtempSync(join(tmpdir(), 'evalgate-apply-'));
  write('rows.jsonl', rows(40));
  write('evalgate.yaml', evalgateYaml());
}, 60_000);
afterAll(() => stack.close());

describe('evalgate apply', () => {
  it('creates what the file declares and prints one line per entry', async () => {
    const res = await evalgate('apply', '-f', join(dir, 'evalgate.yaml'));
    expect([res.exitCode, res.stderr]).toEqual([0, '']);
    expect(res.stdout.trim().split('\n')).toEqual([
      `dataset ${names.dataset}: created (version 1)`,
      `model ${names.model}: created (versions v1, v2 added; alias production → ${names.model}@v1)`,
      `metric suite ${names.suite}: created (version 1)`,
      `gate ${names.gate}: created (version 1)`,
    ]);
  });

  it('changes nothing when applied again (the database says so too)', async () => {
    const before = await counts();
    const res = await evalgate('apply', '-f', dir, '--format', 'json');
    expect(res.exitCode).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual([
      { kind: 'dataset', name: names.dataset, action: 'unchanged', version: 1, id: expect.any(String) },
      { kind: 'model', name: names.model, action: 'unchanged', version: null, id: expect.any(String) },
      { kind: 'metricSuite', name: names.suite, action: 'unchanged', version: 1, id: expect.any(String) },
      { kind: 'gate', name: names.gate, action: 'unchanged', version: 1, id: expect.any(String) },
    ]);
    expect(delta(before, await counts())).toEqual({});
  });

  it('gives the gate a new version, and nothing else, when a rule changes', async () => {
    write('evalgate.yaml', evalgateYaml({ threshold: 0.02 }));
    const before = await counts();
    const res = await evalgate('apply', '-f', join(dir, 'evalgate.yaml'));
    expect(res.exitCode).toBe(0);
    expect(res.stdout.trim().split('\n')).toEqual([
      `dataset ${names.dataset}: unchanged`,
      `model ${names.model}: unchanged`,
      `metric suite ${names.suite}: unchanged`,
      `gate ${names.gate}: new version 2`,
    ]);
    expect(delta(before, await counts())).toEqual({ gate_versions: 1, audit_log: 1 });
    const gates = await stack.pool.query(
      `SELECT v.version, v.rules FROM gate_versions v JOIN gates g USING (gate_id) WHERE g.name = $1 ORDER BY v.version`,
      [names.gate],
    );
    expect(gates.rows.map((r) => [r.version, r.rules[0].threshold])).toEqual([
      [1, 0.03],
      [2, 0.02],
    ]);
  });

  it('versions a dataset by its content: new rows are a new version, the same rows again are not', async () => {
    write('rows2.jsonl', rows(41));
    write('evalgate.yaml', evalgateYaml({ threshold: 0.02, rowsFile: 'rows2.jsonl' }));
    const first = await evalgate('apply', '-f', dir, '--format', 'json');
    expect(JSON.parse(first.stdout)[0]).toMatchObject({ kind: 'dataset', action: 'new_version', version: 2 });
    const again = await evalgate('apply', '-f', dir, '--format', 'json');
    expect(JSON.parse(again.stdout).map((c: { action: string }) => c.action)).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
  });

  it('moves an alias when the file points it elsewhere: the model is updated, nothing else', async () => {
    write('evalgate.yaml', evalgateYaml({ threshold: 0.02, rowsFile: 'rows2.jsonl', production: 'v2' }));
    const before = await counts();
    const res = await evalgate('apply', '-f', join(dir, 'evalgate.yaml'), '--format', 'json');
    expect(JSON.parse(res.stdout)[1]).toEqual({
      kind: 'model',
      name: names.model,
      action: 'updated',
      version: null,
      id: expect.any(String),
      detail: `alias production → ${names.model}@v2`,
    });
    expect(delta(before, await counts())).toEqual({ model_alias_history: 1, audit_log: 1 });
  });

  it('refuses a changed definition under an existing version name, at that version', async () => {
    // In a directory of its own: the tests after this one apply the whole of `dir`.
    const text = evalgateYaml({ threshold: 0.02, rowsFile: '../rows2.jsonl', production: 'v2' }).replace(
      '127.0.0.1:9/predict/v1',
      '127.0.0.1:9/predict/v1b',
    );
    const line = text.split('\n').findIndex((l) => l.includes('- version: v1')) + 1;
    mkdirSync(join(dir, 'immutable'));
    const file = write(join('immutable', 'evalgate.yaml'), text);
    const res = await evalgate('apply', '-f', file);
    expect(res.exitCode).toBe(2);
    expect(res.stderr.trim()).toMatch(
      new RegExp(
        `immutable/evalgate\\.yaml:${line}:18: models\\[0\\]\\.versions\\[0\\]\\.version: .*versions are immutable`,
      ),
    );
  });

  it('plans with --dry-run and with plan, writing nothing', async () => {
    write('rows3.jsonl', rows(42));
    write(
      'evalgate.yaml',
      evalgateYaml({
        threshold: 0.01,
        rowsFile: 'rows3.jsonl',
        metrics: '      - { name: accuracy, metric: accuracy }',
        production: 'v2',
      }),
    );
    const before = await counts();
    const dry = await evalgate('apply', '-f', dir, '--dry-run');
    expect([dry.exitCode, dry.stderr]).toEqual([0, '']);
    expect(dry.stdout.trim().split('\n')).toEqual([
      `dataset ${names.dataset}: would get new version 3`,
      `model ${names.model}: unchanged`,
      `metric suite ${names.suite}: would get new version 2`,
      `gate ${names.gate}: would get new version 3`,
      `plan: nothing was written (${join(dir, 'evalgate.yaml')})`,
    ]);
    const plan = await evalgate('plan', '-f', dir, '--format', 'json');
    expect(JSON.parse(plan.stdout).map((c: { action: string }) => c.action)).toEqual([
      'new_version',
      'unchanged',
      'new_version',
      'new_version',
    ]);
    expect(delta(before, await counts())).toEqual({});
    // What the plan said is what apply does.
    const applied = await evalgate('apply', '-f', dir, '--format', 'json');
    expect(JSON.parse(applied.stdout).map((c: { action: string; version: unknown }) => [c.action, c.version])).toEqual(
      JSON.parse(plan.stdout).map((c: { action: string; version: unknown }) => [c.action, c.version]),
    );
  });

  it('plans a file never applied: everything would be created', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'evalgate-fresh-'));
    writeFileSync(join(fresh, 'rows.jsonl'), rows(5));
    const saved = { ...names };
    Object.assign(names, { dataset: unique('d'), suite: unique('s'), model: unique('m'), gate: unique('g') });
    writeFileSync(join(fresh, 'evalgate.yaml'), evalgateYaml());
    Object.assign(names, saved);
    const before = await counts();
    const plan = await evalgate('plan', '-f', join(fresh, 'evalgate.yaml'), '--format', 'json');
    expect(plan.exitCode).toBe(0);
    expect(JSON.parse(plan.stdout).map((c: { action: string }) => c.action)).toEqual([
      'created',
      'created',
      'created',
      'created',
    ]);
    expect(delta(before, await counts())).toEqual({});
  });
});

describe('evalgate apply refuses a bad file with exit 2, naming file, line and field', () => {
  /** Refused before anything is written (what the file's schema catches), unless `partly` (what only the API catches). */
  const refused = async (name: string, text: string, partly = false) => {
    const file = write(name, text);
    const res = await evalgate('apply', '-f', file);
    expect(res.exitCode).toBe(2);
    if (!partly) expect(res.stdout).toBe('');
    return { file, stderr: res.stderr.trim() };
  };

  it('a rule without the field its kind needs', async () => {
    const text = evalgateYaml().replace('threshold: 0.03', 'margin: 0.03');
    const line = text.split('\n').findIndex((l) => l.includes('margin: 0.03')) + 1;
    const { file, stderr } = await refused('bad-rule.yaml', text);
    expect(stderr).toBe(
      `evalgate: ${file}:${line - 2}:9: gates[0].rules[0].threshold: a max_regression rule needs threshold: ` +
        'how far the candidate may fall behind the baseline (absolute, or a fraction with relative: true)',
    );
  });

  it('an unknown field, at its own line', async () => {
    const text = evalgateYaml().replace(
      '    labelPolicy: human_reviewed',
      '    labelPolicy: human_reviewed\n    lableStyle: x',
    );
    const line = text.split('\n').findIndex((l) => l.includes('lableStyle')) + 1;
    const { file, stderr } = await refused('bad-field.yaml', text);
    expect(stderr).toBe(
      `evalgate: ${file}:${line}:5: datasets[0].lableStyle: unknown field lableStyle (not part of this entry)`,
    );
  });

  it('a reference to a suite the files do not declare', async () => {
    const text = evalgateYaml().replace(`metricSuite: ${names.suite}`, 'metricSuite: nope');
    const line = text.split('\n').findIndex((l) => l.includes('metricSuite: nope')) + 1;
    const { stderr } = await refused('bad-ref.yaml', text);
    expect(stderr).toMatch(
      new RegExp(`bad-ref\\.yaml:${line}:18: gates\\[0\\]\\.metricSuite: no metric suite named nope`),
    );
  });

  it('what only the API can refuse, mapped back to the line: a rule on a metric the suite does not have', async () => {
    const text = evalgateYaml({
      threshold: 0.01,
      rowsFile: 'rows3.jsonl',
      metrics: '      - { name: accuracy, metric: accuracy }',
    }).replace(
      '      - metric: accuracy\n        kind: max_regression',
      '      - metric: recall\n        kind: max_regression',
    );
    const line = text.split('\n').findIndex((l) => l.includes('metric: recall')) + 1;
    const { stderr } = await refused('bad-metric.yaml', text, true);
    expect(stderr).toMatch(
      new RegExp(
        `bad-metric\\.yaml:${line}:17: gates\\[0\\]\\.rules\\[0\\]\\.metric: ` +
          'suite .* has no metric named recall .*\\(the API refused: 400 invalid_request\\)$',
      ),
    );
  });

  it('not YAML at all', async () => {
    const { file, stderr } = await refused('bad.yaml', 'datasets:\n  - name: [unclosed\n');
    expect(stderr).toMatch(new RegExp(`^evalgate: ${file}:\\d+:\\d+: not valid YAML`));
  });

  it('a bad row of the dataset file, by its line number', async () => {
    write('bad-rows.jsonl', `${rows(3)}\n{"id":"x","input":"y"}\n`);
    const { stderr } = await refused('bad-rows.yaml', evalgateYaml({ rowsFile: 'bad-rows.jsonl' }));
    expect(stderr).toMatch(/bad-rows\.jsonl:4: label: /);
  });

  it('an API it cannot reach', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    const res = await runCli(url, key, ['apply', '-f', join(dir, 'evalgate.yaml')]);
    expect([res.exitCode, res.stderr.trim()]).toEqual([2, `evalgate: cannot reach the API at ${url}: ECONNREFUSED`]);
  });
});
