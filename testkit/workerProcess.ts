/**
 * Worker processes as a deployment runs them — workers/main.ts under tsx, each in a process group of its
 * own — for tests that kill workers or count them. The workflow bundle is built once per test file and
 * handed to every worker (EVALGATE_WORKFLOW_BUNDLE_PATH), so a worker starts in seconds, not tens of them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflows } from '../workers/evalWorkers';

const ROOT = join(__dirname, '..');

export function startWorkerProcess(env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(join(ROOT, 'node_modules/.bin/tsx'), ['workers/main.ts'], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: 'ignore',
  });
}

/** SIGKILL of the worker's whole process group (tsx and the node process it runs): a crash, nothing cleaned up. */
export function killWorkerProcess(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Writes the workflow bundle to a temporary file and gives its path. */
export async function writeWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflows();
  const path = join(mkdtempSync(join(tmpdir(), 'evalgate-bundle-')), 'workflow-bundle.js');
  writeFileSync(path, code);
  return path;
}

const ACTIVITY_TASK_QUEUE = 2; // temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY

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
      taskQueueType: ACTIVITY_TASK_QUEUE,
    });
    const live = new Set((pollers ?? []).map((poller) => poller.identity));
    if (live.size >= count) return;
    if (Date.now() > deadline) throw new Error(`${live.size} of ${count} workers poll ${taskQueue}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
