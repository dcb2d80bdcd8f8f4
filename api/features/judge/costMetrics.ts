/**
 * Cost per run and per suite as Prometheus series, read from PostgreSQL at scrape time
 * (the run record is the source of truth; nothing to keep in sync):
 *   evalgate_suite_cost_usd{metric_suite_id, suite, kind="model"|"judge"}   all runs of the suite
 *   evalgate_suite_calls{metric_suite_id, suite, kind}
 *   evalgate_run_cost_usd{run_id, metric_suite_id, kind}   the most recent runs (last 24 h, at most 500)
 * Per-run series are bounded so the label set stays small when a burst of CI gates (or a
 * benchmark) creates thousands of runs; older runs' costs stay on their run records and
 * in the suite totals. The suite totals scan eval_runs (~0.1 s at 70k runs); past that a
 * rollup maintained by the lifecycle activities would replace the scan.
 */
import type { Pool } from 'pg';
import { Gauge, type Registry } from 'prom-client';
import { recentRunCosts, suiteCosts, type RunCostRow, type SuiteCostRow } from '../../../domain/judge/dal';

const RUN_WINDOW = '24 hours';
const MAX_RUN_SERIES = 500;

interface Snapshot {
  suites: SuiteCostRow[];
  runs: RunCostRow[];
}

export function registerCostMetrics(registry: Registry, pool: Pool): void {
  // One pair of queries per scrape, shared by the three gauges.
  let pending: { at: number; snapshot: Promise<Snapshot> } | undefined;
  const snapshot = (): Promise<Snapshot> => {
    if (!pending || Date.now() - pending.at > 1000) pending = { at: Date.now(), snapshot: load(pool) };
    return pending.snapshot;
  };

  new Gauge({
    name: 'evalgate_suite_cost_usd',
    help: 'Model and judge spend of all eval runs of a metric suite, in USD',
    labelNames: ['metric_suite_id', 'suite', 'kind'],
    registers: [registry],
    async collect() {
      const { suites } = await snapshot();
      this.reset();
      for (const s of suites) {
        this.set({ metric_suite_id: s.metric_suite_id, suite: s.name, kind: 'model' }, Number(s.model_usd));
        this.set({ metric_suite_id: s.metric_suite_id, suite: s.name, kind: 'judge' }, Number(s.judge_usd));
      }
    },
  });
  new Gauge({
    name: 'evalgate_suite_calls',
    help: 'Model and judge calls of all eval runs of a metric suite',
    labelNames: ['metric_suite_id', 'suite', 'kind'],
    registers: [registry],
    async collect() {
      const { suites } = await snapshot();
      this.reset();
      for (const s of suites) {
        this.set({ metric_suite_id: s.metric_suite_id, suite: s.name, kind: 'model' }, Number(s.model_calls));
        this.set({ metric_suite_id: s.metric_suite_id, suite: s.name, kind: 'judge' }, Number(s.judge_calls));
      }
    },
  });
  new Gauge({
    name: 'evalgate_run_cost_usd',
    help: `Model and judge spend of the ${MAX_RUN_SERIES} most recent eval runs of the last ${RUN_WINDOW}, in USD`,
    labelNames: ['run_id', 'metric_suite_id', 'kind'],
    registers: [registry],
    async collect() {
      const { runs } = await snapshot();
      this.reset();
      for (const r of runs) {
        this.set({ run_id: r.run_id, metric_suite_id: r.metric_suite_id, kind: 'model' }, Number(r.model_usd));
        this.set({ run_id: r.run_id, metric_suite_id: r.metric_suite_id, kind: 'judge' }, Number(r.judge_usd));
      }
    },
  });
}

async function load(pool: Pool): Promise<Snapshot> {
  const [suites, runs] = await Promise.all([suiteCosts(pool), recentRunCosts(pool, RUN_WINDOW, MAX_RUN_SERIES)]);
  return { suites, runs };
}
