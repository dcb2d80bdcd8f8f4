/**
 * Governed overrides, API side: who may request and approve, checked before anything is
 * written or signalled. The request or approval row, its audit record and the signal to
 * the check's workflow go together: if the workflow is gone (the override window ended)
 * the transaction rolls back and nothing is half-written. Refusals are audited too.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool, PoolClient } from 'pg';
import { latestRuleDecision, type CheckContext } from '../../../domain/gates/store';
import { recordAudit } from '../../../common/audit';
import type { Config } from '../../../common/config';
import { withTransaction } from '../../../common/db';
import { AppError, conflict, forbidden, notFound } from '../../../common/errors';
import { OVERRIDE_APPROVED_SIGNAL, OVERRIDE_REQUESTED_SIGNAL } from '../../../common/names';
import { hasRole, type Principal } from '../../http/context';
import type { CheckService } from './checks';

export type OverrideEvent = 'requested' | 'approved' | 'refused';

/** How long an approval request waits for the workflow to act on the approval that completes an override. */
const GRANT_WAIT_MS = 5_000;

export class OverrideService {
  constructor(
    private readonly pool: Pool,
    private readonly temporal: Client,
    private readonly config: Config,
    private readonly checks: CheckService,
    private readonly count: (event: OverrideEvent) => void,
  ) {}

  async request(
    checkId: string,
    body: { justification: string; rules?: string[] },
    principal: Principal,
    requestId: string,
  ) {
    const ctx = await this.checks.visible(checkId, principal);
    if (!hasRole(principal, ctx.gate.owner_team, 'editor') && !hasRole(principal, ctx.candidate.ownerTeam, 'editor')) {
      throw forbidden(
        `requesting an override needs the editor role on team ${ctx.gate.owner_team} (the gate's) or ${ctx.candidate.ownerTeam} (the model's)`,
      );
    }
    const status = ctx.check.status;
    if (status === 'frozen')
      throw conflict(
        'gate_frozen',
        'this check is frozen by a metric incident; an override never covers a frozen check — wait for the incident to resolve and check again',
      );
    if (status === 'error')
      throw conflict(
        'not_overridable',
        'this check ended in error; an override never covers an error — fix the cause named in its reasons and check again',
      );
    if (status !== 'fail')
      throw conflict(
        status === 'pending' ? 'not_decided' : 'not_overridable',
        `this check is ${status}; only a failed check can be overridden`,
      );
    const decision = await latestRuleDecision(this.pool, checkId);
    const failing = decision.reasons.flatMap((r) => (r.code === 'rule' && r.verdict === 'fail' ? [r.rule] : []));
    for (const [i, rule] of (body.rules ?? []).entries()) {
      if (!failing.includes(rule))
        throw new AppError(
          400,
          'invalid_request',
          `rules[${i}]: ${rule} is not a failing rule of this check (failing: ${failing.join(', ')})`,
          `rules[${i}]`,
        );
    }
    return withTransaction(this.pool, async (tx) => {
      const { rows } = await tx.query<{ override_id: string; request_expires_at: Date }>(
        `INSERT INTO overrides (check_id, justification, rules, required_approvals, requested_by, request_expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING override_id, request_expires_at`,
        [
          checkId,
          body.justification,
          body.rules ? [...new Set(body.rules)] : null,
          ctx.version.required_approvals,
          principal.principalId,
          this.config.EVALGATE_OVERRIDE_REQUEST_TTL_SECONDS,
        ],
      );
      const overrideId = rows[0].override_id;
      await recordAudit(tx, {
        principalId: principal.principalId,
        action: 'override.request',
        entityKind: 'override',
        entityId: overrideId,
        detail: { checkId, justification: body.justification, rules: body.rules ?? failing },
        requestId,
      });
      await this.signal(ctx, OVERRIDE_REQUESTED_SIGNAL, { overrideId });
      this.count('requested');
      return {
        overrideId,
        rules: body.rules ?? failing,
        requiredApprovals: ctx.version.required_approvals,
        requestExpiresAt: rows[0].request_expires_at,
      };
    });
  }

