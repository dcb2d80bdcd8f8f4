/**
 * Early promotion of an online experiment through a governed override, the gates' rules reused:
 * an editor of the owning team requests it with a reason; approvers of that team other than the
 * requester approve it (as many as the gate version behind the experiment requires for its
 * overrides); an unapproved request lapses after the gates' request TTL. The approval that
 * completes it grants the override and signals the workflow, which promotes (verifying again).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../../../common/config';
import { withTransaction } from '../../../common/db';
import { AppError, conflict, forbidden, notFound } from '../../../common/errors';
import { PROMOTE_EXPERIMENT_SIGNAL } from '../../../common/names';
import { recordAudit } from '../../../domain/audit/dal';
import * as experiments from '../../../domain/experiments/dal';
import { loadCheckContext } from '../../../domain/gates/dal';
import * as dal from '../../../domain/overrides/dal';
import { approvalRefusal, overrideTtlSeconds } from '../../../domain/overrides/rules';
import { hasRole, type Principal } from '../../http/context';
import { requireRole } from '../../http/auth';

const ENDED = new Set(['promoted', 'rolled_back', 'aborted']);
/** How long the completing approval waits for the workflow to promote, so the answer shows the outcome. */
const PROMOTE_WAIT_MS = 5_000;

export class PromotionService {
  constructor(
    private readonly pool: Pool,
    private readonly temporal: Client,
    private readonly config: Config,
  ) {}

  private async visible(experimentId: string, principal: Principal) {
    const e = await experiments.findExperiment(this.pool, experimentId);
    if (!e || !hasRole(principal, e.owner_team, 'viewer')) throw notFound(`experiment ${experimentId}`);
    return e;
  }

  async request(experimentId: string, reason: string, principal: Principal, requestId: string) {
    const e = await this.visible(experimentId, principal);
    requireRole(principal, e.owner_team, 'editor');
    if (ENDED.has(e.status)) throw conflict('already_decided', `experiment ${experimentId} is ${e.status}`);
    const ctx = await loadCheckContext(this.pool, e.gate_check_id);
    const requiredApprovals = ctx!.version.required_approvals;
    const inserted = await withTransaction(this.pool, async (tx) => {
      const row = await dal.insertExperimentOverride(tx, {
        experimentId,
        reason,
        requiredApprovals,
        requestedBy: principal.principalId,
        requestTtlSeconds: this.config.EVALGATE_OVERRIDE_REQUEST_TTL_SECONDS,
      });
      await recordAudit(tx, {
        principalId: principal.principalId,
        action: 'experiment.promotion_request',
        entityKind: 'override',
        entityId: row.override_id,
        detail: { experimentId, reason, requiredApprovals },
        requestId,
      });
      return row;
    });
    return { overrideId: inserted.override_id, requiredApprovals, requestExpiresAt: inserted.request_expires_at };
  }

  /** The override with its experiment, when it is an experiment's (undefined for a gate check's). */
  async find(overrideId: string, principal: Principal) {
    const override = await dal.findOverride(this.pool, overrideId);
    if (!override?.experiment_id) return undefined;
    const e = await experiments.findExperiment(this.pool, override.experiment_id);
    if (!e || !hasRole(principal, e.owner_team, 'viewer')) throw notFound(`override ${overrideId}`);
    await dal.expireIfLapsed(this.pool, overrideId);
    return { override: (await dal.overrideListing(this.pool, overrideId))!, experiment: e };
  }

  /** Approves an experiment's override; undefined when the override is a gate check's. */
  async approve(overrideId: string, body: { comment?: string }, principal: Principal, requestId: string) {
    const found = await this.find(overrideId, principal);
    if (!found) return undefined;
    const { override, experiment: e } = found;
    const refuse = async (error: AppError) => {
      await recordAudit(this.pool, {
        principalId: principal.principalId,
        action: 'override.approval_refused',
        entityKind: 'override',
        entityId: overrideId,
        detail: { experimentId: e.experiment_id, code: error.code, reason: error.message },
        requestId,
      });
      return error;
    };
    const refusal = await approvalRefusal(
      { approverId: principal.principalId, requestedBy: override.requested_by },
      () => hasRole(principal, e.owner_team, 'approver'),
    );
    if (refusal === 'self_approval')
      throw await refuse(
        new AppError(403, 'self_approval', 'the requester cannot approve their own override; ask another approver'),
      );
    if (refusal === 'not_approver')
      throw await refuse(
        forbidden(
          `approving an early promotion of experiment ${e.name} needs the approver role on team ${e.owner_team}`,
        ),
      );
    if (ENDED.has(e.status) && override.status === 'requested')
      await dal.endExperimentOverride(this.pool, overrideId, 'expired', `experiment_${e.status}`);
    const current = (await dal.findOverride(this.pool, overrideId))!;
    if (current.status !== 'requested')
      throw await refuse(
        conflict(
          'override_not_open',
          `this override is ${current.status}${current.ended_reason ? ` (${current.ended_reason})` : ''}; it takes no more approvals`,
        ),
      );
    const outcome = await withTransaction(this.pool, async (tx) => {
      const locked = (await dal.findOverride(tx, overrideId, true))!;
      if (locked.status !== 'requested') return 'closed' as const;
      if (
        !(await dal.insertApproval(tx, {
          overrideId,
          approverId: principal.principalId,
          comment: body.comment ?? null,
        }))
      )
        return 'duplicate' as const;
      await recordAudit(tx, {
        principalId: principal.principalId,
        action: 'override.approve',
        entityKind: 'override',
        entityId: overrideId,
        detail: { experimentId: e.experiment_id, comment: body.comment ?? null },
        requestId,
      });
      if ((await dal.countValidApprovals(tx, overrideId)) < locked.required_approvals) return 'counted' as const;
      const ctx = await loadCheckContext(tx, e.gate_check_id);
      await dal.grantOverride(tx, overrideId, overrideTtlSeconds(ctx!.version));
      try {
        await this.temporal.workflow.getHandle(e.workflow_id).signal(PROMOTE_EXPERIMENT_SIGNAL, { overrideId });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError)
          throw conflict('already_decided', `experiment ${e.experiment_id} is no longer running`);
        throw err;
      }
      return 'granted' as const;
    });
    if (outcome === 'closed')
      throw await refuse(conflict('override_not_open', 'this override takes no more approvals'));
    if (outcome === 'duplicate')
      throw await refuse(
        conflict('already_approved', 'you already approved this override; approvals must come from distinct approvers'),
      );
    if (outcome === 'granted') await this.waitForPromotion(e.experiment_id);
    return this.find(overrideId, principal);
  }

  private async waitForPromotion(experimentId: string): Promise<void> {
    const deadline = Date.now() + PROMOTE_WAIT_MS;
    while (Date.now() < deadline) {
      const e = await experiments.findExperiment(this.pool, experimentId);
      if (!e || ENDED.has(e.status)) return;
      await delay(50);
    }
  }
}
