import type { Pool } from 'pg';
import { Counter, Gauge, type Registry } from 'prom-client';
import { countChecksByStatus } from '../../../domain/gates/dal';
import { countOverridesByStatus } from '../../../domain/overrides/dal';
import type { OverrideEvent } from './overrides';

/**
 * Gate series on the API's registry: override events this process handled (counter), and
 * overrides and checks by status across the platform (gauges read from PostgreSQL at
 * scrape time, so every API replica reports the same truth, expiries by workers included).
 */
export function gateMetrics(registry: Registry, pool: Pool): { overrideEvent: (event: OverrideEvent) => void } {
  const events = new Counter({
    name: 'evalgate_override_events_total',
    help: 'Override requests, approvals and refused approvals handled by this API process',
    labelNames: ['event'],
    registers: [registry],
  });
  const byStatus = (name: string, help: string, count: (q: Pool) => Promise<{ status: string; n: number }[]>) =>
    new Gauge({
      name,
      help,
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const rows = await count(pool);
        this.reset();
        for (const r of rows) this.set({ status: r.status }, r.n);
      },
    });
  byStatus(
    'evalgate_overrides',
    'Overrides by status (requested, granted, expired, refused, revoked)',
    countOverridesByStatus,
  );
  byStatus('evalgate_gate_checks', 'Gate checks by status', countChecksByStatus);
  return { overrideEvent: (event) => events.inc({ event }) };
}
