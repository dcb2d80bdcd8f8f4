import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { parseModelVersionRef } from '../../../domain/runs/createRun';
import type { CheckRuns, GateReason } from '../../../domain/gates/reasons';
import { listOverridesOfCheck, type OverrideListing } from '../../../domain/overrides/dal';
import { recordAudit } from '../../../domain/audit/dal';
import type { Config } from '../../../common/config';
import { withTransaction } from '../../../common/db';
import { AppError, notFound } from '../../../common/errors';
import { WORKFLOW_TYPES, releaseGateWorkflowId, taskQueueFor } from '../../../common/names';
import * as dal from '../../../domain/gates/dal';
import type { releaseGateWorkflow } from '../../../workflows/releaseGate';
import type { Principal } from '../../http/context';
import { gateScopes } from '../../../domain/access/dal';
import { authorize, teamMayReadRows, type Resource } from '../../../domain/access/policy';

export interface NewCheck {
  candidateModelVersion: string;
  idempotencyKey?: string;
  commitSha?: string;
}

/** Incidents record plain-text reasons; present every reason as an object. */
export function normalizeReasons(reasons: unknown[], status: string): GateReason[] {
  return reasons.map((r) =>
    typeof r === 'string'
      ? ({ code: 'note', verdict: status, message: r } as unknown as GateReason)
      : (r as GateReason),
  );
}

export class CheckService {
  constructor(
    private readonly pool: Pool,
    private readonly temporal: Client,
    private readonly config: Config,
  ) {}

  /**
   * Starts a check, or answers the one it repeats: the same idempotency key for the same
   * gate version and candidate is the same check; without a key, a check already pending
   * for that candidate is shared (so concurrent CI jobs run one workflow).
   */
  async start(
    gateId: string,
    input: NewCheck,
    principal: Principal,
    requestId: string,
  ): Promise<{ check: dal.GateCheckRecord; created: boolean }> {
    const gate = await dal.findGate(this.pool, gateId);
    if (!gate) throw notFound(`gate ${gateId}`);
    const version = await dal.latestVersion(this.pool, gateId);
    const ref = parseModelVersionRef(input.candidateModelVersion);
    if (!ref)
      throw new AppError(
        400,
        'invalid_request',
        'candidateModelVersion must look like <model name>@<version>',
        'candidateModelVersion',
      );
    const candidate = await dal.findCandidate(this.pool, ref.modelName, ref.version);
    if (!candidate)
      throw new AppError(
        404,
        'not_found',
        `model version ${input.candidateModelVersion} is not registered`,
        'candidateModelVersion',
      );
    const scopes = (await gateScopes(this.pool, [gate.gate_id])).get(gate.gate_id) ?? [];
    const resource = {
      kind: 'gate_check',
      gateTeam: gate.owner_team,
      candidateTeam: candidate.owner_team,
      datasets: scopes,
    } as const;
    const decision = authorize(principal, 'start_check', resource);
    if (decision === 'hidden') throw notFound(`gate ${gateId}`);
    if (decision === 'deny')
      throw new AppError(
        403,
        'forbidden',
        `starting a gate check needs the editor role on team ${gate.owner_team} (the gate's) or ${candidate.owner_team} (the model's)`,
      );
    // The check's runs send every gate dataset's rows to the candidate's endpoint.
    if (!scopes.every((scope) => teamMayReadRows(candidate.owner_team, scope)))
      throw new AppError(
        403,
        'forbidden',
        `team ${candidate.owner_team} (the candidate's owner) may not read every dataset of gate ${gate.name}; ` +
          'its endpoint cannot be evaluated on them',
        'candidateModelVersion',
      );
    const result = await withTransaction(this.pool, async (tx) => {
      const key = { gateVersionId: version.gate_version_id, candidateId: candidate.model_version_id };
      if (!input.idempotencyKey) {
        // Without a key, find-or-create must not race: serialise it per (gate version, candidate).
        await dal.lockCheckKey(tx, key.gateVersionId, key.candidateId);
        const pending = await dal.findPendingCheck(tx, key.gateVersionId, key.candidateId);
        if (pending) return { check: pending, created: false };
      }
      // With a key, the unique (gate version, candidate, key) decides who created it: no lock needed.
      const checkId = randomUUID();
      const inserted = await dal.insertCheck(tx, {
        checkId,
        gateVersionId: key.gateVersionId,
        candidateId: key.candidateId,
        idempotencyKey: input.idempotencyKey ?? `auto:${checkId}`,
        commitSha: input.commitSha ?? null,
        workflowId: releaseGateWorkflowId(checkId),
        createdBy: principal.principalId,
        requestId,
      });
      if (!inserted) {
        const existing = await dal.findCheckByKey(tx, key.gateVersionId, key.candidateId, input.idempotencyKey);
        return { check: existing, created: false };
      }
      await recordAudit(tx, {
        principalId: principal.principalId,
        action: 'gate_check.create',
        entityKind: 'gate_check',
        entityId: checkId,
        detail: {
          gate: gate.name,
          gateVersion: version.version,
          candidate: input.candidateModelVersion,
          commitSha: input.commitSha ?? null,
        },
        requestId,
      });
      return { check: inserted, created: true };
    });
    if (result.check.status === 'pending') await this.ensureStarted(result.check);
    return result;
  }

