/**
 * evalRunWorkflow: one eval run, planned into dataset shards and run as heartbeating
 * shard activities with bounded parallelism. Big runs fan out to child workflows per
 * block of shards, so no history grows with the dataset: a history holds a few events
 * per shard of its block, never per example.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  defineQuery,
  defineSignal,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { createJudgeActivities } from '../activities/judge';
import type { createRunActivities } from '../activities/runs';
import { CANCEL_EVAL_RUN_SIGNAL, EVAL_RUN_PROGRESS_QUERY, shardBlockWorkflowId } from '../common/names';

type RunActivities = ReturnType<typeof createRunActivities>;
type JudgeActivities = ReturnType<typeof createJudgeActivities>;

/** Release-mode runs of suites with a drift canary also judge the canary (issue 4). */
export const JUDGE_CANARY_PATCH = 'judge-canary';
/** A budget_exceeded shard stops new shards from starting and lets running ones stop before the run ends, so partial results are complete. */
export const BUDGET_DRAIN_PATCH = 'budget-drain';

export interface EvalRunInput {
  runId: string;
  shardParallelism: number;
  blockSize: number;
  heartbeatTimeoutMs: number;
}
export interface EvalRunProgress {
  status: 'planning' | 'running' | 'finalizing' | 'done';
  done: number;
  total: number;
  shardsDone: number;
  shards: number;
}
export interface ShardBlockInput {
  runId: string;
  shards: { index: number; rowCount: number }[];
  parallelism: number;
  heartbeatTimeoutMs: number;
}

export const evalRunProgressQuery = defineQuery<EvalRunProgress>(EVAL_RUN_PROGRESS_QUERY);
export const cancelEvalRunSignal = defineSignal(CANCEL_EVAL_RUN_SIGNAL);
export const shardBlockProgressQuery = defineQuery<{ done: number; shardsDone: number }>('shardBlockProgress');

const lifecycleOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 },
} as const;

const lifecycle = proxyActivities<RunActivities>(lifecycleOptions);

const canaryOptions: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: ['budget_exceeded', 'cancelled'],
  },
};

const judging = proxyActivities<JudgeActivities>(canaryOptions);

function shardActivities(heartbeatTimeoutMs: number) {
  return proxyActivities<RunActivities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: 20,
      nonRetryableErrorTypes: [
        'model_unavailable',
        'model_errors',
        'dataset_unreadable',
        'budget_exceeded',
        'judge_unreliable',
      ],
    },
  });
}

/**
 * Runs `count` lanes taking work items in order. Without the drain patch a failure ends
 * the wait at once. With it, a budget_exceeded failure stops lanes taking new items and
 * waits for the running ones (they stop within one budget block), then rethrows.
 */
async function runLanes(count: number, take: () => (() => Promise<void>) | undefined): Promise<void> {
  const drain = patched(BUDGET_DRAIN_PATCH);
  let budgetFailure: unknown;
  const lane = async () => {
    for (
      let work = take();
      work && budgetFailure === undefined;
      work = budgetFailure === undefined ? take() : undefined
    ) {
      try {
        await work();
      } catch (err) {
        if (!drain || errorClassOf(err).errorClass !== 'budget_exceeded') throw err;
        budgetFailure = err;
      }
    }
  };
  await Promise.all(Array.from({ length: count }, lane));
  if (budgetFailure !== undefined) throw budgetFailure;
}

/** Runs shards with at most `parallelism` in flight; calls onDone as each finishes. */
async function runShards(input: ShardBlockInput, onDone: (rows: number) => void): Promise<void> {
  const { runShard } = shardActivities(input.heartbeatTimeoutMs);
  let next = 0;
  await runLanes(Math.min(input.parallelism, input.shards.length), () => {
    if (next >= input.shards.length) return undefined;
    const shard = input.shards[next++];
    return async () => {
      const summary = await runShard({ runId: input.runId, shardIndex: shard.index });
      onDone(summary.rows);
    };
  });
}

