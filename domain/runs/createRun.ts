/**
 * Creating an eval-run record: resolve what the run evaluates, validate that the pieces
 * fit, and insert the eval_runs row with its full lineage. The API (POST /v1/eval-runs)
 * and the release-gate activities both create runs through this module, so a run a gate
 * starts records exactly what a run a person starts records.
 *
 * Access control stays with the caller: the API passes guards that check the principal
 * at the same points RunService always did; a gate check was authorised when it was
 * created, so its activities pass none. Refusals are DomainErrors (kind, code, field).
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../../common/config';
import type { Queryable } from '../../common/db';
import { conflicting, invalid, missing } from '../errors';
import { evalRunWorkflowId, taskQueueFor, type RunMode } from '../../common/names';
import type { TaskType } from '../../common/rows';
import { getMetricImpl, isMetricId } from '../metrics/registry';

export interface RunRecord {
  run_id: string;
  idempotency_key: string | null;
  model_version_id: string;
  dataset_version_id: string;
  metric_suite_version_id: string;
  mode: 'exploratory' | 'release';
  status: string;
  error_class: string | null;
  error_message: string | null;
  invalid_reason: string | null;
  progress_done: string;
  progress_total: string;
  seed: string;
  judge_fingerprint: string | null;
  metric_impl_versions: Record<string, string>;
  lineage: Record<string, unknown>;
  platform_version: string;
  workflow_id: string;
  task_queue: string;
  cost_model_usd: string;
  cost_judge_usd: string;
  calls_model: string;
  calls_judge: string;
  cache_hits: string;
  errors: string;
  queue_ms: string | null;
  run_ms: string | null;
  judge_flags: Record<string, unknown>;
  created_by: string;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface TargetModel {
  model_id: string;
  name: string;
  owner_team: string;
}
export interface TargetModelVersion {
  model_version_id: string;
  version: string;
  protocol: string;
  endpoint: { url: string; model?: string };
  prompt_template_hash: string | null;
  params: Record<string, unknown>;
  params_hash: string;
}
export interface TargetDataset {
  dataset_id: string;
  name: string;
  task_type: TaskType;
  owner_team: string;
}
export interface TargetDatasetVersion {
  dataset_version_id: string;
  dataset_id: string;
  version: number;
  content_hash: string;
  row_count: string;
  label_policy: string;
  visibility: 'public' | 'internal' | 'restricted';
  allowed_teams: string[];
  status: 'active' | 'deprecated';
  deprecated_reason: string | null;
}
export interface TargetSuite {
  metric_suite_id: string;
  name: string;
  purpose: 'exploratory' | 'release_blocking';
  owner_team: string;
}
export interface TargetSuiteVersion {
  metric_suite_version_id: string;
  version: number;
  content_hash: string;
  require_human_labels: boolean;
  judge_fingerprint: string | null;
  metrics: { name: string; metric: string; implVersion: string }[];
  judge: { modelVersion: string; promptHash: string; params: unknown; pinned: boolean } | null;
}

/** Everything a run evaluates, resolved and validated. */
export interface RunTarget {
  model: TargetModel;
  modelVersion: TargetModelVersion;
  dataset: TargetDataset;
  datasetVersion: TargetDatasetVersion;
  suite: TargetSuite;
  suiteVersion: TargetSuiteVersion;
  mode: RunMode;
}

export interface RunTargetInput {
  /** `<model>@<version>`, or the version's id when the caller resolved it already. */
  modelVersion: string | { modelVersionId: string };
  datasetId: string;
  datasetVersion?: number;
  metricSuiteId: string;
  metricSuiteVersion?: number;
  mode: RunMode;
}

/** Caller checks run at fixed points; each throws to refuse (api/ guards throw AppErrors). */
export interface RunGuards {
  /** After the dataset version is found, before anything is said about its state. */
  datasetVersion?(dataset: TargetDataset, version: TargetDatasetVersion): void;
  /** After model and suite are known. */
  modelAndSuite?(model: TargetModel, suite: TargetSuite): void;
}

/** Splits "<modelName>@<version>"; the version is after the last '@'. */
export function parseModelVersionRef(ref: string): { modelName: string; version: string } | null {
  const at = ref.lastIndexOf('@');
  if (at <= 0 || at === ref.length - 1) return null;
  return { modelName: ref.slice(0, at), version: ref.slice(at + 1) };
}

