import type { Pool } from 'pg';
import { recordAudit } from '../../../domain/audit/dal';
import { ensureTeams } from '../../../domain/principals/dal';
import { canonicalJson, hashCanonical, sha256Hex } from '../../../common/canonical';
import { isUniqueViolation, withTransaction, type Queryable } from '../../../common/db';
import { AppError, conflict, notFound } from '../../../common/errors';
import { requireRole } from '../../http/auth';
import type { Principal } from '../../http/context';
import { pageOf } from '../../http/pagination';
import * as dal from '../../../domain/models/dal';
import type { EgressPolicy } from '../../../domain/models/egress';

export interface NewModelVersion {
  version?: string;
  endpoint: {
    protocol: 'openai-chat' | 'json-predict';
    url: string;
    model?: string;
    maxConcurrency?: number;
    maxRps?: number;
  };
  promptTemplate?: string;
  params?: Record<string, unknown>;
  pricing?: dal.Pricing;
}

export const modelVersionName = (modelName: string, version: string) => `${modelName}@${version}`;

/** Splits "<modelName>@<version>"; the version is after the last '@'. */
export function parseModelVersion(ref: string): { modelName: string; version: string } | null {
  const at = ref.lastIndexOf('@');
  if (at <= 0 || at === ref.length - 1) return null;
  return { modelName: ref.slice(0, at), version: ref.slice(at + 1) };
}

/** Resolves "<model>@<version>" to its version record, or a 4xx naming the field. */
export async function resolveModelVersion(q: Queryable, ref: string, field: string) {
  const parsed = parseModelVersion(ref);
  if (!parsed) throw new AppError(400, 'invalid_request', `${field} must look like <model name>@<version>`, field);
  const model = await dal.findModelByName(q, parsed.modelName);
  const version = model && (await dal.findVersion(q, model.model_id, parsed.version));
  if (!model || !version) throw new AppError(404, 'not_found', `model version ${ref} is not registered`, field);
  return { model, version };
}

function definitionOf(v: dal.ModelVersionRecord) {
  return { endpoint: v.endpoint, promptTemplate: v.prompt_template, params: v.params, pricing: v.pricing };
}

export class ModelService {
  constructor(
    private readonly pool: Pool,
    private readonly egress: EgressPolicy,
  ) {}

  /** Models in creation order, optionally of one team and with one name (how `evalgate plan` finds entries). */
  async list(query: { ownerTeam?: string; name?: string; limit: number; cursor?: string }) {
    const rows = await dal.listModels(this.pool, query, query.cursor ?? null, query.limit + 1);
    return pageOf(rows, query.limit, (r) => r.model_id);
  }

  async create(input: { name: string; ownerTeam: string }, principal: Principal, requestId: string) {
    requireRole(principal, input.ownerTeam, 'editor');
    return withTransaction(this.pool, async (tx) => {
      await ensureTeams(tx, [input.ownerTeam]); // a team exists once anything names it
      const inserted = await dal.insertModel(tx, { ...input, createdBy: principal.principalId });
      if (inserted) {
        await recordAudit(tx, {
          principalId: principal.principalId,
          action: 'model.create',
          entityKind: 'model',
          entityId: inserted.model_id,
          detail: input,
          requestId,
        });
        return { model: inserted, created: true };
      }
      const existing = (await dal.findModelByName(tx, input.name))!;
      if (existing.owner_team !== input.ownerTeam)
        throw conflict('already_exists', `a model named ${input.name} already exists`, 'name');
      return { model: existing, created: false };
    });
  }

  async get(modelId: string) {
    const model = await dal.findModel(this.pool, modelId);
    if (!model) throw notFound(`model ${modelId}`);
    const [versions, aliases] = await Promise.all([
      dal.listVersions(this.pool, modelId),
      dal.listAliases(this.pool, modelId),
    ]);
    return { model, versions, aliases };
  }

