/**
 * The alert rules in infra/prometheus/ are valid and fire on the harm they name: promtool (built
 * from its Go module and cached like Temporal and MinIO, see infra/build.sh) checks the rules and
 * runs their unit tests (alerts.test.yml). Every alert links a runbook section that exists, and uses only
 * series that api/ or workers/ define.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../../..');
const rules = join(root, 'infra/prometheus/alerts.yml');

function promtool(): string {
  if (process.env.EVALGATE_PROMTOOL_BIN) return process.env.EVALGATE_PROMTOOL_BIN;
  // Cached after the first build on a machine (a few minutes then).
  return execFileSync('bash', [join(root, 'infra/build.sh'), 'promtool'], { encoding: 'utf8' }).trim();
}

let bin: string;
beforeAll(() => {
  bin = promtool();
}, 900_000);

it('passes promtool check rules', () => {
  const res = spawnSync(bin, ['check', 'rules', rules], { encoding: 'utf8' });
  expect(res.stderr + res.stdout).toMatch(/SUCCESS: 13 rules found/);
  expect(res.status).toBe(0);
});

it('fires every alert on the harm it names and stays quiet just short of it (promtool test rules)', () => {
  const res = spawnSync(bin, ['test', 'rules', join(root, 'infra/prometheus/alerts.test.yml')], { encoding: 'utf8' });
  expect(res.stdout + res.stderr).toMatch(/SUCCESS/);
  expect(res.status).toBe(0);
});

it('links every alert to a runbook section that exists', () => {
  const runbook = readFileSync(join(root, 'docs/runbook.md'), 'utf8');
  const anchors = new Set(
    [...runbook.matchAll(/^#+ (.+)$/gm)].map((m) =>
      m[1]
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replace(/ /g, '-'),
    ),
  );
  const links = [...readFileSync(rules, 'utf8').matchAll(/runbook_url: \S+#([a-z0-9-]+)/g)].map((m) => m[1]);
  expect(links).toHaveLength(13);
  for (const anchor of links) expect(anchors).toContain(anchor);
});

it('alerts and the Grafana dashboard use only series the API and the workers serve', () => {
  const served = new Set<string>();
  const sources = execFileSync('grep', ['-rhoE', "'evalgate_[a-z_]+'", join(root, 'api'), join(root, 'workers')], {
    encoding: 'utf8',
  });
  for (const m of sources.matchAll(/evalgate_[a-z_]+/g)) served.add(m[0]);
  const used = (file: string) =>
    new Set([...readFileSync(join(root, file), 'utf8').matchAll(/evalgate_[a-z_]+/g)].map((m) => m[0]));
  for (const file of ['infra/prometheus/alerts.yml', 'infra/grafana/evalgate.json']) {
    const names = [...used(file)].filter((n) => n !== 'evalgate_overview').map((n) => n.replace(/_bucket$/, ''));
    expect(names.length).toBeGreaterThan(4);
    for (const name of names) expect([file, served.has(name)]).toEqual([file, true]);
  }
});