  /** Loads an override and its check, 404 when the principal may not see the check. */
  async find(overrideId: string, principal: Principal): Promise<{ ctx: CheckContext; override: Record<string, any> }> {
    const { rows } = await this.pool.query<Record<string, any>>('SELECT * FROM overrides WHERE override_id = $1', [
      overrideId,
    ]);
    if (!rows[0]) throw notFound(`override ${overrideId}`);
    try {
      return { ctx: await this.checks.visible(rows[0].check_id, principal), override: rows[0] };
    } catch {
      throw notFound(`override ${overrideId}`);
    }
  }

  async approve(overrideId: string, body: { comment?: string }, principal: Principal, requestId: string) {
    const { ctx, override } = await this.find(overrideId, principal);
    const team = ctx.gate.owner_team;
    const refuse = async (error: AppError) => {
      await recordAudit(this.pool, {
        principalId: principal.principalId,
        action: 'override.approval_refused',
        entityKind: 'override',
        entityId: overrideId,
        detail: { checkId: ctx.check.check_id, code: error.code, reason: error.message },
        requestId,
      });
      this.count('refused');
      return error;
    };
    // The requester first: whatever roles they hold, they never approve their own request.
    if (override.requested_by === principal.principalId)
      throw await refuse(
        new AppError(403, 'self_approval', 'the requester cannot approve their own override; ask another approver'),
      );
    if (!hasRole(principal, team, 'approver'))
      throw await refuse(
        forbidden(`approving an override of gate ${ctx.gate.name} needs the approver role on team ${team}`),
      );
    if (override.status !== 'requested')
      throw await refuse(
        conflict(
          'override_not_open',
          `this override is ${override.status}${override.ended_reason ? ` (${override.ended_reason})` : ''}; it takes no more approvals`,
        ),
      );
    const approvals = await withTransaction(this.pool, async (tx) => {
      const inserted = await tx.query(
        'INSERT INTO override_approvals (override_id, approver_id, comment) VALUES ($1, $2, $3) ON CONFLICT (override_id, approver_id) DO NOTHING',
        [overrideId, principal.principalId, body.comment ?? null],
      );
      if (!inserted.rowCount) return null;
      await recordAudit(tx, {
        principalId: principal.principalId,
        action: 'override.approve',
        entityKind: 'override',
        entityId: overrideId,
        detail: { checkId: ctx.check.check_id, comment: body.comment ?? null },
        requestId,
      });
      await this.signal(ctx, OVERRIDE_APPROVED_SIGNAL, { overrideId, approverId: principal.principalId });
      return countValid(tx, overrideId);
    });
    if (approvals === null)
      throw await refuse(
        conflict('already_approved', 'you already approved this override; approvals must come from distinct approvers'),
      );
    this.count('approved');
    if (approvals >= override.required_approvals) await this.waitForWorkflow(overrideId);
    return (await this.checks.overridesOf(ctx.check.check_id)).find((o) => o.override_id === overrideId)!;
  }

  /** The approval that completes an override: give the workflow a moment to grant it, so the answer shows the outcome. */
  private async waitForWorkflow(overrideId: string): Promise<void> {
    const deadline = Date.now() + GRANT_WAIT_MS;
    while (Date.now() < deadline) {
      const { rows } = await this.pool.query<{ status: string }>(
        'SELECT status FROM overrides WHERE override_id = $1',
        [overrideId],
      );
      if (rows[0].status !== 'requested') return;
      await delay(50);
    }
  }

  private async signal(
    ctx: CheckContext,
    name: string,
    arg: { overrideId: string; approverId?: string },
  ): Promise<void> {
    try {
      await this.temporal.workflow.getHandle(ctx.check.workflow_id).signal(name, arg);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        throw conflict(
          'override_window_closed',
          `the override window of this check has closed (its workflow ended); start a new check`,
        );
      }
      throw err;
    }
  }
}

async function countValid(tx: PoolClient, overrideId: string): Promise<number> {
  const { rows } = await tx.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM override_approvals a JOIN overrides o USING (override_id)
      WHERE a.override_id = $1 AND a.refused_reason IS NULL AND a.approver_id <> o.requested_by`,
    [overrideId],
  );
  return rows[0].n;
}
