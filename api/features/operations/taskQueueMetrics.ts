/**
 * Temporal's own view of evalgate's task queues, from its API (DescribeTaskQueue with report_stats),
 * on the API's registry — one queue per run mode, workflow and activity tasks apart:
 *   evalgate_task_queue_backlog{task_queue,mode,type}                 tasks waiting for a worker (approximate)
 *   evalgate_task_queue_backlog_age_seconds{task_queue,mode,type}     how long the oldest of them has waited
 *   evalgate_task_queue_pollers{task_queue,mode,type}                 worker pollers Temporal saw recently
 *   evalgate_task_queue_tasks_per_second{task_queue,mode,type,direction="added"|"dispatched"}   last 30 s
 *   evalgate_task_queue_stats_up                                      1 when Temporal answered this scrape
 * Rendered with the rest of /metrics, so at most once per EVALGATE_METRICS_CACHE_MS. When Temporal does
 * not answer within TIMEOUT_MS the scrape still succeeds: stats_up is 0 and the queue series are absent.
 */
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { Gauge, type Registry } from 'prom-client';
import { taskQueueFor, type RunMode } from '../../../common/names';
import { sharedPerScrape } from '../../http/metrics';

const { TaskQueueType, TaskQueueKind } = temporal.api.enums.v1;
const MODES: RunMode[] = ['release', 'exploratory'];
const TYPES = { workflow: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, activity: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY };
const TIMEOUT_MS = 3_000;

export interface TaskQueueStats {
  labels: { task_queue: string; mode: RunMode; type: keyof typeof TYPES };
  backlog: number;
  backlogAgeSeconds: number;
  pollers: number;
  addedPerSecond: number;
  dispatchedPerSecond: number;
}

/** Describes each of the deployment's task queues; undefined when Temporal does not answer in time. */
export async function describeTaskQueues(
  temporalClient: Client,
  taskQueuePrefix: string,
): Promise<TaskQueueStats[] | undefined> {
  const queries = MODES.flatMap((mode) =>
    (Object.keys(TYPES) as (keyof typeof TYPES)[]).map((type) => ({
      task_queue: taskQueueFor(taskQueuePrefix, mode),
      mode,
      type,
    })),
  );
  try {
    return await temporalClient.connection.withDeadline(Date.now() + TIMEOUT_MS, () =>
      Promise.all(
        queries.map(async (labels) => {
          const res = await temporalClient.workflowService.describeTaskQueue({
            namespace: temporalClient.options.namespace,
            taskQueue: { name: labels.task_queue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
            taskQueueType: TYPES[labels.type],
            reportStats: true,
          });
          const stats = res.stats;
          return {
            labels,
            backlog: Number(stats?.approximateBacklogCount ?? 0),
            backlogAgeSeconds: stats?.approximateBacklogAge ? tsToMs(stats.approximateBacklogAge) / 1000 : 0,
            pollers: res.pollers?.length ?? 0,
            addedPerSecond: stats?.tasksAddRate ?? 0,
            dispatchedPerSecond: stats?.tasksDispatchRate ?? 0,
          };
        }),
      ),
    );
  } catch {
    return undefined;
  }
}

export function registerTaskQueueMetrics(
  registry: Registry,
  temporalClient: Client,
  config: { EVALGATE_TASK_QUEUE_PREFIX: string },
): void {
  const snapshot = sharedPerScrape(() => describeTaskQueues(temporalClient, config.EVALGATE_TASK_QUEUE_PREFIX));
  const perQueue = (name: string, help: string, value: (s: TaskQueueStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['task_queue', 'mode', 'type'],
      registers: [registry],
      async collect() {
        const queues = await snapshot();
        this.reset();
        for (const q of queues ?? []) this.set(q.labels, value(q));
      },
    });
  perQueue('evalgate_task_queue_backlog', 'Tasks waiting in the Temporal task queue (approximate)', (q) => q.backlog);
  perQueue(
    'evalgate_task_queue_backlog_age_seconds',
    'How long the oldest task in the backlog has waited (0 when none waits)',
    (q) => q.backlogAgeSeconds,
  );
  perQueue('evalgate_task_queue_pollers', 'Worker pollers Temporal saw on the task queue recently', (q) => q.pollers);
  new Gauge({
    name: 'evalgate_task_queue_tasks_per_second',
    help: 'Tasks added to and dispatched from the task queue per second, averaged over the last 30 s',
    labelNames: ['task_queue', 'mode', 'type', 'direction'],
    registers: [registry],
    async collect() {
      const queues = await snapshot();
      this.reset();
      for (const q of queues ?? []) {
        this.set({ ...q.labels, direction: 'added' }, q.addedPerSecond);
        this.set({ ...q.labels, direction: 'dispatched' }, q.dispatchedPerSecond);
      }
    },
  });
  new Gauge({
    name: 'evalgate_task_queue_stats_up',
    help: 'Whether Temporal answered DescribeTaskQueue for this scrape (0: the task queue series are missing)',
    registers: [registry],
    async collect() {
      this.set((await snapshot()) ? 1 : 0);
    },
  });
}
