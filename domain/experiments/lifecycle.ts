/**
 * An experiment's state changes, each one guarded by the state it expects (so a retried
 * activity or a late signal changes nothing twice): a check of the current step (advance,
 * promote, roll back, give up as inconclusive), pause and resume, and a rollback for a reason
 * from outside (a person, or an incident that revoked the gate check behind it).
 * Promotion moves the baseline alias to the candidate in the same transaction, its history
 * naming the experiment and the gate check.
 */
import type { Pool } from 'pg';
import { withTransaction, type Queryable } from '../../common/db';
import { recordAudit } from '../audit/dal';
import { missing } from '../errors';
import { findReleaseCheck, moveAlias } from '../models/dal';
import * as overrides from '../overrides/dal';
import * as dal from './dal';
import { decideCheck, snapshotOf, type CheckOutcome } from './decide';

/** Checks that no longer stand behind a release. */
const RELEASING = new Set(['pass', 'overridden']);

export interface CheckResult {
  status: dal.ExperimentStatus;
  step: number;
  action: CheckOutcome['action'] | 'stale';
  reason?: string;
}

async function load(pool: Pool, experimentId: string) {
  const e = await dal.findExperiment(pool, experimentId);
  if (!e) throw missing(`experiment ${experimentId}`);
  return e;
}

/** Starts the ramp at its first step (idempotent: only from the created state). */
export async function startRamp(pool: Pool, experimentId: string): Promise<void> {
  const e = await load(pool, experimentId);
  if (e.status !== 'running' || e.percent > 0 || e.step !== 0) return;
  await dal.transition(
    pool,
    experimentId,
    { statuses: ['running'], step: 0 },
    { status: 'running', step: 0, percent: e.plan.ramp[0].percent },
    { event: 'step', step: 0, percent: e.plan.ramp[0].percent },
  );
}

/** One check of the step the workflow is at; `elapsedSeconds` is the workflow's time in this step. */
export async function checkStep(
  pool: Pool,
  input: { experimentId: string; step: number; elapsedSeconds: number },
): Promise<CheckResult> {
  const e = await load(pool, input.experimentId);
  if (e.status !== 'running' || e.step !== input.step) return { status: e.status, step: e.step, action: 'stale' };
  const check = await findReleaseCheck(pool, e.gate_check_id);
  if (!check || !RELEASING.has(check.status))
    return rollBack(
      pool,
      input.experimentId,
      'gate_revoked',
      `gate check ${e.gate_check_id} is now ${check?.status ?? 'gone'}`,
    );
  const arms = await dal.readArms(pool, e.experiment_id, e.step, e.plan.guardrails.length);
  const outcome = decideCheck(e.plan, e.step, input.elapsedSeconds, arms.control, arms.treatment);
  const decision = (status: string) => ({
    status,
    reason: outcome.reason,
    message: outcome.message,
    at: new Date().toISOString(),
    snapshot: outcome.snapshot,
  });
  const from = { statuses: ['running' as const], step: e.step };
  switch (outcome.action) {
    case 'continue':
      return { status: 'running', step: e.step, action: 'continue' };
    case 'advance': {
      const step = e.step + 1;
      const percent = e.plan.ramp[step].percent;
      const moved = await dal.transition(
        pool,
        e.experiment_id,
        from,
        { status: 'running', step, percent },
        {
          event: 'step',
          step,
          percent,
          previous: outcome.snapshot,
        },
      );
      return moved ? { status: 'running', step, action: 'advance' } : stale(pool, input.experimentId);
    }
    case 'rollback':
      return rollBack(pool, input.experimentId, outcome.reason!, outcome.message!, outcome.snapshot);
    case 'promote':
      return promote(pool, e, decision('promoted'));
    case 'inconclusive':
      if (e.plan.onInconclusive === 'promote') return promote(pool, e, decision('promoted'));
      return (await dal.transition(
        pool,
        e.experiment_id,
        from,
        { status: 'paused', step: e.step, percent: 0, decision: decision('paused') },
        {
          event: 'paused',
          reason: 'inconclusive',
          message: outcome.message,
        },
      ))
        ? { status: 'paused', step: e.step, action: 'inconclusive', reason: 'inconclusive' }
        : stale(pool, input.experimentId);
  }
}

async function stale(pool: Pool, experimentId: string): Promise<CheckResult> {
  const e = await load(pool, experimentId);
  return { status: e.status, step: e.step, action: 'stale' };
}

/** Why a promotion happens outside the statistics: the granted override behind it, verified in its transaction. */
interface PromotionCause {
  overrideId: string;
  principalId: string;
  verify: (tx: Queryable) => Promise<boolean>;
}

