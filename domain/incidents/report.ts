/**
 * The impact report of an incident, built from what the incident recorded (incident_runs,
 * incident_decisions, gate_decisions, metric_freezes) rather than from what one workflow
 * execution remembers, so a rerun or reset produces the same report.
 */
import type { Queryable } from '../../common/db';
import { aliasMovesForChecks } from '../lineage/dal';
import type { IncidentRecord } from './incidents';
import type { ResultChange } from './results';

/** How many changed values the report lists one by one; the counts are always complete. */
const MAX_LISTED = 1000;

export interface IncidentReport {
  incidentId: string;
  kind: string;
  runs: {
    affected: number;
    recomputed: number;
    unchanged: number;
    invalidated: number;
    unrecoverable: { runId: string; detail: string | null }[];
    inFlight: string[];
  };
  valuesChanged: { count: number; listed: (ResultChange & { runId: string })[] };
  decisions: {
    reevaluated: number;
    revoked: { checkId: string; gateId: string; gateName: string; decisionId: string; reasons: unknown }[];
    nowPassing: { checkId: string; gateId: string; gateName: string; detail: unknown }[];
    stillPassing: number;
    stillFailing: number;
    notReevaluated: number;
  };
  aliasMovesOnRevokedDecisions: {
    checkId: string;
    model: string;
    alias: string;
    modelVersion: string;
    changedAt: string;
  }[];
  frozen: { metric: string; frozenAt: string; unfrozenAt: string | null }[];
  staleBaselines?: unknown[];
  /** Judge incidents: what re-judging cost. */
  rejudging?: { judgeCalls: number; judgeCostUsd: number };
}

export async function buildReport(
  q: Queryable,
  incident: IncidentRecord,
  extra: Partial<IncidentReport> = {},
): Promise<IncidentReport> {
  const incidentId = incident.incident_id;
  const runs = await q.query<{ run_id: string; state: string; detail: string | null; changes: ResultChange[] }>(
    'SELECT run_id, state, detail, changes FROM incident_runs WHERE incident_id = $1 ORDER BY run_id',
    [incidentId],
  );
  const count = (state: string) => runs.rows.filter((r) => r.state === state).length;
  const changes = runs.rows
    .flatMap((r) => (r.changes ?? []).map((c) => ({ runId: r.run_id, ...c })))
    .filter((c) => c.oldValue !== c.newValue);

  const decisions = await q.query<{
    check_id: string;
    outcome: string;
    new_decision_id: string | null;
    detail: any;
    gate_id: string;
    gate_name: string;
    reasons: unknown;
  }>(
    `SELECT i.check_id, i.outcome, i.new_decision_id, i.detail, g.gate_id, g.name AS gate_name, d.reasons
       FROM incident_decisions i
       JOIN gate_checks c USING (check_id) JOIN gate_versions gv USING (gate_version_id) JOIN gates g ON g.gate_id = gv.gate_id
       LEFT JOIN gate_decisions d ON d.decision_id = i.new_decision_id
      WHERE i.incident_id = $1 ORDER BY i.check_id`,
    [incidentId],
  );
  const outcome = (o: string) => decisions.rows.filter((d) => d.outcome === o);
  const revoked = outcome('revoked');
  const moves = await aliasMovesForChecks(
    q,
    revoked.map((d) => d.check_id),
  );
  const frozen = await q.query<{ metric: string; frozen_at: Date; unfrozen_at: Date | null }>(
    'SELECT metric, frozen_at, unfrozen_at FROM metric_freezes WHERE incident_id = $1 ORDER BY metric',
    [incidentId],
  );

  return {
    incidentId,
    kind: incident.kind,
    runs: {
      affected: runs.rows.length,
      recomputed: count('recomputed'),
      unchanged: count('unchanged'),
      invalidated: count('invalidated'),
      unrecoverable: runs.rows
        .filter((r) => r.state === 'unrecoverable')
        .map((r) => ({ runId: r.run_id, detail: r.detail })),
      inFlight: (incident.progress?.runsInFlight as string[] | undefined) ?? [],
    },
    valuesChanged: { count: changes.length, listed: changes.slice(0, MAX_LISTED) },
    decisions: {
      reevaluated: decisions.rows.length,
      revoked: revoked.map((d) => ({
        checkId: d.check_id,
        gateId: d.gate_id,
        gateName: d.gate_name,
        decisionId: String(d.new_decision_id),
        reasons: d.reasons,
      })),
      nowPassing: outcome('now_passing').map((d) => ({
        checkId: d.check_id,
        gateId: d.gate_id,
        gateName: d.gate_name,
        detail: d.detail,
      })),
      stillPassing: outcome('still_passing').length,
      stillFailing: outcome('still_failing').length,
      notReevaluated: outcome('not_reevaluated').length,
    },
    aliasMovesOnRevokedDecisions: moves.map((m) => ({
      checkId: m.check_id,
      model: m.model,
      alias: m.alias,
      modelVersion: m.model_version,
      changedAt: m.changed_at.toISOString(),
    })),
    frozen: frozen.rows.map((f) => ({
      metric: f.metric,
      frozenAt: f.frozen_at.toISOString(),
      unfrozenAt: f.unfrozen_at?.toISOString() ?? null,
    })),
    ...extra,
  };
}
