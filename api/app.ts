import express, { type Express } from 'express';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import type { Storage } from '../common/storage';
import { authenticate } from './http/auth';
import { requestContext } from './http/context';
import { errorHandler, unknownRoute } from './http/errors';
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
import { modelsRouter } from './features/models/router';
import { ModelService } from './features/models/service';
import { EgressPolicy } from '../domain/models/egress';
import { systemResolver, type Resolver } from '../common/resolver';
import { principalsRouter } from './features/principals/router';
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
  };
}

/** Builds the HTTP API. It writes registry records and starts, signals and queries workflows; it never runs evals. */
export function createApp(deps: AppDeps): App {
  const registry = createMetricsRegistry();
  registerCostMetrics(registry, deps.pool);
  registerLineageMetrics(registry, deps.pool);
  registerOperationsMetrics(registry, deps.pool);
  const gates = gateMetrics(registry, deps.pool);
  const checks = new CheckService(deps.pool, deps.temporal, deps.config);
  const services = {
    principals: new PrincipalService(deps.pool),
    datasets: new DatasetService(deps.pool, deps.storage, deps.config, deps.temporal),
    models: new ModelService(deps.pool, EgressPolicy.fromConfig(deps.config, deps.resolver ?? systemResolver)),
    suites: new SuiteService(deps.pool),
    runs: new RunService(deps.pool, deps.temporal, deps.config),
    gates: new GateService(deps.pool),
    checks,
    incidents: new IncidentService(deps.pool, deps.temporal, deps.config),
    lineage: new LineageService(deps.pool),
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
    temporalHealth: async () => void (await deps.temporal.workflowService.getSystemInfo({})),
  });
  app.use(health);
  // The console's shell and the OpenAPI document need no key; the console's data does.
  app.use(consoleRouter(app, deps.config.EVALGATE_PLATFORM_VERSION, [health]));
  app.use(express.json({ limit: '1mb' }));
  app.use(authenticate(services.principals));
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
    ),
  );
  app.use(incidentsRouter(services.incidents));
  app.use(lineageRouter(services.lineage));
  app.use(unknownRoute);
  app.use(errorHandler);
  return { app, services };
}
