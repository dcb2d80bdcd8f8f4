/**
 * Stale baselines. A baseline run is stale when what it measured no longer stands:
 *   - the run is invalid (its dataset version was deprecated, its judge replaced, ...);
 *   - its dataset version is deprecated, or a newer active version of the dataset exists;
 *   - a current result of it was computed with an implementation version an incident retracted
 *     afterwards, and the incident could not recompute it (its stored records were gone).
 *     (A result computed with a version *after* its retraction is not "stale" but made with
 *     known-bad code: see the runbook, "suites that still pin a retracted version".)
 * Comparisons and gate checks ask `baselineStaleness` for their baseline runs and name the
 * reasons; `gatesWithStaleBaselines` answers the same for every gate's latest check (the
 * Prometheus gauge and incident reports).
 */
import type { Queryable } from '../../common/db';
import { baselineRunFacts, latestCheckBaselineRuns } from './dal';

export interface StaleBaselineRun {
  runId: string;
  reasons: string[];
}

/** Why each of the given baseline runs is stale (runs that are not stale are left out). */
export async function baselineStaleness(q: Queryable, runIds: string[]): Promise<StaleBaselineRun[]> {
  if (!runIds.length) return [];
  const rows = await baselineRunFacts(q, runIds);
  return rows
    .map((r) => {
      const reasons: string[] = [];
      if (r.status === 'invalid')
        reasons.push(`baseline run ${r.run_id} is invalid: ${r.invalid_reason ?? 'no reason recorded'}`);
      if (r.dataset_status === 'deprecated') {
        reasons.push(
          `baseline run ${r.run_id} was evaluated on ${r.dataset_name} v${r.version}, ` +
            `which is deprecated (${r.deprecated_reason ?? 'no reason recorded'})`,
        );
      } else if (r.newest_active !== null && r.newest_active > r.version) {
        reasons.push(
          `baseline run ${r.run_id} was evaluated on ${r.dataset_name} v${r.version}; v${r.newest_active} is the current version`,
        );
      }
      for (const x of r.retracted) {
        // The first incident that retracted the version names it; later ones only repeat it.
        reasons.push(
          `baseline run ${r.run_id}'s ${x.metricName} was computed with ${x.metric}@${x.implVersion}, ` +
            `retracted by incident ${x.incidentId} (fixed in ${x.fixed})`,
        );
      }
      return { runId: r.run_id, reasons };
    })
    .filter((r) => r.reasons.length > 0);
}

export interface GateWithStaleBaseline {
  gateId: string;
  gateName: string;
  checkId: string;
  baselineModelVersion: string;
  runs: StaleBaselineRun[];
}

/**
 * Gates whose latest check's baseline runs (the runs of its baseline model version that its
 * latest decision used) are stale now. Optionally only gates whose baselines include one of `runIds`.
 */
export async function gatesWithStaleBaselines(q: Queryable, runIds?: string[]): Promise<GateWithStaleBaseline[]> {
  const rows = await latestCheckBaselineRuns(q, runIds);
  const stale = await baselineStaleness(q, [...new Set(rows.flatMap((r) => r.run_ids))]);
  const byRun = new Map(stale.map((s) => [s.runId, s]));
  return rows
    .map((r) => ({
      gateId: r.gate_id,
      gateName: r.gate_name,
      checkId: r.check_id,
      baselineModelVersion: r.baseline,
      runs: r.run_ids.flatMap((id) => byRun.get(id) ?? []),
    }))
    .filter((g) => g.runs.length > 0);
}
