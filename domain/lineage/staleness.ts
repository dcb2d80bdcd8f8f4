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

export interface StaleBaselineRun {
  runId: string;
  reasons: string[];
}

/** Why each of the given baseline runs is stale (runs that are not stale are left out). */
export async function baselineStaleness(q: Queryable, runIds: string[]): Promise<StaleBaselineRun[]> {
  if (!runIds.length) return [];
  const { rows } = await q.query<{
    run_id: string;
    status: string;
    invalid_reason: string | null;
    dataset_name: string;
    version: number;
    dataset_status: string;
    deprecated_reason: string | null;
    newest_active: number | null;
    retracted: { metricName: string; metric: string; implVersion: string; incidentId: string; fixed: string }[];
  }>(
    `SELECT r.run_id, r.status, r.invalid_reason, d.name AS dataset_name, dv.version, dv.status AS dataset_status, dv.deprecated_reason,
            (SELECT max(v.version) FROM dataset_versions v WHERE v.dataset_id = dv.dataset_id AND v.status = 'active') AS newest_active,
            COALESCE((SELECT jsonb_agg(jsonb_build_object('metricName', mr.metric_name, 'metric', mr.metric_id, 'implVersion', mr.impl_version,
                                                          'incidentId', x.incident_id, 'fixed', x.fixed_impl_version) ORDER BY mr.metric_name)
                        FROM metric_results mr
                        JOIN LATERAL (SELECT incident_id, fixed_impl_version FROM metric_impl_retractions
                                       WHERE metric = mr.metric_id AND impl_version = mr.impl_version AND retracted_at > mr.created_at
                                       ORDER BY retracted_at LIMIT 1) x ON true
                       WHERE mr.run_id = r.run_id AND mr.superseded_at IS NULL), '[]'::jsonb) AS retracted
       FROM eval_runs r JOIN dataset_versions dv ON dv.dataset_version_id = r.dataset_version_id JOIN datasets d ON d.dataset_id = dv.dataset_id
      WHERE r.run_id = ANY($1::uuid[]) ORDER BY r.run_id`,
    [runIds],
  );
  return rows
    .map((r) => {
      const reasons: string[] = [];
      if (r.status === 'invalid')
        reasons.push(`baseline run ${r.run_id} is invalid: ${r.invalid_reason ?? 'no reason recorded'}`);
      if (r.dataset_status === 'deprecated') {
        reasons.push(
          `baseline run ${r.run_id} was evaluated on ${r.dataset_name} v${r.version}, which is deprecated (${r.deprecated_reason ?? 'no reason recorded'})`,
        );
      } else if (r.newest_active !== null && r.newest_active > r.version) {
        reasons.push(
          `baseline run ${r.run_id} was evaluated on ${r.dataset_name} v${r.version}; v${r.newest_active} is the current version`,
        );
      }
      for (const x of r.retracted) {
        // The first incident that retracted the version names it; later ones only repeat it.
        reasons.push(
          `baseline run ${r.run_id}'s ${x.metricName} was computed with ${x.metric}@${x.implVersion}, retracted by incident ${x.incidentId} (fixed in ${x.fixed})`,
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
  const { rows } = await q.query<{
    gate_id: string;
    gate_name: string;
    check_id: string;
    baseline: string;
    run_ids: string[];
  }>(
    `WITH latest_check AS (
       SELECT DISTINCT ON (gv.gate_id) gv.gate_id, c.check_id, c.baseline_model_version_id
         FROM gate_checks c JOIN gate_versions gv USING (gate_version_id)
        WHERE c.baseline_model_version_id IS NOT NULL
        ORDER BY gv.gate_id, c.created_at DESC, c.check_id DESC)
     SELECT lc.gate_id, g.name AS gate_name, lc.check_id, m.name || '@' || mv.version AS baseline,
            array_agg(DISTINCT r.run_id)::text[] AS run_ids
       FROM latest_check lc
       JOIN gates g ON g.gate_id = lc.gate_id
       JOIN model_versions mv ON mv.model_version_id = lc.baseline_model_version_id JOIN models m ON m.model_id = mv.model_id
       JOIN LATERAL (SELECT run_ids FROM gate_decisions d WHERE d.check_id = lc.check_id ORDER BY d.decision_id DESC LIMIT 1) d ON true
       JOIN eval_runs r ON r.run_id = ANY(d.run_ids) AND r.model_version_id = lc.baseline_model_version_id
      WHERE $1::uuid[] IS NULL OR r.run_id = ANY($1::uuid[])
      GROUP BY 1, 2, 3, 4 ORDER BY g.name`,
    [runIds ?? null],
  );
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
