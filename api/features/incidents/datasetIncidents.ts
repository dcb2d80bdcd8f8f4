/**
 * Dataset incidents, declared through the dataset's own endpoints: deprecating a
 * contaminated version (an incident whose workflow invalidates what depended on it), and
 * reinstating a version deprecated by mistake — itself a new, recorded incident, never a
 * silent edit. The version's status changes in the same transaction as the incident and
 * its audit record, so new runs see the change at once.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { recordAudit } from '../../../domain/audit/dal';
import type { Config } from '../../../common/config';
import { withTransaction } from '../../../common/db';
import { conflict } from '../../../common/errors';
import { datasetDeprecationWorkflowId } from '../../../common/names';
import type { Principal } from '../../http/context';
import * as datasetsDal from '../../../domain/datasets/dal';
import * as dal from '../../../domain/incidents/dal/incidents';
import { ensureIncidentWorkflow } from './workflows';

export interface DatasetIncidentDeps {
  pool: Pool;
  temporal: Client;
  config: Config;
}

/**
 * Deprecates the version and starts its contamination workflow. Deprecating a version that
 * already is deprecated answers the incident that did it (created: false).
 */
export async function deprecateVersion(
  deps: DatasetIncidentDeps,
  input: { datasetVersionId: string; reason: string },
  principal: Principal,
  requestId: string,
) {
  const outcome = await withTransaction(deps.pool, async (tx) => {
    const version = await datasetsDal.lockVersionStatus(tx, input.datasetVersionId);
    if (version.status === 'deprecated') {
      const existing = await dal.latestDatasetIncident(tx, input.datasetVersionId, 'dataset_contamination');
      if (existing) return { incident: existing, created: false };
    }
    await datasetsDal.deprecateVersion(tx, input.datasetVersionId, input.reason, principal.principalId);
    const incidentId = randomUUID();
    const incident = (await dal.insertIncident(tx, {
      incidentId,
      kind: 'dataset_contamination',
      datasetVersionId: input.datasetVersionId,
      note: input.reason,
      workflowId: datasetDeprecationWorkflowId(input.datasetVersionId),
      createdBy: principal.principalId,
    }))!;
    await recordAudit(tx, {
      principalId: principal.principalId,
      action: 'dataset_version.deprecate',
      entityKind: 'dataset_version',
      entityId: input.datasetVersionId,
      detail: { incidentId, reason: input.reason },
      requestId,
    });
    return { incident, created: true };
  });
  await ensureIncidentWorkflow(deps.temporal, deps.config, outcome.incident);
  return outcome;
}

/**
 * Undoes a mistaken deprecation as a new incident: the version is active again, and the
 * incident records which deprecation it reverses and what stays as it was — runs that were
 * invalidated stay invalid and revoked decisions stay revoked (they are history); owners
 * rerun them, which cached predictions make free of model calls.
 */
export async function reinstateVersion(
  deps: DatasetIncidentDeps,
  input: { datasetVersionId: string; reason: string },
  principal: Principal,
  requestId: string,
) {
  return withTransaction(deps.pool, async (tx) => {
    const version = await datasetsDal.lockVersionStatus(tx, input.datasetVersionId);
    if (version.status !== 'deprecated')
      throw conflict(
        'not_deprecated',
        'this dataset version is not deprecated; there is nothing to reinstate',
        'version',
      );
    const deprecation = await dal.latestDatasetIncident(tx, input.datasetVersionId, 'dataset_contamination');
    if (deprecation && (deprecation.status === 'open' || deprecation.status === 'recomputing')) {
      throw conflict(
        'incident_open',
        `deprecation incident ${deprecation.incident_id} is still running; reinstate the version once it has finished`,
        'version',
      );
    }
    const counts = await dal.deprecationImpact(tx, deprecation?.incident_id ?? null);
    await datasetsDal.reinstateVersion(tx, input.datasetVersionId);
    const incidentId = randomUUID();
    const report = {
      reverses: deprecation
        ? { incidentId: deprecation.incident_id, reason: deprecation.note }
        : { incidentId: null, reason: version.deprecated_reason },
      runsStillInvalid: counts.runs,
      decisionsStillRevoked: counts.decisions,
      nextSteps:
        'Runs invalidated by the deprecation stay invalid and revoked decisions stay revoked: ' +
        'rerun the affected gate checks (cached predictions are reused) to decide again.',
    };
    const incident = (await dal.insertIncident(tx, {
      incidentId,
      kind: 'dataset_reinstatement',
      datasetVersionId: input.datasetVersionId,
      note: input.reason,
      workflowId: `none:${incidentId}`,
      createdBy: principal.principalId,
      status: 'resolved',
    }))!;
    await dal.saveReinstatementReport(tx, incidentId, report);
    await recordAudit(tx, {
      principalId: principal.principalId,
      action: 'dataset_version.reinstate',
      entityKind: 'dataset_version',
      entityId: input.datasetVersionId,
      detail: { incidentId, reason: input.reason, reverses: report.reverses.incidentId },
      requestId,
    });
    return { incident: { ...incident, report, progress: { step: 'done' } } };
  });
}
