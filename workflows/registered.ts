/**
 * Compile-time only: WORKFLOW_TYPES in common/names.ts names exactly the workflows that
 * workflows/index.ts (the worker's workflowsPath) exports. Nothing imports this file; tsc checks it.
 */
import type { WorkflowType } from '../common/names';
import type * as registered from './index';

type Exported = keyof typeof registered;
type SameNames<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type WorkflowNamesAgree = Assert<SameNames<Exported, WorkflowType>>;
type Assert<T extends true> = T;
