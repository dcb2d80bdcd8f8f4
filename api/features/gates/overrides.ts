/**
 * Governed overrides, API side: who may request and approve, checked before anything is
 * written or signalled. The request or approval row, its audit record and the signal to
 * the check's workflow go together: if the workflow is gone (the override window ended)
 * the transaction rolls back and nothing is half-written. Refusals are audited too.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { latestRuleDecision, type CheckContext } from '../../../domain/gates/dal';
import * as dal from '../../../domain/overrides/dal';
import { approvalRefusal, assertOverridable, assertRulesFailing, failingRules } from '../../../domain/overrides/rules';
import { recordAudit } from '../../../domain/audit/dal';
import type { Config } from '../../../common/config';
import { withTransaction } from '../../../common/db';
import { AppError, conflict, forbidden, notFound } from '../../../common/errors';
import { OVERRIDE_APPROVED_SIGNAL, OVERRIDE_REQUESTED_SIGNAL } from '../../../common/names';
import type { Principal } from '../../http/context';
import { authorize, hasRole } from '../../../domain/access/policy';
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
    if (authorize(principal, 'request_override', await this.checks.resource(ctx)) !== 'allow') {
      throw forbidden(
        `requesting an override needs the editor role on team ${ctx.gate.owner_team} (the gate's) ` +
          `or ${ctx.candidate.ownerTeam} (the model's)`,
      );
    }
    assertOverridable(ctx.check.status);
    const decision = await latestRuleDecision(this.pool, checkId);
    const failing = failingRules(decision.reasons);
    assertRulesFailing(body.rules ?? [], failing);
    return withTransaction(this.pool, async (tx) => {
      const inserted = await dal.insertOverride(tx, {
        checkId,
        justification: body.justification,
        rules: body.rules ? [...new Set(body.rules)] : null,
        requiredApprovals: ctx.version.required_approvals,
        requestedBy: principal.principalId,
        requestTtlSeconds: this.config.EVALGATE_OVERRIDE_REQUEST_TTL_SECONDS,
      });
      const overrideId = inserted.override_id;
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
        requestExpiresAt: inserted.request_expires_at,
      };
    });
  }

  /** Loads an override and its check, 404 when the principal may not see the check. */
  async find(overrideId: string, principal: Principal): Promise<{ ctx: CheckContext; override: dal.OverrideRecord }> {
    const override = await dal.findOverride(this.pool, overrideId);
    if (!override?.check_id) throw notFound(`override ${overrideId}`);
    try {
      return { ctx: await this.checks.visible(override.check_id, principal), override };
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
    const refusal = await approvalRefusal(
      { approverId: principal.principalId, requestedBy: override.requested_by },
      () => hasRole(principal, team, 'approver'),
    );
    if (refusal === 'self_approval')
      throw await refuse(
        new AppError(403, 'self_approval', 'the requester cannot approve their own override; ask another approver'),
      );
    if (refusal === 'not_approver')
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
      const inserted = await dal.insertApproval(tx, {
        overrideId,
        approverId: principal.principalId,
        comment: body.comment ?? null,
      });
      if (!inserted) return null;
      await recordAudit(tx, {
        principalId: principal.principalId,
        action: 'override.approve',
        entityKind: 'override',
        entityId: overrideId,
        detail: { checkId: ctx.check.check_id, comment: body.comment ?? null },
        requestId,
      });
      await this.signal(ctx, OVERRIDE_APPROVED_SIGNAL, { overrideId, approverId: principal.principalId });
      return dal.countValidApprovals(tx, overrideId);
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
      if ((await dal.findOverride(this.pool, overrideId))!.status !== 'requested') return;
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
