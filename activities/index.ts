import type { Pool } from 'pg';
import type { RunDefaults } from '../domain/runs/createRun';
import type { Logger } from '../common/logger';
import type { Storage } from '../common/storage';
import { createGateActivities } from './gates';
import { createExperimentActivities } from './experiments';
import { createIncidentActivities } from './incidents';
import { createJudgeActivities } from './judge';
import { createRetentionActivities } from './retention';
import { createRunActivities } from './runs';
import type { Predictor } from './runs/shard';

export interface ActivityDeps {
  pool: Pool;
  storage: Storage;
  logger: Logger;
  /** The model-endpoint client, shared by every shard in the process (its limits are per endpoint). */
  models: Predictor;
  /** Rows per checkpointed part of a shard. */
  partRows?: number;
  /** Calls a shard reserves from its run's budget at a time (EVALGATE_BUDGET_BLOCK_CALLS). */
  budgetBlockCalls?: number;
  /** Model and judge calls a team may make per UTC day (EVALGATE_TEAM_DAILY_CALL_QUOTA; 0: no quota). */
  teamDailyCallQuota?: number;
  /** Concurrency limit of endpoints that declare none (EVALGATE_MODEL_MAX_CONCURRENCY). */
  modelConcurrency?: number;
  /** Platform version and task-queue prefix of runs a gate check records (release gates start runs). */
  runDefaults: RunDefaults;
}

/** Every activity, built once per worker process with its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createRunActivities(deps),
    ...createGateActivities(deps),
    ...createIncidentActivities(deps),
    ...createJudgeActivities(deps),
    ...createRetentionActivities(deps),
    ...createExperimentActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
