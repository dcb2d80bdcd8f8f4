import type { Pool } from 'pg';
import { AppError, notFound } from '../../../common/errors';
import type { Storage } from '../../../common/storage';
import { assertPerExampleReadable } from '../../../domain/retention/runRetention';
import { findCanaryResult, findRunDatasetVersion } from '../../../domain/judge/dal';
import { datasetVersionScope } from '../../../domain/access/dal';
import { versionAccess } from '../../../domain/access/policy';
import { isTranscriptKey, judgeKeys } from '../../../domain/judge/transcripts';
import { runKeys } from '../../../domain/runs/keys';
import type { Principal } from '../../http/context';
import { scopeOfRow } from '../../../domain/access/scopes';

interface Cursor {
  key: number;
  line: number;
}

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');
function decodeCursor(cursor: string | undefined): Cursor {
  if (!cursor) return { key: 0, line: 0 };
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Cursor;
    if (Number.isInteger(c.key) && Number.isInteger(c.line) && c.key >= 0 && c.line >= 0) return c;
  } catch {
    /* fall through */
  }
  throw new AppError(400, 'invalid_request', 'cursor: not a cursor this endpoint returned', 'cursor');
}

/**
 * Judge transcripts hold the dataset's examples (the rendered prompts), so they are read
 * under the dataset version's access policy: only principals who may read its rows.
 */
export class JudgeTranscriptService {
  constructor(
    private readonly pool: Pool,
    private readonly storage: Storage,
  ) {}

  async list(runId: string, principal: Principal, page: { limit: number; cursor?: string }) {
    const version = await findRunDatasetVersion(this.pool, runId);
    const access = version ? versionAccess(principal, scopeOfRow(version)) : 'none';
    if (access === 'none') throw notFound(`eval run ${runId}`);
    if (access !== 'rows')
      throw new AppError(
        403,
        'forbidden',
        "judge transcripts contain the dataset's examples; reading them needs access to its rows",
      );

    await assertPerExampleReadable(this.pool, runId);
    // Canary transcripts hold the canary dataset's rows: they need access to that version, not the run's.
    const canary = await findCanaryResult(this.pool, runId);
    const canaryScope = canary && (await datasetVersionScope(this.pool, canary.canary_dataset_version_id));
    const canaryReadable = Boolean(canaryScope) && versionAccess(principal, canaryScope!) === 'rows';
    const canaryPrefix = judgeKeys.canaryPrefix(runId);
    const keys = (await this.storage.list(runKeys.runPrefix(runId)))
      .filter((k) => isTranscriptKey(k) && (canaryReadable || !k.startsWith(canaryPrefix)))
      .sort();
    let { key, line } = decodeCursor(page.cursor);
    const items: unknown[] = [];
    while (key < keys.length && items.length < page.limit) {
      const lines = (await this.storage.getBuffer(keys[key])).toString('utf8').split('\n').filter(Boolean);
      for (; line < lines.length && items.length < page.limit; line++)
        items.push({ object: keys[key], ...JSON.parse(lines[line]) });
      if (line >= lines.length) {
        key += 1;
        line = 0;
      }
    }
    return { items, nextCursor: key < keys.length ? encodeCursor({ key, line }) : null };
  }
}
