import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { parseModelVersion } from '../models/service';
import type { Pool } from 'pg';
import { recordAudit } from '../../../domain/audit/dal';
import type { Config } from '../../../common/config';
import { AppError, conflict, notFound } from '../../../common/errors';
import { CANCEL_EVAL_RUN_SIGNAL, WORKFLOW_TYPES, type RunMode } from '../../../common/names';
import { insertRunRecord, resolveRunTarget } from '../../../domain/runs/createRun';
import type { evalRunWorkflow } from '../../../workflows/evalRun';
import { hasRole, type Principal } from '../../http/context';
import { runAccessFacts } from '../../../domain/access/dal';
import { authorize } from '../../../domain/access/policy';
import { pageOf } from '../../http/pagination';
import * as datasetsDal from '../../../domain/datasets/dal';
import { runRetention } from '../../../domain/retention/runRetention';
import { versionAccess } from '../datasets/service';
import { runJudgeSections } from '../judge/view';
import * as dal from '../../../domain/runs/dal';

export interface ListRunsQuery {
  modelId?: string;
  modelVersion?: string;
  datasetId?: string;
  metricSuiteId?: string;
  status?: string;
  mode?: 'exploratory' | 'release';
  limit: number;
  cursor?: string;
}

export interface NewRun {
  modelVersion: string;
  datasetId: string;
  datasetVersion?: number;
  metricSuiteId: string;
  metricSuiteVersion?: number;
  mode: RunMode;
  idempotencyKey?: string;
}

export class RunService {
  constructor(
    private readonly pool: Pool,
    private readonly temporal: Client,
    private readonly config: Config,
  ) {}

  /**
   * Records a run with its full lineage and starts its workflow. The workflow id is derived
   * from the run id, and a repeated idempotency key returns the same run, so one request
   * can never start two workflows.
   */
  async create(input: NewRun, principal: Principal, requestId: string): Promise<dal.RunRecord> {
    if (input.idempotencyKey) {
      const existing = await dal.findRunByIdempotencyKey(this.pool, principal.principalId, input.idempotencyKey);
      if (existing) return this.ensureStarted(existing);
    }
    const target = await resolveRunTarget(this.pool, input, {
      datasetVersion: (dataset, version) => {
        const access = versionAccess(
          principal,
          dataset as datasetsDal.DatasetRecord,
          version as datasetsDal.DatasetVersionRecord,
        );
        if (access === 'none')
          throw new AppError(
            404,
            'not_found',
            `dataset ${dataset.name} has no ${input.datasetVersion === undefined ? 'active version' : `version ${input.datasetVersion}`}`,
            'datasetVersion',
          );
        if (access !== 'rows')
          throw new AppError(
            403,
            'forbidden',
            'evaluating a restricted dataset version needs read access to its rows',
            'datasetId',
          );
      },
      modelAndSuite: (model, suite) => {
        if (!hasRole(principal, model.owner_team, 'editor') && !hasRole(principal, suite.owner_team, 'editor')) {
          throw new AppError(
            403,
            'forbidden',
            `starting a run needs the editor role on team ${model.owner_team} (the model's) or ${suite.owner_team} (the suite's)`,
          );
        }
      },
    });
    const { run, created } = await insertRunRecord(this.pool, target, {
      idempotencyKey: input.idempotencyKey ?? null,
      createdBy: principal.principalId,
      config: this.config,
    });
    // A concurrent request with the same key won the insert: answer its run.
    if (created) {
      await recordAudit(this.pool, {
        principalId: principal.principalId,
        action: 'eval_run.create',
        entityKind: 'eval_run',
        entityId: run.run_id,
        detail: { ...input },
        requestId,
      });
    }
    return this.ensureStarted(run);
  }

