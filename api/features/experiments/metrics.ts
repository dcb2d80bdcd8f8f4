/**
 * Online experiment series on the API's registry, read from PostgreSQL at scrape time (the
 * workers decide; the database is where every process sees the same answer):
 *   evalgate_experiments{status}                        experiments by status now
 *   evalgate_experiment_rollbacks_last_hour{reason}     rollbacks in the last hour, by reason
 *                                                       (guardrail_harm, sample_ratio_mismatch, gate_revoked, manual)
 * infra/prometheus/alerts.yml pages a ticket on any rollback (docs/runbook.md#experiment-rolled-back).
 */
import type { Pool } from 'pg';
import { Gauge, type Registry } from 'prom-client';
import { countByStatus, rollbacksLastHour } from '../../../domain/experiments/dal';

const STATUSES = ['running', 'paused', 'promoted', 'rolled_back', 'aborted'];
const REASONS = ['guardrail_harm', 'sample_ratio_mismatch', 'gate_revoked', 'manual'];

export function registerExperimentMetrics(registry: Registry, pool: Pool): void {
  new Gauge({
    name: 'evalgate_experiments',
    help: 'Online experiments by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const rows = await countByStatus(pool);
      this.reset();
      for (const status of STATUSES) this.set({ status }, rows.find((r) => r.status === status)?.n ?? 0);
    },
  });
  new Gauge({
    name: 'evalgate_experiment_rollbacks_last_hour',
    help: 'Online experiments rolled back in the last hour, by reason',
    labelNames: ['reason'],
    registers: [registry],
    async collect() {
      const rows = await rollbacksLastHour(pool);
      this.reset();
      for (const reason of REASONS) this.set({ reason }, 0);
      for (const r of rows) this.set({ reason: r.reason }, r.n);
    },
  });
}
