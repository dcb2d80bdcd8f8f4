/**
 * Overhead of the model client against a bare fetch loop, both at the same
 * concurrency, against the reference model server in its own process:
 *   npx tsx bench/model-client.ts [--requests 20000] [--concurrency 64]
 *       [--latencies 0,20] [--rounds 3] [--protocol json-predict|openai-chat] [--url http://…]
 * Modes: `bare` (N workers, fetch + JSON.parse), `client` (N workers calling predict
 * on an endpoint with maxConcurrency N), `client-queued` (every request handed to
 * predict at once, as a shard does; the endpoint semaphore keeps N in flight).
 * Rounds alternate the modes; the median wall time per mode is reported.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { chatCompletionsUrl, createModelClient, type EndpointSpec, type ModelClient } from '../activities/models';
import { classificationInput, heldoutExamples } from '../examples/corpus/spamCorpus';

interface BenchOptions {
  requests: number;
  concurrency: number;
  latencies: number[];
  rounds: number;
  protocol: EndpointSpec['protocol'];
  url?: string;
}

function parseArgs(argv: string[]): BenchOptions {
  const flag = (name: string): string | undefined => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  return {
    requests: Number(flag('requests') ?? 20_000),
    concurrency: Number(flag('concurrency') ?? 64),
    latencies: (flag('latencies') ?? '0,20').split(',').map(Number),
    rounds: Number(flag('rounds') ?? 3),
    protocol: (flag('protocol') ?? 'json-predict') as EndpointSpec['protocol'],
    url: flag('url'),
  };
}

async function startServer(): Promise<{ url: string; child?: ChildProcess }> {
  const main = join(__dirname, '..', 'examples', 'modelServer', 'main.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', main, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.once('exit', (code) => reject(new Error(`model server exited with ${code}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(buffered);
      if (match) resolve({ url: match[1], child });
    });
  });
}

async function admin(url: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await response.text();
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
}

type Mode = 'bare' | 'client' | 'client-queued';
const MODES: Mode[] = ['bare', 'client', 'client-queued'];
const TEMPLATE = 'Classify this email as ham or spam:\n{{input}}';

interface Run {
  seconds: number;
  /** CPU time of this (the client) process per request, in µs: overhead that wall time on a busy machine hides or exaggerates. */
  cpuMicros: number;
  failures: number;
}

function benchRun(mode: Mode, options: BenchOptions, endpoint: EndpointSpec, client: ModelClient, rows: { id: string; input: string }[]): Promise<Run> {
  const { requests, concurrency } = options;
  const chat = endpoint.protocol === 'openai-chat';
  const url = chat ? chatCompletionsUrl(endpoint.url) : endpoint.url;
  const bodies = rows.map((row) => (chat ? { model: endpoint.model, messages: [{ role: 'user', content: TEMPLATE.replace('{{input}}', row.input) }] } : row));
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  let failures = 0;
  const bare = async (i: number) => {
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(bodies[i % bodies.length]) });
    const parsed: unknown = JSON.parse(await response.text());
    if (!response.ok || !parsed) failures++;
  };
  const viaClient = async (i: number) => {
    const result = await client.predict({ endpoint, taskType: 'classification', promptTemplate: TEMPLATE, params: {}, row: rows[i % rows.length] });
    if (result.error) failures++;
  };
  const one = mode === 'bare' ? bare : viaClient;
  let next = 0;
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const done =
    mode === 'client-queued'
      ? Promise.all(Array.from({ length: requests }, (_, i) => one(i)))
      : Promise.all(
          Array.from({ length: concurrency }, async () => {
            for (let i = next++; i < requests; i = next++) await one(i);
          }),
        );
  return done.then(() => {
    const cpu = process.cpuUsage(cpuBefore);
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuMicros: (cpu.user + cpu.system) / requests, failures };
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const server = options.url ? { url: options.url, child: undefined } : await startServer();
  try {
    const rows = heldoutExamples()
      .slice(0, 500)
      .map((example, i) => ({ id: String(i), input: classificationInput(example) }));
    const endpoint: EndpointSpec =
      options.protocol === 'openai-chat'
        ? { protocol: 'openai-chat', url: `${server.url}/v1`, model: 'nb-v1', maxConcurrency: options.concurrency }
        : { protocol: 'json-predict', url: `${server.url}/predict/nb-v1`, maxConcurrency: options.concurrency };
    const client = createModelClient({ timeoutMs: 30_000, maxAttempts: 3, retryBaseMs: 50, defaultMaxConcurrency: options.concurrency });
    const report: Record<string, unknown>[] = [];
    for (const latencyMs of options.latencies) {
      await admin(server.url, '/admin/knobs', { latencyMs });
      // Warm-up: connections, JIT.
      for (const mode of MODES) await benchRun(mode, { ...options, requests: Math.min(2_000, options.requests) }, endpoint, client, rows);
      const seconds: Record<Mode, number[]> = { bare: [], client: [], 'client-queued': [] };
      const cpu: Record<Mode, number[]> = { bare: [], client: [], 'client-queued': [] };
      let failures = 0;
      for (let round = 0; round < options.rounds; round++) {
        // Rotate the order so no mode always runs first (or right after the same one).
        for (const mode of MODES.map((_, k) => MODES[(k + round) % MODES.length])) {
          const run = await benchRun(mode, options, endpoint, client, rows);
          seconds[mode].push(run.seconds);
          cpu[mode].push(run.cpuMicros);
          failures += run.failures;
        }
      }
      const bare = median(seconds.bare);
      const entry = {
        latencyMs,
        protocol: options.protocol,
        requests: options.requests,
        concurrency: options.concurrency,
        bareSeconds: Number(bare.toFixed(3)),
        clientSeconds: Number(median(seconds.client).toFixed(3)),
        clientQueuedSeconds: Number(median(seconds['client-queued']).toFixed(3)),
        clientRatio: Number((median(seconds.client) / bare).toFixed(3)),
        clientQueuedRatio: Number((median(seconds['client-queued']) / bare).toFixed(3)),
        bareRequestsPerSecond: Math.round(options.requests / bare),
        cpuMicrosPerRequest: Object.fromEntries(MODES.map((mode) => [mode, Math.round(median(cpu[mode]))])),
        failures,
      };
      report.push(entry);
      process.stdout.write(`${JSON.stringify(entry)}\n`);
    }
    const stats = client.stats();
    process.stdout.write(`${JSON.stringify({ clientStats: { calls: stats.calls, attempts: stats.attempts, succeeded: stats.succeeded, endpoints: stats.endpoints } })}\n`);
  } finally {
    server.child?.kill('SIGTERM');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
