import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { recordAudit } from '../../../common/audit';
import type { Config } from '../../../common/config';
import { AppError, conflict, notFound } from '../../../common/errors';
import { CANCEL_EVAL_RUN_SIGNAL, evalRunWorkflowId, taskQueueFor, type RunMode } from '../../../common/names';
import type { evalRunWorkflow } from '../../../workflows/evalRun';
import { hasRole, type Principal } from '../../http/context';
import * as datasetsDal from '../datasets/dal';
import { versionAccess } from '../datasets/service';
import { resolveModelVersion } from '../models/service';
import * as suitesDal from '../suites/dal';
import { findMetric } from '../suites/metricCatalog';
import * as dal from './dal';

export interface NewRun {
  modelVersion: string; datasetId: string; datasetVersion?: number; metricSuiteId: string; metricSuiteVersion?: number;
  mode: RunMode; idempotencyKey?: string;
}

export class RunService {
  constructor(private readonly pool: Pool, private readonly temporal: Client, private readonly config: Config) {}

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
    const { model, version: modelVersion } = await resolveModelVersion(this.pool, input.modelVersion, 'modelVersion');
    const dataset = await datasetsDal.findDataset(this.pool, input.datasetId);
    if (!dataset) throw new AppError(404, 'not_found', `dataset ${input.datasetId} was not found`, 'datasetId');
    const datasetVersion = input.datasetVersion === undefined
      ? await datasetsDal.findLatestVersion(this.pool, dataset.dataset_id)
      : await datasetsDal.findVersion(this.pool, dataset.dataset_id, input.datasetVersion);
    const access = datasetVersion ? versionAccess(principal, dataset, datasetVersion) : 'none';
    if (!datasetVersion || access === 'none') throw new AppError(404, 'not_found', `dataset ${dataset.name} has no ${input.datasetVersion === undefined ? 'active version' : `version ${input.datasetVersion}`}`, 'datasetVersion');
    if (access !== 'rows') throw new AppError(403, 'forbidden', 'evaluating a restricted dataset version needs read access to its rows', 'datasetId');
    if (datasetVersion.status === 'deprecated') {
      throw conflict('dataset_deprecated', `version ${datasetVersion.version} of ${dataset.name} is deprecated (${datasetVersion.deprecated_reason ?? 'no reason given'}); evaluate a newer version`, 'datasetVersion');
    }
    const suite = await suitesDal.findSuite(this.pool, input.metricSuiteId);
    if (!suite) throw new AppError(404, 'not_found', `metric suite ${input.metricSuiteId} was not found`, 'metricSuiteId');
    const suiteVersion = await suitesDal.findVersion(this.pool, suite.metric_suite_id, input.metricSuiteVersion);
    if (!suiteVersion) throw new AppError(404, 'not_found', `metric suite ${suite.name} has no ${input.metricSuiteVersion === undefined ? 'versions' : `version ${input.metricSuiteVersion}`}`, 'metricSuiteVersion');
    if (!hasRole(principal, model.owner_team, 'editor') && !hasRole(principal, suite.owner_team, 'editor')) {
      throw new AppError(403, 'forbidden', `starting a run needs the editor role on team ${model.owner_team} (the model's) or ${suite.owner_team} (the suite's)`);
    }
    for (const metric of suiteVersion.metrics) {
      const impl = findMetric(metric.metric, metric.implVersion);
      if (typeof impl === 'string' || !impl.taskTypes.includes(dataset.task_type)) {
        throw new AppError(400, 'invalid_request', `metric ${metric.name} (${metric.metric}) of suite ${suite.name} does not fit the ${dataset.task_type} dataset ${dataset.name}`, 'metricSuiteId');
      }
    }
    if (input.mode === 'release' && suiteVersion.require_human_labels && datasetVersion.label_policy !== 'human_reviewed') {
      throw conflict('labels_not_human_reviewed', `suite ${suite.name} requires human-reviewed labels for release runs; this dataset version's labels are ${datasetVersion.label_policy}`, 'datasetVersion');
    }

