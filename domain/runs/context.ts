import type { Queryable } from '../../common/db';
import { retentionSeconds } from '../../common/retention';
import type { TaskType } from '../../common/rows';
import { findRunContextRow, listDatasetShards } from './dal';

export interface RunShard {
  index: number;
  objectKey: string;
  rowCount: number;
}

/** Everything a shard needs to know about its run, loaded once per run per worker process. */
export interface RunContext {
  runId: string;
  mode: 'exploratory' | 'release';
  seed: string;
  taskType: TaskType;
  datasetVersionId: string;
  classification: string;
  /** How long the run's outputs live after it ends (eval_runs.retention_seconds, else the classification's default). */
  retentionSeconds: number;
  modelVersionId: string;
  modelVersion: string;
  endpoint: {
    protocol: 'openai-chat' | 'json-predict';
    url: string;
    model?: string;
    maxConcurrency?: number;
    maxRps?: number;
  };
  promptTemplate: string | null;
  params: Record<string, unknown>;
  paramsHash: string;
  pricing: { inputPer1kTokensUsd?: number; outputPer1kTokensUsd?: number; perCallUsd?: number };
  metrics: { name: string; metric: string; params: Record<string, unknown>; slices?: string[]; implVersion: string }[];
  budget: { maxCostUsd: number | null; maxCalls: number | null };
  shards: RunShard[];
}

const cache = new Map<string, RunContext>();
const MAX_CACHED = 200;

export async function loadRunContext(q: Queryable, runId: string): Promise<RunContext> {
  const hit = cache.get(runId);
  if (hit) return hit;
  const r = await findRunContextRow(q, runId);
  if (!r) throw new Error(`eval run ${runId} does not exist`);
  const shards = await listDatasetShards(q, r.dataset_version_id);
  const context: RunContext = {
    runId,
    mode: r.mode,
    seed: r.seed,
    taskType: r.task_type,
    datasetVersionId: r.dataset_version_id,
    classification: r.classification,
    retentionSeconds: r.retention_seconds === null ? retentionSeconds(r.classification) : Number(r.retention_seconds),
    modelVersionId: r.model_version_id,
    modelVersion: `${r.model_name}@${r.model_version}`,
    endpoint: r.endpoint,
    promptTemplate: r.prompt_template,
    params: r.params,
    paramsHash: r.params_hash,
    pricing: r.pricing,
    metrics: r.metrics,
    budget: {
      maxCostUsd: r.budget_max_cost_usd === null ? null : Number(r.budget_max_cost_usd),
      maxCalls: r.budget_max_calls === null ? null : Number(r.budget_max_calls),
    },
    shards: shards.map((s) => ({ index: s.shard_index, objectKey: s.object_key, rowCount: s.row_count })),
  };
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  cache.set(runId, context);
  return context;
}
