/**
 * Model-as-judge: pinned judge configs, judging inside run shards (shardJudging.ts),
 * the drift canary (an activity), and re-judging stored outputs for judge incidents.
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
export {
  judgeConfigFrom,
  judgeConfigFromDefinition,
  judgeFingerprint,
  loadRunJudge,
  DEFAULT_MAX_AGREEMENT_DROP,
  type JudgeConfig,
  type JudgeDefinition,
  type StoredJudge,
} from '../../domain/judge/config';
export { judgeKeys } from '../../domain/judge/transcripts';
export type { JudgeOutcome, JudgeTranscript } from '../../domain/judge/types';
export type { JudgeTotals } from './shardJudging';

export type JudgeActivityDeps = CanaryDeps;

export function createJudgeActivities(deps: JudgeActivityDeps) {
  return {
    judgeCanary: createCanaryActivity(deps),
  };
}
