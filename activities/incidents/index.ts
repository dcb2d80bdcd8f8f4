import type { Pool } from 'pg';
import type { Logger } from '../../common/logger';
import type { Storage } from '../../common/storage';
import type { JudgeChat } from '../judge/runner';
import { createDeprecationActivities } from './deprecation';
import { createJudgeIncidentActivities } from './judgeIncident';
import { createMetricBugActivities } from './metricBug';
import { createRecomputeActivities } from './recompute';
import { createRedecideActivities } from './redecide';

export interface IncidentActivityDeps {
  pool: Pool;
  storage: Storage;
  logger: Logger;
  /** Judge calls of a judge incident share the workers' model client (and each endpoint's limits). */
  models: JudgeChat;
  budgetBlockCalls?: number;
}

/** The incident activities (metric bug, dataset contamination, judge), built once per worker. */
export function createIncidentActivities(deps: IncidentActivityDeps) {
  return {
    ...createMetricBugActivities(deps),
    ...createRecomputeActivities(deps),
    ...createRedecideActivities(deps),
    ...createDeprecationActivities(deps),
    ...createJudgeIncidentActivities(deps),
  };
}
