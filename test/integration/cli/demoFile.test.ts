/**
 * The demo's registration step (`evalgate apply -f examples/demo/evalgate.yaml`, run by
 * examples/demo.ts) against the real stack: everything is created, and applying it again
 * changes nothing.
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../testkit/cli';
import { datasetJsonl } from '../../../testkit/corpus/writeDatasets';
import { client, startTestStack, unique, type TestStack } from '../../../testkit/stack';

let stack: TestStack;
let key: string;
let file: string;

beforeAll(async () => {
  // The demo's model server listens on 127.0.0.1:8700; the stack allows it as infra/stack.sh does.
  stack = await startTestStack({ EVALGATE_ENDPOINT_ALLOW: '127.0.0.1:8700' });
  const made = await client(stack.baseUrl, stack.adminToken).post('/v1/principals', {
    name: unique('demo-editor'),
    teams: [{ team: 'spam-ml', roles: ['editor'] }],
  });
  key = made.body.apiKey;
  // The file as the demo uses it, beside the rows the demo writes.
  const dir = mkdtempSync(join(tmpdir(), 'evalgate-demo-'));
  file = join(dir, 'evalgate.yaml');
  copyFileSync(join(__dirname, '..', '..', '..', 'examples', 'demo', 'evalgate.yaml'), file);
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'spamassassin-heldout.jsonl'), datasetJsonl('classification', { split: 'heldout' }));
}, 60_000);
afterAll(() => stack.close());

it("applies the demo's file, and again without a change", async () => {
  const first = await runCli(stack.baseUrl, key, ['apply', '-f', file, '--format', 'json']);
  expect([first.exitCode, first.stderr]).toEqual([0, '']);
  const kinds = JSON.parse(first.stdout).map((c: { kind: string; name: string }) => `${c.kind} ${c.name}`);
  expect(kinds).toEqual([
    'dataset spamassassin-heldout',
    'model spam-filter',
    'metricSuite spam-release',
    'gate spam-ml-spam-filter-release',
  ]);
  const again = await runCli(stack.baseUrl, key, ['apply', '-f', file]);
  expect([again.exitCode, again.stdout.trim().split('\n')]).toEqual([
    0,
    [
      'dataset spamassassin-heldout: unchanged',
      'model spam-filter: unchanged',
      'metric suite spam-release: unchanged',
      'gate spam-ml-spam-filter-release: unchanged',
    ],
  ]);
});
