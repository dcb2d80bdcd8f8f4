/**
 * `evalgate datasets upload` streams: 100,000 rows (about 150 MB) go to the API while the
 * CLI's peak resident memory grows by a fraction of that — measured on the real processes
 * (VmHWM in /proc), against the API in this process.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { CLI_BIN } from '../../../testkit/cli';
import { client, startTestStack, unique, type TestStack } from '../../../testkit/stack';

const ROWS = 100_000;
let stack: TestStack;
let key: string;
let datasetId: string;
let dir: string;

/** The process and its descendants (bin/evalgate runs tsx, which runs the CLI in a child node). */
function family(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    /* exited */
  }
  return [pid, ...children.flatMap(family)];
}

/** Runs the CLI and samples the largest peak resident set (kB) of its processes until it exits. */
async function measured(args: string[]) {
  const child = spawn(CLI_BIN, args, {
    env: { PATH: process.env.PATH ?? '', EVALGATE_URL: stack.baseUrl, EVALGATE_TOKEN: key },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let peakKb = 0;
  const sample = setInterval(() => {
    for (const pid of family(child.pid!)) {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* exited */
      }
    }
  }, 20);
  const [exitCode] = await once(child, 'close');
  clearInterval(sample);
  return { exitCode: exitCode as number, stdout, stderr, peakMb: peakKb / 1024 };
}

const FILLER = 'lorem ipsum dolor sit amet '.repeat(55);
const row = (i: number) =>
  `${JSON.stringify({ id: `row-${i}`, input: `message ${i} ${FILLER}`, label: i % 2 ? 'ham' : 'spam', tags: [`t${i % 7}`] })}\n`;

beforeAll(async () => {
  stack = await startTestStack();
  const team = unique('upload');
  const made = await client(stack.baseUrl, stack.adminToken).post('/v1/principals', {
    name: unique('uploader'),
    teams: [{ team, roles: ['editor'] }],
  });
  key = made.body.apiKey;
  datasetId = (
    await client(stack.baseUrl, key).post('/v1/datasets', {
      name: unique('big'),
      taskType: 'classification',
      ownerTeam: team,
    })
  ).body.datasetId;
  dir = mkdtempSync(join(tmpdir(), 'evalgate-upload-'));
  const out = createWriteStream(join(dir, 'big.jsonl'));
  for (let i = 0; i < ROWS; i++) if (!out.write(row(i))) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  writeFileSync(join(dir, 'one.jsonl'), row(0));
}, 120_000);
afterAll(() => stack.close());

it('uploads 100,000 rows with memory bounded by a chunk, not by the file', async () => {
  const size = statSync(join(dir, 'big.jsonl')).size;
  expect(size).toBeGreaterThan(140 * 1024 * 1024);
  const upload = (file: string) =>
    measured([
      'datasets',
      'upload',
      join(dir, file),
      '--dataset',
      datasetId,
      '--label-policy',
      'synthetic',
      '--format',
      'json',
    ]);
  const small = await upload('one.jsonl');
  expect(small.exitCode).toBe(0);
  const big = await upload('big.jsonl');
  expect([big.exitCode, JSON.parse(big.stdout)]).toEqual([
    0,
    expect.objectContaining({ datasetId, version: 2, rowCount: ROWS, created: true }),
  ]);
  // Holding the file would cost at least its size (150 MB); streaming costs a few chunks and
  // whatever garbage V8 has not collected yet (measured: about 20-35 MB).
  expect(big.peakMb - small.peakMb).toBeLessThan(60);
  // Not a terminal: progress is plain lines, one per 10%.
  expect(big.stderr.trim().split('\n')).toEqual(
    Array.from({ length: 11 }, (_, i) => expect.stringMatching(new RegExp(`^uploading .*big\\.jsonl: ${i * 10}% \\(`))),
  );
}, 300_000);
