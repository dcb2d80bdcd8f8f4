/**
 * Processes a test starts and kills itself, as in production: worker processes (`tsx workers/main.ts`)
 * on a test stack's task queues, and — for drills — a MinIO or a Temporal dev server of the test's own
 * (the cached binaries from `infra/build.sh`, a free port, a temporary data directory or database file),
 * so killing them disturbs nobody else. Each is started in a process group of its own, and killed as a
 * group: tsx's launcher and the Node process it starts go together.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { bundleWorkflows } from '../workers/evalWorkers';
import { testStackAllowText, type TestStack } from './stack';

const ROOT = join(__dirname, '..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Sends a signal to the child's whole process group (it was spawned detached); a group already gone is fine. */
export function signalGroup(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!child?.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

/** Pids of the live (not zombie) processes of a process group, read from /proc (Linux). */
export function liveGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // After the command name (which may hold spaces): state, ppid, pgrp.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') members.push(Number(entry));
  }
  return members;
}

/**
 * A worker process serving the stack's task queues against the stack's own database, bucket, object
 * storage and Temporal (so a stack pointed at a drill's MinIO or Temporal gets workers pointed there too).
 */
export function startWorkerProcess(stack: TestStack, env: Record<string, string> = {}): ChildProcess {
  const { config } = stack;
  return spawn(join(ROOT, 'node_modules/.bin/tsx'), ['workers/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      // The worker process needs the stack's allow entries for the model server, as the in-process API has them.
      EVALGATE_ENDPOINT_ALLOW: testStackAllowText(process.env.EVALGATE_ENDPOINT_ALLOW),
      EVALGATE_TASK_QUEUE_PREFIX: config.EVALGATE_TASK_QUEUE_PREFIX,
      EVALGATE_DATABASE_URL: config.EVALGATE_DATABASE_URL,
      EVALGATE_S3_BUCKET: config.EVALGATE_S3_BUCKET,
      EVALGATE_S3_ENDPOINT: config.EVALGATE_S3_ENDPOINT,
      EVALGATE_S3_PORT: String(config.EVALGATE_S3_PORT),
      EVALGATE_TEMPORAL_ADDRESS: config.EVALGATE_TEMPORAL_ADDRESS,
      EVALGATE_TEMPORAL_NAMESPACE: config.EVALGATE_TEMPORAL_NAMESPACE,
      // Several workers on one machine: none fights over the metrics port.
      EVALGATE_WORKER_METRICS_PORT: '0',
      EVALGATE_LOG_LEVEL: 'warn',
      ...env,
    },
    detached: true,
    stdio: 'ignore',
  });
}

/**
 * Writes the workflow bundle to a temporary file and gives its path: worker processes given it
 * (EVALGATE_WORKFLOW_BUNDLE_PATH) start in seconds instead of bundling the workflows each.
 */
export async function writeWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflows();
  const path = join(mkdtempSync(join(tmpdir(), 'evalgate-bundle-')), 'workflow-bundle.js');
  writeFileSync(path, code);
  return path;
}

/** Waits until `count` distinct workers poll the task queue for activities (Temporal's own view of them). */
export async function waitForActivityPollers(
  temporal: Client,
  taskQueue: string,
  count: number,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { pollers } = await temporal.workflowService.describeTaskQueue({
      namespace: temporal.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    const live = new Set((pollers ?? []).map((poller) => poller.identity));
    if (live.size >= count) return;
    if (Date.now() > deadline) throw new Error(`${live.size} of ${count} workers poll ${taskQueue}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A service process a drill owns: started, SIGKILLed (its whole group) and started again on the same port and data. */
export interface DrillService {
  port: number;
  /** Starts it and resolves once it answers. */
  start(): Promise<void>;
  /** SIGKILL, no goodbye: what a crash or an OOM kill looks like. */
  kill(): void;
}

function cachedBinary(name: 'minio' | 'temporal'): string {
  return execFileSync('bash', [join(ROOT, 'infra/build.sh'), name], { encoding: 'utf8' }).trim();
}

async function waitFor(what: string, ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not start within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function service(port: number, what: string, spawnIt: () => ChildProcess, ready: () => Promise<boolean>) {
  let child: ChildProcess | undefined;
  return {
    port,
    async start() {
      child = spawnIt();
      await waitFor(what, ready);
    },
    kill() {
      signalGroup(child);
      child = undefined;
    },
  };
}

/** A MinIO of the drill's own on a free port, keeping its objects in `dataDir` across restarts. */
export async function drillMinio(options: { dataDir: string; accessKey: string; secretKey: string }) {
  const bin = cachedBinary('minio');
  const port = await freePort();
  const consolePort = await freePort();
  return service(
    port,
    'the drill MinIO',
    () =>
      spawn(
        bin,
        ['server', options.dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`],
        {
          env: {
            ...process.env,
            MINIO_ROOT_USER: options.accessKey,
            MINIO_ROOT_PASSWORD: options.secretKey,
            MINIO_UPDATE: 'off',
            MINIO_CALLHOME_ENABLE: 'off',
          },
          stdio: 'ignore',
          detached: true,
        },
      ),
    async () => (await fetch(`http://127.0.0.1:${port}/minio/health/live`)).ok,
  );
}

/**
 * A Temporal dev server of the drill's own on a free port, its state in the SQLite file `dbFile` (so a
 * restart keeps every workflow: an in-memory dev server would forget them), without its web UI.
 */
export async function drillTemporal(options: { dbFile: string }): Promise<DrillService> {
  const bin = cachedBinary('temporal');
  const port = await freePort();
  // Its HTTP API and metrics ports default to free ones of their own.
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--headless'];
  args.push('--db-filename', options.dbFile, '--log-level', 'error');
  return service(
    port,
    'the drill Temporal',
    () => spawn(bin, args, { stdio: 'ignore', detached: true }),
    // The health check answers once the frontend serves the default namespace.
    async () => {
      const { Connection } = await import('@temporalio/client');
      const connection = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 1_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return true;
      } finally {
        await connection.close();
      }
    },
  );
}
