/**
 * Gate-check latency (issue 5): 200 gate checks of a candidate whose runs already exist,
 * each timed from `POST /v1/gates/{id}/checks` to the decision seen through the long-poll
 * `GET /v1/gate-checks/{id}?wait=`, sequentially and 10 at a time, printed beside the
 * floor: a bare `GET /readyz` (PostgreSQL, Temporal and object storage round trips) on the
 * same API. Target: p95 under 2 s. Everything is real: the API in this process, Temporal's
 * dev server, in-process workers, PostgreSQL, MinIO and the reference model server.
 *
 *   npm run stack -- up --services-only && npx tsx bench/gate-checks.ts [checks] [concurrency]
 */
import { startEvalWorld, waitForRun } from '../testkit/evalWorld';
import type { ApiClient } from '../testkit/stack';
import { createGate, releaseSuite, sliceRows, spamModel, uploadDataset } from '../testkit/gates';

const CHECKS = Number(process.argv[2] ?? 200);
const CONCURRENCY = Number(process.argv[3] ?? 10);

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  return { n: sorted.length, p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] };
}
const row = (label: string, s: ReturnType<typeof summary>) =>
  `${label.padEnd(40)} ${String(s.n).padStart(5)} ${s.p50.toFixed(1).padStart(9)} ${s.p95.toFixed(1).padStart(9)} ` +
  `${s.max.toFixed(1).padStart(9)}`;

async function timedCheck(client: ApiClient, gateId: string, candidate: string, key: string): Promise<number> {
  const start = process.hrtime.bigint();
  const posted = await client.post(`/v1/gates/${gateId}/checks`, {
    candidateModelVersion: candidate,
    idempotencyKey: key,
  });
  if (posted.status !== 202) throw new Error(`POST check: ${posted.status} ${JSON.stringify(posted.body)}`);
  for (;;) {
    const res = await client.get(`/v1/gate-checks/${posted.body.checkId}?wait=30`);
    if (res.body.status === 'pass') return ms(start);
    if (res.body.status !== 'pending')
      throw new Error(`check ${posted.body.checkId} decided ${res.body.status}: ${JSON.stringify(res.body.reasons)}`);
  }
}

async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

async function main() {
  // The API and the workers share one connection pool in this process (two processes in a deployment, 10 each).
  const world = await startEvalWorld({
    EVALGATE_LOG_LEVEL: 'warn',
    EVALGATE_OVERRIDE_WINDOW_SECONDS: '5',
    EVALGATE_DB_POOL_MAX: '20',
  });
  try {
    const dataset = await uploadDataset(world, sliceRows({ 'easy-ham': 400, 'hard-ham': 69, spam: 300 }));
    const suite = await releaseSuite(world, [
      { name: 'accuracy', metric: 'accuracy' },
      { name: 'f1_spam', metric: 'f1', params: { average: 'binary', positiveLabel: 'spam' } },
      { name: 'auc', metric: 'roc_auc', params: { positiveLabel: 'spam' } },
    ]);
    const model = await spamModel(world);
    // The runs exist before the first check: release runs of the candidate and of production.
    for (const v of ['logreg-v1', 'nb-v1']) {
      const started = await world.editor.post('/v1/eval-runs', {
        modelVersion: model.v(v),
        datasetId: dataset.datasetId,
        metricSuiteId: suite.metricSuiteId,
        mode: 'release',
      });
      const run = await waitForRun(world.editor, started.body.runId, 300_000);
      if (run.status !== 'succeeded') throw new Error(`run of ${v} ${run.status}`);
    }
    const gateId = await createGate(world.editor, {
      ownerTeam: world.team,
      metricSuiteId: suite.metricSuiteId,
      datasetIds: [dataset.datasetId],
      rules: [
        { metric: 'accuracy', kind: 'max_regression', threshold: 0.01 },
        { metric: 'accuracy', slice: 'hard-ham', kind: 'max_regression', threshold: 0.05 },
        { metric: 'auc', kind: 'non_inferiority', margin: 0.02 },
      ],
    });
    const candidate = model.v('logreg-v1');
    const tag = Date.now().toString(36);
    const first = await timedCheck(world.editor, gateId, candidate, `bench-${tag}-first`);
    for (let i = 0; i < 5; i++) await timedCheck(world.editor, gateId, candidate, `bench-${tag}-warm-${i}`);

    const sequential = await pool(CHECKS, 1, (i) =>
      timedCheck(world.editor, gateId, candidate, `bench-${tag}-seq-${i}`),
    );
    const concurrent = await pool(CHECKS, CONCURRENCY, (i) =>
      timedCheck(world.editor, gateId, candidate, `bench-${tag}-par-${i}`),
    );
    const readyz = await pool(CHECKS, 1, async () => {
      const start = process.hrtime.bigint();
      const res = await fetch(`${world.stack.baseUrl}/readyz`);
      await res.text();
      if (res.status !== 200) throw new Error(`readyz ${res.status}`);
      return ms(start);
    });

    process.stdout.write(
      `\ngate checks over 769 examples, 3 rules (one slice, one non-inferiority), both runs already made\n`,
    );
    process.stdout.write(`first check (comparison computed from stored records): ${first.toFixed(1)} ms\n\n`);
    process.stdout.write(
      `${'latency, POST to decision (ms)'.padEnd(40)} ${'n'.padStart(5)} ${'p50'.padStart(9)} ${'p95'.padStart(9)} ${'max'.padStart(9)}\n`,
    );
    process.stdout.write(`${row('gate check, one at a time', summary(sequential))}\n`);
    process.stdout.write(`${row(`gate check, ${CONCURRENCY} at a time`, summary(concurrent))}\n`);
    process.stdout.write(`${row('GET /readyz (floor)', summary(readyz))}\n`);
    const p95 = Math.max(summary(sequential).p95, summary(concurrent).p95);
    process.stdout.write(`\ntarget p95 < 2000 ms: ${p95 < 2000 ? 'met' : 'MISSED'} (${p95.toFixed(1)} ms)\n`);
  } finally {
    await world.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