  /** Immutable versions: the same version name with the same definition answers 200; a different one is a 409. */
  async addVersion(modelId: string, input: NewModelVersion, principal: Principal, requestId: string) {
    const model = await dal.findModel(this.pool, modelId);
    if (!model) throw notFound(`model ${modelId}`);
    requireRole(principal, model.owner_team, 'editor');
    // Before anything is written: rows would be sent wherever this URL leads (API.md, Trust).
    await this.egress.checkUrl(input.endpoint.url);
    const endpoint = { ...input.endpoint, url: input.endpoint.url.replace(/\/+$/, '') };
    const promptTemplate = input.promptTemplate ?? (endpoint.protocol === 'openai-chat' ? '{{input}}' : null);
    const params = input.params ?? {};
    const pricing = input.pricing ?? {};
    const definition = { endpoint, promptTemplate, params, pricing };
    try {
      return await withTransaction(this.pool, async (tx) => {
        await dal.findModel(tx, modelId, true); // serialises version numbering per model
        if (input.version) {
          const existing = await dal.findVersion(tx, modelId, input.version);
          if (existing) {
            if (canonicalJson(definitionOf(existing)) !== canonicalJson(definition)) {
              throw conflict(
                'already_exists',
                `version ${input.version} of ${model.name} exists with a different definition; versions are immutable, register a new one`,
                'version',
              );
            }
            return { model, version: existing, created: false };
          }
        }
        const version = await dal.insertVersion(tx, {
          modelId,
          version: input.version ?? null,
          protocol: endpoint.protocol,
          endpoint,
          promptTemplate,
          promptTemplateHash: promptTemplate === null ? null : sha256Hex(promptTemplate),
          params,
          paramsHash: hashCanonical(params),
          pricing,
          createdBy: principal.principalId,
        });
        await recordAudit(tx, {
          principalId: principal.principalId,
          action: 'model_version.create',
          entityKind: 'model_version',
          entityId: version.model_version_id,
          detail: { model: model.name, version: version.version, ...definition },
          requestId,
        });
        return { model, version, created: true };
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw conflict(
          'already_exists',
          `that version of ${model.name} was registered concurrently; retry to get it`,
          'version',
        );
      throw err;
    }
  }

  /**
   * Moves an alias. `gateCheckId` names the gate check that allowed the move: it must have
   * passed (or been overridden) for this very version, and lineage then links the move to
   * the check, so an incident that revokes the check reports the move.
   */
  async setAlias(
    modelId: string,
    alias: string,
    ref: string,
    principal: Principal,
    requestId: string,
    gateCheckId?: string,
  ) {
    const model = await dal.findModel(this.pool, modelId);
    if (!model) throw notFound(`model ${modelId}`);
    requireRole(principal, model.owner_team, 'editor');
    const parsed = parseModelVersion(ref);
    const version =
      parsed && parsed.modelName === model.name ? await dal.findVersion(this.pool, modelId, parsed.version) : undefined;
    if (!version)
      throw new AppError(
        400,
        'invalid_request',
        `modelVersion must be a registered version of ${model.name}, like ${model.name}@1`,
        'modelVersion',
      );
    if (gateCheckId) {
      const check = await dal.findReleaseCheck(this.pool, gateCheckId);
      if (!check) throw new AppError(404, 'not_found', `gate check ${gateCheckId} was not found`, 'gateCheckId');
      if (check.candidate_model_version_id !== version.model_version_id)
        throw conflict(
          'check_mismatch',
          `gate check ${gateCheckId} checked another model version, not ${ref}`,
          'gateCheckId',
        );
      if (!['pass', 'overridden'].includes(check.status))
        throw conflict(
          'check_not_passing',
          `gate check ${gateCheckId} is ${check.status}; only a passing or overridden check allows a release`,
          'gateCheckId',
        );
    }
    return withTransaction(this.pool, async (tx) => {
      const previous = await dal.moveAlias(tx, {
        modelId,
        alias,
        modelVersionId: version.model_version_id,
        changedBy: principal.principalId,
        gateCheckId,
      });
      await recordAudit(tx, {
        principalId: principal.principalId,
        action: 'model_alias.move',
        entityKind: 'model_alias',
        entityId: `${modelId}:${alias}`,
        detail: { alias, to: ref, previousModelVersionId: previous, ...(gateCheckId ? { gateCheckId } : {}) },
        requestId,
      });
      return { alias, modelVersion: ref, history: await dal.aliasHistory(tx, modelId, alias) };
    });
  }
}
