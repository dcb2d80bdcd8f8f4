import { createHash, randomUUID } from 'node:crypto';
import { canonicalJson } from '../../../common/canonical';
import { AppError } from '../../../common/errors';
import { rowSchemas, type TaskType } from '../../../common/rows';
import type { Storage } from '../../../common/storage';
import { jsonPath } from '../../http/validate';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../../http/jsonBody';
import { ndjsonLines } from './ndjson';

export interface IngestedShard {
  objectKey: string;
  rowCount: number;
  firstRow: number;
  byteCount: number;
  contentHash: string;
}

export interface IngestResult {
  contentHash: string;
  rowCount: number;
  byteCount: number;
  shards: IngestedShard[];
  tagCounts: Record<string, number>;
}

const MAX_DISTINCT_TAGS = 10_000;

/**
 * One reusable byte buffer for the shard being written. Reusing it (the upload waits for
 * each shard's put before filling the next) keeps off-heap memory at one shard, where a
 * fresh Buffer per shard piles up until the garbage collector happens to run.
 */
class ShardBuffer {
  private buffer = Buffer.allocUnsafe(1 << 20);
  length = 0;
  rows = 0;

  append(line: string): number {
    const bytes = Buffer.byteLength(line);
    if (this.length + bytes > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.length += this.buffer.write(line, this.length);
    this.rows += 1;
    return bytes;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
    this.rows = 0;
  }
}

/**
 * Streams JSONL rows into shard objects under a per-upload prefix. Each row is parsed,
 * validated against its task type, canonicalised and hashed; the content hash is the
 * sha256 over the canonical rows in upload order, one per line. Nothing but the current
 * shard and the set of seen ids is held in memory. On any failure every object written
 * so far is removed before the error propagates.
 */
export async function ingestRows(opts: {
  storage: Storage;
  datasetId: string;
  taskType: TaskType;
  body: AsyncIterable<Buffer | string>;
  rowsPerShard: number;
  maxRowBytes: number;
  maxUploadBytes?: number;
}): Promise<IngestResult> {
  const prefix = `datasets/${opts.datasetId}/uploads/${randomUUID()}/`;
  const schema = rowSchemas[opts.taskType];
  const written: string[] = [];
  const seenIds = new Set<string>();
  const tagCounts: Record<string, number> = {};
  const contentHash = createHash('sha256');
  const shards: IngestedShard[] = [];
  const shard = new ShardBuffer();
  let rowCount = 0;
  let byteCount = 0;

  const flush = async () => {
    if (!shard.rows) return;
    const body = shard.bytes();
    const key = `${prefix}shard-${String(shards.length).padStart(6, '0')}.jsonl`;
    written.push(key);
    await opts.storage.put(key, body, 'application/x-ndjson');
    shards.push({
      objectKey: key,
      rowCount: shard.rows,
      firstRow: rowCount - shard.rows,
      byteCount: shard.length,
      contentHash: createHash('sha256').update(body).digest('hex'),
    });
    shard.reset();
  };

  try {
    for await (const { lineNo, text } of ndjsonLines(opts.body, opts.maxRowBytes, opts.maxUploadBytes)) {
      if (!text.trim()) continue;
      const at = `rows[${lineNo - 1}]`;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new AppError(400, 'invalid_request', `line ${lineNo} is not valid JSON`, at);
      }
      if (nestedDeeperThan(value, MAX_JSON_DEPTH))
        throw new AppError(400, 'invalid_request', `line ${lineNo} is nested deeper than ${MAX_JSON_DEPTH} levels`, at);
      const parsed = schema.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const path = jsonPath(issue.path);
        throw new AppError(
          400,
          'invalid_request',
          `line ${lineNo}: ${path || 'row'}: ${issue.message}`,
          path ? `${at}.${path}` : at,
        );
      }
      const row = parsed.data as { id: string; tags?: string[] };
      if (seenIds.has(row.id))
        throw new AppError(
          400,
          'invalid_request',
          `line ${lineNo}: duplicate row id ${JSON.stringify(row.id)}`,
          `${at}.id`,
        );
      seenIds.add(row.id);
      for (const tag of row.tags ?? []) {
        if (tag in tagCounts) tagCounts[tag] += 1;
        else if (Object.keys(tagCounts).length < MAX_DISTINCT_TAGS) tagCounts[tag] = 1;
      }
      const line = `${canonicalJson(row)}\n`;
      contentHash.update(line);
      byteCount += shard.append(line);
      rowCount += 1;
      if (shard.rows >= opts.rowsPerShard) await flush();
    }
    await flush();
    if (rowCount === 0)
      throw new AppError(400, 'invalid_request', 'the upload has no rows; send one JSON object per line', 'body');
    return { contentHash: contentHash.digest('hex'), rowCount, byteCount, shards, tagCounts };
  } catch (err) {
    await removeQuietly(opts.storage, written);
    throw err;
  }
}

export async function removeQuietly(storage: Storage, keys: string[]): Promise<void> {
  if (keys.length) await storage.remove(keys).catch(() => undefined);
}
