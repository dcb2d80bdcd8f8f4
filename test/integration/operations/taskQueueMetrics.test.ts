/**
 * Temporal's task-queue backlog on the API's /metrics, asked of the real Temporal server
 * (DescribeTaskQueue with report_stats): a workflow started on a release queue that no worker polls
 * waits in the backlog, with its age and no pollers; the exploratory queue stays empty; once workers
 * poll, Temporal sees them and the backlog drains.
 */
import { NativeConnection } from '@temporalio/worker';
import { WORKFLOW_TYPES, retentionSweepWorkflowId, taskQueueFor, type RunMode } from '../../../common/names';
import { bundleWorkflows, createEvalWorkers, installTemporalLogging } from '../../../workers/evalWorkers';
import { scrapeMetrics, seriesValue } from '../../../testkit/scrape';
import { startTestStack, unique, type TestStack } from '../../../testkit/stack';

let stack: TestStack;
let release: string;

beforeAll(async () => {
  // A prefix of its own: nothing else polls or fills these queues.
  stack = await startTestStack({ EVALGATE_TASK_QUEUE_PREFIX: unique('tq').toLowerCase() });
  release = taskQueueFor(stack.config.EVALGATE_TASK_QUEUE_PREFIX, 'release');
}, 60_000);
afterAll(() => stack.close());

/** Scrapes until `ready` holds for the scrape (Temporal's stats are approximate and eventually consistent). */
async function scrapeUntil(ready: (text: string) => boolean, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await scrapeMetrics(stack);
    if (ready(text) || Date.now() > deadline) return text;
    await new Promise((r) => setTimeout(r, 250));
  }
}

it('reports the backlog of a release queue no worker polls, then its pollers once workers start', async () => {
  const q = (mode: RunMode, type: string) => ({
    task_queue: taskQueueFor(stack.config.EVALGATE_TASK_QUEUE_PREFIX, mode),
    mode,
    type,
  });
  const backlog = (text: string, mode: RunMode = 'release', type = 'workflow') =>
    seriesValue(text, 'evalgate_task_queue_backlog', q(mode, type));

  // A retention sweep (a workflow the workers know, cheap to run) on the release queue, with no worker yet.
  const handle = await stack.temporal.workflow.start(WORKFLOW_TYPES.retention, {
    taskQueue: release,
    workflowId: retentionSweepWorkflowId(unique('backlog')),
    args: [{ batchSize: 1, maxBatches: 1 }],
  });
  try {
    let text = await scrapeUntil(
      (t) =>
        (backlog(t) ?? 0) >= 1 &&
        (seriesValue(t, 'evalgate_task_queue_backlog_age_seconds', q('release', 'workflow')) ?? 0) >= 1,
    );
    expect(seriesValue(text, 'evalgate_task_queue_stats_up')).toBe(1);
    expect(backlog(text)).toBe(1);
    expect(
      seriesValue(text, 'evalgate_task_queue_backlog_age_seconds', q('release', 'workflow')),
    ).toBeGreaterThanOrEqual(1);
    expect(seriesValue(text, 'evalgate_task_queue_pollers', q('release', 'workflow'))).toBe(0);
    expect(backlog(text, 'exploratory')).toBe(0);
    expect(backlog(text, 'release', 'activity')).toBe(0);

    // Workers start polling: Temporal sees them, and the waiting task is taken.
    installTemporalLogging(stack.logger);
    const connection = await NativeConnection.connect({ address: stack.config.EVALGATE_TEMPORAL_ADDRESS });
    const workers = await createEvalWorkers({
      config: stack.config,
      pool: stack.pool,
      storage: stack.storage,
      logger: stack.logger,
      connection,
      bundle: await bundleWorkflows(),
      modes: ['release'],
    });
    const running = workers.map((w) => w.run());
    try {
      await handle.result();
      text = await scrapeUntil(
        (t) => backlog(t) === 0 && (seriesValue(t, 'evalgate_task_queue_pollers', q('release', 'workflow')) ?? 0) >= 1,
      );
      expect(backlog(text)).toBe(0);
      expect(seriesValue(text, 'evalgate_task_queue_pollers', q('release', 'workflow'))).toBeGreaterThanOrEqual(1);
      expect(seriesValue(text, 'evalgate_task_queue_pollers', q('release', 'activity'))).toBeGreaterThanOrEqual(1);
    } finally {
      for (const w of workers) w.shutdown();
      await Promise.allSettled(running);
      await connection.close();
    }
  } finally {
    await handle.terminate().catch(() => undefined);
  }
}, 180_000);