  /** Starts the run's workflow unless it already exists (safe to call on every idempotent retry). */
  private async ensureStarted(run: dal.RunRecord): Promise<dal.RunRecord> {
    try {
      await this.temporal.workflow.start<typeof evalRunWorkflow>(WORKFLOW_TYPES.evalRun, {
        workflowId: run.workflow_id,
        taskQueue: run.task_queue,
        args: [
          {
            runId: run.run_id,
            shardParallelism: this.config.EVALGATE_SHARD_PARALLELISM,
            blockSize: this.config.EVALGATE_SHARD_BLOCK_SIZE,
            heartbeatTimeoutMs: this.config.EVALGATE_SHARD_HEARTBEAT_TIMEOUT_MS,
          },
        ],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return run;
  }

  /**
   * Runs the caller may see, newest first: a run on a restricted dataset version only for
   * the teams that may see that version (a page may hold fewer than `limit` runs then).
   */
  async list(query: ListRunsQuery, principal: Principal) {
    const modelVersion = query.modelVersion ? parseModelVersion(query.modelVersion) : undefined;
    if (modelVersion === null)
      throw new AppError(400, 'invalid_request', 'modelVersion: must look like <model>@<version>', 'modelVersion');
    const rows = await dal.listRuns(
      this.pool,
      {
        modelId: query.modelId,
        modelVersion: modelVersion && { model: modelVersion.modelName, version: modelVersion.version },
        datasetId: query.datasetId,
        metricSuiteId: query.metricSuiteId,
        status: query.status,
        mode: query.mode,
      },
      query.cursor ?? null,
      query.limit + 1,
    );
    const page = pageOf(rows, query.limit, (r) => r.run_id);
    const visible = page.items.filter(
      (r) =>
        versionAccess(
          principal,
          { dataset_id: r.dataset_id, owner_team: r.dataset_owner_team } as datasetsDal.DatasetRecord,
          { visibility: r.visibility, allowed_teams: r.allowed_teams } as datasetsDal.DatasetVersionRecord,
        ) !== 'none',
    );
    return { items: visible, nextCursor: page.nextCursor };
  }

  /** A run is visible to whoever can see its dataset version (aggregates are not restricted rows). */
  async get(runId: string, principal: Principal) {
    const run = await dal.findRun(this.pool, runId);
    if (!run) throw notFound(`eval run ${runId}`);
    const version = await dal.findRunDatasetVersion(this.pool, run.dataset_version_id);
    const dataset = { dataset_id: version.dataset_id, owner_team: version.owner_team } as datasetsDal.DatasetRecord;
    if (versionAccess(principal, dataset, version) === 'none') throw notFound(`eval run ${runId}`);
    const [results, live, judging, retention] = await Promise.all([
      dal.currentResults(this.pool, runId),
      dal.shardProgress(this.pool, runId),
      runJudgeSections(this.pool, run),
      runRetention(this.pool, runId),
    ]);
    return { run, results, live, judging, retention };
  }

  /** Cancelled by editors of the run's owning teams (the model's or the suite's) or admins; others who see it get 403. */
  async cancel(runId: string, principal: Principal, requestId: string) {
    const facts = await runAccessFacts(this.pool, runId);
    const decision = facts
      ? authorize(principal, 'cancel', {
          kind: 'run',
          modelTeam: facts.modelTeam,
          suiteTeam: facts.suiteTeam,
          dataset: facts.dataset,
        })
      : 'hidden';
    if (decision === 'hidden') throw notFound(`eval run ${runId}`);
    if (decision === 'deny')
      throw new AppError(
        403,
        'forbidden',
        `cancelling a run needs the editor role on team ${facts!.modelTeam} (the model's) or ${facts!.suiteTeam} (the suite's)`,
      );
    const run = (await dal.findRun(this.pool, runId))!;
    if (!['queued', 'running'].includes(run.status))
      throw conflict('already_finished', `run ${runId} already ended as ${run.status}`);
    try {
      await this.temporal.workflow.getHandle(run.workflow_id).signal(CANCEL_EVAL_RUN_SIGNAL);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw conflict('already_finished', `run ${runId} has no running workflow`);
      throw err;
    }
    await recordAudit(this.pool, {
      principalId: principal.principalId,
      action: 'eval_run.cancel',
      entityKind: 'eval_run',
      entityId: runId,
      requestId,
    });
    return run;
  }
}
