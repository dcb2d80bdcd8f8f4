/**
 * The incident record as activities see it: loaded by id, of the kind the workflow
 * handles, or a non-retryable failure.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Queryable } from '../../common/db';
import { findIncident, type IncidentKind, type IncidentRow } from './dal/incidents';

export async function loadIncident(q: Queryable, incidentId: string, kind?: IncidentKind): Promise<IncidentRow> {
  const incident = await findIncident(q, incidentId);
  if (!incident)
    throw ApplicationFailure.create({
      type: 'incident_not_found',
      message: `incident ${incidentId} does not exist`,
      nonRetryable: true,
    });
  if (kind && incident.kind !== kind) {
    throw ApplicationFailure.create({
      type: 'incident_kind',
      message: `incident ${incidentId} is a ${incident.kind} incident, not ${kind}`,
      nonRetryable: true,
    });
  }
  return incident;
}
