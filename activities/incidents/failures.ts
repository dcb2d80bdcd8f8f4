/**
 * Failure types of incident activities that workflows branch on. No imports: workflow
 * code imports this module, and the workflow bundle must stay free of I/O modules.
 */

/** A run's stored records are gone or incomplete (retention, a run that never finished): it cannot be recomputed. */
export const RECORDS_UNAVAILABLE = 'records_unavailable';
/** A budget stopped re-judging. */
export const BUDGET_EXCEEDED = 'budget_exceeded';
/** Failures retrying cannot fix. */
export const INCIDENT_NON_RETRYABLE = ['incident_not_found', 'incident_kind', 'result_conflict'];
