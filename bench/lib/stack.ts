/**
 * The processes a run benchmark measures, started as a deployment runs them: the reference
 * model server, the API (compiled) and a worker (compiled, its own task queues), each in
 * its own process; then an editor principal on a fresh team.
 */
import { randomBytes } from 'node:crypto';
import { apiClient, type Api } from '../../testkit/apiClient';
import { freePort, startNode, waitHttp, type Proc } from './processes';

export interface BenchStackOptions {
  /** The model server's knobs at start (latency, errors...). */
  modelKnobs: Record<string, unknown>;
  /** Settings of the API, which starts runs: shard parallelism and rows per shard belong here. */
  apiEnv: Record<string, string>;
  workerEnv: Record<string, string>;
  apiNodeFlags?: string[];
  workerNodeFlags?: string[];
}

export interface BenchStack {
  procs: Proc[];
  worker: Proc;
  api: Proc;
  modelUrl: string;
  baseUrl: string;
  /** The bootstrap admin's token, and an editor of `team`. */
  token: string;
  team: string;
  editor: Api;
  editorKey: string;
  stop(): Promise<void>;
}

export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  const token = `bench-${randomBytes(12).toString('hex')}`;
  const [apiPort, modelPort] = await Promise.all([freePort(), freePort()]);
  const common = {
    EVALGATE_LOG_LEVEL: 'warn',
    EVALGATE_TASK_QUEUE_PREFIX: `bench-${randomBytes(3).toString('hex')}`,
    // The model server is a loopback endpoint: listed for this bench, beside whatever the caller allows.
    EVALGATE_ENDPOINT_ALLOW: [process.env.EVALGATE_ENDPOINT_ALLOW, `127.0.0.1:${modelPort}`].filter(Boolean).join(','),
  };
  const server = startNode(
    'model-server',
    'testkit/modelServer/main.ts',
    { MODEL_SERVER_KNOBS: JSON.stringify(options.modelKnobs) },
    [String(modelPort)],
  );
  const api = startNode(
    'api',
    'dist/api/main.js',
    { ...common, ...options.apiEnv, EVALGATE_API_PORT: String(apiPort), EVALGATE_BOOTSTRAP_TOKEN: token },
    [],
    options.apiNodeFlags,
  );
  const worker = startNode(
    'worker',
    'dist/workers/main.js',
    { ...common, EVALGATE_WORKFLOW_BUNDLE_PATH: 'dist/workflow-bundle.js', ...options.workerEnv },
    [],
    options.workerNodeFlags,
  );
  const procs = [server, api, worker];
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
  };
  const modelUrl = `http://127.0.0.1:${modelPort}`;
  const baseUrl = `http://127.0.0.1:${apiPort}`;
  try {
    await Promise.all([waitHttp(`${modelUrl}/healthz`), waitHttp(`${baseUrl}/readyz`)]);
    const team = `bench-${randomBytes(3).toString('hex')}`;
    const editorKey = (
      await apiClient(baseUrl, token).post('/v1/principals', {
        name: `bench-editor-${team}`,
        teams: [{ team, roles: ['editor'] }],
      })
    ).apiKey as string;
    return {
      procs,
      worker,
      api,
      modelUrl,
      baseUrl,
      token,
      team,
      editor: apiClient(baseUrl, editorKey),
      editorKey,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
