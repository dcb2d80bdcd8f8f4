/**
 * Resilience benchmark (issue 14): one eval run per provider behaviour, side by side, through the
 * real API, workflow and worker, against a local OpenAI-compatible stub (this process):
 *
 *  - clean: every request answered after 20 ms;
 *  - 10% errors: every 10th request fails, alternately 500 and 429 with `Retry-After: 1`;
 *  - provider-limited: the provider accepts 1,000 requests in any second (a sliding window) and
 *    answers 429 with `Retry-After: 1` beyond.
 *
 * 10,000 examples each (a fresh model per scenario, so nothing comes from the prediction cache
 * and each has its own endpoint controller), concurrency 64. Targets: 10% errors ≤ 1.3× clean
 * with exact results; provider limit used ≥ 90% with ≤ 10% of requests answered 429.
 *
 * The same three against the model client alone (marked *) show the controller where the machine's
 * cores are not the bottleneck (on a busy 2-core machine a whole run is CPU-bound below 1,000/s).
 *
 * npm run stack -- up --services-only && npx tsx bench/resilience.ts [--rows N] [--only clean,errors,limited]
 *   [--client no] [--runs no] [--latency-tolerance X] [--provider-rps N]
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../common/config';
import { evalRunWorkflowId } from '../common/names';
import { classificationInput, examplesOf } from '../testkit/corpus/spamCorpus';
import type { Api } from '../testkit/apiClient';
import { createModelClient } from '../activities/models/client';
import { EndpointLimiters } from '../activities/models/endpointLimiter';
import { build } from './lib/processes';
import { startBenchStack } from './lib/stack';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const ROWS = Number(args.get('rows') ?? 10_000);
const ONLY = (args.get('only') ?? 'clean,errors,limited').split(',');
const CONCURRENCY = 64;
const LATENCY_MS = 20;
/** The provider's limit; lower it (--provider-rps) to see the controller where the client is not CPU-bound. */
const PROVIDER_RPS = Number(args.get('provider-rps') ?? 1_000);

type Scenario = 'clean' | 'errors' | 'limited';

/** The stub: one scenario at a time, counting what it answered. */
function createStub() {
  let scenario: Scenario = 'clean';
  let requests = 0;
  const counts = { ok: 0, 500: 0, 429: 0 };
  let first = 0;
  let last = 0;
  // Accept times of the last second (the provider's sliding window), oldest first.
  const window: number[] = [];
  let windowHead = 0;

  const answer = (res: http.ServerResponse, status: number, body: object, headers: Record<string, string> = {}) =>
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    }, LATENCY_MS);

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = performance.now();
      if (!first) first = now;
      last = now;
      requests++;
      if (scenario === 'errors' && requests % 10 === 0) {
        if ((requests / 10) % 2 === 1) {
          counts[500]++;
          return answer(res, 500, { error: { message: 'injected server error' } });
        }
        counts[429]++;
        return answer(res, 429, { error: { message: 'injected rate limit' } }, { 'retry-after': '1' });
      }
      if (scenario === 'limited') {
        while (windowHead < window.length && window[windowHead] <= now - 1000) windowHead++;
        if (windowHead > 4096) (window.splice(0, windowHead), (windowHead = 0));
        if (window.length - windowHead >= PROVIDER_RPS) {
          counts[429]++;
          return answer(res, 429, { error: { message: 'rate limit reached' } }, { 'retry-after': '1' });
        }
        window.push(now);
      }
      counts.ok++;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages: { content: string }[] };
      // Deterministic in the prompt alone: the same example gets the same label in every scenario.
      const digest = createHash('sha1').update(body.messages[0].content).digest();
      answer(res, 200, {
        choices: [{ index: 0, message: { role: 'assistant', content: digest[0] < 100 ? 'spam' : 'ham' } }],
        usage: { prompt_tokens: 10, completion_tokens: 1 },
      });
    });
  });
  return {
    server,
    start(next: Scenario) {
      scenario = next;
      requests = 0;
      counts.ok = counts[500] = counts[429] = 0;
      first = last = 0;
      window.length = windowHead = 0;
    },
    stats: () => ({ requests, ...counts, spanSeconds: (last - first) / 1000 }),
  };
}

const corpus = examplesOf('all').map((e) => ({ input: classificationInput(e), label: e.label, tag: e.tag }));

