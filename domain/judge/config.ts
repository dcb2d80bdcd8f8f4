/**
 * A judge as the runner uses it: the suite version's judge definition resolved against
 * its openai-chat model version (endpoint, model params, pricing). Loaded once per run
 * per worker process; an incident's replacement judge is built with `judgeConfigFrom`.
 */
import { hashCanonical, sha256Hex } from '../../common/canonical';
import type { Queryable } from '../../common/db';
import type { Pricing } from '../budgets/estimate';
import type { EndpointSpec } from '../models/types';
import {
  findJudgeModelVersion,
  findJudgeModelVersionByName,
  findRunSuiteJudge,
  type JudgeModelVersionRow,
} from './dal';
import type { JudgeOutputSchema, StoredJudge } from './types';

export interface JudgeConfig {
  fingerprint: string;
  modelVersionId: string;
  modelVersion: string;
  endpoint: EndpointSpec;
  pricing: Pricing;
  promptTemplate: string;
  promptHash: string;
  /** The judge model version's params overlaid with the suite's judge params: what is sent. */
  params: Record<string, unknown>;
  /** Hash of params + output schema: part of every judge-cache key. */
  paramsHash: string;
  output: JudgeOutputSchema;
  repeats: number;
  pinned: boolean;
  errorRateLimit: number;
  canary: { datasetId: string; agreementFloor: number | null; maxAgreementDrop: number } | null;
}

/** A canary without an explicit max drop still catches a judge whose agreement moves by more than this. */
export const DEFAULT_MAX_AGREEMENT_DROP = 0.1;

export function judgeConfigFrom(stored: StoredJudge, model: JudgeModelVersionRow, fingerprint: string): JudgeConfig {
  const params = { ...(model.params ?? {}), ...(stored.params ?? {}) };
  return {
    fingerprint,
    modelVersionId: model.model_version_id,
    modelVersion: `${model.model_name}@${model.version}`,
    endpoint: model.endpoint,
    pricing: model.pricing ?? {},
    promptTemplate: stored.promptTemplate,
    promptHash: stored.promptHash,
    params,
    paramsHash: hashCanonical({ params, output: stored.output }),
    output: stored.output,
    repeats: stored.repeats ?? 1,
    pinned: stored.pinned,
    errorRateLimit: stored.errorRateLimit ?? 0.02,
    canary: stored.canaryDatasetId
      ? {
          datasetId: stored.canaryDatasetId,
          agreementFloor: stored.agreementFloor ?? null,
          maxAgreementDrop: stored.maxAgreementDrop ?? DEFAULT_MAX_AGREEMENT_DROP,
        }
      : null,
  };
}

/**
 * The judge's identity: model version (and its endpoint and params), prompt hash, sampling
 * params, output schema and repeats. Runs with different fingerprints are not compared.
 */
export function judgeFingerprint(j: {
  modelVersionId: string;
  endpoint: unknown;
  modelParams: unknown;
  promptHash: string;
  params: Record<string, unknown>;
  output: unknown;
  repeats: number;
}): string {
  return hashCanonical({
    modelVersionId: j.modelVersionId,
    endpoint: j.endpoint,
    modelParams: j.modelParams,
    promptHash: j.promptHash,
    params: j.params,
    output: j.output,
    repeats: j.repeats,
  }).slice(0, 32);
}

/** A judge definition as the API takes it (`modelVersion` is "<model>@<version>"), e.g. an incident's replacement judge. */
export interface JudgeDefinition {
  modelVersion: string;
  promptTemplate: string;
  output: JudgeOutputSchema;
  params?: Record<string, unknown>;
  repeats?: number;
  pinned?: boolean;
  errorRateLimit?: number;
}

/** Resolves a judge definition against the registry: the config the runner needs, with its fingerprint. */
export async function judgeConfigFromDefinition(q: Queryable, def: JudgeDefinition): Promise<JudgeConfig> {
  const at = def.modelVersion.lastIndexOf('@');
  const model = await findJudgeModelVersionByName(q, def.modelVersion.slice(0, at), def.modelVersion.slice(at + 1));
  if (at <= 0 || !model) throw new Error(`judge model version ${def.modelVersion} is not registered`);
  const params = def.params ?? {};
  const stored: StoredJudge = {
    modelVersion: def.modelVersion,
    modelVersionId: model.model_version_id,
    promptTemplate: def.promptTemplate,
    promptHash: sha256Hex(def.promptTemplate),
    output: def.output,
    params,
    repeats: def.repeats ?? 1,
    pinned: def.pinned ?? false,
    errorRateLimit: def.errorRateLimit ?? 0.02,
  };
  const fingerprint = judgeFingerprint({
    modelVersionId: model.model_version_id,
    endpoint: model.endpoint,
    modelParams: model.params,
    promptHash: stored.promptHash,
    params,
    output: def.output,
    repeats: stored.repeats,
  });
  return judgeConfigFrom(stored, model, fingerprint);
}

export async function loadJudgeModelVersion(q: Queryable, modelVersionId: string): Promise<JudgeModelVersionRow> {
  const model = await findJudgeModelVersion(q, modelVersionId);
  if (!model) throw new Error(`judge model version ${modelVersionId} does not exist`);
  return model;
}

const cache = new Map<string, JudgeConfig | null>();
const MAX_CACHED = 200;

/** The run's judge, or null when its suite has none. Registry records are immutable, so caching is safe. */
export async function loadRunJudge(q: Queryable, runId: string): Promise<JudgeConfig | null> {
  if (cache.has(runId)) return cache.get(runId)!;
  const row = await findRunSuiteJudge(q, runId);
  if (!row) throw new Error(`eval run ${runId} does not exist`);
  const { judge, judge_fingerprint: fingerprint } = row;
  const config = judge
    ? judgeConfigFrom(judge, await loadJudgeModelVersion(q, judge.modelVersionId), fingerprint ?? '')
    : null;
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  cache.set(runId, config);
  return config;
}
