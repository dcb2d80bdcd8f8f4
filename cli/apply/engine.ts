/**
 * apply and plan. Order: datasets, models (a suite's judge names a model version), metric
 * suites, gates (they name suites and datasets). Apply writes through the API's idempotent
 * creates — the API decides what is new: a dataset version by its content hash, a suite or
 * gate version by its definition, a model version by its name — so running it twice
 * changes nothing. Plan writes nothing: it finds each entry by name and compares what the
 * file declares with the latest version the API holds.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApiRefusal, CliFailure, query, type Api } from '../http';
import type { Output } from '../output';
import { uploadVersion } from '../upload';
import { contentHashOf, gateMatches, modelDefinition, same, suiteMatches } from './compare';
import { ConfigError, pathOf, refusal, type EvalgateFiles, type Located, type Path, type Source } from './load';
import type { DatasetEntry, GateEntry, MetricSuiteEntry, ModelEntry } from './schema';

export type Kind = 'dataset' | 'metricSuite' | 'model' | 'gate';
export type Action = 'created' | 'new_version' | 'unchanged' | 'updated';

/** One line of the outcome: `{ kind, name, action, version }` (API.md, Config as code), plus the record's id. */
export interface Change {
  kind: Kind;
  name: string;
  action: Action;
  version: number | string | null;
  id: string | null;
  /** What else happened to a model: versions added, aliases moved. */
  detail?: string;
}

export interface ApplyOptions {
  dryRun: boolean;
  out: Output;
  interactive: boolean;
  onChange?: (change: Change) => void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Runs one API call for an entry; a refusal becomes a ConfigError at the entry's field. */
async function at<T>(source: Source, fn: () => Promise<T>, mapField: (field: string) => Path = pathOf): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ApiRefusal)) throw err;
    const message =
      err.field && err.message.startsWith(`${err.field}: `) ? err.message.slice(err.field.length + 2) : err.message;
    throw refusal(
      source,
      err.field ? mapField(err.field) : [],
      `${message} (the API refused: ${err.status} ${err.code})`,
    );
  }
}

/** The record with this name, through the list endpoints' `?name=` filter; null when there is none. */
async function findByName(api: Api, collection: string, params: Record<string, string>): Promise<any | null> {
  try {
    const page = await api.get<{ items: any[] }>(`/v1/${collection}${query(params)}`);
    return page.items[0] ?? null;
  } catch (err) {
    if (err instanceof ApiRefusal && err.status === 404 && err.code === 'not_found' && !err.field)
      throw new CliFailure(
        `this API cannot plan: it does not list ${collection} by name (GET /v1/${collection}?name=); ` +
          'upgrade it, or apply without --dry-run',
        2,
      );
    throw err;
  }
}

class Applier {
  private readonly datasetIds = new Map<string, string | null>();
  private readonly suiteIds = new Map<string, string | null>();
  readonly changes: Change[] = [];

  constructor(
    private readonly api: Api,
    private readonly opts: ApplyOptions,
  ) {}

  private record(change: Change) {
    this.changes.push(change);
    this.opts.onChange?.(change);
  }

