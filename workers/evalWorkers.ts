import {
  bundleWorkflowCode,
  DefaultLogger,
  type ActivityInterceptorsFactory,
  NativeConnection,
  Runtime,
  Worker,
  type LogLevel,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from '../activities';
import { createModelClient } from '../activities/models/client';
import { EndpointLimiters } from '../activities/models/endpointLimiter';
import { FleetLeases } from '../activities/models/fleetLeases';
import { ReleaseFirst } from '../activities/models/releaseFirst';
import { headersForEndpoints } from './endpointHeaders';
import type { Config } from '../common/config';
import { systemResolver, type Resolver } from '../common/resolver';
import { EgressPolicy } from '../domain/models/egress';
import type { Logger } from '../common/logger';
import { taskQueueFor, type RunMode } from '../common/names';
import type { Storage } from '../common/storage';

export interface EvalWorkerDeps {
  config: Config;
  pool: Pool;
  storage: Storage;
  logger: Logger;
  connection: NativeConnection;
  bundle?: WorkflowBundleWithSourceMap | { codePath: string };
  modes?: RunMode[];
  /** Name resolution for the egress policy; tests inject one (DNS rebinding). Default: the system's. */
  resolver?: Resolver;
  /**
   * The endpoint limiters of the model client (the worker's /metrics reads them); default: new ones from config,
   * with limits per process (workers/main.ts gives the fleet's, shared with every worker through PostgreSQL).
   */
  limiters?: EndpointLimiters;
  /** Exploratory calls yield while release work runs; default: from config. */
  releaseFirst?: ReleaseFirst;
}

/** Exploratory calls held to a few lanes while release work runs in the process (see releaseFirst.ts). */
export function releaseFirstFromConfig(config: Config): ReleaseFirst {
  return new ReleaseFirst({
    exploratoryCalls: config.EVALGATE_EXPLORATORY_CALLS_DURING_RELEASE,
    lingerMs: config.EVALGATE_RELEASE_LINGER_MS,
  });
}

/** Every activity the release worker runs counts as release work while it runs. */
function releaseWork(releaseFirst: ReleaseFirst): ActivityInterceptorsFactory {
  return () => ({
    inbound: {
      async execute(input, next) {
        releaseFirst.releaseWorkBegan();
        try {
          return await next(input);
        } finally {
          releaseFirst.releaseWorkEnded();
        }
      },
    },
  });
}

/**
 * The endpoint controllers' settings from config; with a pool (and EVALGATE_FLEET_LEASE_MS > 0), endpoint limits
 * are shared by every worker through leases in PostgreSQL (activities/models/fleetLeases.ts).
 */
export function endpointLimitersFromConfig(config: Config, fleet?: { pool: Pool; logger?: Logger }): EndpointLimiters {
  const leaseMs = config.EVALGATE_FLEET_LEASE_MS;
  return new EndpointLimiters(
    {
      latencyTolerance: config.EVALGATE_ENDPOINT_LATENCY_TOLERANCE || Infinity,
      congestionTolerance: config.EVALGATE_ENDPOINT_CONGESTION_TOLERANCE,
    },
    fleet && leaseMs > 0 ? new FleetLeases({ pool: fleet.pool, leaseMs, logger: fleet.logger }) : undefined,
  );
}

let runtimeInstalled = false;

/** Routes the Temporal runtime's own logs into pino. Once per process. */
export function installTemporalLogging(logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (logger.level === 'silent' ? 'ERROR' : logger.level.toUpperCase()) as LogLevel;
  try {
    Runtime.install({
      logger: new DefaultLogger(
        ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(level) ? level : 'INFO',
        (entry) => {
          const method =
            entry.level === 'TRACE'
              ? 'trace'
              : entry.level === 'DEBUG'
                ? 'debug'
                : entry.level === 'WARN'
                  ? 'warn'
                  : entry.level === 'ERROR'
                    ? 'error'
                    : 'info';
          logger[method]({ ...entry.meta, temporal: true }, entry.message);
        },
      ),
    });
  } catch {
    // Another part of this process installed the runtime first; keep its logger.
  }
}

export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('WARN') });
}

/**
 * One worker per task queue: release-blocking and exploratory runs each get their own
 * activity slots, so a burst of exploratory runs cannot delay a release gate. The model
 * client (and so each endpoint's concurrency limit) is shared by both: a waiting release call
 * gets an endpoint's next free lane, and while release work runs, exploratory calls yield
 * the process to it (docs/decisions/release-first.md).
 */
export async function createEvalWorkers(deps: EvalWorkerDeps): Promise<Worker[]> {
  const { config } = deps;
  const resolver = deps.resolver ?? systemResolver;
  const releaseFirst = deps.releaseFirst ?? releaseFirstFromConfig(config);
  const models = createModelClient({
    timeoutMs: config.EVALGATE_MODEL_TIMEOUT_MS,
    maxAttempts: config.EVALGATE_MODEL_MAX_ATTEMPTS,
    retryBaseMs: config.EVALGATE_RETRY_BASE_MS,
    defaultMaxConcurrency: config.EVALGATE_MODEL_MAX_CONCURRENCY,
    logger: deps.logger,
    headersFor: headersForEndpoints(config.EVALGATE_ENDPOINT_HEADERS),
    egress: EgressPolicy.fromConfig(config, resolver),
    resolver,
    limiters: deps.limiters ?? endpointLimitersFromConfig(config),
    releaseFirst,
  });
  const activities = createActivities({
    pool: deps.pool,
    storage: deps.storage,
    logger: deps.logger,
    models,
    partRows: config.EVALGATE_PART_ROWS,
    runDefaults: config,
    budgetBlockCalls: config.EVALGATE_BUDGET_BLOCK_CALLS,
    teamDailyCallQuota: Number(config.EVALGATE_TEAM_DAILY_CALL_QUOTA),
    modelConcurrency: config.EVALGATE_MODEL_MAX_CONCURRENCY,
  });
  const bundle =
    deps.bundle ??
    (config.EVALGATE_WORKFLOW_BUNDLE_PATH
      ? { codePath: config.EVALGATE_WORKFLOW_BUNDLE_PATH }
      : await bundleWorkflows());
  const slots: Record<RunMode, number> = {
    release: config.EVALGATE_RELEASE_WORKER_CONCURRENCY,
    exploratory: config.EVALGATE_EXPLORATORY_WORKER_CONCURRENCY,
  };
  return Promise.all(
    (deps.modes ?? (['release', 'exploratory'] as RunMode[])).map((mode) =>
      Worker.create({
        connection: deps.connection,
        namespace: config.EVALGATE_TEMPORAL_NAMESPACE,
        taskQueue: taskQueueFor(config.EVALGATE_TASK_QUEUE_PREFIX, mode),
        workflowBundle: bundle,
        activities,
        maxConcurrentActivityTaskExecutions: slots[mode],
        ...(mode === 'release' ? { interceptors: { activity: [releaseWork(releaseFirst)] } } : {}),
      }),
    ),
  );
}
