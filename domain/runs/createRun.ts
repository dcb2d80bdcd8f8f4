/**
 * Creating an eval-run record: resolve what the run evaluates, validate that the pieces
 * fit, and insert the eval_runs row with its full lineage. The API (POST /v1/eval-runs)
 * and the release-gate activities both create runs through this module, so a run a gate
 * starts records exactly what a run a person starts records.
 *
 * Who may ask stays with the caller: the API passes guards that check the principal at the
 * same points RunService always did. Where rows may go does not: every run, however started
 * (a person, a gate check), is refused here when an endpoint's owning team (the model's, the
 * judge's) may not read the dataset version's rows (domain/access/policy.ts), and the shard
 * activities check the same rule again before they send a row. Refusals are DomainErrors.
 */
import { runContentKey, runSeed, type RunContent } from '../evidence/seeds';
import { randomUUID } from 'node:crypto';
import type { Config } from '../../common/config';
import { retentionPolicy, retentionSeconds, type RetentionVariable } from '../../common/retention';
import type { Queryable } from '../../common/db';
import { conflicting, DomainError, invalid, missing } from '../errors';
import { modelVersionOwnerTeam } from '../access/dal';
import { unauthorizedEndpoint } from '../access/policy';
import { datasetScope } from '../access/scopes';
import { evalRunWorkflowId, taskQueueFor, type RunMode } from '../../common/names';
import type { TaskType } from '../../common/rows';
import { getMetricImpl, isMetricId } from '../metrics/registry';
import {
  findRunByIdempotencyKey,
  findTargetDataset,
  findTargetDatasetVersion,
  findTargetModelVersionById,
  findTargetModelVersionByName,
  findTargetSuite,
  findTargetSuiteVersion,
  insertRun,
  type RunRecord,
  type TargetDataset,
  type TargetDatasetVersion,
  type TargetModel,
  type TargetModelVersion,
  type TargetSuite,
  type TargetSuiteVersion,
} from './dal';

/** What a run takes from the process's config: its platform version, task queues and retention. */
export type RunDefaults = Pick<Config, 'EVALGATE_PLATFORM_VERSION' | 'EVALGATE_TASK_QUEUE_PREFIX' | RetentionVariable>;

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
    const row = await findTargetModelVersionById(q, ref.modelVersionId);
    if (!row) throw missing(`model version ${ref.modelVersionId} is not registered`, 'modelVersion');
    return { model: row as TargetModel, modelVersion: row as TargetModelVersion };
  }
  const parsed = parseModelVersionRef(ref);
  if (!parsed) throw invalid('modelVersion must look like <model name>@<version>', 'modelVersion');
  const row = await findTargetModelVersionByName(q, parsed.modelName, parsed.version);
  if (!row) throw missing(`model version ${ref} is not registered`, 'modelVersion');
  return { model: row as TargetModel, modelVersion: row as TargetModelVersion };
}

/** Resolves and validates a run's model version, dataset version and suite version, in the order RunService always checked them. */
export async function resolveRunTarget(
  q: Queryable,
  input: RunTargetInput,
  guards: RunGuards = {},
): Promise<RunTarget> {
  const { model, modelVersion } = await resolveModel(q, input.modelVersion);
  const dataset = await findTargetDataset(q, input.datasetId);
  if (!dataset) throw missing(`dataset ${input.datasetId} was not found`, 'datasetId');
  const datasetVersion = await findTargetDatasetVersion(q, dataset.dataset_id, input.datasetVersion);
  if (!datasetVersion)
    throw missing(
      `dataset ${dataset.name} has no ${input.datasetVersion === undefined ? 'active version' : `version ${input.datasetVersion}`}`,
      'datasetVersion',
    );
  guards.datasetVersion?.(dataset, datasetVersion);
  if (datasetVersion.status === 'deprecated') {
    throw conflicting(
      'dataset_deprecated',
      `version ${datasetVersion.version} of ${dataset.name} is deprecated ` +
        `(${datasetVersion.deprecated_reason ?? 'no reason given'}); evaluate a newer version`,
      'datasetVersion',
    );
  }
  const suite = await findTargetSuite(q, input.metricSuiteId);
  if (!suite) throw missing(`metric suite ${input.metricSuiteId} was not found`, 'metricSuiteId');
  const suiteVersion = await findTargetSuiteVersion(q, suite.metric_suite_id, input.metricSuiteVersion);
  if (!suiteVersion)
    throw missing(
      `metric suite ${suite.name} has no ${input.metricSuiteVersion === undefined ? 'versions' : `version ${input.metricSuiteVersion}`}`,
      'metricSuiteVersion',
    );
  guards.modelAndSuite?.(model, suite);
  await refuseUnauthorizedEndpoints(q, model, dataset, datasetVersion, suiteVersion);
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
      `suite ${suite.name} requires human-reviewed labels for release runs; this dataset ` +
        `version's labels are ${datasetVersion.label_policy}`,
      'datasetVersion',
    );
  }
  return { model, modelVersion, dataset, datasetVersion, suite, suiteVersion, mode: input.mode };
}

