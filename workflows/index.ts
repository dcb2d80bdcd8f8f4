/**
 * The worker's `workflowsPath`: every function exported here is registered as a workflow
 * type under its name, so this exports workflows and nothing else (their signals, queries
 * and input types are imported from each workflow's own file).
 */
import type { WorkflowType } from '../common/names';

export { evalRunWorkflow, evalShardBlockWorkflow } from './evalRun';
export { releaseGateWorkflow } from './releaseGate';
export { metricRecomputeWorkflow, recomputeRunWorkflow } from './metricRecompute';
export { judgeIncidentWorkflow, rejudgeRunWorkflow } from './judgeIncident';
export { datasetDeprecationWorkflow } from './datasetDeprecation';

/** Compile-time: WORKFLOW_TYPES in common/names.ts names exactly the workflows exported here. */
type Exported = keyof typeof import('./index');
type SameNames<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type WorkflowNamesAgree = Assert<SameNames<Exported, WorkflowType>>;
type Assert<T extends true> = T;
