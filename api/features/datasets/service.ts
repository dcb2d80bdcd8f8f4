import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { recordAudit } from '../../../domain/audit/dal';
import { ensureTeams } from '../../../domain/principals/dal';
import type { Config } from '../../../common/config';
import { withTransaction } from '../../../common/db';
import { AppError, conflict, forbidden, notFound } from '../../../common/errors';
import type { TaskType } from '../../../common/rows';
import type { Storage } from '../../../common/storage';
import { requireRole } from '../../http/auth';
import type { Principal } from '../../http/context';
import { datasetScope } from '../../../domain/access/scopes';
import { versionAccess as policyVersionAccess, type VersionAccess } from '../../../domain/access/policy';
import { pageOf } from '../../http/pagination';
import { deprecateVersion, reinstateVersion } from '../incidents/datasetIncidents';
import * as dal from '../../../domain/datasets/dal';
import { ingestRows, removeQuietly } from './ingest';

export interface VersionOptions {
  labelPolicy: 'human_reviewed' | 'synthetic' | 'implicit' | 'mixed';
  visibility: 'public' | 'internal' | 'restricted';
  teams: string[];
  classification: 'public' | 'internal' | 'confidential' | 'restricted';
}

export function versionView(v: dal.DatasetVersionRecord) {
  return {
    datasetId: v.dataset_id,
    version: v.version,
    contentHash: v.content_hash,
    rowCount: Number(v.row_count),
    byteCount: Number(v.byte_count),
    labelPolicy: v.label_policy,
    visibility: v.visibility,
    teams: v.allowed_teams,
    classification: v.classification,
    tagCounts: v.tag_counts,
    status: v.status,
    deprecatedReason: v.deprecated_reason,
    createdAt: v.created_at.toISOString(),
  };
}

export type { VersionAccess };

/** A version's access for the principal (domain/access/policy.ts decides). */
export function versionAccess(
  principal: Principal,
  dataset: Pick<dal.DatasetRecord, 'owner_team'>,
  version: Pick<dal.DatasetVersionRecord, 'visibility' | 'allowed_teams'>,
): VersionAccess {
  return policyVersionAccess(principal, datasetScope(dataset, version));
}

export class DatasetService {
  /** `temporal` starts the contamination workflow of a deprecation; without it deprecation is refused. */
  constructor(
    private readonly pool: Pool,
    private readonly storage: Storage,
    private readonly config: Config,
    private readonly temporal?: Client,
  ) {}

  /** Datasets in creation order, optionally of one team and with one name (how `evalgate plan` finds entries). */
  async list(query: { ownerTeam?: string; name?: string; limit: number; cursor?: string }) {
    const rows = await dal.listDatasets(this.pool, query, query.cursor ?? null, query.limit + 1);
    return pageOf(rows, query.limit, (r) => r.dataset_id);
  }

  async create(
    input: { name: string; taskType: TaskType; ownerTeam: string; description?: string },
    principal: Principal,
    requestId: string,
  ) {
    requireRole(principal, input.ownerTeam, 'editor');
    return withTransaction(this.pool, async (tx) => {
      await ensureTeams(tx, [input.ownerTeam]); // a team exists once anything names it
      const inserted = await dal.insertDataset(tx, { ...input, createdBy: principal.principalId });
      if (inserted) {
        await recordAudit(tx, {
          principalId: principal.principalId,
          action: 'dataset.create',
          entityKind: 'dataset',
          entityId: inserted.dataset_id,
          detail: input,
          requestId,
        });
        return { dataset: inserted, created: true };
      }
      const existing = (await dal.findDatasetByName(tx, input.ownerTeam, input.name))!;
      if (existing.task_type !== input.taskType || (existing.description ?? undefined) !== input.description) {
        throw conflict(
          'already_exists',
          `team ${input.ownerTeam} already has a dataset named ${input.name} with a different definition`,
          'name',
        );
      }
      return { dataset: existing, created: false };
    });
  }

  async get(datasetId: string, principal: Principal) {
    const dataset = await dal.findDataset(this.pool, datasetId);
    if (!dataset) throw notFound(`dataset ${datasetId}`);
    const versions = (await dal.listVersions(this.pool, datasetId)).filter(
      (v) => versionAccess(principal, dataset, v) !== 'none',
    );
    return { dataset, versions };
  }

  /** Loads a version the principal may see; a hidden version is reported exactly like a missing one. */
  async getVersion(datasetId: string, version: number, principal: Principal) {
    const dataset = await dal.findDataset(this.pool, datasetId);
    if (!dataset) throw notFound(`dataset ${datasetId}`);
    const record = await dal.findVersion(this.pool, datasetId, version);
    const access = record ? versionAccess(principal, dataset, record) : 'none';
    if (!record || access === 'none') throw notFound(`version ${version} of dataset ${datasetId}`);
    return { dataset, version: record, access };
  }

