/**
 * What plan compares: an entry of the file against what the API holds, with the API's
 * defaults applied, so "unchanged" in a plan means apply will leave it alone.
 */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { canonicalJson } from '../../common/canonical';
import { rowSchemas } from '../../common/rows';
import { judgeDef } from '../../domain/suites/schemas';
import { CliFailure } from '../http';
import type { Path } from './load';
import type { DatasetEntry, MetricSuiteEntry } from './schema';

export const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/** The content hash the API will compute: sha256 over the canonical rows, one per line, in file order. */
export async function contentHashOf(file: string, taskType: DatasetEntry['taskType']): Promise<string> {
  const hash = createHash('sha256');
  const schema = rowSchemas[taskType];
  let lineNo = 0;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const text of lines) {
    lineNo += 1;
    if (!text.trim()) continue;
    let row: unknown;
    try {
      row = schema.parse(JSON.parse(text));
    } catch (err) {
      const issue = (err as { issues?: { path: Path; message: string }[] }).issues?.[0];
      throw new CliFailure(
        `${file}:${lineNo}: ${issue ? `${issue.path.join('.') || 'row'}: ${issue.message}` : 'not valid JSON'}`,
        2,
      );
    }
    hash.update(`${canonicalJson(row)}\n`);
  }
  return hash.digest('hex');
}

/** A model version's definition as the API stores it (its defaults applied), for comparison. */
export function modelDefinition(v: {
  endpoint: any;
  promptTemplate?: string | null;
  params?: unknown;
  pricing?: unknown;
}): unknown {
  const endpoint = { ...v.endpoint, url: String(v.endpoint.url).replace(/\/+$/, '') };
  return {
    endpoint,
    promptTemplate: v.promptTemplate ?? (endpoint.protocol === 'openai-chat' ? '{{input}}' : null),
    params: v.params ?? {},
    pricing: v.pricing ?? {},
  };
}

/**
 * Whether a suite definition matches a stored version. An implementation version the file
 * does not pin is not compared: the API pins the latest when it stores a version.
 */
export function suiteMatches(declared: Omit<MetricSuiteEntry, 'name' | 'purpose' | 'ownerTeam'>, stored: any): boolean {
  if (declared.metrics.length !== stored.metrics.length) return false;
  const metricsSame = declared.metrics.every((m, i) => {
    const s = stored.metrics[i];
    return (
      m.name === s.name &&
      m.metric === s.metric &&
      same(m.params ?? {}, s.params ?? {}) &&
      same(m.slices, s.slices) &&
      (m.implVersion === undefined || m.implVersion === s.implVersion)
    );
  });
  const budget = { maxCostUsd: declared.budget?.maxCostUsd ?? null, maxCalls: declared.budget?.maxCalls ?? null };
  const judgeSame =
    !declared.judge && !stored.judge
      ? true
      : Boolean(declared.judge && stored.judge) &&
        Object.entries(judgeDef.parse(declared.judge)).every(([k, v]) =>
          same(k === 'params' ? (v ?? {}) : v, stored.judge[k]),
        );
  return (
    metricsSame &&
    judgeSame &&
    same(budget, stored.budget) &&
    (declared.requireHumanLabels ?? false) === stored.requireHumanLabels
  );
}

/** Whether a gate body matches the gate's latest version, with the API's defaults applied. */
export function gateMatches(body: any, latest: any): boolean {
  const rules = latest.rules.map(({ id: _id, ...r }: { id: string }) => r);
  return (
    body.metricSuiteId === latest.metricSuiteId &&
    same([...new Set(body.datasetIds)], latest.datasetIds) &&
    body.baselineAlias === latest.baselineAlias &&
    same(body.rules, rules) &&
    (body.requiredApprovals ?? 2) === latest.requiredApprovals &&
    (body.overrideTtlHours ?? 24) === latest.overrideTtlHours &&
    body.baselineRuns === latest.baselineRuns &&
    (body.description ?? null) === latest.description
  );
}
