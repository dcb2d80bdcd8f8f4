/**
 * Names shared by the API, the workers and the tests: task queues, workflow ids,
 * signal/query names. Workflow-safe (no Node imports) so workflows may import it.
 */

export type RunMode = 'exploratory' | 'release';

/** Release-blocking and exploratory work run on separate queues so neither starves the other. */
export function taskQueueFor(prefix: string, mode: RunMode): string {
  return `${prefix}-${mode}`;
}

export const evalRunWorkflowId = (runId: string): string => `evalRun:${runId}`;
export const shardBlockWorkflowId = (runId: string, block: number): string => `evalRun:${runId}:block:${block}`;
export const releaseGateWorkflowId = (checkId: string): string => `gateCheck:${checkId}`;
export const metricRecomputeWorkflowId = (incidentId: string): string => `metricIncident:${incidentId}`;
export const datasetDeprecationWorkflowId = (datasetVersionId: string): string =>
  `datasetDeprecation:${datasetVersionId}`;

/** Signal and query names. */
export const CANCEL_EVAL_RUN_SIGNAL = 'cancelEvalRun';
export const EVAL_RUN_PROGRESS_QUERY = 'evalRunProgress';

/** Incidents (metric bug, dataset contamination, judge): one workflow per incident, one child per affected run. */
export const judgeIncidentWorkflowId = (incidentId: string): string => `judgeIncident:${incidentId}`;
export const incidentRunWorkflowId = (incidentWorkflowId: string, runId: string): string =>
  `${incidentWorkflowId}:run:${runId}`;
export const INCIDENT_PROGRESS_QUERY = 'incidentProgress';

/** Release gates: override requests and approvals reach the check's workflow as signals. */
export const OVERRIDE_REQUESTED_SIGNAL = 'overrideRequested';
export const OVERRIDE_APPROVED_SIGNAL = 'overrideApproved';
export const GATE_CHECK_STATE_QUERY = 'gateCheckState';
