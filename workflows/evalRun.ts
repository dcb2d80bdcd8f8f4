/**
 * evalRunWorkflow: one eval run, planned into dataset shards and run as heartbeating
 * shard activities with bounded parallelism. Big runs fan out to child workflows per
 * block of shards, so no history grows with the dataset: a history holds a few events
 * per shard of its block, never per example.
 */
import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  defineSignal,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { createJudgeActivities } from '../activities/judge';
import type { createRunActivities } from '../activities/runs';
import { BUDGET_EXCEEDED } from '../common/incidentFailures';
import {
  CANCEL_EVAL_RUN_SIGNAL,
  EVAL_RUN_PROGRESS_QUERY,
  SHARD_BLOCK_PROGRESS_QUERY,
  shardBlockWorkflowId,
} from '../common/names';
import { unwrapFailure } from './shared/failures';
import { canaryOptions, runShardOptions, runStepOptions } from './shared/options';

type RunActivities = ReturnType<typeof createRunActivities>;
type JudgeActivities = ReturnType<typeof createJudgeActivities>;

/** Release-mode runs of suites with a drift canary also judge the canary (issue 4). */
export const JUDGE_CANARY_PATCH = 'judge-canary';
/**
 * A budget_exceeded shard stops new shards from starting and lets running ones stop before the run ends, so partial
 * results are complete.
 */
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
export const shardBlockProgressQuery = defineQuery<{ done: number; shardsDone: number }>(SHARD_BLOCK_PROGRESS_QUERY);

const lifecycle = proxyActivities<RunActivities>(runStepOptions);
const judging = proxyActivities<JudgeActivities>(canaryOptions);

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
        if (!drain || unwrapFailure(err).type !== BUDGET_EXCEEDED) throw err;
        budgetFailure = err;
      }
    }
  };
  await Promise.all(Array.from({ length: count }, lane));
  if (budgetFailure !== undefined) throw budgetFailure;
}

/** Runs shards with at most `parallelism` in flight; calls onDone as each finishes. */
async function runShards(input: ShardBlockInput, onDone: (rows: number) => void): Promise<void> {
  const { runShard } = proxyActivities<RunActivities>(runShardOptions(input.heartbeatTimeoutMs));
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
    const failure = unwrapFailure(err);
    const errorClass = failure.type ?? 'internal';
    // An untyped failure (a timeout, a termination, a bug in workflow code) is recorded by its outermost message.
    const message = failure.type ? failure.message : err instanceof Error ? err.message : String(err);
    const status = cancelled ? 'cancelled' : errorClass === BUDGET_EXCEEDED ? BUDGET_EXCEEDED : 'failed';
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
    if (cancelled || status === BUDGET_EXCEEDED) return { status };
    throw ApplicationFailure.create({ type: errorClass, message, nonRetryable: true });
  }
}
