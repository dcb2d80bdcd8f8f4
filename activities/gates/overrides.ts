/**
 * The gate workflow's side of governed overrides. The API authorises requests and
 * approvals before it signals; these activities, run by the workflow as the signals
 * arrive, verify every approval again against the records, grant an override when enough
 * valid approvals are in, and expire requests and grants when their timers fire
 * (domain/overrides/grants.ts holds what each step changes).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import { withTransaction } from '../../common/db';
import { loadCheckContext } from '../../domain/gates/dal';
import { approvalExists, requestWindow } from '../../domain/overrides/dal';
import { expireOverride, tallyApprovals } from '../../domain/overrides/grants';

export interface OverrideDeps {
  pool: Pool;
}

/**
 * The API signals inside the transaction that writes the request or approval, so the row
 * may not be visible for a moment when the signal arrives: retry a few times before
 * concluding it was rolled back.
 */
function notYetVisible(what: string): never | void {
  if (Context.current().info.attempt < 6)
    throw ApplicationFailure.create({ type: 'override_not_visible', message: `${what} is not visible yet` });
}

export function createOverrideActivities(deps: OverrideDeps) {
  const { pool } = deps;
  const context = async (checkId: string) => {
    const ctx = await loadCheckContext(pool, checkId);
    if (!ctx) throw new Error(`gate check ${checkId} does not exist`);
    return ctx;
  };

  return {
    /** A request the API recorded: still open? Answers how long until it expires unapproved. */
    async openOverride({
      overrideId,
    }: {
      checkId: string;
      overrideId: string;
    }): Promise<{ open: boolean; expiresInMs: number }> {
      const window = await requestWindow(pool, overrideId);
      if (!window) notYetVisible(`override ${overrideId}`);
      return window?.status === 'requested'
        ? { open: true, expiresInMs: Math.ceil(window.ms) }
        : { open: false, expiresInMs: 0 };
    },

    /** Re-verifies the override's approvals; grants it when enough valid ones are in. */
    async tallyOverrideApprovals({
      checkId,
      overrideId,
      approverId,
    }: {
      checkId: string;
      overrideId: string;
      approverId?: string;
    }): Promise<{ granted: boolean; ttlMs: number; checkStatus: string; approvals: number }> {
      const ctx = await context(checkId);
      if (approverId && !(await approvalExists(pool, overrideId, approverId)))
        notYetVisible(`the approval of ${approverId}`);
      return withTransaction(pool, (tx) => tallyApprovals(tx, ctx, overrideId));
    },

    /** Expires an unapproved request, or a granted override whose TTL ended (the check may fail again). */
    async expireOverride({
      checkId,
      overrideId,
      phase,
    }: {
      checkId: string;
      overrideId: string;
      phase: 'request' | 'grant';
    }): Promise<{ checkStatus: string }> {
      const ctx = await context(checkId);
      return withTransaction(pool, (tx) => expireOverride(tx, ctx, overrideId, phase));
    },
  };
}
