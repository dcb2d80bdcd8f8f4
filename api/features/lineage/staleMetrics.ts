/**
 * Stale baselines as Prometheus series, computed from the records at scrape time:
 *   evalgate_gates_stale_baseline            how many gates currently have a stale baseline
 *   evalgate_incidents_open{kind}            incidents still being worked
 *   evalgate_metric_freezes_active           metrics frozen right now
 * A gate's baseline is stale when a baseline run its latest check used is invalid, on a
 * deprecated or superseded dataset version, or holds results from a retracted metric
 * implementation (domain/lineage/staleness.ts).
 */
import type { Pool } from 'pg';
import { Gauge, type Registry } from 'prom-client';
import { activeFreezeCount, openIncidentCounts } from '../../../domain/lineage/dal';
import { gatesWithStaleBaselines } from '../../../domain/lineage/staleness';

export function registerLineageMetrics(registry: Registry, pool: Pool): void {
  new Gauge({
    name: 'evalgate_gates_stale_baseline',
    help: 'Gates whose latest check compared against a baseline that is now stale',
    registers: [registry],
    async collect() {
      this.set((await gatesWithStaleBaselines(pool)).length);
    },
  });
  new Gauge({
    name: 'evalgate_incidents_open',
    help: 'Incidents whose workflow has not finished (failed ones included: they keep their freeze)',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      const rows = await openIncidentCounts(pool);
      this.reset();
      for (const kind of ['metric_bug', 'dataset_contamination', 'judge'])
        this.set({ kind }, rows.find((r) => r.kind === kind)?.n ?? 0);
    },
  });
  new Gauge({
    name: 'evalgate_metric_freezes_active',
    help: 'Metrics frozen by an incident right now (gates with a rule on them answer frozen)',
    registers: [registry],
    async collect() {
      this.set(await activeFreezeCount(pool));
    },
  });
}
