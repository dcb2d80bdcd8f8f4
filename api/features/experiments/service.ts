/**
 * Online experiments as the API serves them: create one from a passed (or overridden) gate
 * check and start its workflow; answer assignments from a briefly cached serving state (the
 * hot path: no query per request); ingest event batches; show the status with live
 * statistics; and pass pause, resume and rollback to the workflow as signals.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../../../common/config';
import { withTransaction } from '../../../common/db';
import { AppError, conflict, notFound } from '../../../common/errors';
import {
  PAUSE_EXPERIMENT_SIGNAL,
  RESUME_EXPERIMENT_SIGNAL,
  ROLLBACK_EXPERIMENT_SIGNAL,
  WORKFLOW_TYPES,
  onlineExperimentWorkflowId,
  taskQueueFor,
} from '../../../common/names';
import { recordAudit } from '../../../domain/audit/dal';
import { variantOf } from '../../../domain/experiments/assignment';
import * as dal from '../../../domain/experiments/dal';
import { snapshotOf } from '../../../domain/experiments/decide';
import { applyEvents, parseEvents, type RejectedLine } from '../../../domain/experiments/events';
import { planFrom } from '../../../domain/experiments/plan';
import { loadCheckContext } from '../../../domain/gates/dal';
import { findAlias, findModelByName, findVersion } from '../../../domain/models/dal';
import type { onlineExperimentWorkflow } from '../../../workflows/onlineExperiment';
import { hasRole, type Principal } from '../../http/context';
import { requireRole } from '../../http/auth';
import type { ExperimentBody } from './schemas';

/** How long a process serves an experiment's percent before reading it again. */
const SERVING_CACHE_MS = 1000;

interface ServingState {
  experimentId: string;
  ownerTeam: string;
  status: dal.ExperimentStatus;
  step: number;
  percent: number;
  candidate: string;
  baseline: string;
  guardrailEvents: string[];
}

const RELEASING = new Set(['pass', 'overridden']);
const ENDED = new Set(['promoted', 'rolled_back', 'aborted']);

export class ExperimentService {
  private readonly serving = new Map<string, { at: number; state: Promise<ServingState | undefined> }>();

  constructor(
    private readonly pool: Pool,
    private readonly temporal: Client,
    private readonly config: Config,
  ) {}

  async create(body: ExperimentBody, principal: Principal, requestId: string) {
    requireRole(principal, body.ownerTeam, 'editor');
    const ctx = await loadCheckContext(this.pool, body.gateCheckId);
    if (
      !ctx ||
      (!hasRole(principal, ctx.gate.owner_team, 'viewer') && !hasRole(principal, ctx.candidate.ownerTeam, 'viewer'))
    )
      throw new AppError(404, 'not_found', `gate check ${body.gateCheckId} was not found`, 'gateCheckId');
    const [modelName, version] = body.candidate.split('@');
    const model = await findModelByName(this.pool, modelName);
    const candidate = model && (await findVersion(this.pool, model.model_id, version));
    if (!model || !candidate)
      throw new AppError(404, 'not_found', `model version ${body.candidate} is not registered`, 'candidate');
    // Promotion moves the model's alias: the model's team must be the owner, or the caller an editor there too.
    requireRole(principal, model.owner_team, 'editor');
    if (ctx.check.candidate_model_version_id !== candidate.model_version_id)
      throw conflict(
        'gate_not_passed',
        `gate check ${body.gateCheckId} checked ${ctx.candidate.modelVersion}, not ${body.candidate}`,
        'gateCheckId',
      );
    if (!RELEASING.has(ctx.check.status))
      throw conflict(
        'gate_not_passed',
        `gate check ${body.gateCheckId} is ${ctx.check.status}; an experiment needs a passed or overridden check`,
        'gateCheckId',
      );
    const baselineAlias = (body.baseline ?? 'alias:production').slice('alias:'.length);
    const baseline = await findAlias(this.pool, model.model_id, baselineAlias);
    if (!baseline)
      throw conflict('no_baseline', `model ${model.name} has no alias ${baselineAlias} to compare against`, 'baseline');
    if (baseline.model_version_id === candidate.model_version_id)
      throw conflict('not_comparable', `alias ${baselineAlias} already points at ${body.candidate}`, 'baseline');

    const experimentId = randomUUID();
    const idempotencyKey = body.idempotencyKey ?? `auto:${experimentId}`;
    const plan = planFrom(body);
    const created = await withTransaction(this.pool, async (tx) => {
      const inserted = await dal.insertExperiment(tx, {
        experiment_id: experimentId,
        name: body.name,
        owner_team: body.ownerTeam,
        model_id: model.model_id,
        candidate_model_version_id: candidate.model_version_id,
        baseline_alias: baselineAlias,
        baseline_model_version_id: baseline.model_version_id,
        gate_check_id: body.gateCheckId,
        plan,
        workflow_id: onlineExperimentWorkflowId(experimentId),
        idempotency_key: idempotencyKey,
        created_by: principal.principalId,
      });
      if (inserted)
        await recordAudit(tx, {
          principalId: principal.principalId,
          action: 'experiment.create',
          entityKind: 'experiment',
          entityId: experimentId,
          detail: { name: body.name, candidate: body.candidate, baselineAlias, gateCheckId: body.gateCheckId },
          requestId,
        });
      return inserted;
    });
    const experiment = created
      ? (await dal.findExperiment(this.pool, experimentId))!
      : (await dal.findExperimentByKey(this.pool, body.ownerTeam, idempotencyKey))!;
    if (experiment.status === 'running') await this.ensureStarted(experiment);
    return { experiment, created };
  }

