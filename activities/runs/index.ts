import { createLifecycleActivities, type LifecycleDeps } from './lifecycle';
import { createRunShard, type ShardDeps } from './shard';

export type RunActivityDeps = LifecycleDeps & ShardDeps;

/** The eval-run activities, built once per worker with their dependencies. */
export function createRunActivities(deps: RunActivityDeps) {
  return {
    ...createLifecycleActivities(deps),
    runShard: createRunShard(deps),
  };
}
