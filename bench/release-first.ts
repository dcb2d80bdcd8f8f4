/**
 * Release-first benchmark (issue 14): how long a release run of 1,000 examples waits (queue time:
 * run created → its first model call, as the model server saw it) and how long it takes, printed side
 * by side in one run:
 *
 *  - alone: nothing else runs;
 *  - burst, other endpoint: 100 exploratory runs of 1,000 examples are in flight on another endpoint;
 *  - burst, same endpoint: the same burst on the release runs' own endpoint (its lanes are shared).
 *
 * During each burst, release runs start spaced out (--release-runs, every --spacing-ms), each on a
 * dataset of its own, so every one makes its 1,000 calls (nothing from the prediction cache). The
 * exploratory runs share one dataset and differ by model version (again: no cache hits). Everything
 * runs as a deployment runs it: the API and one worker with the stack's default settings, the
 * reference model server (20 ms latency) for the burst and a second one for the release runs' other
 * endpoint, each in its own process. Target: release queue time p95 < 1 s during the burst.
 * `--calls-during-release N` sets EVALGATE_EXPLORATORY_CALLS_DURING_RELEASE (say 100000 to see the
 * burst without the yield).
 *
 * npm run stack -- up --services-only && npx tsx bench/release-first.ts [--burst 100] [--rows 1000]
 *   [--release-runs 15] [--spacing-ms 2000] [--only alone,other,same] [--calls-during-release N]
 */
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../common/config';
import { evalRunWorkflowId } from '../common/names';
import { classificationInput, examplesOf } from '../testkit/corpus/spamCorpus';
import type { Arrival, ArrivalLog } from '../testkit/modelServer/stats';
import type { Api } from '../testkit/apiClient';
import { build, cpuBetween, cpuSnapshot, freePort, startNode, waitHttp } from './lib/processes';
import { startBenchStack, type BenchStack } from './lib/stack';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const BURST = Number(args.get('burst') ?? 100);
const ROWS = Number(args.get('rows') ?? 1000);
const RELEASE_RUNS = Number(args.get('release-runs') ?? 15);
const SPACING_MS = Number(args.get('spacing-ms') ?? 2000);
const ALONE_RUNS = 3;
const ONLY = (args.get('only') ?? 'alone,other,same').split(',');
const LATENCY_MS = 20;
const CONCURRENCY = 64;
/** The burst's first release run starts this long after the last exploratory run was created. */
const FIRST_RELEASE_AFTER_MS = 1000;

const corpus = examplesOf('all').map((e) => ({ input: classificationInput(e), label: e.label, tag: e.tag }));