  private async ensureStarted(e: dal.ExperimentView): Promise<void> {
    try {
      await this.temporal.workflow.start<typeof onlineExperimentWorkflow>(WORKFLOW_TYPES.onlineExperiment, {
        workflowId: e.workflow_id,
        taskQueue: taskQueueFor(this.config.EVALGATE_TASK_QUEUE_PREFIX, 'release'),
        args: [
          {
            experimentId: e.experiment_id,
            checkEverySeconds: e.plan.checkEverySeconds,
            checksPerRun: this.config.EVALGATE_EXPERIMENT_CHECKS_PER_RUN,
          },
        ],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  /** The serving state, read at most once a second per experiment and process. */
  private servingState(experimentId: string): Promise<ServingState | undefined> {
    const hit = this.serving.get(experimentId);
    if (hit && Date.now() - hit.at < SERVING_CACHE_MS) return hit.state;
    const state = dal.findExperiment(this.pool, experimentId).then((e) =>
      e
        ? {
            experimentId,
            ownerTeam: e.owner_team,
            status: e.status,
            step: e.step,
            percent: e.percent,
            candidate: e.candidate,
            baseline: e.baseline,
            guardrailEvents: e.plan.guardrails.map((g) => g.event),
          }
        : undefined,
    );
    state.catch(() => this.serving.delete(experimentId));
    this.serving.set(experimentId, { at: Date.now(), state });
    if (this.serving.size > 10_000) this.serving.delete(this.serving.keys().next().value!);
    return state;
  }

  private async visibleServing(experimentId: string, principal: Principal, role: 'viewer' | 'editor') {
    const state = await this.servingState(experimentId);
    if (!state || !hasRole(principal, state.ownerTeam, 'viewer')) throw notFound(`experiment ${experimentId}`);
    if (role === 'editor') requireRole(principal, state.ownerTeam, 'editor');
    return state;
  }

  async assignment(experimentId: string, unit: string, principal: Principal) {
    const state = await this.visibleServing(experimentId, principal, 'viewer');
    const variant = variantOf(experimentId, unit, state.percent);
    return {
      unit,
      variant,
      modelVersion: variant === 'treatment' ? state.candidate : state.baseline,
      percent: state.percent,
    };
  }

  /** Ingests a batch; events count only while the experiment runs with traffic in treatment (else: accepted, not counted). */
  async ingest(
    experimentId: string,
    text: string,
    principal: Principal,
  ): Promise<{ accepted: number; counted: number; rejected: RejectedLine[] }> {
    const state = await this.visibleServing(experimentId, principal, 'editor');
    const { events, rejected } = parseEvents(text, state.guardrailEvents);
    const counted =
      // Before the ramp's first step (percent 0) every unit is control: nothing to compare, and counting it would skew the split.
      state.status === 'running' && state.percent > 0
        ? await applyEvents(
            this.pool,
            { experimentId, step: state.step, percent: state.percent, guardrails: state.guardrailEvents.length },
            events,
          )
        : 0;
    return { accepted: events.length, counted, rejected };
  }

  async visible(experimentId: string, principal: Principal): Promise<dal.ExperimentView> {
    const e = await dal.findExperiment(this.pool, experimentId);
    if (!e || !hasRole(principal, e.owner_team, 'viewer')) throw notFound(`experiment ${experimentId}`);
    return e;
  }

  async status(experimentId: string, principal: Principal) {
    const e = await this.visible(experimentId, principal);
    const decided = e.decision?.snapshot as ReturnType<typeof snapshotOf> | undefined;
    const live = async () => {
      const arms = await dal.readArms(this.pool, e.experiment_id, e.step, e.plan.guardrails.length);
      return snapshotOf(e.plan, e.step, arms.control, arms.treatment);
    };
    return { experiment: e, snapshot: ENDED.has(e.status) && decided ? decided : await live() };
  }

  async signal(
    experimentId: string,
    kind: 'pause' | 'resume' | 'rollback',
    principal: Principal,
    reason?: string,
  ): Promise<dal.ExperimentView> {
    const e = await this.visible(experimentId, principal);
    requireRole(principal, e.owner_team, 'editor');
    if (ENDED.has(e.status)) throw conflict('already_decided', `experiment ${experimentId} is ${e.status}`);
    if (kind === 'pause' && e.status !== 'running')
      throw conflict('not_running', `experiment ${experimentId} is ${e.status}`);
    if (kind === 'resume' && e.status !== 'paused')
      throw conflict('not_paused', `experiment ${experimentId} is ${e.status}`);
    const handle = this.temporal.workflow.getHandle(e.workflow_id);
    try {
      if (kind === 'rollback')
        await handle.signal(ROLLBACK_EXPERIMENT_SIGNAL, {
          reason: 'manual',
          message: reason ?? 'rolled back by a person',
          principalId: principal.principalId,
        });
      else
        await handle.signal(kind === 'pause' ? PAUSE_EXPERIMENT_SIGNAL : RESUME_EXPERIMENT_SIGNAL, {
          principalId: principal.principalId,
        });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw conflict('already_decided', `experiment ${experimentId} is no longer running`);
      throw err;
    }
    return e;
  }

  /** Experiments started from a gate's checks (GET /v1/gates/{id}). */
  async ofGate(gateId: string) {
    return dal.experimentsOfGate(this.pool, gateId);
  }
}
