/**
 * The evalgate file (`evalgate apply -f`): YAML documents whose top-level keys `datasets`,
 * `metricSuites`, `models` and `gates` list what a repository declares. Each entry takes
 * the API body's fields (../shared/API.md) plus a `name` that identifies it; a gate names
 * its suite and datasets by name. The body parts reuse the API's own zod schemas, so the
 * file is validated as the API would validate it — with the file's line numbers — and the
 * published JSON Schema (`evalgate schema`, docs/evalgate.schema.json) is generated here.
 */
import { z } from 'zod';
import { recordName, TASK_TYPES, teamName } from '../../common/rows';
import { budgetDef, judgeDef, suiteMetrics } from '../../domain/suites/schemas';
import { gateBody, ruleSchema } from '../../api/features/gates/schemas';
import { modelVersionBody } from '../../domain/models/schemas';

const { datasetId: _ruleDatasetId, ...ruleFields } = ruleSchema.shape;
const { metricSuiteId: _suiteId, datasetIds: _datasetIds, ...gateFields } = gateBody.shape;

export const datasetEntry = z
  .strictObject({
    name: recordName,
    taskType: z.enum(TASK_TYPES),
    ownerTeam: teamName,
    description: z.string().max(4000).optional(),
    file: z.string().min(1).describe('the rows: a JSONL file, relative to this YAML file'),
    labelPolicy: z.enum(['human_reviewed', 'synthetic', 'implicit', 'mixed']),
    visibility: z.enum(['public', 'internal', 'restricted']).optional(),
    teams: z.array(teamName).max(100).optional().describe('teams that may read a restricted version'),
    classification: z.enum(['public', 'internal', 'confidential', 'restricted']).optional(),
  })
  .describe('a dataset; its version is the content of `file` (content-addressed: the same rows are the same version)');

export const metricSuiteEntry = z
  .strictObject({
    name: recordName,
    purpose: z.enum(['exploratory', 'release_blocking']),
    ownerTeam: teamName,
    metrics: suiteMetrics,
    judge: judgeDef.optional(),
    budget: budgetDef.optional(),
    requireHumanLabels: z.boolean().optional(),
  })
  .describe('a metric suite; a changed definition becomes its next version');

const { version: _optionalVersion, idempotencyKey: _key, ...versionFields } = modelVersionBody.shape;
export const modelVersionEntry = z
  .strictObject({
    version: _optionalVersion
      .unwrap()
      .describe('required in a file: versions are immutable, and a named version makes apply idempotent'),
    ...versionFields,
  })
  .describe('an immutable model version');

export const modelEntry = z
  .strictObject({
    name: recordName.refine((s) => !s.includes('@'), 'must not contain @'),
    ownerTeam: teamName,
    versions: z.array(modelVersionEntry).max(1000).default([]),
    aliases: z
      .record(
        z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be an alias name like production'),
        z.string(),
      )
      .optional()
      .describe('alias → version name (of this model), e.g. production: v3'),
  })
  .describe('a model, its versions and its aliases');

const ruleEntry = z
  .strictObject({
    ...ruleFields,
    dataset: z.string().min(1).optional().describe('must_pass: the known-failures dataset, by name'),
  })
  .describe('a gate rule (API.md, Gates); `dataset` names a dataset of this file');

export const gateEntry = z
  .strictObject({
    ...gateFields,
    metricSuite: z.string().min(1).describe('the release-blocking suite, by name'),
    datasets: z.array(z.string().min(1)).min(1, 'a gate evaluates at least one dataset').max(20),
    rules: z.array(ruleEntry).min(1, 'a gate needs at least one rule').max(100),
  })
  .describe('a release gate; a changed definition becomes its next version');

export const evalgateDocument = z
  .strictObject({
    datasets: z.array(datasetEntry).optional(),
    metricSuites: z.array(metricSuiteEntry).optional(),
    models: z.array(modelEntry).optional(),
    gates: z.array(gateEntry).optional(),
  })
  .describe('an evalgate file: what a repository declares, applied with `evalgate apply -f`');

export type DatasetEntry = z.infer<typeof datasetEntry>;
export type MetricSuiteEntry = z.infer<typeof metricSuiteEntry>;
export type ModelEntry = z.infer<typeof modelEntry>;
export type ModelVersionEntry = z.infer<typeof modelVersionEntry>;
export type GateEntry = z.infer<typeof gateEntry>;
export type RuleEntry = GateEntry['rules'][number];

/** The JSON Schema editors validate against (yaml-language-server, VS Code, JetBrains). */
export function evalgateJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(evalgateDocument, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }),
    title: 'evalgate file',
  };
}
