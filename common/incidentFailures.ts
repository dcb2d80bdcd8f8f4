/**
 * Failure types that activities throw and workflows branch on (most of them incidents';
 * BUDGET_EXCEEDED also stops eval runs). No imports: workflow code imports this module,
 * and the workflow bundle must stay free of I/O modules.
 */

/** A run's stored records are gone or incomplete (retention, a run that never finished): it cannot be recomputed. */
export const RECORDS_UNAVAILABLE = 'records_unavailable';
/** A budget stopped a run's shards, its drift canary, or re-judging. */
export const BUDGET_EXCEEDED = 'budget_exceeded';
/** The daily model and judge call quota of the team that owns the run's model is spent: the run fails. */
export const QUOTA_EXCEEDED = 'quota_exceeded';
/** The replacement judge failed more examples than its error-rate limit allows. */
export const JUDGE_UNRELIABLE = 'judge_unreliable';
/** The run's rows may not go to the endpoint (its owning team may not read them): nothing was sent (domain/access). */
export const ENDPOINT_NOT_AUTHORIZED = 'endpoint_not_authorized';
/** A run could not be recomputed or re-judged for one of these: it is reported (and, for a judge incident, invalidated). */
export const RUN_UNRECOVERABLE = [RECORDS_UNAVAILABLE, BUDGET_EXCEEDED, JUDGE_UNRELIABLE, ENDPOINT_NOT_AUTHORIZED];
/** Failures retrying cannot fix. */
export const INCIDENT_NON_RETRYABLE = ['incident_not_found', 'incident_kind', 'result_conflict'];
