/**
 * The impact report of an incident, built from what the incident recorded (incident_runs,
 * incident_decisions, gate_decisions, metric_freezes) rather than from what one workflow
 * execution remembers, so a rerun or reset produces the same report.
 */
import type { Queryable } from '../../common/db';
import { aliasMovesForChecks } from '../lineage/dal';
import { listIncidentDecisions } from './dal/decisions';
import { listFreezes, type IncidentRow } from './dal/incidents';
import { listIncidentRuns } from './dal/runs';
import type { ResultChange } from './dal/results';

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
  incident: IncidentRow,
  extra: Partial<IncidentReport> = {},
): Promise<IncidentReport> {
  const incidentId = incident.incident_id;
  const runs = await listIncidentRuns(q, incidentId);
  const count = (state: string) => runs.filter((r) => r.state === state).length;
  const changes = runs
    .flatMap((r) => (r.changes ?? []).map((c) => ({ runId: r.run_id, ...c })))
    .filter((c) => c.oldValue !== c.newValue);

  const decisions = await listIncidentDecisions(q, incidentId);
  const outcome = (o: string) => decisions.filter((d) => d.outcome === o);
  const revoked = outcome('revoked');
  const moves = await aliasMovesForChecks(
    q,
    revoked.map((d) => d.check_id),
  );
  const frozen = await listFreezes(q, incidentId);

  return {
    incidentId,
    kind: incident.kind,
    runs: {
      affected: runs.length,
      recomputed: count('recomputed'),
      unchanged: count('unchanged'),
      invalidated: count('invalidated'),
      unrecoverable: runs
        .filter((r) => r.state === 'unrecoverable')
        .map((r) => ({ runId: r.run_id, detail: r.detail })),
      inFlight: (incident.progress?.runsInFlight as string[] | undefined) ?? [],
    },
    valuesChanged: { count: changes.length, listed: changes.slice(0, MAX_LISTED) },
    decisions: {
      reevaluated: decisions.length,
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
    frozen: frozen.map((f) => ({
      metric: f.metric,
      frozenAt: f.frozen_at.toISOString(),
      unfrozenAt: f.unfrozen_at?.toISOString() ?? null,
    })),
    ...extra,
  };
}