async function upload(baseUrl: string, token: string, datasetId: string, n: number) {
  let body = '';
  for (let i = 0; i < n; i++) {
    const e = corpus[i % corpus.length];
    body += JSON.stringify({ id: `r-${i}`, input: `${i}: ${e.input.slice(0, 400)}`, label: e.label, tags: [e.tag] });
    body += '\n';
  }
  const res = await fetch(`${baseUrl}/v1/datasets/${datasetId}/versions?labelPolicy=human_reviewed`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
    body,
  });
  if (res.status >= 300) throw new Error(`upload failed: ${await res.text()}`);
  return (await res.json()) as { version: number; rowCount: number };
}

async function timedRun(api: Api, temporal: Client, body: object) {
  const started = performance.now();
  const { runId } = await api.post('/v1/eval-runs', body);
  await temporal.workflow
    .getHandle(evalRunWorkflowId(runId))
    .result()
    .catch(() => undefined);
  const seconds = (performance.now() - started) / 1000;
  const run = await api.get(`/v1/eval-runs/${runId}`);
  return { seconds, run };
}

const cell = (value: string, width = 16) => value.padEnd(width);

/**
 * The endpoint control alone: the worker's model client (same retries, limiter and controller)
 * fed every example at once, as a shard's parts do, without the run around it — what the
 * controller does when the machine's cores are not the bottleneck.
 */
async function clientOnly(stub: ReturnType<typeof createStub>, stubUrl: string, rows: Record<string, string>[]) {
  let clean: number | undefined;
  for (const scenario of ['clean', 'errors', 'limited'] as Scenario[]) {
    if (!ONLY.includes(scenario)) continue;
    const models = createModelClient({
      timeoutMs: 30_000,
      maxAttempts: 6,
      retryBaseMs: 200,
      defaultMaxConcurrency: CONCURRENCY,
      limiters: new EndpointLimiters(),
      egress: undefined,
    });
    const endpoint = {
      protocol: 'openai-chat' as const,
      url: `${stubUrl}/v1`,
      model: `client-${scenario}`,
      maxConcurrency: CONCURRENCY,
    };
    stub.start(scenario);
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: ROWS }, (_, i) =>
        models.predict({
          endpoint,
          taskType: 'classification',
          promptTemplate: null,
          params: {},
          row: { input: `${i}: ${corpus[i % corpus.length].input.slice(0, 400)}` },
        }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    if (scenario === 'clean') clean = seconds;
    const s = stub.stats();
    const failed = results.filter((r) => r.error).length;
    const providerRps = s.ok / s.spanSeconds;
    rows.push({
      scenario: `${scenario}*`,
      status: failed ? `${failed} failed` : 'all ok',
      time: `${seconds.toFixed(1)} s`,
      ratio: clean ? `${(seconds / clean).toFixed(2)}×` : '',
      rps: `${Math.round(ROWS / seconds)} (${Math.round(providerRps)})`,
      limitUsed: scenario === 'limited' ? `${((100 * providerRps) / PROVIDER_RPS).toFixed(0)}%` : '',
      r429: `${s[429]} (${((100 * s[429]) / s.requests).toFixed(1)}%)`,
      r500: String(s[500]),
      exact: failed ? 'NO' : 'yes',
    });
  }
}

