/**
 * The worker's `workflowsPath`: every function exported here is registered as a workflow
 * type under its name, so this exports workflows and nothing else (their signals, queries
 * and input types are imported from each workflow's own file).
 */
export { evalRunWorkflow, evalShardBlockWorkflow } from './evalRun';
export { releaseGateWorkflow } from './releaseGate';
export { metricRecomputeWorkflow, recomputeRunWorkflow } from './metricRecompute';
export { judgeIncidentWorkflow, rejudgeRunWorkflow } from './judgeIncident';
export { datasetDeprecationWorkflow } from './datasetDeprecation';
export { retentionWorkflow } from './retention';
export { onlineExperimentWorkflow } from './onlineExperiment';
