/**
 * Overhead of the model client against bare loops at the same concurrency, against
 * the reference model server in its own process:
 *   npx tsx bench/model-client.ts [--requests 20000] [--concurrency 64]
 *       [--latencies 0,20] [--rounds 3] [--protocol json-predict|openai-chat] [--url http://…] [--egress on|off]
 * Modes:
 *   bare-fetch     N workers: global fetch + JSON.parse (the brief's baseline)
 *   bare-http      N workers: node:http with a keep-alive Agent + JSON.parse (the transport's floor)
 *   client         N workers calling predict on an endpoint with maxConcurrency N
 *   client-queued  every request handed to predict at once, as a shard does; the
 *                  endpoint semaphore keeps N in flight
 * The client checks egress as workers do (the server's host:port allow-listed) unless `--egress off`.
 * Rounds rotate the order of the modes; the median per mode is reported: wall time,
 * and CPU time of this process per request (what the client costs; wall time on a
 * shared machine mostly measures the neighbours).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { chatCompletionsUrl, createModelClient, type ModelClient } from '../activities/models';
import type { EndpointSpec } from '../domain/models/types';
import { configFrom } from '../common/config';
import { systemResolver } from '../common/resolver';
import { EgressPolicy } from '../domain/models/egress';
import { classificationInput, heldoutExamples } from '../testkit/corpus/spamCorpus';

interface BenchOptions {
  requests: number;
  concurrency: number;
  latencies: number[];
  rounds: number;
  protocol: EndpointSpec['protocol'];
  url?: string;
  egress: boolean;
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
    egress: flag('egress') !== 'off',
  };
}

async function startServer(): Promise<{ url: string; child?: ChildProcess }> {
  const main = join(__dirname, '..', 'testkit', 'modelServer', 'main.ts');
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

/** The policy a worker would apply, with the model server allow-listed as the bench stack does. */
function egressFor(url: string): EgressPolicy {
  const { hostname, port } = new URL(url);
  return EgressPolicy.fromConfig(configFrom({ EVALGATE_ENDPOINT_ALLOW: `${hostname}:${port}` }), systemResolver);
}

async function admin(url: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.text();
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
}

type Mode = 'bare-fetch' | 'bare-http' | 'client' | 'client-queued';
const MODES: Mode[] = ['bare-fetch', 'bare-http', 'client', 'client-queued'];
const TEMPLATE = 'Classify this email as ham or spam:\n{{input}}';
const HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
const bareAgent = new Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo' });

interface Run {
  seconds: number;
  cpuMicros: number;
  failures: number;
}

function postHttp(url: URL, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = { ...HEADERS, 'content-length': Buffer.byteLength(body) };
    const req = request(
      { hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: bareAgent, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function benchRun(
  mode: Mode,
  options: BenchOptions,
  endpoint: EndpointSpec,
  client: ModelClient,
  rows: { id: string; input: string }[],
): Promise<Run> {
  const { requests, concurrency } = options;
  const chat = endpoint.protocol === 'openai-chat';
  const url = chat ? chatCompletionsUrl(endpoint.url) : endpoint.url;
  const parsedUrl = new URL(url);
  const bodies = rows.map((row) =>
    chat
      ? { model: endpoint.model, messages: [{ role: 'user', content: TEMPLATE.replace('{{input}}', row.input) }] }
      : row,
  );
  let failures = 0;
  const one: (i: number) => Promise<void> =
    mode === 'bare-fetch'
      ? async (i) => {
          const response = await fetch(url, {
            method: 'POST',
            headers: HEADERS,
            body: JSON.stringify(bodies[i % bodies.length]),
          });
          if (!response.ok || !JSON.parse(await response.text())) failures++;
        }
      : mode === 'bare-http'
        ? async (i) => {
            const response = await postHttp(parsedUrl, JSON.stringify(bodies[i % bodies.length]));
            if (response.status !== 200 || !JSON.parse(response.text)) failures++;
          }
        : async (i) => {
            const result = await client.predict({
              endpoint,
              taskType: 'classification',
              promptTemplate: TEMPLATE,
              params: {},
              row: rows[i % rows.length],
            });
            if (result.error) failures++;
          };
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
    return {
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      cpuMicros: (cpu.user + cpu.system) / requests,
      failures,
    };
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round3 = (value: number) => Number(value.toFixed(3));

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
    const client = createModelClient({
      timeoutMs: 30_000,
      maxAttempts: 3,
      retryBaseMs: 50,
      defaultMaxConcurrency: options.concurrency,
      ...(options.egress ? { egress: egressFor(endpoint.url) } : {}),
    });
    for (const latencyMs of options.latencies) {
      await admin(server.url, '/admin/knobs', { latencyMs });
      // Warm-up: connections, JIT.
      for (const mode of MODES)
        await benchRun(mode, { ...options, requests: Math.min(2_000, options.requests) }, endpoint, client, rows);
      const runs = new Map<Mode, Run[]>(MODES.map((mode) => [mode, []]));
      for (let round = 0; round < options.rounds; round++) {
        for (const mode of MODES.map((_, k) => MODES[(k + round) % MODES.length])) {
          runs.get(mode)?.push(await benchRun(mode, options, endpoint, client, rows));
        }
      }
      const wall = (mode: Mode) => median((runs.get(mode) ?? []).map((run) => run.seconds));
      const cpu = (mode: Mode) => median((runs.get(mode) ?? []).map((run) => run.cpuMicros));
      const entry = {
        latencyMs,
        protocol: options.protocol,
        requests: options.requests,
        concurrency: options.concurrency,
        wallSeconds: Object.fromEntries(MODES.map((mode) => [mode, round3(wall(mode))])),
        wallRatioToBareFetch: {
          client: round3(wall('client') / wall('bare-fetch')),
          'client-queued': round3(wall('client-queued') / wall('bare-fetch')),
        },
        wallRatioToBareHttp: {
          client: round3(wall('client') / wall('bare-http')),
          'client-queued': round3(wall('client-queued') / wall('bare-http')),
        },
        cpuMicrosPerRequest: Object.fromEntries(MODES.map((mode) => [mode, Math.round(cpu(mode))])),
        failures: [...runs.values()].flat().reduce((sum, run) => sum + run.failures, 0),
      };
      process.stdout.write(`${JSON.stringify(entry)}\n`);
    }
    const stats = client.stats();
    process.stdout.write(
      `${JSON.stringify({ clientStats: { calls: stats.calls, attempts: stats.attempts, succeeded: stats.succeeded } })}\n`,
    );
  } finally {
    server.child?.kill('SIGTERM');
    bareAgent.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