async function resolveModel(q: Queryable, ref: RunTargetInput['modelVersion']) {
  if (typeof ref !== 'string') {
    const { rows } = await q.query<TargetModelVersion & TargetModel>(
      'SELECT v.*, m.name, m.owner_team FROM model_versions v JOIN models m USING (model_id) WHERE v.model_version_id = $1',
      [ref.modelVersionId],
    );
    if (!rows[0]) throw missing(`model version ${ref.modelVersionId} is not registered`, 'modelVersion');
    return { model: rows[0] as TargetModel, modelVersion: rows[0] as TargetModelVersion };
  }
  const parsed = parseModelVersionRef(ref);
  if (!parsed) throw invalid('modelVersion must look like <model name>@<version>', 'modelVersion');
  const { rows } = await q.query<TargetModelVersion & TargetModel>(
    'SELECT v.*, m.name, m.owner_team FROM models m JOIN model_versions v USING (model_id) WHERE m.name = $1 AND v.version = $2',
    [parsed.modelName, parsed.version],
  );
  if (!rows[0]) throw missing(`model version ${ref} is not registered`, 'modelVersion');
  return { model: rows[0] as TargetModel, modelVersion: rows[0] as TargetModelVersion };
}

/** Resolves and validates a run's model version, dataset version and suite version, in the order RunService always checked them. */
export async function resolveRunTarget(
  q: Queryable,
  input: RunTargetInput,
  guards: RunGuards = {},
): Promise<RunTarget> {
  const { model, modelVersion } = await resolveModel(q, input.modelVersion);
  const dataset = (await q.query<TargetDataset>('SELECT * FROM datasets WHERE dataset_id = $1', [input.datasetId]))
    .rows[0];
  if (!dataset) throw missing(`dataset ${input.datasetId} was not found`, 'datasetId');
  const datasetVersion = (
    input.datasetVersion === undefined
      ? await q.query<TargetDatasetVersion>(
          `SELECT * FROM dataset_versions WHERE dataset_id = $1 AND status = 'active' ORDER BY version DESC LIMIT 1`,
          [dataset.dataset_id],
        )
      : await q.query<TargetDatasetVersion>('SELECT * FROM dataset_versions WHERE dataset_id = $1 AND version = $2', [
          dataset.dataset_id,
          input.datasetVersion,
        ])
  ).rows[0];
  if (!datasetVersion)
    throw missing(
      `dataset ${dataset.name} has no ${input.datasetVersion === undefined ? 'active version' : `version ${input.datasetVersion}`}`,
      'datasetVersion',
    );
  guards.datasetVersion?.(dataset, datasetVersion);
  if (datasetVersion.status === 'deprecated') {
    throw conflicting(
      'dataset_deprecated',
      `version ${datasetVersion.version} of ${dataset.name} is deprecated (${datasetVersion.deprecated_reason ?? 'no reason given'}); evaluate a newer version`,
      'datasetVersion',
    );
  }
  const suite = (
    await q.query<TargetSuite>('SELECT * FROM metric_suites WHERE metric_suite_id = $1', [input.metricSuiteId])
  ).rows[0];
  if (!suite) throw missing(`metric suite ${input.metricSuiteId} was not found`, 'metricSuiteId');
  const suiteVersion = (
    input.metricSuiteVersion === undefined
      ? await q.query<TargetSuiteVersion>(
          'SELECT * FROM metric_suite_versions WHERE metric_suite_id = $1 ORDER BY version DESC LIMIT 1',
          [suite.metric_suite_id],
        )
      : await q.query<TargetSuiteVersion>(
          'SELECT * FROM metric_suite_versions WHERE metric_suite_id = $1 AND version = $2',
          [suite.metric_suite_id, input.metricSuiteVersion],
        )
  ).rows[0];
  if (!suiteVersion)
    throw missing(
      `metric suite ${suite.name} has no ${input.metricSuiteVersion === undefined ? 'versions' : `version ${input.metricSuiteVersion}`}`,
      'metricSuiteVersion',
    );
  guards.modelAndSuite?.(model, suite);
  for (const metric of suiteVersion.metrics) {
    if (!metricFits(metric.metric, metric.implVersion, dataset.task_type)) {
      throw invalid(
        `metric ${metric.name} (${metric.metric}) of suite ${suite.name} does not fit the ${dataset.task_type} dataset ${dataset.name}`,
        'metricSuiteId',
      );
    }
  }
  if (
    input.mode === 'release' &&
    suiteVersion.require_human_labels &&
    datasetVersion.label_policy !== 'human_reviewed'
  ) {
    throw conflicting(
      'labels_not_human_reviewed',
      `suite ${suite.name} requires human-reviewed labels for release runs; this dataset version's labels are ${datasetVersion.label_policy}`,
      'datasetVersion',
    );
  }
  return { model, modelVersion, dataset, datasetVersion, suite, suiteVersion, mode: input.mode };
}

function metricFits(id: string, implVersion: string, taskType: TaskType): boolean {
  if (!isMetricId(id)) return false;
  try {
    return getMetricImpl(id, implVersion).taskTypes.includes(taskType);
  } catch {
    return false;
  }
}

