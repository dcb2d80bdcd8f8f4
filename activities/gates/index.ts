import type { Pool } from 'pg';
import type { RunDefaults } from '../../domain/runs/createRun';
import type { Storage } from '../../common/storage';
import { createDecideActivities } from './decide';
import { createOverrideActivities } from './overrides';
import { createPrepareActivity } from '../../domain/gates/prepare';

export interface GateActivityDeps {
  pool: Pool;
  storage: Storage;
  /** What runs a gate check records carry: the platform version and the task queues they run on. */
  runDefaults: RunDefaults;
}

/** The release-gate workflow's activities: prepare, decide, and the override steps. */
export function createGateActivities(deps: GateActivityDeps) {
  const deciding = createDecideActivities(deps);
  return {
    prepareGateCheck: createPrepareActivity({
      pool: deps.pool,
      config: deps.runDefaults,
      decide: deciding.decideGateCheck,
    }),
    ...deciding,
    ...createOverrideActivities(deps),
  };
}

export type GateActivities = ReturnType<typeof createGateActivities>;
export {
  evaluateRules,
  ruleId,
  type GateRule,
  type RuleReason,
  type RuleEvaluationInput,
  type RuleEvaluation,
} from '../../domain/gates/evaluateRules';
