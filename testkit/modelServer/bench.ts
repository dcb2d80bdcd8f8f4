/**
 * Load test for the reference model server, load generator and server in separate
 * processes:
 *   npx tsx testkit/modelServer/bench.ts [--requests 100000] [--concurrency 64]
 *       [--latency-ms 0] [--route predict|chat|mixed] [--model nb-v1] [--url http://…]
 * Without --url it starts `main.ts` on a free port and stops it afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { heldoutExamples, classificationInput } from '../corpus/spamCorpus';

interface BenchOptions {
  requests: number;
  concurrency: number;
  latencyMs: number;
  route: 'predict' | 'chat' | 'mixed';
  model: string;
  url?: string;
}

function parseArgs(argv: string[]): BenchOptions {
  const flag = (name: string): string | undefined => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  return {
    requests: Number(flag('requests') ?? 100_000),
    concurrency: Number(flag('concurrency') ?? 64),
    latencyMs: Number(flag('latency-ms') ?? 0),
    route: (flag('route') ?? 'mixed') as BenchOptions['route'],
    model: flag('model') ?? 'nb-v1',
    url: flag('url'),
  };
}

async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['--import', pathToFileURL(require.resolve('tsx')).href, join(__dirname, 'main.ts'), '0'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
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

function getJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve(JSON.parse(text)));
    })
      .once('error', reject)
      .end();
  });
}

function post(agent: Agent, url: string, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const server = options.url ? { url: options.url, child: undefined } : await startServer();
  const inputs = heldoutExamples()
    .slice(0, 500)
    .map((example) => classificationInput(example));
  const bodies = inputs.map((input, i) => ({
    predict: JSON.stringify({ id: String(i), input }),
    chat: JSON.stringify({
      model: options.model,
      messages: [{ role: 'user', content: `Classify this email as ham or spam:\n${input}` }],
      temperature: 0,
    }),
  }));
  await post(new Agent(), server.url, '/admin/knobs', JSON.stringify({ latencyMs: options.latencyMs }));
  await post(new Agent(), server.url, '/admin/stats/reset', '{}');

  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const latencies = new Float64Array(options.requests);
  const statuses = new Map<number, number>();
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async () => {
    for (let i = next++; i < options.requests; i = next++) {
      const body = bodies[i % bodies.length];
      const chat = options.route === 'chat' || (options.route === 'mixed' && i % 2 === 1);
      const t0 = process.hrtime.bigint();
      const status = await post(
        agent,
        server.url,
        chat ? '/v1/chat/completions' : `/predict/${options.model}`,
        chat ? body.chat : body.predict,
      );
      latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  const serverStats = (await getJson(`${server.url}/admin/stats`)) as { cpuMs: number };
  const serverCpuMicrosPerRequest = (serverStats.cpuMs * 1000) / options.requests;
  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(1);
  const result = {
    ...options,
    url: server.url,
    seconds: Number(seconds.toFixed(2)),
    requestsPerSecond: Math.round(options.requests / seconds),
    responseMs: { p50: pct(0.5), p99: pct(0.99), max: sorted[sorted.length - 1].toFixed(1) },
    statuses: Object.fromEntries(statuses),
    // What one server core could sustain if the load generator were elsewhere.
    serverCpuMicrosPerRequest: Math.round(serverCpuMicrosPerRequest),
    serverCapacityPerCore: Math.round(1e6 / serverCpuMicrosPerRequest),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  server.child?.kill('SIGTERM');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
