/**
 * Saturation and user-harm series on the API's registry, read from PostgreSQL at scrape time
 * (docs/runbook.md says what to do when an alert in infra/prometheus/alerts.yml fires):
 *   evalgate_runs_finished_last_hour{mode,status,error_class}   outcomes, for failure rates by class
 *   evalgate_runs_in_flight{mode,status}                        queued and running runs
 *   evalgate_run_queue_seconds{mode,stat}                       created → started, last hour (p50, p95, max)
 *   evalgate_run_cost_usd{mode,stat}                            spend per run finished in the last hour (p50, p95, max, total)
 *   evalgate_metric_compute_seconds{mode,stat}                  time to compute a run's metrics, last hour (p50, p95, max)
 *   evalgate_gate_check_pending_oldest_seconds                  the longest a release check has waited
 *   evalgate_run_budget_used_ratio{metric_suite_id}             budgeted runs in flight: the largest share reserved
 *   evalgate_run_budget_remaining{metric_suite_id,unit}         budgeted runs in flight: the least left (calls, usd)
 *   evalgate_team_daily_call_quota                              calls a team may make per UTC day (0: no quota)
 *   evalgate_team_daily_calls_remaining{team}                   what is left of it today, per team that used some
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
  runStatsLastHour,
} from '../../../domain/operations/dal';
import { teamCallsReservedToday } from '../../../domain/quotas/dal';
import { sharedPerScrape } from '../../http/metrics';

const MODES = ['exploratory', 'release'] as const;

export function registerOperationsMetrics(
  registry: Registry,
  pool: Pool,
  limits: { teamDailyCallQuota: number },
): void {
  // One query each per scrape, shared by the gauges that read it.
  const runStats = sharedPerScrape(() => runStatsLastHour(pool));
  const budgets = sharedPerScrape(() => budgetsInFlight(pool));
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
    name: 'evalgate_run_cost_usd',
    help: 'Model and judge spend of one eval run, over the runs that finished in the last hour (USD; total: their sum)',
    labelNames: ['mode', 'stat'],
    registers: [registry],
    async collect() {
      const rows = await runStats();
      this.reset();
      for (const r of rows) for (const [stat, v] of Object.entries(r.cost)) this.set({ mode: r.mode, stat }, v);
    },
  });
  new Gauge({
    name: 'evalgate_metric_compute_seconds',
    help: "Time to compute a run's metrics (merge its shards' states, finalise), runs that succeeded in the last hour",
    labelNames: ['mode', 'stat'],
    registers: [registry],
    async collect() {
      const rows = await runStats();
      this.reset();
      for (const r of rows)
        for (const [stat, v] of Object.entries(r.metrics ?? {})) this.set({ mode: r.mode, stat }, v);
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
      const bySuite = new Map<string, number>();
      for (const r of await budgets())
        bySuite.set(r.metricSuiteId, Math.max(bySuite.get(r.metricSuiteId) ?? 0, r.usedRatio));
      this.reset();
      for (const [suite, ratio] of bySuite) this.set({ metric_suite_id: suite }, ratio);
    },
  });
  new Gauge({
    name: 'evalgate_run_budget_remaining',
    help: "Budgeted runs in flight: the least any run of the suite has left of its budget's calls or USD",
    labelNames: ['metric_suite_id', 'unit'],
    registers: [registry],
    async collect() {
      const least = new Map<string, { suite: string; unit: string; left: number }>();
      for (const r of await budgets())
        for (const [unit, left] of [
          ['calls', r.callsLeft],
          ['usd', r.usdLeft],
        ] as const) {
          if (left === null) continue;
          const key = `${r.metricSuiteId} ${unit}`;
          if (left < (least.get(key)?.left ?? Infinity)) least.set(key, { suite: r.metricSuiteId, unit, left });
        }
      this.reset();
      for (const { suite, unit, left } of least.values()) this.set({ metric_suite_id: suite, unit }, left);
    },
  });
  new Gauge({
    name: 'evalgate_team_daily_call_quota',
    help: 'Model and judge calls a team may make per UTC day (EVALGATE_TEAM_DAILY_CALL_QUOTA; 0: no quota)',
    registers: [registry],
    collect() {
      this.set(limits.teamDailyCallQuota);
    },
  });
  new Gauge({
    name: 'evalgate_team_daily_calls_remaining',
    help: "What is left of a team's daily call quota today (UTC), for the teams that made calls today",
    labelNames: ['team'],
    registers: [registry],
    async collect() {
      this.reset();
      if (limits.teamDailyCallQuota <= 0) return;
      for (const { team, calls } of await teamCallsReservedToday(pool))
        this.set({ team }, Math.max(0, limits.teamDailyCallQuota - calls));
    },
  });
}
