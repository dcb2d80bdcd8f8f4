/**
 * Eval-run benchmark (issue 3). Prints each figure beside its baseline, measured in this run:
 *
 *  A. 100,000 examples, reference server at 20 ms latency, concurrency 64:
 *     run wall time vs a bare HTTP loop sending the same requests at the same concurrency
 *     (target ≤ 1.25×); then the cached rerun: model calls (target 0) and speed-up (target ≥ 10×).
 *  B. 1,000,000 examples of about 2 KB, latency 0: the upload (API peak RSS, target < 300 MB),
 *     the run (worker peak RSS, target < 1 GB; largest workflow history, target < 10,000 events;
 *     rows per second).
 *
 * npm run stack -- up --services-only && npx tsx bench/eval-run.ts [--phase a|b|all] [--rows-a N] [--rows-b N]
 * [--upload-only yes] [--profile yes]
 */
import http from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../common/config';
import { evalRunWorkflowId, shardBlockWorkflowId } from '../common/names';
import { classificationInput, examplesOf } from '../testkit/corpus/spamCorpus';
import type { Api } from '../testkit/apiClient';
import { build, cpuBetween, cpuSnapshot } from './lib/processes';
import { startBenchStack } from './lib/stack';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const phase = args.get('phase') ?? 'all';
const ROWS_A = Number(args.get('rows-a') ?? 100_000);
const ROWS_B = Number(args.get('rows-b') ?? 1_000_000);
const CONCURRENCY = 64;
/**
 * Run settings: 4 shards of a run at once (set in the API, which starts runs), 500 rows per
 * part (the stack's defaults are 8 and 500). At 100,000 examples on a 2-core machine, 2, 4
 * and 8 shards at once all measured within the machine's noise; try others with these arguments.
 */
const SHARD_PARALLELISM = args.get('shard-parallelism') ?? '4';
const PART_ROWS = args.get('part-rows') ?? '500';
/**
 * Heap limits, as a deployment sets them: V8 otherwise lets garbage pile up far past what
 * is live before it collects (its default limit here is several GB).
 */
const API_NODE_FLAGS = ['--max-old-space-size=160'];
const WORKER_NODE_FLAGS = [
  '--max-old-space-size=512',
  ...(process.env.BENCH_WORKER_FLAGS ?? '').split(' ').filter(Boolean),
];

const corpus = examplesOf('all').map((e) => ({ input: classificationInput(e), label: e.label, tag: e.tag, id: e.id }));

/** n rows cycling through the corpus, each with a unique id; `padTo` pads inputs to about that many bytes. */
function* rows(
  n: number,
  salt: string,
  padTo = 0,
): Generator<{ id: string; input: string; label: string; tags: string[] }> {
  for (let i = 0; i < n; i++) {
    const e = corpus[i % corpus.length];
    let input = e.input;
    if (padTo && input.length < padTo)
      input = (input + '\n' + e.input.repeat(Math.ceil(padTo / Math.max(1, e.input.length)))).slice(0, padTo);
    yield { id: `${salt}-${i}`, input, label: e.label, tags: [e.tag] };
  }
}

/** Streams rows to the API as a JSONL upload without building the body in memory. */
async function upload(api: Api, baseUrl: string, token: string, datasetId: string, gen: Generator<object>) {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      let chunk = '';
      for (let k = 0; k < 500; k++) {
        const next = gen.next();
        if (next.done) {
          if (chunk) controller.enqueue(encoder.encode(chunk));
          controller.close();
          return;
        }
        chunk += JSON.stringify(next.value) + '\n';
      }
      controller.enqueue(encoder.encode(chunk));
    },
  });
  const res = await fetch(`${baseUrl}/v1/datasets/${datasetId}/versions?labelPolicy=human_reviewed`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
    body,
    duplex: 'half',
  } as RequestInit);
  const json = await res.json();
  if (res.status >= 300) throw new Error(`upload failed: ${JSON.stringify(json)}`);
  void api;
  return json as { version: number; rowCount: number; byteCount: number };
}

