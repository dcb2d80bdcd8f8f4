import type { Queryable } from '../../common/db';
import type { TaskType } from '../../common/rows';

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
  const { rows } = await q.query<Record<string, any>>(
    `SELECT r.run_id, r.mode, r.seed, d.task_type, dv.dataset_version_id, dv.classification,
            mv.model_version_id, m.name AS model_name, mv.version AS model_version, mv.endpoint, mv.prompt_template, mv.params, mv.params_hash, mv.pricing,
            sv.metrics, sv.budget_max_cost_usd, sv.budget_max_calls
       FROM eval_runs r
       JOIN dataset_versions dv USING (dataset_version_id)
       JOIN datasets d ON d.dataset_id = dv.dataset_id
       JOIN model_versions mv ON mv.model_version_id = r.model_version_id
       JOIN models m ON m.model_id = mv.model_id
       JOIN metric_suite_versions sv ON sv.metric_suite_version_id = r.metric_suite_version_id
      WHERE r.run_id = $1`,
    [runId],
  );
  const r = rows[0];
  if (!r) throw new Error(`eval run ${runId} does not exist`);
  const shards = await q.query<{ shard_index: number; object_key: string; row_count: number }>(
    'SELECT shard_index, object_key, row_count FROM dataset_shards WHERE dataset_version_id = $1 ORDER BY shard_index',
    [r.dataset_version_id],
  );
  const context: RunContext = {
    runId,
    mode: r.mode,
    seed: r.seed,
    taskType: r.task_type,
    datasetVersionId: r.dataset_version_id,
    classification: r.classification,
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
    shards: shards.rows.map((s) => ({ index: s.shard_index, objectKey: s.object_key, rowCount: s.row_count })),
  };
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  cache.set(runId, context);
  return context;
}