async function main() {
  const config = loadConfig();
  const stub = createStub();
  await new Promise<void>((resolve) => stub.server.listen(0, '127.0.0.1', resolve));
  stub.server.keepAliveTimeout = 30_000;
  const stubUrl = `http://127.0.0.1:${(stub.server.address() as AddressInfo).port}`;
  const rows: Record<string, string>[] = [];
  if (args.get('client') !== 'no') await clientOnly(stub, stubUrl, rows);
  if (args.get('runs') === 'no') return report(rows, stub);
  build();
  const connection = await Connection.connect({ address: config.EVALGATE_TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.EVALGATE_TEMPORAL_NAMESPACE });
  const allow = [process.env.EVALGATE_ENDPOINT_ALLOW, new URL(stubUrl).host].filter(Boolean).join(',');
  const stack = await startBenchStack({
    modelKnobs: {},
    apiEnv: { EVALGATE_ROWS_PER_SHARD: '5000', EVALGATE_SHARD_PARALLELISM: '4', EVALGATE_ENDPOINT_ALLOW: allow },
    workerEnv: {
      EVALGATE_MODEL_MAX_CONCURRENCY: String(CONCURRENCY),
      EVALGATE_EXPLORATORY_WORKER_CONCURRENCY: '8',
      EVALGATE_ENDPOINT_ALLOW: allow,
      ...(args.has('latency-tolerance') ? { EVALGATE_ENDPOINT_LATENCY_TOLERANCE: args.get('latency-tolerance')! } : {}),
    },
    workerNodeFlags: ['--max-old-space-size=512'],
  });
  const { editor, team, baseUrl, editorKey } = stack;
  try {
    const suite = await editor.post('/v1/metric-suites', { name: 'resil', purpose: 'exploratory', ownerTeam: team });
    await editor.post(`/v1/metric-suites/${suite.metricSuiteId}/versions`, {
      metrics: [
        { name: 'accuracy', metric: 'accuracy' },
        { name: 'f1', metric: 'f1', params: { average: 'macro' } },
      ],
    });
    const dataset = await editor.post('/v1/datasets', { name: 'resil', taskType: 'classification', ownerTeam: team });
    await upload(baseUrl, editorKey, dataset.datasetId, ROWS);
    process.stdout.write(
      `\nevalgate resilience benchmark (${new Date().toISOString()}): ${ROWS.toLocaleString()} examples, ` +
        `stub latency ${LATENCY_MS} ms, concurrency ${CONCURRENCY}\n\n`,
    );
    let clean: { seconds: number; results: string } | undefined;
    for (const scenario of ['clean', 'errors', 'limited'] as Scenario[]) {
      if (!ONLY.includes(scenario)) continue;
      const model = await editor.post('/v1/models', { name: `resil-${scenario}-${team}`, ownerTeam: team });
      const { modelVersion } = await editor.post(`/v1/models/${model.modelId}/versions`, {
        version: 'v1',
        endpoint: {
          protocol: 'openai-chat',
          url: `${stubUrl}/v1`,
          model: `stub-${scenario}`,
          maxConcurrency: CONCURRENCY,
        },
      });
      stub.start(scenario);
      const { seconds, run } = await timedRun(editor, temporal, {
        modelVersion,
        datasetId: dataset.datasetId,
        metricSuiteId: suite.metricSuiteId,
      });
      const s = stub.stats();
      // The metric values and their n (the intervals are bootstrapped per run).
      const results = JSON.stringify(
        Object.entries(run.results as Record<string, { value: number; n: number }>).map(([name, r]) => [
          name,
          r.value,
          r.n,
        ]),
      );
      if (scenario === 'clean') clean = { seconds, results };
      const providerRps = s.ok / s.spanSeconds;
      const exact =
        run.status === 'succeeded' && run.cost.modelCalls === ROWS && (clean ? results === clean.results : true);
      rows.push({
        scenario,
        status: run.status,
        time: `${seconds.toFixed(1)} s`,
        ratio: clean ? `${(seconds / clean.seconds).toFixed(2)}×` : '',
        rps: `${Math.round(ROWS / seconds)} (${Math.round(providerRps)})`,
        limitUsed: scenario === 'limited' ? `${((100 * providerRps) / PROVIDER_RPS).toFixed(0)}%` : '',
        r429: `${s[429]} (${((100 * s[429]) / s.requests).toFixed(1)}%)`,
        r500: String(s[500]),
        exact: exact
          ? 'yes'
          : `NO: ${run.status}, ${run.cost.modelCalls} calls, ${results} ${JSON.stringify(run.error ?? '')}`,
      });
    }
  } finally {
    await stack.stop();
    await connection.close();
  }
  report(rows, stub);
}

function report(rows: Record<string, string>[], stub: ReturnType<typeof createStub>) {
  stub.server.close();
  const header = {
    scenario: 'scenario',
    status: 'status',
    time: 'run time',
    ratio: 'vs clean',
    rps: 'ex/s (sent ok/s)',
    limitUsed: 'limit used',
    r429: '429s (of reqs)',
    r500: '500s',
    exact: 'exact results',
  };
  for (const row of [header, ...rows])
    process.stdout.write(
      `  ${cell(row.scenario, 10)}${cell(row.status, 11)}${cell(row.time, 10)}${cell(row.ratio, 10)}` +
        `${cell(row.rps, 18)}${cell(row.limitUsed, 12)}${cell(row.r429, 16)}${cell(row.r500, 7)}${row.exact}\n`,
    );
  process.stdout.write(`  (* the model client alone, every example queued at once; the others are whole eval runs)\n`);
  const errors = rows.find((r) => r.scenario === 'errors') ?? rows.find((r) => r.scenario === 'errors*');
  const limited = rows.find((r) => r.scenario === 'limited') ?? rows.find((r) => r.scenario === 'limited*');
  process.stdout.write(
    `\n  targets: 10% errors ≤ 1.30× clean, exact (${errors ? `${errors.ratio}, ${errors.exact}` : 'not run'}); ` +
      `provider limit used ≥ 90% with ≤ 10% 429s (${limited ? `${limited.limitUsed}, ${limited.r429}` : 'not run'})\n`,
  );
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