/** The baseline: node:http with a keep-alive agent, nothing else — the leanest client there is. */
function post(agent: http.Agent, url: URL, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`bare loop: HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function bareLoop(url: string, n: number, salt: string): Promise<number> {
  const gen = rows(n, salt);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const target = new URL(url);
  const started = performance.now();
  const lane = async () => {
    for (let next = gen.next(); !next.done; next = gen.next()) {
      const { id, input } = next.value;
      await post(agent, target, JSON.stringify({ id, input }));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  agent.destroy();
  return (performance.now() - started) / 1000;
}

/**
 * From the POST to the end of the run's workflow, awaited through Temporal (a long poll):
 * exact, and no API polling adds load to the machine while the run is timed.
 */
async function timedRun(api: Api, temporal: Client, body: object): Promise<{ seconds: number; run: any }> {
  const started = performance.now();
  const { runId } = await api.post('/v1/eval-runs', body);
  await temporal.workflow
    .getHandle(evalRunWorkflowId(runId))
    .result()
    .catch(() => undefined);
  const seconds = (performance.now() - started) / 1000;
  const run = await api.get(`/v1/eval-runs/${runId}`);
  if (run.status !== 'succeeded') throw new Error(`run ${runId} ended ${run.status}: ${JSON.stringify(run.error)}`);
  return { seconds, run };
}

function line(label: string, value: string, baseline = '', verdict = '') {
  process.stdout.write(`  ${label.padEnd(46)}${value.padEnd(22)}${baseline.padEnd(30)}${verdict}\n`);
}

/** Who used the machine's cores during the run and during the bare loop (CPU seconds, and the share of the wall time). */
function printCpu(runSeconds: number, run: [string, number][], bareSeconds: number, bare: [string, number][]) {
  const cores = require('node:os').cpus().length as number;
  const total = (usage: [string, number][]) => usage.reduce((sum, [, s]) => sum + s, 0);
  const bareOf = new Map(bare);
  process.stdout.write(
    `\n  CPU seconds by process (${cores} cores: the run could use ${(runSeconds * cores).toFixed(0)} s, the bare loop ` +
      `${(bareSeconds * cores).toFixed(0)} s)\n`,
  );
  line('', 'run', 'bare loop', '');
  for (const [name, seconds] of run) line(name, seconds.toFixed(1), (bareOf.get(name) ?? 0).toFixed(1));
  line(
    'all',
    `${total(run).toFixed(1)} (${((100 * total(run)) / (runSeconds * cores)).toFixed(0)}% busy)`,
    `${total(bare).toFixed(1)} (${((100 * total(bare)) / (bareSeconds * cores)).toFixed(0)}% busy)`,
  );
}

async function main() {
  const config = loadConfig();
  build();
  const connection = await Connection.connect({ address: config.EVALGATE_TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.EVALGATE_TEMPORAL_NAMESPACE });
  const stack = await startBenchStack({
    modelKnobs: { latencyMs: 20 },
    // The API starts runs, so it sets how many shards of a run run at once.
    apiEnv: { EVALGATE_ROWS_PER_SHARD: '5000', EVALGATE_SHARD_PARALLELISM: SHARD_PARALLELISM },
    workerEnv: {
      EVALGATE_MODEL_MAX_CONCURRENCY: String(CONCURRENCY),
      EVALGATE_EXPLORATORY_WORKER_CONCURRENCY: '8',
      EVALGATE_PART_ROWS: PART_ROWS,
    },
    apiNodeFlags: API_NODE_FLAGS,
    workerNodeFlags: [
      ...WORKER_NODE_FLAGS,
      ...(args.get('profile') === 'yes' ? ['--cpu-prof', '--cpu-prof-dir=bench/out'] : []),
    ],
  });
  const { procs, api, worker, modelUrl, baseUrl, team, editor, editorKey } = stack;
  try {
    const suite = await editor.post('/v1/metric-suites', { name: 'bench', purpose: 'exploratory', ownerTeam: team });
    await editor.post(`/v1/metric-suites/${suite.metricSuiteId}/versions`, {
      metrics: [
        { name: 'accuracy', metric: 'accuracy' },
        { name: 'f1', metric: 'f1', params: { average: 'macro' } },
        { name: 'auc', metric: 'roc_auc', params: { positiveLabel: 'spam' } },
        { name: 'log_loss', metric: 'log_loss' },
      ],
    });
    const model = await editor.post('/v1/models', { name: `bench-nb-${team}`, ownerTeam: team });
    const modelVersion = (
      await editor.post(`/v1/models/${model.modelId}/versions`, {
        version: 'nb-v1',
        endpoint: { protocol: 'json-predict', url: `${modelUrl}/predict/nb-v1`, maxConcurrency: CONCURRENCY },
      })
    ).modelVersion;
    const setKnobs = (knobs: object) =>
      fetch(`${modelUrl}/admin/knobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(knobs),
      });
    const stats = async () =>
      (await (await fetch(`${modelUrl}/admin/stats`)).json()) as {
        requests: { total: number };
        concurrency: { meanInFlight: number };
      };
    const resetStats = () => fetch(`${modelUrl}/admin/stats/reset`, { method: 'POST' });

    process.stdout.write(
      `\nevalgate eval-run benchmark (${new Date().toISOString()}, ${require('node:os').cpus().length} cores)\n`,
    );
    if (phase === 'a' || phase === 'all') {
      const salt = `a-${team}`;
      const dataset = await editor.post('/v1/datasets', {
        name: 'bench-a',
        taskType: 'classification',
        ownerTeam: team,
      });
      const up = await upload(editor, baseUrl, editorKey, dataset.datasetId, rows(ROWS_A, salt));
      process.stdout.write(
        `\nA. ${up.rowCount.toLocaleString()} examples, endpoint latency 20 ms, concurrency ${CONCURRENCY}\n`,
      );
      await setKnobs({ latencyMs: 20 });
      await resetStats();
      const beforeBare = cpuSnapshot(procs);
      const bare = await bareLoop(`${modelUrl}/predict/nb-v1`, ROWS_A, salt);
      const bareCpu = cpuBetween(beforeBare, cpuSnapshot(procs));
      const bareInFlight = (await stats()).concurrency.meanInFlight;
      await resetStats();
      const beforeRun = cpuSnapshot(procs);
      const first = await timedRun(editor, temporal, {
        modelVersion,
        datasetId: dataset.datasetId,
        metricSuiteId: suite.metricSuiteId,
      });
      const runCpu = cpuBetween(beforeRun, cpuSnapshot(procs));
      const firstStats = await stats();
      const firstCalls = firstStats.requests.total;
      await resetStats();
      const beforeCached = cpuSnapshot(procs);
      const cached = await timedRun(editor, temporal, {
        modelVersion,
        datasetId: dataset.datasetId,
        metricSuiteId: suite.metricSuiteId,
      });
      const cachedCpu = cpuBetween(beforeCached, cpuSnapshot(procs));
      const cachedCalls = (await stats()).requests.total;
      const ratio = first.seconds / bare;
      line('', 'evalgate', 'baseline', 'ratio (target)');
      line(
        'run wall time',
        `${first.seconds.toFixed(1)} s`,
        `bare HTTP loop ${bare.toFixed(1)} s`,
        `${ratio.toFixed(2)}× (≤ 1.25×) ${ratio <= 1.25 ? 'met' : 'MISSED'}`,
      );
      line('model calls, first run', String(firstCalls), `examples ${ROWS_A}`);
      line(
        'mean calls in flight at the server',
        firstStats.concurrency.meanInFlight.toFixed(1),
        `bare loop ${bareInFlight.toFixed(1)}`,
        `of ${CONCURRENCY}`,
      );
      line(
        'cached rerun wall time',
        `${cached.seconds.toFixed(2)} s`,
        `first run ${first.seconds.toFixed(1)} s`,
        `${(first.seconds / cached.seconds).toFixed(1)}× faster (≥ 10×) ${first.seconds / cached.seconds >= 10 ? 'met' : 'MISSED'}`,
      );
      line('model calls, cached rerun', String(cachedCalls), 'target 0', cachedCalls === 0 ? 'met' : 'MISSED');
      line(
        'identical accuracy on rerun',
        String(cached.run.results.accuracy.value === first.run.results.accuracy.value),
        '',
        '',
      );
      printCpu(first.seconds, runCpu, bare, bareCpu);
      process.stdout.write(
        `  cached rerun, CPU seconds: ${cachedCpu
          .filter(([, sec]) => sec >= 0.05)
          .map(([name, sec]) => `${name} ${sec.toFixed(1)}`)
          .join(', ')}\n`,
      );
    }
    if (phase === 'b' || phase === 'all') {
      await setKnobs({ latencyMs: 0 });
      const salt = `b-${team}`;
      const dataset = await editor.post('/v1/datasets', {
        name: 'bench-b',
        taskType: 'classification',
        ownerTeam: team,
      });
      const uploadStarted = performance.now();
      const up = await upload(editor, baseUrl, editorKey, dataset.datasetId, rows(ROWS_B, salt, 2000));
      const uploadSeconds = (performance.now() - uploadStarted) / 1000;
      process.stdout.write(
        `\nB. ${up.rowCount.toLocaleString()} examples (${(up.byteCount / up.rowCount / 1024).toFixed(2)} KB each on ` +
          `average), endpoint latency 0\n`,
      );
      line('', 'evalgate', 'baseline', 'ratio (target)');
      line(
        'upload',
        `${uploadSeconds.toFixed(1)} s`,
        `${Math.round(up.rowCount / uploadSeconds).toLocaleString()} rows/s`,
      );
      line(
        'API peak RSS during upload',
        `${api.peakRssMb().toFixed(0)} MB`,
        'target < 300 MB',
        api.peakRssMb() < 300 ? 'met' : 'MISSED',
      );
      if (args.get('upload-only') === 'yes') return;
      const run = await timedRun(editor, temporal, {
        modelVersion,
        datasetId: dataset.datasetId,
        metricSuiteId: suite.metricSuiteId,
      });
      const workflowIds = [
        evalRunWorkflowId(run.run.runId),
        ...Array.from({ length: 20 }, (_, b) => shardBlockWorkflowId(run.run.runId, b)),
      ];
      const sizes = await Promise.all(
        workflowIds.map((id) =>
          temporal.workflow
            .getHandle(id)
            .fetchHistory()
            .then(
              (h) => h.events?.length ?? 0,
              () => 0,
            ),
        ),
      );
      const largest = Math.max(...sizes);
      line(
        'run wall time',
        `${run.seconds.toFixed(1)} s`,
        `${Math.round(up.rowCount / run.seconds).toLocaleString()} rows/s`,
      );
      line(
        'worker peak RSS',
        `${worker.peakRssMb().toFixed(0)} MB`,
        'target < 1024 MB',
        worker.peakRssMb() < 1024 ? 'met' : 'MISSED',
      );
      line(
        'largest workflow history',
        `${largest} events`,
        `${sizes.filter(Boolean).length} workflows`,
        largest < 10_000 ? 'met (< 10,000)' : 'MISSED',
      );
      line('metrics', `accuracy ${run.run.results.accuracy.value.toFixed(4)}`, `n ${run.run.results.accuracy.n}`);
    }
  } finally {
    await stack.stop();
    await connection.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