  async addVersion(
    datasetId: string,
    options: VersionOptions,
    body: AsyncIterable<Buffer>,
    principal: Principal,
    requestId: string,
  ) {
    const dataset = await dal.findDataset(this.pool, datasetId);
    if (!dataset) throw notFound(`dataset ${datasetId}`);
    requireRole(principal, dataset.owner_team, 'editor');
    if (options.visibility === 'restricted' && options.classification === 'public') {
      throw new AppError(400, 'invalid_request', 'a restricted version cannot be classified public', 'classification');
    }
    const ingested = await ingestRows({
      storage: this.storage,
      datasetId,
      taskType: dataset.task_type,
      body,
      rowsPerShard: this.config.EVALGATE_ROWS_PER_SHARD,
      maxRowBytes: this.config.EVALGATE_MAX_ROW_BYTES,
      maxUploadBytes: this.config.EVALGATE_MAX_UPLOAD_BYTES,
    });
    const ownKeys = ingested.shards.map((s) => s.objectKey);
    try {
      const outcome = await withTransaction(this.pool, async (tx) => {
        await dal.findDataset(tx, datasetId, true); // serialises version numbering per dataset
        const existing = await dal.findVersionByHash(tx, datasetId, ingested.contentHash);
        if (existing) return { version: existing, created: false };
        // A restricted version with no teams named is readable by its owning team only.
        const named = options.teams.length
          ? options.teams
          : options.visibility === 'restricted'
            ? [dataset.owner_team]
            : [];
        const teams = [...new Set(named)].sort();
        const version = await dal.insertVersion(tx, {
          datasetId,
          contentHash: ingested.contentHash,
          rowCount: ingested.rowCount,
          byteCount: ingested.byteCount,
          labelPolicy: options.labelPolicy,
          visibility: options.visibility,
          allowedTeams: teams,
          classification: options.classification,
          tagCounts: ingested.tagCounts,
          createdBy: principal.principalId,
        });
        await dal.insertShards(tx, version.dataset_version_id, ingested.shards);
        await recordAudit(tx, {
          principalId: principal.principalId,
          action: 'dataset_version.create',
          entityKind: 'dataset_version',
          entityId: version.dataset_version_id,
          detail: {
            datasetId,
            version: version.version,
            contentHash: version.content_hash,
            rowCount: ingested.rowCount,
          },
          requestId,
        });
        return { version, created: true };
      });
      if (!outcome.created) await removeQuietly(this.storage, ownKeys);
      return outcome;
    } catch (err) {
      await removeQuietly(this.storage, ownKeys);
      throw err;
    }
  }

  /**
   * Deprecates a contaminated version (the dataset's editors): new runs on it are refused at
   * once, and a datasetDeprecationWorkflow invalidates its runs and the decisions they made.
   */
  async deprecate(datasetId: string, version: number, reason: string, principal: Principal, requestId: string) {
    const found = await this.getVersion(datasetId, version, principal);
    requireRole(principal, found.dataset.owner_team, 'editor');
    if (!this.temporal) throw new AppError(503, 'unavailable', 'this API process cannot start incident workflows');
    const { incident, created } = await deprecateVersion(
      { pool: this.pool, temporal: this.temporal, config: this.config },
      { datasetVersionId: found.version.dataset_version_id, reason },
      principal,
      requestId,
    );
    return { incident, created, version: (await dal.findVersion(this.pool, datasetId, version))! };
  }

  /** Undoes a mistaken deprecation, as a new recorded incident (see reinstateVersion). */
  async reinstate(datasetId: string, version: number, reason: string, principal: Principal, requestId: string) {
    const found = await this.getVersion(datasetId, version, principal);
    requireRole(principal, found.dataset.owner_team, 'editor');
    if (!this.temporal) throw new AppError(503, 'unavailable', 'this API process cannot record incidents');
    const { incident } = await reinstateVersion(
      { pool: this.pool, temporal: this.temporal, config: this.config },
      { datasetVersionId: found.version.dataset_version_id, reason },
      principal,
      requestId,
    );
    return { incident, version: (await dal.findVersion(this.pool, datasetId, version))! };
  }

  /** Rows of a version, paginated by row offset; access-checked by getVersion. */
  async rows(datasetId: string, version: number, principal: Principal, limit: number, cursor: number) {
    const { version: record, access } = await this.getVersion(datasetId, version, principal);
    if (access !== 'rows')
      throw forbidden(`rows of this restricted version are readable only by teams ${record.allowed_teams.join(', ')}`);
    const shards = await dal.listShards(this.pool, record.dataset_version_id);
    const items: unknown[] = [];
    let offset = cursor;
    for (const shard of shards) {
      const first = Number(shard.first_row);
      if (offset >= first + shard.row_count || items.length >= limit) continue;
      const lines = (await this.storage.getBuffer(shard.object_key)).toString('utf8').split('\n');
      for (let i = offset - first; i < shard.row_count && items.length < limit; i += 1) {
        items.push(JSON.parse(lines[i]));
        offset += 1;
      }
    }
    return { items, nextCursor: offset < Number(record.row_count) ? String(offset) : null };
  }
}