/** A dataset of ROWS rows whose ids start with `prefix-`: the model server's log tells its calls apart. */
async function dataset(stack: BenchStack, name: string, prefix: string): Promise<string> {
  const { datasetId } = await stack.editor.post('/v1/datasets', {
    name,
    taskType: 'classification',
    ownerTeam: stack.team,
  });
  let body = '';
  for (let i = 0; i < ROWS; i++) {
    const e = corpus[i % corpus.length];
    body += JSON.stringify({ id: `${prefix}-${i}`, input: e.input.slice(0, 1500), label: e.label, tags: [e.tag] });
    body += '\n';
  }
  const res = await fetch(`${stack.baseUrl}/v1/datasets/${datasetId}/versions?labelPolicy=human_reviewed`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.editorKey}`, 'content-type': 'application/x-ndjson' },
    body,
  });
  if (res.status >= 300) throw new Error(`upload failed: ${await res.text()}`);
  return datasetId as string;
}

async function modelVersions(api: Api, name: string, team: string, url: string, count: number): Promise<string[]> {
  const { modelId } = await api.post('/v1/models', { name, ownerTeam: team });
  const versions: string[] = [];
  for (let v = 0; v < count; v++)
    versions.push(
      (
        await api.post(`/v1/models/${modelId}/versions`, {
          version: `v${v}`,
          endpoint: { protocol: 'json-predict', url, maxConcurrency: CONCURRENCY },
        })
      ).modelVersion,
    );
  return versions;
}

interface ReleaseRun {
  prefix: string;
  runId: string;
  createdAt: number;
  /** planRun began (the run's started_at) and the run ended, ms since the epoch. */
  startedAt: number;
  finishedAt: number;
  /** POST → the workflow's end, seconds. */
  seconds: number;
  status: string;
}

async function releaseRun(
  api: Api,
  temporal: Client,
  body: { modelVersion: string; datasetId: string; metricSuiteId: string },
  prefix: string,
): Promise<ReleaseRun> {
  const started = performance.now();
  const { runId } = await api.post('/v1/eval-runs', { ...body, mode: 'release' });
  await temporal.workflow
    .getHandle(evalRunWorkflowId(runId))
    .result()
    .catch(() => undefined);
  const seconds = (performance.now() - started) / 1000;
  const run = await api.get(`/v1/eval-runs/${runId}`);
  return {
    prefix,
    runId,
    createdAt: Date.parse(run.timing.createdAt),
    startedAt: Date.parse(run.timing.startedAt),
    finishedAt: Date.parse(run.timing.finishedAt),
    seconds,
    status: run.status,
  };
}

/** The first and last call of each id prefix (`r3-17` → `r3`), ms since the epoch. */
function callSpans(arrivals: Arrival[]): Map<string, { first: number; last: number }> {
  const spans = new Map<string, { first: number; last: number }>();
  for (const { id, at } of arrivals) {
    if (!id) continue;
    const prefix = id.slice(0, id.indexOf('-'));
    const span = spans.get(prefix);
    if (!span) spans.set(prefix, { first: at, last: at });
    else {
      span.first = Math.min(span.first, at);
      span.last = Math.max(span.last, at);
    }
  }
  return spans;
}

/** Exploratory calls per second while release runs made their calls, and while none did: the yield at work. */
function exploratoryRates(exploratory: Arrival[], releaseSpans: { first: number; last: number }[]): string {
  const merged: { first: number; last: number }[] = [];
  for (const span of [...releaseSpans].sort((a, b) => a.first - b.first)) {
    const last = merged[merged.length - 1];
    if (last && span.first <= last.last) last.last = Math.max(last.last, span.last);
    else merged.push({ ...span });
  }
  const inside = exploratory.filter((a) => merged.some((m) => a.at >= m.first && a.at <= m.last)).length;
  const insideSeconds = merged.reduce((sum, m) => sum + (m.last - m.first), 0) / 1000;
  const times = exploratory.map((a) => a.at);
  const allSeconds = (Math.max(...times) - Math.min(...times)) / 1000;
  return (
    `exploratory calls/s while release runs made calls ${Math.round(inside / insideSeconds)}, ` +
    `otherwise ${Math.round((exploratory.length - inside) / (allSeconds - insideSeconds))}`
  );
}

/** Where a scenario's release runs spent their time (medians, seconds). */
const PHASES = ['created → planRun', 'planRun → 1st call', '1st → last call', 'last call → ended'] as const;

function phasesOf(runs: ReleaseRun[], spans: Map<string, { first: number; last: number }>): number[][] {
  return runs.map((r) => {
    const span = spans.get(r.prefix)!;
    return [r.startedAt - r.createdAt, span.first - r.startedAt, span.last - span.first, r.finishedAt - span.last].map(
      (ms) => ms / 1000,
    );
  });
}

/**
 * Samples the worker's event-loop delay (p99 over each half second, from its /metrics) until stopped:
 * what every callback of the worker — a release run's too — waits before it runs.
 */
function sampleLoopDelay(port: number) {
  const samples: number[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
        (r) => r.text(),
        () => '',
      );
      const match = /^evalgate_worker_nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text);
      if (match) samples.push(Number(match[1]) * 1000);
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return async () => {
    stopped = true;
    await done;
    return samples.length
      ? `worker event-loop delay p99 ${percentile(samples, 50).toFixed(0)} ms (median of half-second samples), ` +
          `${Math.max(...samples).toFixed(0)} ms at worst`
      : 'no event-loop samples';
  };
}

/** Each endpoint's adaptive limit now and the times it was lowered so far (the worker's /metrics), by port and model. */
async function endpointLimits(port: number): Promise<string> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  const value = (name: string, endpoint: string) =>
    new RegExp(`^${name}\\{endpoint="${endpoint.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"\\} (\\S+)$`, 'm').exec(
      text,
    )?.[1];
  const endpoints = [...text.matchAll(/^evalgate_endpoint_limit\{endpoint="([^"]+)"\}/gm)].map((m) => m[1]);
  return endpoints
    .map((e) => {
      const where = /:(\d+)\/predict\/(\S+)$/.exec(e);
      return (
        `${where ? `:${where[1]} ${where[2]}` : e} limit ${value('evalgate_endpoint_limit', e)} ` +
        `(lowered ${value('evalgate_endpoint_decreases_total', e)}×)`
      );
    })
    .join(', ');
}

/** Nearest-rank percentile (with 15 samples, p95 is the largest). */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

interface ScenarioResult {
  label: string;
  queue: number[];
  /** Per run, seconds in each of PHASES. */
  phases: number[][];
  total: number[];
  failed: number;
  note: string;
}

const seconds = (s: number) => `${s.toFixed(2)} s`;

function printResults(results: ScenarioResult[]) {
  const row = (cells: string[], widths: number[]) =>
    process.stdout.write(`  ${cells.map((c, i) => c.padEnd(widths[i])).join('')}\n`);
  const widths = [30, 10, 10, 10, 4, 10, 10, 10, 4];
  process.stdout.write('\n');
  row(['', 'queue time (created → first call)', '', '', '', 'run time (POST → done)'], [30, 34, 0, 0, 0, 30]);
  row(['release runs of ' + ROWS.toLocaleString(), 'p50', 'p95', 'max', '', 'p50', 'p95', 'max'], widths);
  for (const r of results) {
    row(
      [
        `${r.label} (${r.queue.length})`,
        seconds(percentile(r.queue, 50)),
        seconds(percentile(r.queue, 95)),
        seconds(Math.max(...r.queue)),
        '',
        seconds(percentile(r.total, 50)),
        seconds(percentile(r.total, 95)),
        seconds(Math.max(...r.total)),
        '',
      ],
      widths,
    );
  }
  process.stdout.write('\n');
  row(['where the time went (p50)', ...PHASES], [30, 20, 20, 20, 20]);
  for (const r of results)
    row(
      [
        r.label,
        ...PHASES.map((_, i) =>
          seconds(
            percentile(
              r.phases.map((p) => p[i]),
              50,
            ),
          ),
        ),
      ],
      [30, 20, 20, 20, 20],
    );
  process.stdout.write('\n');
  for (const r of results) if (r.note) process.stdout.write(`  ${r.label}: ${r.note}\n`);
  const bursts = results.filter((r) => r.label.startsWith('burst'));
  const alone = results.find((r) => r.label === 'alone');
  for (const r of bursts) {
    const p95 = percentile(r.queue, 95);
    process.stdout.write(
      `  target ${r.label}: release queue p95 < 1 s: ${seconds(p95)} ${p95 < 1 ? 'met' : 'MISSED'}` +
        (alone ? `; run time p50 ${(percentile(r.total, 50) / percentile(alone.total, 50)).toFixed(2)}× alone` : '') +
        (r.failed ? `; ${r.failed} release runs did not succeed` : '') +
        '\n',
    );
  }
}

async function main() {
  const config = loadConfig();
  build();
  const connection = await Connection.connect({ address: config.EVALGATE_TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.EVALGATE_TEMPORAL_NAMESPACE });
  const metricsPort = await freePort();
  // The release runs' own endpoint in the "alone" and "other endpoint" scenarios: a second reference model
  // server in its own process, as another provider would be (one server process would make the burst's
  // calls and the release run's wait for each other in the server).
  const releaseServerPort = await freePort();
  process.env.EVALGATE_ENDPOINT_ALLOW = [process.env.EVALGATE_ENDPOINT_ALLOW, `127.0.0.1:${releaseServerPort}`]
    .filter(Boolean)
    .join(',');
  const releaseServer = startNode(
    'release-model-server',
    'testkit/modelServer/main.ts',
    { MODEL_SERVER_KNOBS: JSON.stringify({ latencyMs: LATENCY_MS, recordArrivals: true }) },
    [String(releaseServerPort)],
  );
  const releaseServerUrl = `http://127.0.0.1:${releaseServerPort}`;
  const stack = await startBenchStack({
    modelKnobs: { latencyMs: LATENCY_MS, recordArrivals: true },
    apiEnv: {},
    workerEnv: {
      EVALGATE_WORKER_METRICS_PORT: String(metricsPort),
      ...(args.has('calls-during-release')
        ? { EVALGATE_EXPLORATORY_CALLS_DURING_RELEASE: args.get('calls-during-release')! }
        : {}),
    },
    apiNodeFlags: ['--max-old-space-size=160'],
    workerNodeFlags: ['--max-old-space-size=512'],
  });
  const { editor, team, modelUrl } = stack;
  const procs = [...stack.procs, releaseServer];
  const servers = [modelUrl, releaseServerUrl];
  const resetServers = () =>
    Promise.all(servers.map((url) => fetch(`${url}/admin/stats/reset`, { method: 'POST' }).then((r) => r.text())));
  /** Both servers' arrival logs. */
  const arrivals = async (): Promise<ArrivalLog> => {
    const logs = await Promise.all(
      servers.map((url) => fetch(`${url}/admin/arrivals`).then((r) => r.json() as Promise<ArrivalLog>)),
    );
    return { arrivals: logs.flatMap((l) => l.arrivals), dropped: logs.reduce((n, l) => n + l.dropped, 0) };
  };
  try {
    await waitHttp(`${releaseServerUrl}/healthz`);
    const suite = async (purpose: string) => {
      const { metricSuiteId } = await editor.post('/v1/metric-suites', { name: purpose, purpose, ownerTeam: team });
      await editor.post(`/v1/metric-suites/${metricSuiteId}/versions`, {
        metrics: [{ name: 'accuracy', metric: 'accuracy' }],
      });
      return metricSuiteId as string;
    };
    const exploratorySuite = await suite('exploratory');
    const releaseSuite = await suite('release_blocking');
    const sharedUrl = `${modelUrl}/predict/nb-v1`;
    const otherUrl = `${releaseServerUrl}/predict/nb-v1`;
    const exploratoryVersions = await modelVersions(editor, `explore-${team}`, team, sharedUrl, BURST);
    const [releaseOther] = await modelVersions(editor, `release-other-${team}`, team, otherUrl, 1);
    const [releaseSame] = await modelVersions(editor, `release-same-${team}`, team, sharedUrl, 1);
    process.stdout.write(
      `\nevalgate release-first benchmark (${new Date().toISOString()}, ${require('node:os').cpus().length} cores): ` +
        `release runs of ${ROWS.toLocaleString()} examples; bursts of ${BURST} exploratory runs of ` +
        `${ROWS.toLocaleString()}; endpoint latency ${LATENCY_MS} ms, maxConcurrency ${CONCURRENCY}; stack defaults\n`,
    );

    let releaseDatasets = 0;
    const nextRelease = async () => {
      const prefix = `r${releaseDatasets++}`;
      return { prefix, datasetId: await dataset(stack, `release-${prefix}`, prefix) };
    };
    const results: ScenarioResult[] = [];

    if (ONLY.includes('alone')) {
      const datasets = await Promise.all(Array.from({ length: ALONE_RUNS }, nextRelease));
      await resetServers();
      const loop = sampleLoopDelay(metricsPort);
      const runs: ReleaseRun[] = [];
      for (const d of datasets)
        runs.push(
          await releaseRun(
            editor,
            temporal,
            { modelVersion: releaseOther, datasetId: d.datasetId, metricSuiteId: releaseSuite },
            d.prefix,
          ),
        );
      const spans = callSpans((await arrivals()).arrivals);
      results.push({
        label: 'alone',
        queue: runs.map((r) => (spans.get(r.prefix)!.first - r.createdAt) / 1000),
        phases: phasesOf(runs, spans),
        total: runs.map((r) => r.seconds),
        failed: runs.filter((r) => r.status !== 'succeeded').length,
        note: `${await loop()}; endpoints: ${await endpointLimits(metricsPort)}`,
      });
    }

    let burstIndex = 0;
    for (const scenario of ['other', 'same'] as const) {
      if (!ONLY.includes(scenario)) continue;
      const xPrefix = `x${burstIndex++}`;
      const exploratoryDataset = await dataset(stack, `explore-${xPrefix}`, xPrefix);
      const datasets = await Promise.all(Array.from({ length: RELEASE_RUNS }, nextRelease));
      const releaseVersion = scenario === 'other' ? releaseOther : releaseSame;
      await resetServers();
      const cpuBefore = cpuSnapshot(procs);
      const loop = sampleLoopDelay(metricsPort);
      const burstStarted = performance.now();
      // The burst: every exploratory run created (10 requests at a time), then left to run.
      const exploratoryRuns: string[] = [];
      let nextVersion = 0;
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          while (nextVersion < exploratoryVersions.length) {
            const modelVersion = exploratoryVersions[nextVersion++];
            const { runId } = await editor.post('/v1/eval-runs', {
              modelVersion,
              datasetId: exploratoryDataset,
              metricSuiteId: exploratorySuite,
            });
            exploratoryRuns.push(runId);
          }
        }),
      );
      const created = performance.now();
      const burstDone = Promise.all(
        exploratoryRuns.map((runId) =>
          temporal.workflow
            .getHandle(evalRunWorkflowId(runId))
            .result()
            .catch(() => undefined),
        ),
      ).then(() => performance.now());
      const runs = await Promise.all(
        datasets.map(async (d, i) => {
          await new Promise((r) => setTimeout(r, FIRST_RELEASE_AFTER_MS + i * SPACING_MS));
          return releaseRun(
            editor,
            temporal,
            { modelVersion: releaseVersion, datasetId: d.datasetId, metricSuiteId: releaseSuite },
            d.prefix,
          );
        }),
      );
      const burstEnded = await burstDone;
      const loopDelay = `${await loop()}; endpoints: ${await endpointLimits(metricsPort)}`;
      const cpu = cpuBetween(cpuBefore, cpuSnapshot(procs));
      const log = await arrivals();
      const spans = callSpans(log.arrivals);
      const exploratoryCalls = log.arrivals.filter((a) => a.id?.startsWith(`${xPrefix}-`));
      const lastExploratory = Math.max(...exploratoryCalls.map((a) => a.at));
      // A release run counts as during the burst when exploratory calls were still being made after it began.
      const inside = runs.filter((r) => r.createdAt < lastExploratory);
      const burstSeconds = (burstEnded - burstStarted) / 1000;
      results.push({
        label: `burst, ${scenario} endpoint`,
        queue: inside.map((r) => (spans.get(r.prefix)!.first - r.createdAt) / 1000),
        phases: phasesOf(inside, spans),
        total: inside.map((r) => r.seconds),
        failed: inside.filter((r) => r.status !== 'succeeded').length,
        note:
          `${BURST} exploratory runs created in ${((created - burstStarted) / 1000).toFixed(1)} s, done in ` +
          `${burstSeconds.toFixed(1)} s (${Math.round(exploratoryCalls.length / burstSeconds)} calls/s); ` +
          `${inside.length} of ${runs.length} release runs began inside it` +
          `${log.dropped ? ` (${log.dropped} calls not logged)` : ''}; ` +
          `${exploratoryRates(
            exploratoryCalls,
            inside.map((r) => spans.get(r.prefix)!),
          )}; ${loopDelay}; CPU s: ` +
          cpu
            .filter(([, s]) => s >= 0.5)
            .map(([name, s]) => `${name} ${s.toFixed(0)}`)
            .join(', '),
      });
    }
    printResults(results);
  } finally {
    await Promise.all([stack.stop(), releaseServer.stop()]);
    await connection.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
