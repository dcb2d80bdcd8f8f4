/**
 * Model-as-judge I/O: judging inside run shards (shardJudging.ts), the drift canary (an
 * activity), and re-judging stored outputs for judge incidents. Judge configs, the judge
 * cache, prompts, parsing and statistics are domain/judge.
 */
import { createCanaryActivity, type CanaryDeps } from './canary';

export {
  judgeStoredRecords,
  loadShardItems,
  resolveJudgeConfig,
  type JudgeStoredInput,
  type JudgeStoredResult,
  type StoredItem,
} from './rejudge';
export type { JudgeTotals } from './shardJudging';

export type JudgeActivityDeps = CanaryDeps;

export function createJudgeActivities(deps: JudgeActivityDeps) {
  return {
    judgeCanary: createCanaryActivity(deps),
  };
}
