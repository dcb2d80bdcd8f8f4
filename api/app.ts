import express, { type Express } from 'express';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import type { Storage } from '../common/storage';
import { authenticate } from './http/auth';
import { requestContext } from './http/context';
import { errorHandler, unknownRoute } from './http/errors';
import { jsonBody } from './http/jsonBody';
import { rateLimit } from './http/rateLimit';
import { createMetricsRegistry, httpMetrics } from './http/metrics';
import { datasetsRouter } from './features/datasets/router';
import { DatasetService } from './features/datasets/service';
import { consoleRouter } from './features/console/router';
import { comparisonRouter } from './features/comparison/router';
import { ComparisonService } from './features/comparison/service';
import { CheckService } from './features/gates/checks';
import { gateMetrics } from './features/gates/metrics';
import { OverrideService } from './features/gates/overrides';
import { gatesRouter } from './features/gates/router';
import { GateService } from './features/gates/service';
import { registerExperimentMetrics } from './features/experiments/metrics';
import { experimentsRouter } from './features/experiments/router';
import { ExperimentService } from './features/experiments/service';
import { PromotionService } from './features/experiments/promotion';
import { healthRouter } from './features/health';
import { incidentsRouter } from './features/incidents/router';
import { registerCostMetrics } from './features/judge/costMetrics';
import { judgeRouter } from './features/judge/router';
import { JudgeTranscriptService } from './features/judge/service';
import { IncidentService } from './features/incidents/service';
import { lineageRouter } from './features/lineage/router';
import { LineageService } from './features/lineage/service';
import { registerLineageMetrics } from './features/lineage/staleMetrics';
import { registerOperationsMetrics } from './features/operations/metrics';
import { metricsScrape } from './features/operations/scrape';
import { registerTaskQueueMetrics } from './features/operations/taskQueueMetrics';
import { modelsRouter } from './features/models/router';
import { ModelService } from './features/models/service';
import { EgressPolicy } from '../domain/models/egress';
import { systemResolver, type Resolver } from '../common/resolver';
import { principalsRouter } from './features/principals/router';
import { retentionRouter } from './features/retention/router';
import { RetentionService } from './features/retention/service';
import { runsRouter } from './features/runs/router';
import { RunService } from './features/runs/service';
import { PrincipalService } from './features/principals/service';
import { suitesRouter } from './features/suites/router';
import { SuiteService } from './features/suites/service';

export interface AppDeps {
  config: Config;
  pool: Pool;
  storage: Storage;
  temporal: Client;
  logger: Logger;
  /** Name resolution for the egress policy; tests inject one (DNS rebinding). Default: the system's. */
  resolver?: Resolver;
}

export interface App {
  app: Express;
  services: {
    principals: PrincipalService;
    datasets: DatasetService;
    models: ModelService;
    suites: SuiteService;
    runs: RunService;
    gates: GateService;
    checks: CheckService;
    incidents: IncidentService;
    lineage: LineageService;
    experiments: ExperimentService;
  };
}

/** Builds the HTTP API. It writes registry records and starts, signals and queries workflows; it never runs evals. */
export function createApp(deps: AppDeps): App {
  const registry = createMetricsRegistry();
  registerCostMetrics(registry, deps.pool);
  registerLineageMetrics(registry, deps.pool);
  registerOperationsMetrics(registry, deps.pool, {
    teamDailyCallQuota: Number(deps.config.EVALGATE_TEAM_DAILY_CALL_QUOTA),
  });
  registerExperimentMetrics(registry, deps.pool);
  registerTaskQueueMetrics(registry, deps.temporal, deps.config);
  const gates = gateMetrics(registry, deps.pool);
  const checks = new CheckService(deps.pool, deps.temporal, deps.config);
  const promotions = new PromotionService(deps.pool, deps.temporal, deps.config);
  const services = {
    principals: new PrincipalService(deps.pool, {
      maxEntries: Number(deps.config.EVALGATE_KEY_CACHE_MAX),
      ttlMs: Number(deps.config.EVALGATE_KEY_CACHE_TTL_MS),
    }),
    datasets: new DatasetService(deps.pool, deps.storage, deps.config, deps.temporal),
    models: new ModelService(deps.pool, EgressPolicy.fromConfig(deps.config, deps.resolver ?? systemResolver)),
    suites: new SuiteService(deps.pool),
    runs: new RunService(deps.pool, deps.temporal, deps.config),
    gates: new GateService(deps.pool),
    checks,
    incidents: new IncidentService(deps.pool, deps.temporal, deps.config),
    lineage: new LineageService(deps.pool),
    experiments: new ExperimentService(deps.pool, deps.temporal, deps.config),
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestContext(deps.logger));
  app.use(httpMetrics(registry));
  const health = healthRouter({
    pool: deps.pool,
    storage: deps.storage,
    registry,
    scrape: metricsScrape({ registry, config: deps.config, principals: services.principals }),
    temporalHealth: async () => void (await deps.temporal.workflowService.getSystemInfo({})),
  });
  app.use(health);
  // The console's shell and the OpenAPI document need no key; the console's data does.
  app.use(consoleRouter(app, deps.config.EVALGATE_PLATFORM_VERSION, [health]));
  // Who is calling is settled before a byte of the body is read: an anonymous caller costs no parsing.
  app.use(authenticate(services.principals));
  app.use(rateLimit(deps.pool, Number(deps.config.EVALGATE_RATE_LIMIT_PER_MINUTE)));
  app.use(jsonBody('1mb'));
  app.use(principalsRouter(services.principals));
  app.use(datasetsRouter(services.datasets));
  app.use(modelsRouter(services.models));
  app.use(suitesRouter(services.suites));
  app.use(runsRouter(services.runs));
  app.use(judgeRouter(new JudgeTranscriptService(deps.pool, deps.storage)));
  app.use(comparisonRouter(new ComparisonService(deps.pool, deps.storage)));
  app.use(
    gatesRouter(
      services.gates,
      services.checks,
      new OverrideService(deps.pool, deps.temporal, deps.config, services.checks, gates.overrideEvent),
      async (gateId) =>
        (await services.experiments.ofGate(gateId)).map((e) => ({
          experimentId: e.experiment_id,
          name: e.name,
          status: e.status,
          gateCheckId: e.gate_check_id,
          candidate: e.candidate,
        })),
      promotions,
    ),
  );
  app.use(incidentsRouter(services.incidents));
  app.use(lineageRouter(services.lineage));
  app.use(retentionRouter(new RetentionService(deps.pool, services.datasets)));
  app.use(experimentsRouter(services.experiments, promotions));
  app.use(unknownRoute);
  app.use(errorHandler);
  return { app, services };
}
