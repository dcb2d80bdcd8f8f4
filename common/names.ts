/**
 * Names shared by the API, the workers and the tests: task queues, workflow types and ids,
 * signal and query names. Workflow-safe (no imports) so workflows may import it. Nothing
 * else spells these strings: a workflow defines its signals and queries from the names
 * here (`defineSignal(CANCEL_EVAL_RUN_SIGNAL)`), and the API starts and signals by them.
 */

export type RunMode = 'exploratory' | 'release';

/** Release-blocking and exploratory work run on separate queues so neither starves the other. */
export function taskQueueFor(prefix: string, mode: RunMode): string {
  return `${prefix}-${mode}`;
}

/**
 * Workflow types: the names the workers register (the functions `workflows/index.ts`
 * exports; the compiler checks the two lists agree). Start one by name with its
 * function's type: `client.workflow.start<typeof evalRunWorkflow>(WORKFLOW_TYPES.evalRun, …)`.
 */
export const WORKFLOW_TYPES = {
  evalRun: 'evalRunWorkflow',
  /** Child of evalRun: one block of a big run's shards. */
  evalShardBlock: 'evalShardBlockWorkflow',
  releaseGate: 'releaseGateWorkflow',
  metricRecompute: 'metricRecomputeWorkflow',
  /** Child of metricRecompute: one affected run. */
  recomputeRun: 'recomputeRunWorkflow',
  judgeIncident: 'judgeIncidentWorkflow',
  /** Child of judgeIncident: one affected run. */
  rejudgeRun: 'rejudgeRunWorkflow',
  datasetDeprecation: 'datasetDeprecationWorkflow',
  /** Started by a Temporal Schedule (workers/retentionSchedule.ts): deletes expired per-example outputs. */
  retention: 'retentionWorkflow',
  onlineExperiment: 'onlineExperimentWorkflow',
} as const;
export type WorkflowType = (typeof WORKFLOW_TYPES)[keyof typeof WORKFLOW_TYPES];

/** Workflow ids. */
export const evalRunWorkflowId = (runId: string): string => `evalRun:${runId}`;
export const shardBlockWorkflowId = (runId: string, block: number): string => `evalRun:${runId}:block:${block}`;
export const releaseGateWorkflowId = (checkId: string): string => `gateCheck:${checkId}`;
export const metricRecomputeWorkflowId = (incidentId: string): string => `metricIncident:${incidentId}`;
export const datasetDeprecationWorkflowId = (datasetVersionId: string): string =>
  `datasetDeprecation:${datasetVersionId}`;
/** Incidents (metric bug, dataset contamination, judge): one workflow per incident, one child per affected run. */
export const judgeIncidentWorkflowId = (incidentId: string): string => `judgeIncident:${incidentId}`;
export const incidentRunWorkflowId = (incidentWorkflowId: string, runId: string): string =>
  `${incidentWorkflowId}:run:${runId}`;

/** The retention sweep's schedule, one per task-queue prefix (one deployment); its workflows get ids `<id>-<time>`. */
export const retentionScheduleId = (taskQueuePrefix: string): string => `retention:${taskQueuePrefix}`;
/** A sweep started outside the schedule (an operator, a test). */
export const retentionSweepWorkflowId = (label: string): string => `retention:sweep:${label}`;
/** Online experiments: one workflow per experiment, on the release task queue. */
export const onlineExperimentWorkflowId = (experimentId: string): string => `experiment:${experimentId}`;

/** Eval runs: cancelled by a signal; progress by a query (the run, and each block child). */
export const CANCEL_EVAL_RUN_SIGNAL = 'cancelEvalRun';
export const EVAL_RUN_PROGRESS_QUERY = 'evalRunProgress';
export const SHARD_BLOCK_PROGRESS_QUERY = 'shardBlockProgress';

/** Incident workflows (all three kinds) answer one progress query. */
export const INCIDENT_PROGRESS_QUERY = 'incidentProgress';

/** Release gates: override requests and approvals reach the check's workflow as signals. */
export const OVERRIDE_REQUESTED_SIGNAL = 'overrideRequested';
export const OVERRIDE_APPROVED_SIGNAL = 'overrideApproved';
export const GATE_CHECK_STATE_QUERY = 'gateCheckState';

/** Online experiments: pause, resume and rollback (a person's, or an incident's gate revocation) are signals. */
export const PAUSE_EXPERIMENT_SIGNAL = 'pauseExperiment';
export const RESUME_EXPERIMENT_SIGNAL = 'resumeExperiment';
export const ROLLBACK_EXPERIMENT_SIGNAL = 'rollbackExperiment';
/** A granted override promotes the experiment early (POST /v1/experiments/{id}/promotion-requests, then approvals). */
export const PROMOTE_EXPERIMENT_SIGNAL = 'promoteExperiment';
export const EXPERIMENT_STATE_QUERY = 'experimentState';