/** Rows go only to endpoints whose owning team may read them (BRIEF: the access model). */
async function refuseUnauthorizedEndpoints(
  q: Queryable,
  model: TargetModel,
  dataset: TargetDataset,
  datasetVersion: TargetDatasetVersion,
  suiteVersion: TargetSuiteVersion,
): Promise<void> {
  const judgeVersionId = (suiteVersion.judge as { modelVersionId?: string } | null)?.modelVersionId;
  const judgeTeam = judgeVersionId ? await modelVersionOwnerTeam(q, judgeVersionId) : null;
  const refused = unauthorizedEndpoint(
    { modelTeam: model.owner_team, judgeTeam },
    datasetScope(dataset, datasetVersion),
  );
  if (refused === 'model')
    throw new DomainError(
      'forbidden',
      'forbidden',
      `team ${model.owner_team} (model ${model.name}'s owner) may not read the rows of ${dataset.name} ` +
        `v${datasetVersion.version}; its endpoint cannot evaluate them`,
      'modelVersion',
    );
  if (refused === 'judge')
    throw new DomainError(
      'forbidden',
      'forbidden',
      `team ${judgeTeam} (the owner of the suite's judge model) may not read the rows of ${dataset.name} ` +
        `v${datasetVersion.version}; the judge cannot score them`,
      'metricSuiteId',
    );
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
    seeds: { bootstrap: runSeedOf(target), contentKey: runContentKey(runContentOf(target)) },
  };
}

/** What a run's bootstrap seed derives from: the same content gives the same seed, whatever the run id. */
export const runContentOf = (target: RunTarget): RunContent => ({
  datasetContentHash: target.datasetVersion.content_hash,
  modelVersion: `${target.model.name}@${target.modelVersion.version}`,
  metricSuiteContentHash: target.suiteVersion.content_hash,
  metricImplVersions: Object.fromEntries(target.suiteVersion.metrics.map((m) => [m.name, m.implVersion])),
});
const runSeedOf = (target: RunTarget) => runSeed(runContentOf(target));

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
    config: RunDefaults;
  },
): Promise<{ run: RunRecord; created: boolean }> {
  const runId = randomUUID();
  const platformVersion = options.config.EVALGATE_PLATFORM_VERSION;
  const inserted = await insertRun(q, {
    runId,
    idempotencyKey: options.idempotencyKey ?? null,
    modelVersionId: target.modelVersion.model_version_id,
    datasetVersionId: target.datasetVersion.dataset_version_id,
    metricSuiteVersionId: target.suiteVersion.metric_suite_version_id,
    mode: target.mode,
    seed: runSeedOf(target),
    judgeFingerprint: target.suiteVersion.judge_fingerprint,
    metricImplVersions: implVersionsOf(target.suiteVersion),
    lineage: runLineage(target, runId, platformVersion),
    platformVersion,
    workflowId: evalRunWorkflowId(runId),
    taskQueue: taskQueueFor(options.config.EVALGATE_TASK_QUEUE_PREFIX, target.mode),
    progressTotal: Number(target.datasetVersion.row_count),
    createdBy: options.createdBy,
    retentionSeconds: retentionSeconds(target.datasetVersion.classification, retentionPolicy(options.config)),
  });
  if (inserted) return { run: inserted, created: true };
  const existing = await findRunByIdempotencyKey(q, options.createdBy, options.idempotencyKey!);
  return { run: existing!, created: false };
}