async function promote(
  pool: Pool,
  e: dal.ExperimentView,
  decision: Record<string, unknown>,
  cause?: PromotionCause,
): Promise<CheckResult> {
  const done = await withTransaction(pool, async (tx) => {
    const locked = await dal.findExperiment(tx, e.experiment_id, true);
    if (!locked || !['running', 'paused'].includes(locked.status)) return false;
    if (cause && !(await cause.verify(tx))) return false;
    await moveAlias(tx, {
      modelId: e.model_id,
      alias: e.baseline_alias,
      modelVersionId: e.candidate_model_version_id,
      changedBy: e.created_by,
      gateCheckId: e.gate_check_id,
      experimentId: e.experiment_id,
    });
    await dal.transition(
      tx,
      e.experiment_id,
      { statuses: ['running', 'paused'] },
      { status: 'promoted', step: locked.step, percent: 100, decision },
      {
        event: 'promoted',
        alias: e.baseline_alias,
        to: e.candidate,
        ...(cause ? { reason: 'override', overrideId: cause.overrideId } : {}),
      },
    );
    await recordAudit(tx, {
      principalId: cause?.principalId ?? null,
      action: 'experiment.promote',
      entityKind: 'experiment',
      entityId: e.experiment_id,
      detail: {
        alias: e.baseline_alias,
        to: e.candidate,
        gateCheckId: e.gate_check_id,
        ...(cause ? { reason: 'override', overrideId: cause.overrideId } : {}),
      },
    });
    return true;
  });
  return done ? { status: 'promoted', step: e.step, action: 'promote' } : stale(pool, e.experiment_id);
}

/**
 * Promotes early, against (or before) the guardrails' recommendation, on a granted override of
 * this experiment: verified again in the promotion's transaction (granted, this experiment's, enough
 * approvals by distinct approvers of the owning team other than the requester), then used up.
 */
export async function promoteByOverride(pool: Pool, experimentId: string, overrideId: string): Promise<CheckResult> {
  const e = await load(pool, experimentId);
  const arms = await dal.readArms(pool, e.experiment_id, e.step, e.plan.guardrails.length);
  const verify = async (tx: Queryable) => {
    const o = await overrides.findOverride(tx, overrideId, true);
    if (!o || o.experiment_id !== experimentId || o.status !== 'granted' || o.ended_reason) return false;
    let counted = 0;
    for (const a of await overrides.standingApprovals(tx, overrideId))
      if (a.approver_id !== o.requested_by && (await overrides.isApprover(tx, a.approver_id, e.owner_team)))
        counted += 1;
    if (counted < o.required_approvals) return false;
    await overrides.endExperimentOverride(tx, overrideId, 'granted', 'promoted');
    return true;
  };
  const requester = await overrides.findOverride(pool, overrideId);
  const names = requester ? await overrides.principalNames(pool, [requester.requested_by]) : new Map<string, string>();
  const decision = {
    status: 'promoted',
    reason: 'override',
    message:
      `promoted early by override ${overrideId} (requested by ${names.get(requester?.requested_by ?? '') ?? 'unknown'}: ` +
      `${requester?.justification ?? ''}), not by the guardrails' recommendation`,
    at: new Date().toISOString(),
    overrideId,
    snapshot: snapshotOf(e.plan, e.step, arms.control, arms.treatment),
  };
  return promote(pool, e, decision, { overrideId, principalId: requester?.requested_by ?? '', verify });
}

/** Rolls back (treatment to 0%, alias untouched) unless the experiment already ended. */
export async function rollBack(
  pool: Pool,
  experimentId: string,
  reason: string,
  message: string,
  snapshot?: unknown,
  principalId: string | null = null,
): Promise<CheckResult> {
  const e = await load(pool, experimentId);
  const arms = snapshot ? undefined : await dal.readArms(pool, e.experiment_id, e.step, e.plan.guardrails.length);
  const decision = {
    status: 'rolled_back',
    reason,
    message,
    at: new Date().toISOString(),
    snapshot: snapshot ?? snapshotOf(e.plan, e.step, arms!.control, arms!.treatment),
  };
  const done = await withTransaction(pool, async (tx) => {
    const moved = await dal.transition(
      tx,
      experimentId,
      { statuses: ['running', 'paused'] },
      { status: 'rolled_back', step: e.step, percent: 0, decision },
      { event: 'rolled_back', reason, message },
    );
    if (moved)
      await recordAudit(tx, {
        principalId,
        action: 'experiment.rollback',
        entityKind: 'experiment',
        entityId: experimentId,
        detail: { reason, message },
      });
    return moved;
  });
  return done ? { status: 'rolled_back', step: e.step, action: 'rollback', reason } : stale(pool, experimentId);
}

/** Pauses (treatment to 0%) or resumes (the step's percent again) a running or paused experiment. */
export async function setPaused(
  pool: Pool,
  experimentId: string,
  paused: boolean,
  principalId: string | null,
): Promise<CheckResult> {
  const e = await load(pool, experimentId);
  const percent = paused ? 0 : e.plan.ramp[e.step].percent;
  const moved = await dal.transition(
    pool,
    experimentId,
    { statuses: [paused ? 'running' : 'paused'] },
    { status: paused ? 'paused' : 'running', step: e.step, percent },
    { event: paused ? 'paused' : 'resumed', by: principalId },
  );
  return moved
    ? { status: paused ? 'paused' : 'running', step: e.step, action: 'continue' }
    : stale(pool, experimentId);
}
