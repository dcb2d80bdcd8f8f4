/**
 * Saturation and user-harm series on the API's registry, read from PostgreSQL at scrape time
 * (docs/runbook.md says what to do when an alert in infra/prometheus/alerts.yml fires):
 *   evalgate_runs_finished_last_hour{mode,status,error_class}   outcomes, for failure rates by class
 *   evalgate_runs_in_flight{mode,status}                        queued and running runs
 *   evalgate_run_queue_seconds{mode,stat}                       created → started, last hour (p50, p95, max)
 *   evalgate_gate_check_pending_oldest_seconds                  the longest a release check has waited
 *   evalgate_run_budget_used_ratio{metric_suite_id}             budgeted runs in flight: the largest share reserved
 * No series is labelled with a run id (a restricted run's existence stays hidden; docs/security.md).
 */
import type { Pool } from 'pg';
import { Gauge, type Registry } from 'prom-client';
import {
  budgetsInFlight,
  oldestPendingCheckSeconds,
  queueSecondsLastHour,
  runsFinishedLastHour,
  runsInFlight,
} from '../../../domain/operations/dal';

const MODES = ['exploratory', 'release'] as const;

export function registerOperationsMetrics(registry: Registry, pool: Pool): void {
  new Gauge({
    name: 'evalgate_runs_finished_last_hour',
    help: 'Eval runs that finished in the last hour, by mode, status and error class',
    labelNames: ['mode', 'status', 'error_class'],
    registers: [registry],
    async collect() {
      const rows = await runsFinishedLastHour(pool);
      this.reset();
      for (const mode of MODES) this.set({ mode, status: 'succeeded', error_class: '' }, 0);
      for (const r of rows) this.set({ mode: r.mode, status: r.status, error_class: r.errorClass }, r.n);
    },
  });
  new Gauge({
    name: 'evalgate_runs_in_flight',
    help: 'Eval runs queued or running now',
    labelNames: ['mode', 'status'],
    registers: [registry],
    async collect() {
      const rows = await runsInFlight(pool);
      this.reset();
      for (const mode of MODES)
        for (const status of ['queued', 'running'])
          this.set({ mode, status }, rows.find((r) => r.mode === mode && r.status === status)?.n ?? 0);
    },
  });
  new Gauge({
    name: 'evalgate_run_queue_seconds',
    help: 'Queue time of eval runs (created to started) that started in the last hour or still wait',
    labelNames: ['mode', 'stat'],
    registers: [registry],
    async collect() {
      const rows = await queueSecondsLastHour(pool);
      this.reset();
      for (const r of rows) {
        this.set({ mode: r.mode, stat: 'p50' }, r.p50);
        this.set({ mode: r.mode, stat: 'p95' }, r.p95);
        this.set({ mode: r.mode, stat: 'max' }, r.max);
      }
    },
  });
  new Gauge({
    name: 'evalgate_gate_check_pending_oldest_seconds',
    help: 'How long the oldest undecided gate check has waited (0 when none waits)',
    registers: [registry],
    async collect() {
      this.set(await oldestPendingCheckSeconds(pool));
    },
  });
  new Gauge({
    name: 'evalgate_run_budget_used_ratio',
    help: "Budgeted runs in flight: the largest share of a run's budget reserved so far (calls or cost), per suite",
    labelNames: ['metric_suite_id'],
    registers: [registry],
    async collect() {
      const rows = await budgetsInFlight(pool);
      const bySuite = new Map<string, number>();
      for (const r of rows) bySuite.set(r.metricSuiteId, Math.max(bySuite.get(r.metricSuiteId) ?? 0, r.usedRatio));
      this.reset();
      for (const [suite, ratio] of bySuite) this.set({ metric_suite_id: suite }, ratio);
    },
  });
}
