/**
 * A whole evalgate world for run, gate and incident tests (and bench/gate-checks.ts): the test stack, in-process
 * workers on a task-queue prefix of their own, the reference model server, and a
 * team with an editor who has registered datasets, suites and models.
 */
import { NativeConnection, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createModelServer, type ModelServer } from './modelServer/server';
import type { SpamTag } from './corpus/spamCorpus';
import { datasetJsonl, type RowOptions } from './corpus/writeDatasets';
import { bundleWorkflows, createEvalWorkers, installTemporalLogging } from '../workers/evalWorkers';
import type { Resolver } from '../common/resolver';
import { principal, startTestStack, unique, type ApiClient, type TestStack } from './stack';

export interface EvalWorld {
  stack: TestStack;
  server: ModelServer;
  team: string;
  editor: ApiClient & { principalId: string };
  workers: Worker[];
  startWorkers(): Promise<void>;
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

/** What the registration helpers below need: a team and an editor of it (an EvalWorld has both). */
export interface TeamEditor {
  editor: ApiClient;
  team: string;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

export async function startEvalWorld(
  overrides: Record<string, string> = {},
  options: { resolver?: Resolver } = {},
): Promise<EvalWorld> {
  const stack = await startTestStack(
    {
      EVALGATE_TASK_QUEUE_PREFIX: unique('t').toLowerCase(),
      EVALGATE_SHARD_HEARTBEAT_TIMEOUT_MS: '5000',
      EVALGATE_RETRY_BASE_MS: '20',
      EVALGATE_MODEL_MAX_ATTEMPTS: '10',
      ...overrides,
    },
    options,
  );
  installTemporalLogging(stack.logger);
  const server = await createModelServer();
  const team = unique('ml');
  const editor = await principal(stack, 'editor', [{ team, roles: ['editor', 'approver'] }]);
  const connection = await NativeConnection.connect({ address: stack.config.EVALGATE_TEMPORAL_ADDRESS });
  bundle ??= bundleWorkflows();
  let running: Promise<void>[] = [];
  const world: EvalWorld = {
    stack,
    server,
    team,
    editor,
    workers: [],
    async startWorkers() {
      world.workers = await createEvalWorkers({
        config: stack.config,
        pool: stack.pool,
        storage: stack.storage,
        logger: stack.logger,
        connection,
        bundle: await bundle,
        resolver: stack.resolver,
      });
      running = world.workers.map((w) => w.run());
    },
    async stopWorkers() {
      for (const w of world.workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.allSettled(running);
      world.workers = [];
    },
    async close() {
      await world.stopWorkers();
      await connection.close();
      await server.close();
      await stack.close();
    },
  };
  await world.startWorkers();
  return world;
}

/**
 * Registers a dataset from the SpamAssassin held-out split and returns its id. `mix`
 * takes the first N rows of each slice, so small datasets still hold every slice.
 */
export async function registerSpamDataset(
  world: TeamEditor,
  options: RowOptions & { labelPolicy?: string; query?: string; mix?: Partial<Record<SpamTag, number>> } = {},
) {
  const created = await world.editor.post('/v1/datasets', {
    name: unique('spam'),
    taskType: 'classification',
    ownerTeam: world.team,
  });
  const datasetId = created.body.datasetId as string;
  const body = options.mix
    ? Object.entries(options.mix)
        .map(([tag, limit]) => datasetJsonl('classification', { ...options, tags: [tag as SpamTag], limit }))
        .join('')
    : datasetJsonl('classification', options);
  const up = await world.editor.ndjson(
    `/v1/datasets/${datasetId}/versions?labelPolicy=${options.labelPolicy ?? 'human_reviewed'}${options.query ?? ''}`,
    body,
  );
  if (up.status !== 201) throw new Error(`upload failed: ${JSON.stringify(up.body)}`);
  return { datasetId, version: up.body.version as number, rowCount: up.body.rowCount as number };
}

export const SPAM_METRICS = [
  { name: 'accuracy', metric: 'accuracy' },
  { name: 'f1_spam', metric: 'f1', params: { average: 'binary', positiveLabel: 'spam' } },
  { name: 'auc', metric: 'roc_auc', params: { positiveLabel: 'spam' } },
];

export async function registerSuite(
  world: TeamEditor,
  purpose: 'exploratory' | 'release_blocking' = 'exploratory',
  metrics: unknown[] = SPAM_METRICS,
  extra: Record<string, unknown> = {},
) {
  const suite = await world.editor.post('/v1/metric-suites', { name: unique('suite'), purpose, ownerTeam: world.team });
  const version = await world.editor.post(`/v1/metric-suites/${suite.body.metricSuiteId}/versions`, {
    metrics,
    ...extra,
  });
  if (version.status !== 201) throw new Error(`suite version failed: ${JSON.stringify(version.body)}`);
  return { metricSuiteId: suite.body.metricSuiteId as string, version: version.body.version as number };
}

/** Registers a model whose versions call the reference server's json-predict route for the named models. */
export async function registerSpamModel(
  world: EvalWorld,
  serverModels: string[],
  protocol: 'json-predict' | 'openai-chat' = 'json-predict',
) {
  const model = await world.editor.post('/v1/models', { name: unique('spam-clf'), ownerTeam: world.team });
  const modelId = model.body.modelId as string;
  const versions: string[] = [];
  for (const name of serverModels) {
    const endpoint =
      protocol === 'json-predict'
        ? { protocol, url: world.server.predictUrl(name) }
        : { protocol, url: world.server.openaiBaseUrl, model: name };
    const res = await world.editor.post(`/v1/models/${modelId}/versions`, {
      version: name,
      endpoint,
      pricing: { perCallUsd: 0.001, inputPer1kTokensUsd: 0.0005 },
      ...(protocol === 'openai-chat'
        ? { promptTemplate: 'Classify this email as ham or spam.\n\n{{input}}', params: { temperature: 0 } }
        : {}),
    });
    if (res.status !== 201) throw new Error(`model version failed: ${JSON.stringify(res.body)}`);
    versions.push(res.body.modelVersion);
  }
  return { modelId, versions };
}

export async function waitForRun(
  client: ApiClient,
  runId: string,
  timeoutMs = 120_000,
  until: (body: any) => boolean = (b) => !['queued', 'running'].includes(b.status),
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get(`/v1/eval-runs/${runId}`);
    if (res.status !== 200) throw new Error(`GET run ${runId}: ${res.status} ${JSON.stringify(res.body)}`);
    if (until(res.body)) return res.body;
    if (Date.now() > deadline)
      throw new Error(
        `run ${runId} still ${res.body.status} after ${timeoutMs} ms: ${JSON.stringify(res.body.progress)}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}
