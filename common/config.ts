/**
 * The one place that reads process.env. Parsed once with zod, frozen, and a bad
 * value stops the process with one line naming the variable.
 */
import { z } from 'zod';
import { parseEndpointAllow } from './endpointAllow';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const port = z.coerce.number().int().min(1).max(65535);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  EVALGATE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  EVALGATE_DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/evalgate'),
  EVALGATE_DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  EVALGATE_TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  EVALGATE_TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  EVALGATE_S3_ENDPOINT: z.string().min(1).default('127.0.0.1'),
  EVALGATE_S3_PORT: port.default(9000),
  EVALGATE_S3_USE_SSL: bool.default(false),
  EVALGATE_S3_ACCESS_KEY: z.string().min(1).default('evalgate'),
  EVALGATE_S3_SECRET_KEY: z.string().min(8).default('evalgate-secret'),
  EVALGATE_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name')
    .default('evalgate'),
  EVALGATE_S3_REGION: z.string().min(1).default('us-east-1'),
  EVALGATE_API_HOST: z.string().min(1).default('127.0.0.1'),
  EVALGATE_API_PORT: port.default(8080),
  /** Where a worker serves /metrics (activity slots, endpoint limits); port 0: not served. A busy port is logged, not fatal. */
  EVALGATE_WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  EVALGATE_WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  EVALGATE_BOOTSTRAP_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  EVALGATE_MAX_ROW_BYTES: z.coerce.number().int().min(256).default(1_000_000),
  EVALGATE_ROWS_PER_SHARD: z.coerce.number().int().min(1).max(1_000_000).default(5_000),
  EVALGATE_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(8 * 1024 * 1024 * 1024),
  EVALGATE_TASK_QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .default('evalgate'),
  EVALGATE_RELEASE_WORKER_CONCURRENCY: z.coerce.number().int().min(1).default(8),
  EVALGATE_EXPLORATORY_WORKER_CONCURRENCY: z.coerce.number().int().min(1).default(4),
  EVALGATE_SHARD_BLOCK_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  EVALGATE_SHARD_HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().min(1000).default(30_000),
  EVALGATE_WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  EVALGATE_PART_ROWS: z.coerce.number().int().min(1).max(100_000).default(500),
  EVALGATE_SHARD_PARALLELISM: z.coerce.number().int().min(1).max(256).default(8),
  /** Affected runs an incident workflow recomputes or re-judges at once (each with EVALGATE_SHARD_PARALLELISM shards). */
  EVALGATE_INCIDENT_RUN_PARALLELISM: z.coerce.number().int().min(1).max(64).default(4),
  EVALGATE_MODEL_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(4096).default(64),
  EVALGATE_MODEL_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  EVALGATE_MODEL_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(6),
  EVALGATE_RETRY_BASE_MS: z.coerce.number().int().min(1).default(200),
  /** A round trip whose mean latency exceeds this many times the endpoint's baseline lowers its concurrency; 0: off. */
  EVALGATE_ENDPOINT_LATENCY_TOLERANCE: z.coerce.number().min(0).default(3),
  /** Fraction of a round trip's replies that may be 429/503 before the endpoint's concurrency is lowered. */
  EVALGATE_ENDPOINT_CONGESTION_TOLERANCE: z.coerce.number().min(0).max(1).default(0.08),
  /**
   * Calls a shard reserves from its run's budget at a time; bounds what a run can leave unspent when it stops (see
   * domain/budgets/lease.ts).
   */
  /** Headers per endpoint URL prefix (credentials for hosted models and judges), as JSON: {"<url prefix>": {"<header>": "<value>"}}. */
  EVALGATE_ENDPOINT_HEADERS: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text === '') return undefined;
      const parsed = z.record(z.string(), z.record(z.string(), z.string())).safeParse(
        (() => {
          try {
            return JSON.parse(text);
          } catch {
            return null;
          }
        })(),
      );
      if (!parsed.success) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be JSON like {"https://api.example.com/v1": {"Authorization": "Bearer ..."}}',
        });
        return z.NEVER;
      }
      return parsed.data;
    }),
  /**
   * Loopback and private endpoints model and judge calls may reach (public ones need no entry): comma-separated
   * `host`, `host:port`, `host:lo-hi` or CIDR. Cloud metadata and the platform's own services are refused regardless.
   */
  EVALGATE_ENDPOINT_ALLOW: z
    .string()
    .optional()
    .transform((text, ctx) => {
      const parsed = parseEndpointAllow(text);
      if ('entries' in parsed) return Object.freeze(parsed.entries);
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return z.NEVER;
    }),
  EVALGATE_BUDGET_BLOCK_CALLS: z.coerce.number().int().min(1).max(1000).default(16),
  EVALGATE_PLATFORM_VERSION: z.string().min(1).default('0.1.0'),
  /** Release gates: how long a check may take before it decides `error` (timeout), fail closed. */
  EVALGATE_GATE_CHECK_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(1800),
  /** How long a failed check's workflow stays open for override requests. */
  EVALGATE_OVERRIDE_WINDOW_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .default(7 * 86_400),
  /** An override request nobody approves expires after this long. */
  EVALGATE_OVERRIDE_REQUEST_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .default(72 * 3600),
  /** Cap on `GET /v1/gate-checks/{id}?wait=`. */
  EVALGATE_GATE_WAIT_MAX_SECONDS: z.coerce.number().int().min(0).max(600).default(60),
});

export type Config = Readonly<z.infer<typeof envSchema>>;

let cached: Config | undefined;

/** Parses the environment once. Exits the process with a one-line message on a bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  if (cached && env === process.env) return cached;
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0] ?? 'environment');
    process.stderr.write(`evalgate: invalid configuration: ${name}: ${issue.message}\n`);
    process.exit(78);
  }
  const config = Object.freeze(parsed.data);
  if (env === process.env) cached = config;
  return config;
}

/** For tests that build a config from explicit values without touching process.env. */
export function configFrom(overrides: Record<string, string>): Config {
  return Object.freeze(envSchema.parse({ ...process.env, ...overrides }));
}

const cliSchema = z.object({
  EVALGATE_URL: z.string().url('must be the API base URL, like http://127.0.0.1:8080').default('http://127.0.0.1:8080'),
  EVALGATE_TOKEN: z.string().min(1).optional(),
});
export type CliConfig = Readonly<z.infer<typeof cliSchema>>;

/** The CLI's settings (`EVALGATE_URL`, `EVALGATE_TOKEN`); a bad one is reported, not exited on, so the CLI keeps its exit codes. */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): { config: CliConfig } | { error: string } {
  const parsed = cliSchema.safeParse(env);
  if (parsed.success) return { config: Object.freeze(parsed.data) };
  const issue = parsed.error.issues[0];
  return { error: `${String(issue.path[0] ?? 'environment')}: ${issue.message}` };
}
