import { Client } from 'minio';
import type { Readable } from 'node:stream';
import type { Config } from './config';

/**
 * Object storage for dataset shards, predictions, per-example scores, metric states
 * and judge transcripts. One bucket; keys are derived deterministically from ids so a
 * retried writer overwrites rather than duplicates.
 */
export interface Storage {
  readonly bucket: string;
  ensureBucket(): Promise<void>;
  put(key: string, body: Buffer | string, contentType?: string): Promise<void>;
  getStream(key: string): Promise<Readable>;
  getBuffer(key: string): Promise<Buffer>;
  getJson<T>(key: string): Promise<T>;
  exists(key: string): Promise<boolean>;
  remove(keys: string[]): Promise<void>;
  list(prefix: string): Promise<string[]>;
  /** Keys under a prefix with their sizes in bytes (what a retention sweep deletes and reports). */
  listSized(prefix: string): Promise<{ key: string; size: number }[]>;
  ping(): Promise<void>;
}

type S3Config = Pick<
  Config,
  | 'EVALGATE_S3_ENDPOINT'
  | 'EVALGATE_S3_PORT'
  | 'EVALGATE_S3_USE_SSL'
  | 'EVALGATE_S3_ACCESS_KEY'
  | 'EVALGATE_S3_SECRET_KEY'
  | 'EVALGATE_S3_BUCKET'
  | 'EVALGATE_S3_REGION'
>;

export function createStorage(config: S3Config): Storage {
  const client = new Client({
    endPoint: config.EVALGATE_S3_ENDPOINT,
    port: config.EVALGATE_S3_PORT,
    useSSL: config.EVALGATE_S3_USE_SSL,
    accessKey: config.EVALGATE_S3_ACCESS_KEY,
    secretKey: config.EVALGATE_S3_SECRET_KEY,
    region: config.EVALGATE_S3_REGION,
  });
  const bucket = config.EVALGATE_S3_BUCKET;

  const storage: Storage = {
    bucket,
    async ensureBucket() {
      if (await client.bucketExists(bucket)) return;
      try {
        await client.makeBucket(bucket, config.EVALGATE_S3_REGION);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw err;
      }
    },
    async put(key, body, contentType = 'application/octet-stream') {
      const buffer = typeof body === 'string' ? Buffer.from(body) : body;
      await client.putObject(bucket, key, buffer, buffer.length, { 'Content-Type': contentType });
    },
    getStream: (key) => client.getObject(bucket, key),
    async getBuffer(key) {
      const stream = await client.getObject(bucket, key);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    async getJson<T>(key: string) {
      return JSON.parse((await storage.getBuffer(key)).toString('utf8')) as T;
    },
    async exists(key) {
      try {
        await client.statObject(bucket, key);
        return true;
      } catch (err) {
        if ((err as { code?: string }).code === 'NotFound') return false;
        throw err;
      }
    },
    async remove(keys) {
      for (let i = 0; i < keys.length; i += 1000) await client.removeObjects(bucket, keys.slice(i, i + 1000));
    },
    async list(prefix) {
      const keys: string[] = [];
      const stream = client.listObjectsV2(bucket, prefix, true);
      for await (const item of stream) if ((item as { name?: string }).name) keys.push((item as { name: string }).name);
      return keys;
    },
    async listSized(prefix) {
      const objects: { key: string; size: number }[] = [];
      for await (const item of client.listObjectsV2(bucket, prefix, true)) {
        const { name, size } = item as { name?: string; size?: number };
        if (name) objects.push({ key: name, size: size ?? 0 });
      }
      return objects;
    },
    async ping() {
      await client.bucketExists(bucket);
    },
  };
  return storage;
}

/** The failure type of an activity that found object storage unavailable: retried, never a run's verdict. */
export const STORAGE_UNAVAILABLE = 'storage_unavailable';

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  // S3 / MinIO answers that say "not now" rather than "no such thing".
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'XMinioServerNotInitialized',
  'XMinioReadQuorum',
  'XMinioWriteQuorum',
]);

/**
 * Whether a storage failure is the store being unreachable or briefly unwell (connection refused or
 * reset, a timeout, a 5xx) rather than the object being absent or its content being wrong: the
 * first is retried, the second is a fact about the data.
 */
export function isStorageUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  if (typeof e.statusCode === 'number' && e.statusCode >= 500) return true;
  if (typeof e.message === 'string' && /socket hang up|other side closed|ECONNREFUSED|ECONNRESET/.test(e.message))
    return true;
  // Node's happy-eyeballs connect reports every address's failure in an AggregateError.
  if (Array.isArray(e.errors) && e.errors.some(isStorageUnavailable)) return true;
  return e.cause !== undefined && e.cause !== err && isStorageUnavailable(e.cause);
}
