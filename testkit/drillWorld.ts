/**
 * The world of the drill tests (a worker SIGKILLed, object storage, PostgreSQL or Temporal taken away
 * mid-run): the test stack on a task-queue prefix of its own, served by a worker *process* the test can
 * kill (testkit/processes.ts), the reference model server, and a team with an editor.
 */
import type { ChildProcess } from 'node:child_process';
import { createModelServer, type ModelServer } from './modelServer/server';
import { signalGroup, startWorkerProcess } from './processes';
import { principal, startTestStack, unique, type ApiClient, type TestStack } from './stack';

export interface DrillWorld {
  stack: TestStack;
  server: ModelServer;
  team: string;
  editor: ApiClient;
  /** Starts a worker process (one at a time: kill the last one first); returns its process group id. */
  startWorker(): number;
  /** SIGKILLs the worker's whole process group: the tsx launcher and the Node process it started. */
  killWorker(): void;
  /** Polls a run until `until` holds, riding out the API's own failures while a drill is on. */
  pollRun(runId: string, until?: (run: any) => boolean, timeoutMs?: number): Promise<any>;
  close(): Promise<void>;
}

export const runEnded = (run: { status: string }) => run.status !== 'queued' && run.status !== 'running';

export async function startDrillWorld(options: {
  /** Config of the stack (and so of its workers: database, bucket, object storage, Temporal, task queues). */
  stack?: Record<string, string>;
  /** The worker processes' own settings. */
  worker?: Record<string, string>;
  modelLatencyMs?: number;
}): Promise<DrillWorld> {
  const stack = await startTestStack({ EVALGATE_TASK_QUEUE_PREFIX: unique('drill').toLowerCase(), ...options.stack });
  const server = await createModelServer({ knobs: { latencyMs: options.modelLatencyMs ?? 10 } });
  const team = unique('ml');
  const editor = await principal(stack, 'editor', [{ team, roles: ['editor'] }]);
  let worker: ChildProcess | undefined;
  const world: DrillWorld = {
    stack,
    server,
    team,
    editor,
    startWorker() {
      if (worker) throw new Error('a worker process is running: kill it first');
      worker = startWorkerProcess(stack, options.worker);
      return worker.pid!;
    },
    killWorker() {
      signalGroup(worker);
      worker = undefined;
    },
    async pollRun(runId, until = runEnded, timeoutMs = 180_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await editor.get(`/v1/eval-runs/${runId}`).catch(() => undefined);
        if (res?.status === 200 && until(res.body)) return res.body;
        if (Date.now() > deadline) throw new Error(`run ${runId}: ${JSON.stringify(res?.body)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      world.killWorker();
      await server.close();
      await stack.close();
    },
  };
  return world;
}