  async dataset({ spec, source }: Located<DatasetEntry>) {
    const file = resolve(source.dir, spec.file);
    const body = {
      name: spec.name,
      taskType: spec.taskType,
      ownerTeam: spec.ownerTeam,
      ...(spec.description !== undefined ? { description: spec.description } : {}),
    };
    const versionOptions = {
      labelPolicy: spec.labelPolicy,
      visibility: spec.visibility,
      teams: spec.teams,
      classification: spec.classification,
    };
    if (!existsSync(file)) throw refusal(source, ['file'], `cannot read ${spec.file} (resolved to ${file})`);
    if (this.opts.dryRun) {
      const found = await findByName(this.api, 'datasets', { name: spec.name, ownerTeam: spec.ownerTeam });
      const hash = await contentHashOf(file, spec.taskType);
      this.datasetIds.set(spec.name, found?.datasetId ?? null);
      if (!found) return this.record({ kind: 'dataset', name: spec.name, action: 'created', version: 1, id: null });
      const dataset = await this.api.get(`/v1/datasets/${found.datasetId}`);
      const match = dataset.versions.find((v: { contentHash: string }) => v.contentHash === hash);
      const latest = Math.max(0, ...dataset.versions.map((v: { version: number }) => v.version));
      return this.record({
        kind: 'dataset',
        name: spec.name,
        action: match ? 'unchanged' : latest ? 'new_version' : 'created',
        version: match ? match.version : latest + 1,
        id: found.datasetId,
      });
    }
    const created = await at(source, () => this.api.post<{ datasetId: string }>('/v1/datasets', body));
    const datasetId = created.body.datasetId;
    this.datasetIds.set(spec.name, datasetId);
    const version = await at(source, () =>
      uploadVersion(
        this.api,
        datasetId,
        file,
        versionOptions,
        this.opts.out,
        this.opts.interactive,
        this.opts.interactive,
      ),
    );
    this.record({
      kind: 'dataset',
      name: spec.name,
      action: created.status === 201 ? 'created' : version.created ? 'new_version' : 'unchanged',
      version: version.version,
      id: datasetId,
    });
  }

  async model(entry: Located<ModelEntry>) {
    const { spec, source } = entry;
    const aliasTarget = (version: string) => (version.includes('@') ? version : `${spec.name}@${version}`);
    const added: string[] = [];
    const moved: string[] = [];
    let modelId: string | null;
    let isNew: boolean;
    if (this.opts.dryRun) {
      const found = await findByName(this.api, 'models', { name: spec.name });
      const current = found ? await this.api.get(`/v1/models/${found.modelId}`) : { versions: [], aliases: {} };
      modelId = found?.modelId ?? null;
      isNew = !found;
      for (const [i, v] of spec.versions.entries()) {
        const existing = current.versions.find((s: { version: string }) => s.version === v.version);
        if (!existing) added.push(v.version);
        else if (!same(modelDefinition(v), modelDefinition(existing)))
          throw refusal(
            source,
            ['versions', i],
            `version ${v.version} of ${spec.name} exists with a different definition; versions are immutable, declare a new one`,
          );
      }
      for (const [alias, version] of Object.entries(spec.aliases ?? {}))
        if (current.aliases[alias] !== aliasTarget(version)) moved.push(`alias ${alias} → ${aliasTarget(version)}`);
    } else {
      const created = await at(source, () =>
        this.api.post<{ modelId: string }>('/v1/models', { name: spec.name, ownerTeam: spec.ownerTeam }),
      );
      const id = created.body.modelId;
      modelId = id;
      isNew = created.status === 201;
      for (const [i, v] of spec.versions.entries()) {
        const res = await at(
          source,
          () => this.api.post(`/v1/models/${id}/versions`, v),
          (field) => ['versions', i, ...pathOf(field)],
        );
        if (res.status === 201) added.push(v.version);
      }
      const { aliases } = await this.api.get(`/v1/models/${id}`);
      for (const [alias, version] of Object.entries(spec.aliases ?? {})) {
        const modelVersion = aliasTarget(version);
        if (aliases[alias] === modelVersion) continue;
        await at(
          source,
          () => this.api.put(`/v1/models/${id}/aliases/${encodeURIComponent(alias)}`, { modelVersion }),
          () => ['aliases', alias],
        );
        moved.push(`alias ${alias} → ${modelVersion}`);
      }
    }
    const detail = [...(added.length ? [`versions ${added.join(', ')} added`] : []), ...moved].join('; ');
    this.record({
      kind: 'model',
      name: spec.name,
      action: isNew ? 'created' : added.length ? 'new_version' : moved.length ? 'updated' : 'unchanged',
      version: added.at(-1) ?? null,
      id: modelId,
      ...(detail ? { detail } : {}),
    });
  }

