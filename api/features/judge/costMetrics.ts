/**
 * Cost per suite as Prometheus series, read from PostgreSQL at scrape time (the run record is
 * the source of truth; nothing to keep in sync):
 *   evalgate_suite_cost_usd{metric_suite_id, kind="model"|"judge"}   all runs of the suite
 *   evalgate_suite_calls{metric_suite_id, kind}
 * Labels carry opaque suite ids only: no suite names, no run ids (a restricted run's existence
 * stays hidden; docs/security.md, "Access model"). A run's own cost is on its record
 * (GET /v1/eval-runs/{runId}, access-checked). The suite totals scan eval_runs (~0.1 s at 70k
 * runs); past that a rollup maintained by the lifecycle activities would replace the scan.
 */
import type { Pool } from 'pg';
import { Gauge, type Registry } from 'prom-client';
import { suiteCosts } from '../../../domain/judge/dal';
import { sharedPerScrape } from '../../http/metrics';

export function registerCostMetrics(registry: Registry, pool: Pool): void {
  // One query per scrape, shared by the two gauges.
  const snapshot = sharedPerScrape(async () => ({ suites: await suiteCosts(pool) }));

  new Gauge({
    name: 'evalgate_suite_cost_usd',
    help: 'Model and judge spend of all eval runs of a metric suite, in USD',
    labelNames: ['metric_suite_id', 'kind'],
    registers: [registry],
    async collect() {
      const { suites } = await snapshot();
      this.reset();
      for (const s of suites) {
        this.set({ metric_suite_id: s.metric_suite_id, kind: 'model' }, Number(s.model_usd));
        this.set({ metric_suite_id: s.metric_suite_id, kind: 'judge' }, Number(s.judge_usd));
      }
    },
  });
  new Gauge({
    name: 'evalgate_suite_calls',
    help: 'Model and judge calls of all eval runs of a metric suite',
    labelNames: ['metric_suite_id', 'kind'],
    registers: [registry],
    async collect() {
      const { suites } = await snapshot();
      this.reset();
      for (const s of suites) {
        this.set({ metric_suite_id: s.metric_suite_id, kind: 'model' }, Number(s.model_calls));
        this.set({ metric_suite_id: s.metric_suite_id, kind: 'judge' }, Number(s.judge_calls));
      }
    },
  });
}
