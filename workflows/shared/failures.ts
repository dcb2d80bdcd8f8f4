/**
 * What a failed activity or child workflow failed with. Temporal hands a workflow the
 * failure wrapped (an ActivityFailure or ChildWorkflowFailure, possibly several deep);
 * the workflows branch on the ApplicationFailure type underneath and record its message.
 */
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/workflow';

export interface UnwrappedFailure {
  /** The stable ApplicationFailure type underneath (`budget_exceeded`, `records_unavailable`, …), if any. */
  type: string | undefined;
  /** The message of the failure underneath. */
  message: string;
}

export function unwrapFailure(err: unknown): UnwrappedFailure {
  let cause: unknown = err;
  while ((cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) && cause.cause)
    cause = cause.cause;
  return {
    type: (cause instanceof ApplicationFailure && cause.type) || undefined,
    message: cause instanceof Error ? cause.message : String(cause),
  };
}
