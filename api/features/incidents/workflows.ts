/**
 * Starting an incident's workflow: each kind has its workflow type, on the release queue.
 * Shared by the incident endpoints and the dataset endpoints that declare dataset incidents.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Config } from '../../../common/config';
import { WORKFLOW_TYPES, taskQueueFor } from '../../../common/names';
import type { IncidentKind, IncidentRow } from '../../../domain/incidents/dal/incidents';
import type { metricRecomputeWorkflow } from '../../../workflows/metricRecompute';
import type { IncidentWorkflowInput } from '../../../workflows/shared/incidentSteps';

/** The workflow type that handles each incident kind (none for a reinstatement: it is recorded, not processed). */
const INCIDENT_WORKFLOW_TYPES: Record<IncidentKind, string | null> = {
  metric_bug: WORKFLOW_TYPES.metricRecompute,
  dataset_contamination: WORKFLOW_TYPES.datasetDeprecation,
  judge: WORKFLOW_TYPES.judgeIncident,
  dataset_reinstatement: null,
};
/** Every incident workflow takes the same input and returns the impact report. */
type IncidentWorkflow = typeof metricRecomputeWorkflow;

/** Starts the incident's workflow unless it already runs (safe on every idempotent retry). Incident workflows run on the release queue. */
export async function ensureIncidentWorkflow(temporal: Client, config: Config, incident: IncidentRow): Promise<void> {
  const workflowType = INCIDENT_WORKFLOW_TYPES[incident.kind];
  if (!workflowType || incident.status === 'resolved') return;
  const input: IncidentWorkflowInput = {
    incidentId: incident.incident_id,
    runParallelism: config.EVALGATE_INCIDENT_RUN_PARALLELISM,
    shardParallelism: config.EVALGATE_SHARD_PARALLELISM,
    heartbeatTimeoutMs: config.EVALGATE_SHARD_HEARTBEAT_TIMEOUT_MS,
  };
  try {
    await temporal.workflow.start<IncidentWorkflow>(workflowType, {
      workflowId: incident.workflow_id,
      taskQueue: taskQueueFor(config.EVALGATE_TASK_QUEUE_PREFIX, 'release'),
      args: [input],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
