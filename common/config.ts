/**
 * The one place that reads process.env. Parsed once with zod, frozen, and a bad
 * value stops the process with one line naming the variable.
 */
import { z } from 'zod';
import { parseEndpointAllow } from './endpointAllow';

/** An EVALGATE_ENDPOINT_HEADERS key: `https://host[:port][/path]`, nothing a string prefix could be fooled by. */
function isEndpointHeadersKey(key: string): boolean {
  try {
    const url = new URL(key);
    return (
      (url.protocol === 'https:' || url.protocol === 'http:') &&
      !url.username &&
      !url.password &&
      !url.search &&
      !url.hash &&
      !key.includes('?') &&
      !key.includes('#')
    );
  } catch {
    return false;
  }
}

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const port = z.coerce.number().int().min(1).max(65535);
/** A duration as `<n>s|m|h|d` (`30d`, `12h`, `10s`), in seconds. */
const duration = z
  .string()
  .regex(/^[1-9][0-9]{0,8}[smhd]$/, 'must be a duration like 30d, 12h, 15m or 10s')
  .transform(
    (text) => Number(text.slice(0, -1)) * { s: 1, m: 60, h: 3600, d: 86_400 }[text.slice(-1) as 's' | 'm' | 'h' | 'd'],
  );

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
  /** API keys each API process keeps resolved in memory (an LRU; unknown keys are remembered too, for 1 s). */
  EVALGATE_KEY_CACHE_MAX: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  /** How long a process may keep using a resolved key: a key revoked through another process stops working within this. */
  EVALGATE_KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** Requests one principal may make per minute, across all API processes (bursts up to the same number); 0 turns it off. */
  EVALGATE_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(12_000),
  /** Bearer token Prometheus scrapes GET /metrics with (a platform admin's API key works too). */
  EVALGATE_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** GET /metrics answers from a copy at most this old, so scrapers cannot drive PostgreSQL (0: no copy). */
  EVALGATE_METRICS_CACHE_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
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
  /** Exploratory model calls a worker keeps in flight (all endpoints) while it runs release work; 0 holds them all. */
  EVALGATE_EXPLORATORY_CALLS_DURING_RELEASE: z.coerce.number().int().min(0).default(2),
  /** Release work counts as running this long after a worker's last release activity ended (ms). */
  EVALGATE_RELEASE_LINGER_MS: z.coerce.number().int().min(0).default(2000),
  EVALGATE_SHARD_BLOCK_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  EVALGATE_SHARD_HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().min(1000).default(30_000),
  EVALGATE_WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  EVALGATE_PART_ROWS: z.coerce.number().int().min(1).max(100_000).default(500),
  EVALGATE_SHARD_PARALLELISM: z.coerce.number().int().min(1).max(256).default(8),
  /** Affected runs an incident workflow recomputes or re-judges at once (each with EVALGATE_SHARD_PARALLELISM shards). */
  EVALGATE_INCIDENT_RUN_PARALLELISM: z.coerce.number().int().min(1).max(64).default(4),
  EVALGATE_MODEL_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(4096).default(64),
  /**
   * Workers share each endpoint's maxConcurrency and maxRps through leases in PostgreSQL that lapse after this
   * long unless renewed (every quarter of it), so a dead worker's share returns within it; 0: limits per worker.
   */
  EVALGATE_FLEET_LEASE_MS: z.coerce.number().int().min(0).max(600_000).default(4_000),
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
  /**
   * Headers (credentials for hosted models and judges) per endpoint, as JSON {"<origin[/path]>": {"<header>": "<value>"}}:
   * matched by exact origin (scheme, host, port), then by path at a `/` (workers/endpointHeaders.ts).
   */
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
      const bad = Object.keys(parsed.data).find((key) => !isEndpointHeadersKey(key));
      if (bad !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `"${bad}" must be an http(s) origin, optionally with a path, without credentials, query or fragment`,
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
  /**
   * Model and judge calls of eval-run shards per team (the model's owner) per UTC day, reserved in blocks like budgets;
   * a run that finds it spent fails with error class quota_exceeded. 0 (the default): no quota.
   */
  EVALGATE_TEAM_DAILY_CALL_QUOTA: z.coerce.number().int().min(0).default(0),
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
  /**
   * How long a run's stored outputs (per-example records, predictions, judge transcripts, cache entries) live after
   * the run ends, by its dataset's classification (common/retention.ts). Fixed on each run when it is created.
   */
  EVALGATE_RETENTION_PUBLIC: duration.prefault('365d'),
  EVALGATE_RETENTION_INTERNAL: duration.prefault('180d'),
  EVALGATE_RETENTION_CONFIDENTIAL: duration.prefault('90d'),
  EVALGATE_RETENTION_RESTRICTED: duration.prefault('30d'),
  /** How often the retention sweep's Temporal Schedule starts a sweep. */
  EVALGATE_RETENTION_SWEEP_INTERVAL: duration.prefault('1h'),
  /** Runs (or cache entries, x100) one sweep activity deletes before it reports back. */
  EVALGATE_RETENTION_SWEEP_BATCH: z.coerce.number().int().min(1).max(10_000).default(50),
  /** Cap on `GET /v1/gate-checks/{id}?wait=`. */
  EVALGATE_GATE_WAIT_MAX_SECONDS: z.coerce.number().int().min(0).max(600).default(60),
  /** Checks an online experiment's workflow run makes before it continues as new (bounded history). */
  EVALGATE_EXPERIMENT_CHECKS_PER_RUN: z.coerce.number().int().min(1).max(10_000).default(500),
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
