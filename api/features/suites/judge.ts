/**
 * A suite's judge: an openai-chat model version plus prompt template, output schema and
 * sampling params. Its fingerprint names exactly that combination (gates refuse to
 * compare runs across fingerprints). A pinned judge sends temperature 0; a
 * release-blocking suite must pin its judge, so its verdicts can gate a release.
 */
import { sha256Hex } from '../../../common/canonical';
import type { Queryable } from '../../../common/db';
import { AppError } from '../../../common/errors';
import type { TaskType } from '../../../common/rows';
import { judgeFingerprint } from '../../../domain/judge/config';
import { templateFields } from '../../../domain/models/template';
import type { Principal } from '../../http/context';
import * as datasetsDal from '../../../domain/datasets/dal';
import { versionAccess } from '../datasets/service';
import { resolveModelVersion } from '../models/service';
import type { SuiteVersionBody } from '../../../domain/suites/schemas';

const bad = (message: string, field: string) => new AppError(400, 'invalid_request', message, field);

type JudgeBody = NonNullable<SuiteVersionBody['judge']>;

/** Checks what the schema cannot: pinning rules, prompt fields, the canary's dataset. */
export async function resolveJudge(
  q: Queryable,
  judge: JudgeBody,
  ctx: { purpose: string; taskTypes: TaskType[]; principal: Principal },
) {
  if (!ctx.taskTypes.includes('generation')) {
    throw bad(
      "judge: a judge scores generation outputs; this suite's metrics are for " + ctx.taskTypes.join(', '),
      'judge',
    );
  }
  const { version } = await resolveModelVersion(q, judge.modelVersion, 'judge.modelVersion');
  if (version.protocol !== 'openai-chat')
    throw bad(
      `judge.modelVersion: ${judge.modelVersion} uses ${version.protocol}; a judge must speak openai-chat`,
      'judge.modelVersion',
    );
  if (!templateFields(judge.promptTemplate).includes('output')) {
    throw bad(
      'judge.promptTemplate: the template must show the judge the candidate with {{output}} (and usually {{input}}, ' +
        '{{reference}}, {{rubric}})',
      'judge.promptTemplate',
    );
  }
  const params = judge.params ?? {};
  checkParams(params);
  if (ctx.purpose === 'release_blocking' && !judge.pinned) {
    throw bad(
      'judge.pinned: a release-blocking suite must pin its judge (exact model version, prompt and params with ' +
        'temperature 0); set pinned: true',
      'judge.pinned',
    );
  }
  if (judge.pinned && params.temperature !== 0) {
    throw bad(
      `judge.params.temperature: a pinned judge must sample with temperature 0` +
        `${ctx.purpose === 'release_blocking' ? ' (this suite is release-blocking)' : ''}; ` +
        `add "temperature": 0 (and a "seed" if the endpoint honours one)`,
      'judge.params.temperature',
    );
  }
  if ((judge.agreementFloor !== undefined || judge.maxAgreementDrop !== undefined) && !judge.canaryDatasetId) {
    throw bad(
      'judge.canaryDatasetId: agreementFloor and maxAgreementDrop need a canary dataset to measure agreement on',
      'judge.canaryDatasetId',
    );
  }
  if (judge.canaryDatasetId) await checkCanary(q, judge.canaryDatasetId, ctx.principal);

  const promptHash = sha256Hex(judge.promptTemplate);
  const record = { ...judge, params, modelVersionId: version.model_version_id, promptHash };
  const fingerprint = judgeFingerprint({
    modelVersionId: version.model_version_id,
    endpoint: version.endpoint,
    modelParams: version.params,
    promptHash,
    params,
    output: judge.output,
    repeats: judge.repeats,
  });
  return { record, fingerprint };
}

function checkParams(params: Record<string, unknown>): void {
  if (
    params.temperature !== undefined &&
    (typeof params.temperature !== 'number' || params.temperature < 0 || params.temperature > 2)
  ) {
    throw bad('judge.params.temperature: must be a number from 0 to 2', 'judge.params.temperature');
  }
  if (params.seed !== undefined && !Number.isSafeInteger(params.seed))
    throw bad('judge.params.seed: must be an integer', 'judge.params.seed');
  for (const reserved of ['model', 'messages', 'stream']) {
    if (reserved in params)
      throw bad(
        `judge.params.${reserved}: set by evalgate (the judge model version and the rendered prompt); remove it`,
        `judge.params.${reserved}`,
      );
  }
}

/** The canary must be a generation dataset with an active version whose rows the suite's editor may read. */
async function checkCanary(q: Queryable, datasetId: string, principal: Principal): Promise<void> {
  const dataset = await datasetsDal.findDataset(q, datasetId);
  const version = dataset && (await datasetsDal.findLatestVersion(q, datasetId));
  if (!dataset || (version && versionAccess(principal, dataset, version) === 'none')) {
    throw new AppError(404, 'not_found', `canary dataset ${datasetId} was not found`, 'judge.canaryDatasetId');
  }
  if (dataset.task_type !== 'generation') {
    throw bad(
      `judge.canaryDatasetId: ${dataset.name} is a ${dataset.task_type} dataset; a canary is a generation dataset of { ` +
        `id, input, reference?, output, humanScore } rows`,
      'judge.canaryDatasetId',
    );
  }
  if (!version)
    throw bad(`judge.canaryDatasetId: ${dataset.name} has no active version to judge`, 'judge.canaryDatasetId');
  if (versionAccess(principal, dataset, version) !== 'rows') {
    throw new AppError(
      403,
      'forbidden',
      `the canary's rows (${dataset.name}) are restricted to teams you are not in`,
      'judge.canaryDatasetId',
    );
  }
}
