import { ApplicationFailure } from '@temporalio/activity';
import type { Queryable } from '../../common/db';
import {
  insertIncidentResult,
  linkSupersededBy,
  lockCurrentResult,
  markResultSuperseded,
  type NewResult,
} from './dal/results';

/** The metric code's own version: a re-judged result's version carries its judge as SemVer build metadata (`1.0.0+judge.…`). */
export const baseImplVersion = (version: string): string => version.split('+')[0];

/**
 * Replaces the current result of one metric of a run by a new row from this incident.
 * The old row is marked superseded first (only one current row per run and metric may
 * exist), then the new row is inserted and the old one pointed at it.
 */
export async function supersedeResult(
  client: Queryable,
  incidentId: string,
  runId: string,
  m: { name: string; metric: string },
  r: NewResult,
): Promise<void> {
  const current = await lockCurrentResult(client, runId, m.name);
  if (current?.incident_id === incidentId) return; // this incident already wrote it
  if (current) await markResultSuperseded(client, current.result_id);
  const inserted = await insertIncidentResult(client, {
    runId,
    metricName: m.name,
    metric: m.metric,
    implVersion: r.implVersion,
    value: r.value,
    ciLow: r.ciLow,
    ciHigh: r.ciHigh,
    n: r.n,
    reason: r.reason,
    slices: r.slices,
    incidentId,
    partial: current?.partial ?? false,
  });
  if (!inserted) {
    throw ApplicationFailure.create({
      type: 'result_conflict',
      nonRetryable: true,
      message:
        `run ${runId} already has a ${m.name} result at implementation version ${r.implVersion} that is not current; ` +
        'resolve it by hand',
    });
  }
  if (current) await linkSupersededBy(client, current.result_id, inserted);
}