/** Child workflow: one block of a big run's shards. */
export async function evalShardBlockWorkflow(input: ShardBlockInput): Promise<{ rows: number }> {
  let done = 0;
  let shardsDone = 0;
  setHandler(shardBlockProgressQuery, () => ({ done, shardsDone }));
  await runShards(input, (rows) => {
    done += rows;
    shardsDone += 1;
  });
  return { rows: done };
}

/** The failure's stable type: an ApplicationFailure type from an activity or child, else `internal`. */
function errorClassOf(err: unknown): { errorClass: string; message: string } {
  let cause: unknown = err;
  while (cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) cause = cause.cause;
  if (cause instanceof ApplicationFailure && cause.type) return { errorClass: cause.type, message: cause.message };
  return { errorClass: 'internal', message: err instanceof Error ? err.message : String(err) };
}

export async function evalRunWorkflow(input: EvalRunInput): Promise<{ status: string }> {
  const progress: EvalRunProgress = { status: 'planning', done: 0, total: 0, shardsDone: 0, shards: 0 };
  let cancelRequested = false;
  setHandler(evalRunProgressQuery, () => progress);
  const work = new CancellationScope();
  setHandler(cancelEvalRunSignal, () => {
    cancelRequested = true;
    work.cancel();
  });

  let canary: Promise<unknown> | undefined;
  try {
    await work.run(async () => {
      const plan = await lifecycle.planRun({ runId: input.runId });
      Object.assign(progress, { status: 'running', total: plan.totalRows, shards: plan.shards.length });
      if (plan.canary && patched(JUDGE_CANARY_PATCH)) {
        // Judged beside the shards; awaited before finalizing so a drift flag is set before the run can succeed.
        canary = judging.judgeCanary({ runId: input.runId });
        canary.catch(() => undefined);
      }
      const onDone = (rows: number) => {
        progress.done += rows;
        progress.shardsDone += 1;
      };
      if (plan.shards.length <= input.blockSize) {
        await runShards(
          {
            runId: input.runId,
            shards: plan.shards,
            parallelism: input.shardParallelism,
            heartbeatTimeoutMs: input.heartbeatTimeoutMs,
          },
          onDone,
        );
      } else {
        // Two blocks at a time, each with half the parallelism: the endpoint sees the same load.
        const blocks: ShardBlockInput['shards'][] = [];
        for (let i = 0; i < plan.shards.length; i += input.blockSize)
          blocks.push(plan.shards.slice(i, i + input.blockSize));
        const parallelism = Math.max(1, Math.ceil(input.shardParallelism / 2));
        let nextBlock = 0;
        await runLanes(2, () => {
          if (nextBlock >= blocks.length) return undefined;
          const block = nextBlock++;
          return async () => {
            const { rows } = await executeChild(evalShardBlockWorkflow, {
              workflowId: shardBlockWorkflowId(input.runId, block),
              args: [
                {
                  runId: input.runId,
                  shards: blocks[block],
                  parallelism,
                  heartbeatTimeoutMs: input.heartbeatTimeoutMs,
                },
              ],
            });
            progress.done += rows;
            progress.shardsDone += blocks[block].length;
          };
        });
      }
      if (canary) await canary;
      progress.status = 'finalizing';
      await lifecycle.finalizeRun({ runId: input.runId });
      progress.status = 'done';
    });
    return { status: 'succeeded' };
  } catch (err) {
    const cancelled = cancelRequested || isCancellation(err);
    const { errorClass, message } = errorClassOf(err);
    const status = cancelled ? 'cancelled' : errorClass === 'budget_exceeded' ? 'budget_exceeded' : 'failed';
    // The canary's judge calls are part of the run's totals: let it finish (it stops soon once the budget is gone).
    if (canary) await canary.catch(() => undefined);
    await CancellationScope.nonCancellable(() =>
      lifecycle.markRunEnded({
        runId: input.runId,
        status,
        ...(cancelled ? {} : { errorClass, errorMessage: message }),
      }),
    );
    progress.status = 'done';
    if (cancelled || status === 'budget_exceeded') return { status };
    throw ApplicationFailure.create({ type: errorClass, message, nonRetryable: true });
  }
}