    const runId = randomUUID();
    const implVersions = Object.fromEntries(suiteVersion.metrics.map((m) => [m.metric, m.implVersion]));
    const lineage = {
      dataset: { datasetId: dataset.dataset_id, name: dataset.name, version: datasetVersion.version, datasetVersionId: datasetVersion.dataset_version_id, contentHash: datasetVersion.content_hash, labelPolicy: datasetVersion.label_policy },
      model: {
        modelVersion: `${model.name}@${modelVersion.version}`, modelVersionId: modelVersion.model_version_id, protocol: modelVersion.protocol,
        endpoint: { url: modelVersion.endpoint.url, model: modelVersion.endpoint.model ?? null }, promptTemplateHash: modelVersion.prompt_template_hash,
        params: modelVersion.params, paramsHash: modelVersion.params_hash,
      },
      metricSuite: { metricSuiteId: suite.metric_suite_id, name: suite.name, purpose: suite.purpose, version: suiteVersion.version, metricSuiteVersionId: suiteVersion.metric_suite_version_id, contentHash: suiteVersion.content_hash },
      metricImplVersions: implVersions,
      judge: suiteVersion.judge ? { fingerprint: suiteVersion.judge_fingerprint, modelVersion: suiteVersion.judge.modelVersion, promptHash: suiteVersion.judge.promptHash, params: suiteVersion.judge.params, pinned: suiteVersion.judge.pinned } : null,
      platformVersion: this.config.EVALGATE_PLATFORM_VERSION,
      seeds: { bootstrap: runId },
    };
    const taskQueue = taskQueueFor(this.config.EVALGATE_TASK_QUEUE_PREFIX, input.mode);
    const inserted = await dal.insertRun(this.pool, {
      runId, idempotencyKey: input.idempotencyKey ?? null, modelVersionId: modelVersion.model_version_id, datasetVersionId: datasetVersion.dataset_version_id,
      suiteVersionId: suiteVersion.metric_suite_version_id, mode: input.mode, seed: runId, judgeFingerprint: suiteVersion.judge_fingerprint,
      implVersions, lineage, platformVersion: this.config.EVALGATE_PLATFORM_VERSION, workflowId: evalRunWorkflowId(runId), taskQueue,
      progressTotal: Number(datasetVersion.row_count), createdBy: principal.principalId,
    });
    // A concurrent request with the same key won the insert: answer its run.
    const run = inserted ?? (await dal.findRunByIdempotencyKey(this.pool, principal.principalId, input.idempotencyKey!))!;
    if (inserted) {
      await recordAudit(this.pool, { principalId: principal.principalId, action: 'eval_run.create', entityKind: 'eval_run', entityId: runId, detail: { ...input }, requestId });
    }
    return this.ensureStarted(run);
  }

  /** Starts the run's workflow unless it already exists (safe to call on every idempotent retry). */
  private async ensureStarted(run: dal.RunRecord): Promise<dal.RunRecord> {
    try {
      await this.temporal.workflow.start<typeof evalRunWorkflow>('evalRunWorkflow', {
        workflowId: run.workflow_id,
        taskQueue: run.task_queue,
        args: [{
          runId: run.run_id, shardParallelism: this.config.EVALGATE_SHARD_PARALLELISM, blockSize: this.config.EVALGATE_SHARD_BLOCK_SIZE,
          heartbeatTimeoutMs: this.config.EVALGATE_SHARD_HEARTBEAT_TIMEOUT_MS,
        }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return run;
  }

  /** A run is visible to whoever can see its dataset version (aggregates are not restricted rows). */
  async get(runId: string, principal: Principal) {
    const run = await dal.findRun(this.pool, runId);
    if (!run) throw notFound(`eval run ${runId}`);
    const { rows } = await this.pool.query<datasetsDal.DatasetVersionRecord & { owner_team: string; name: string; task_type: string }>(
      `SELECT v.*, d.owner_team, d.name, d.task_type FROM dataset_versions v JOIN datasets d USING (dataset_id) WHERE v.dataset_version_id = $1`, [run.dataset_version_id]);
    const version = rows[0];
    const dataset = { dataset_id: version.dataset_id, owner_team: version.owner_team } as datasetsDal.DatasetRecord;
    if (versionAccess(principal, dataset, version) === 'none') throw notFound(`eval run ${runId}`);
    const [results, live] = await Promise.all([dal.currentResults(this.pool, runId), dal.shardProgress(this.pool, runId)]);
    return { run, results, live };
  }

  async cancel(runId: string, principal: Principal, requestId: string) {
    const { run } = await this.get(runId, principal);
    if (!['queued', 'running'].includes(run.status)) throw conflict('already_finished', `run ${runId} already ended as ${run.status}`);
    try {
      await this.temporal.workflow.getHandle(run.workflow_id).signal(CANCEL_EVAL_RUN_SIGNAL);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw conflict('already_finished', `run ${runId} has no running workflow`);
      throw err;
    }
    await recordAudit(this.pool, { principalId: principal.principalId, action: 'eval_run.cancel', entityKind: 'eval_run', entityId: runId, requestId });
    return run;
  }
}
