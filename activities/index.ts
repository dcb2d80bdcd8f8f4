import type { Pool } from 'pg';
import type { Logger } from '../common/logger';
import type { Storage } from '../common/storage';
import { createIncidentActivities } from './incidents';
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
}

/** Every activity, built once per worker process with its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createRunActivities(deps),
    ...createIncidentActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