  async suite({ spec, source }: Located<MetricSuiteEntry>) {
    const { name, purpose, ownerTeam, ...definition } = spec;
    if (this.opts.dryRun) {
      const found = await findByName(this.api, 'metric-suites', { name, ownerTeam });
      this.suiteIds.set(name, found?.metricSuiteId ?? null);
      if (!found) return this.record({ kind: 'metricSuite', name, action: 'created', version: 1, id: null });
      const suite = await this.api.get(`/v1/metric-suites/${found.metricSuiteId}`);
      if (suite.purpose !== purpose)
        throw refusal(
          source,
          ['purpose'],
          `suite ${name} exists with purpose ${suite.purpose}; a suite's purpose does not change`,
        );
      const latest = suite.versions.at(-1);
      const unchanged = latest && suiteMatches(definition, latest);
      return this.record({
        kind: 'metricSuite',
        name,
        action: unchanged ? 'unchanged' : latest ? 'new_version' : 'created',
        version: unchanged ? latest.version : (latest?.version ?? 0) + 1,
        id: found.metricSuiteId,
      });
    }
    const created = await at(source, () =>
      this.api.post<{ metricSuiteId: string }>('/v1/metric-suites', { name, purpose, ownerTeam }),
    );
    const id = created.body.metricSuiteId;
    this.suiteIds.set(name, id);
    const version = await at(source, () => this.api.post(`/v1/metric-suites/${id}/versions`, definition));
    this.record({
      kind: 'metricSuite',
      name,
      action: created.status === 201 ? 'created' : version.status === 201 ? 'new_version' : 'unchanged',
      version: version.body.version,
      id,
    });
  }

  async gate({ spec, source }: Located<GateEntry>) {
    const { metricSuite, datasets, rules, ...rest } = spec;
    const idOf = (map: Map<string, string | null>, ref: string) => (UUID.test(ref) ? ref : (map.get(ref) ?? null));
    const body = {
      ...rest,
      metricSuiteId: idOf(this.suiteIds, metricSuite),
      datasetIds: datasets.map((d) => idOf(this.datasetIds, d)),
      rules: rules.map(({ dataset, ...rule }) => ({
        ...rule,
        ...(dataset !== undefined ? { datasetId: idOf(this.datasetIds, dataset) } : {}),
      })),
    };
    if (this.opts.dryRun) {
      const found = await findByName(this.api, 'gates', { name: spec.name });
      if (!found) return this.record({ kind: 'gate', name: spec.name, action: 'created', version: 1, id: null });
      const gate = await this.api.get(`/v1/gates/${found.gateId}`);
      const unchanged = gateMatches(body, gate.latest);
      return this.record({
        kind: 'gate',
        name: spec.name,
        action: unchanged ? 'unchanged' : 'new_version',
        version: unchanged ? gate.latest.version : gate.latest.version + 1,
        id: found.gateId,
      });
    }
    const res = await at(
      source,
      () => this.api.post<{ gateId: string; version: number }>('/v1/gates', body),
      gateField,
    );
    this.record({
      kind: 'gate',
      name: spec.name,
      action: res.status === 200 ? 'unchanged' : res.body.version === 1 ? 'created' : 'new_version',
      version: res.body.version,
      id: res.body.gateId,
    });
  }
}

/** The API's gate fields, in the file's words. */
function gateField(field: string): Path {
  const path = pathOf(field);
  if (path[0] === 'metricSuiteId') return ['metricSuite'];
  if (path[0] === 'datasetIds') return ['datasets', ...path.slice(1)];
  return path.map((p) => (p === 'datasetId' ? 'dataset' : p));
}

/** Applies (or, with dryRun, plans) every entry in order; the first refusal stops it. */
export async function applyFiles(api: Api, files: EvalgateFiles, opts: ApplyOptions): Promise<Change[]> {
  const applier = new Applier(api, opts);
  for (const entry of files.datasets) await applier.dataset(entry);
  for (const entry of files.models) await applier.model(entry);
  for (const entry of files.metricSuites) await applier.suite(entry);
  for (const entry of files.gates) await applier.gate(entry);
  return applier.changes;
}

export { ConfigError };
