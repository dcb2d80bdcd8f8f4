/**
 * Saturation and user-harm series on the API's registry, read from PostgreSQL at scrape time
 * (docs/runbook.md says what to do when an alert in infra/prometheus/alerts.yml fires):
 *   evalgate_runs_finished_last_hour{mode,status,error_class}   outcomes, for failure rates by class
 *   evalgate_runs_in_flight{mode,status}                        queued and running runs
 *   evalgate_run_queue_seconds{mode,stat}                       created → started, last hour (p50, p95, max)
 *   evalgate_gate_check_pending_oldest_seconds                  the longest a release check has waited
 *   evalgate_run_budget_used_ratio{run_id,metric_suite_id}      budgeted runs in flight: share reserved
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
    help: 'Budgeted runs in flight: the share of the budget reserved so far (calls or cost, the larger)',
    labelNames: ['run_id', 'metric_suite_id'],
    registers: [registry],
    async collect() {
      const rows = await budgetsInFlight(pool);
      this.reset();
      for (const r of rows) this.set({ run_id: r.runId, metric_suite_id: r.metricSuiteId }, r.usedRatio);
    },
  });
}