/** The lineage a run records (BRIEF invariant 2). */
export function runLineage(target: RunTarget, runId: string, platformVersion: string) {
  const { model, modelVersion, dataset, datasetVersion, suite, suiteVersion } = target;
  return {
    dataset: {
      datasetId: dataset.dataset_id,
      name: dataset.name,
      version: datasetVersion.version,
      datasetVersionId: datasetVersion.dataset_version_id,
      contentHash: datasetVersion.content_hash,
      labelPolicy: datasetVersion.label_policy,
    },
    model: {
      modelVersion: `${model.name}@${modelVersion.version}`,
      modelVersionId: modelVersion.model_version_id,
      protocol: modelVersion.protocol,
      endpoint: { url: modelVersion.endpoint.url, model: modelVersion.endpoint.model ?? null },
      promptTemplateHash: modelVersion.prompt_template_hash,
      params: modelVersion.params,
      paramsHash: modelVersion.params_hash,
    },
    metricSuite: {
      metricSuiteId: suite.metric_suite_id,
      name: suite.name,
      purpose: suite.purpose,
      version: suiteVersion.version,
      metricSuiteVersionId: suiteVersion.metric_suite_version_id,
      contentHash: suiteVersion.content_hash,
    },
    metricImplVersions: implVersionsOf(suiteVersion),
    judge: suiteVersion.judge
      ? {
          fingerprint: suiteVersion.judge_fingerprint,
          modelVersion: suiteVersion.judge.modelVersion,
          promptHash: suiteVersion.judge.promptHash,
          params: suiteVersion.judge.params,
          pinned: suiteVersion.judge.pinned,
        }
      : null,
    platformVersion,
    seeds: { bootstrap: runId },
  };
}

const implVersionsOf = (v: TargetSuiteVersion) => Object.fromEntries(v.metrics.map((m) => [m.metric, m.implVersion]));

/**
 * Inserts the run row. With an idempotency key, a concurrent or repeated insert by the same
 * principal answers the run that won; `created` says whether this call made it.
 */
export async function insertRunRecord(
  q: Queryable,
  target: RunTarget,
  options: {
    idempotencyKey?: string | null;
    createdBy: string;
    config: Pick<Config, 'EVALGATE_PLATFORM_VERSION' | 'EVALGATE_TASK_QUEUE_PREFIX'>;
  },
): Promise<{ run: RunRecord; created: boolean }> {
  const runId = randomUUID();
  const platformVersion = options.config.EVALGATE_PLATFORM_VERSION;
  const { rows } = await q.query<RunRecord>(
    `INSERT INTO eval_runs (run_id, idempotency_key, model_version_id, dataset_version_id, metric_suite_version_id, mode, seed, judge_fingerprint,
                            metric_impl_versions, lineage, platform_version, workflow_id, task_queue, progress_total, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     ON CONFLICT (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING *`,
    [
      runId,
      options.idempotencyKey ?? null,
      target.modelVersion.model_version_id,
      target.datasetVersion.dataset_version_id,
      target.suiteVersion.metric_suite_version_id,
      target.mode,
      runId,
      target.suiteVersion.judge_fingerprint,
      JSON.stringify(implVersionsOf(target.suiteVersion)),
      JSON.stringify(runLineage(target, runId, platformVersion)),
      platformVersion,
      evalRunWorkflowId(runId),
      taskQueueFor(options.config.EVALGATE_TASK_QUEUE_PREFIX, target.mode),
      Number(target.datasetVersion.row_count),
      options.createdBy,
    ],
  );
  if (rows[0]) return { run: rows[0], created: true };
  const existing = await findRunByIdempotencyKey(q, options.createdBy, options.idempotencyKey!);
  return { run: existing!, created: false };
}

export async function findRunByIdempotencyKey(
  q: Queryable,
  createdBy: string,
  key: string,
): Promise<RunRecord | undefined> {
  const { rows } = await q.query<RunRecord>('SELECT * FROM eval_runs WHERE created_by = $1 AND idempotency_key = $2', [
    createdBy,
    key,
  ]);
  return rows[0];
}

/**
 * The newest run that may decide a gate for this model × dataset × suite version: release
 * mode, succeeded, not invalidated, no judge drift, every current result complete.
 */
export async function findDecidingRun(
  q: Queryable,
  key: { modelVersionId: string; datasetVersionId: string; suiteVersionId: string },
): Promise<RunRecord | undefined> {
  const { rows } = await q.query<RunRecord>(
    `SELECT r.* FROM eval_runs r
      WHERE r.model_version_id = $1 AND r.dataset_version_id = $2 AND r.metric_suite_version_id = $3
        AND r.mode = 'release' AND r.status = 'succeeded' AND COALESCE((r.judge_flags->>'drift')::boolean, false) = false
      ORDER BY r.finished_at DESC NULLS LAST, r.created_at DESC LIMIT 1`,
    [key.modelVersionId, key.datasetVersionId, key.suiteVersionId],
  );
  return rows[0];
}