  /** Starts the check's workflow unless it exists (safe on every retry of the request). */
  private async ensureStarted(check: dal.GateCheckRecord): Promise<void> {
    const { config } = this;
    try {
      await this.temporal.workflow.start<typeof releaseGateWorkflow>(WORKFLOW_TYPES.releaseGate, {
        workflowId: check.workflow_id,
        taskQueue: taskQueueFor(config.EVALGATE_TASK_QUEUE_PREFIX, 'release'),
        args: [
          {
            checkId: check.check_id,
            checkTimeoutMs: config.EVALGATE_GATE_CHECK_TIMEOUT_SECONDS * 1000,
            overrideWindowMs: config.EVALGATE_OVERRIDE_WINDOW_SECONDS * 1000,
            evalRun: {
              shardParallelism: config.EVALGATE_SHARD_PARALLELISM,
              blockSize: config.EVALGATE_SHARD_BLOCK_SIZE,
              heartbeatTimeoutMs: config.EVALGATE_SHARD_HEARTBEAT_TIMEOUT_MS,
            },
          },
        ],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  /**
   * The check's context if the principal may see it: members of the gate's or the candidate
   * model's team who may see every dataset version the gate touches; anyone else gets 404.
   */
  async visible(checkId: string, principal: Principal): Promise<dal.CheckContext> {
    const ctx = await dal.loadCheckContext(this.pool, checkId);
    if (!ctx || authorize(principal, 'read', await this.resource(ctx)) !== 'allow')
      throw notFound(`gate check ${checkId}`);
    return ctx;
  }

  /** The check as the access policy sees it. */
  async resource(ctx: dal.CheckContext): Promise<Resource> {
    const scopes = (await gateScopes(this.pool, [ctx.gate.gate_id])).get(ctx.gate.gate_id) ?? [];
    return {
      kind: 'gate_check',
      gateTeam: ctx.gate.owner_team,
      candidateTeam: ctx.candidate.ownerTeam,
      datasets: scopes,
    };
  }

  /**
   * The check, after waiting up to `waitSeconds` (capped) for it to decide. Polls the check
   * row by primary key (one index lookup), quickly at first: most checks whose runs exist decide within a second.
   */
  async get(checkId: string, principal: Principal, waitSeconds = 0, signal?: AbortSignal): Promise<dal.CheckContext> {
    let ctx = await this.visible(checkId, principal);
    const started = Date.now();
    const deadline = started + Math.min(waitSeconds, this.config.EVALGATE_GATE_WAIT_MAX_SECONDS) * 1000;
    let interval = 20;
    while (ctx.check.status === 'pending' && Date.now() < deadline && !signal?.aborted) {
      await delay(Math.min(interval, Math.max(1, deadline - Date.now())));
      // 20 ms for the first second (a check whose runs exist decides in well under one), then backing off to 250 ms.
      if (Date.now() - started > 1000) interval = Math.min(interval * 1.5, 250);
      if ((await dal.checkStatus(this.pool, checkId)) !== 'pending')
        ctx = (await dal.loadCheckContext(this.pool, checkId))!;
    }
    return ctx;
  }

  async overridesOf(checkId: string): Promise<OverrideListing[]> {
    return listOverridesOfCheck(this.pool, checkId);
  }
}

export function overrideView(o: Record<string, any>) {
  return {
    overrideId: o.override_id,
    checkId: o.check_id,
    status: o.status,
    justification: o.justification,
    rules: o.rules,
    requiredApprovals: o.required_approvals,
    requestedBy: o.requested_by_name ?? o.requested_by,
    requestedAt: new Date(o.requested_at).toISOString(),
    requestExpiresAt: new Date(o.request_expires_at).toISOString(),
    grantedAt: o.granted_at ? new Date(o.granted_at).toISOString() : null,
    expiresAt: o.expires_at ? new Date(o.expires_at).toISOString() : null,
    endedReason: o.ended_reason ?? null,
    approvals: (o.approvals ?? []).map((a: Record<string, any>) => ({
      approver: a.approver,
      approvedAt: new Date(a.approvedAt).toISOString(),
      ...(a.comment ? { comment: a.comment } : {}),
      counted: !a.refusedReason,
      ...(a.refusedReason ? { refusedReason: a.refusedReason } : {}),
    })),
  };
}

export function checkView(ctx: dal.CheckContext, overrides: Record<string, any>[]) {
  const { check } = ctx;
  const runs = check.runs as Partial<CheckRuns>;
  return {
    checkId: check.check_id,
    status: check.status,
    gate: {
      gateId: ctx.gate.gate_id,
      name: ctx.gate.name,
      version: ctx.version.version,
      ownerTeam: ctx.gate.owner_team,
    },
    candidate: ctx.candidate.modelVersion,
    commitSha: check.commit_sha,
    baseline: runs.baseline ? { alias: runs.baseline.alias, modelVersion: runs.baseline.modelVersion } : null,
    reasons: normalizeReasons(check.reasons, check.status),
    runs: {
      suiteVersion: runs.suiteVersion ?? null,
      datasets: (runs.datasets ?? []).map((d) => ({
        datasetId: d.datasetId,
        name: d.datasetName,
        version: d.datasetVersion,
        candidateRunId: d.candidateRunId,
        baselineRunId: d.baselineRunId,
        started: d.started,
      })),
    },
    overrides: overrides.map(overrideView),
    createdAt: check.created_at.toISOString(),
    decidedAt: check.decided_at?.toISOString() ?? null,
  };
}
