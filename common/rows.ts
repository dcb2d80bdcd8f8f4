/**
 * Dataset row shapes per task type (../shared/API.md). Every row has a unique `id`
 * and optional `tags` (slices). Extra fields are kept: they are part of the content.
 */
import { z } from 'zod';

export const TASK_TYPES = ['classification', 'ranking', 'retrieval', 'generation', 'regression'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

export const rowId = z
  .string()
  .min(1, 'must not be empty')
  .max(512, 'must be at most 512 characters')
  .refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters');
const tag = z
  .string()
  .min(1)
  .max(128)
  .refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters');
const tags = z.array(tag).max(64).optional();
const input = z.union([z.string(), z.record(z.string(), z.unknown())]);
const label = z.union([z.string().min(1), z.number().int(), z.boolean()]);

export const rowSchemas = {
  classification: z.looseObject({ id: rowId, input, label, tags }),
  ranking: z.looseObject({
    id: rowId,
    query: z.string().min(1),
    candidates: z.array(z.looseObject({ docId: z.string().min(1), text: z.string().optional() })).optional(),
    relevance: z.record(z.string(), z.number().min(0)),
    tags,
  }),
  retrieval: undefined as unknown as z.ZodType,
  generation: z.looseObject({
    id: rowId,
    input,
    reference: z.string().optional(),
    rubric: z.string().optional(),
    tags,
  }),
  regression: z.looseObject({ id: rowId, input, target: z.number().finite(), tags }),
} satisfies Record<TaskType, z.ZodType>;
rowSchemas.retrieval = rowSchemas.ranking;

export type ClassificationRow = z.infer<typeof rowSchemas.classification>;
export type RankingRow = z.infer<typeof rowSchemas.ranking>;
export type GenerationRow = z.infer<typeof rowSchemas.generation>;
export type RegressionRow = z.infer<typeof rowSchemas.regression>;
export type DatasetRow = (ClassificationRow | RankingRow | GenerationRow | RegressionRow) & {
  id: string;
  tags?: string[];
};

/** The fields a model must not see: the labels. What remains is sent to json-predict endpoints. */
export const LABEL_FIELDS: Record<TaskType, readonly string[]> = {
  classification: ['label'],
  ranking: ['relevance'],
  retrieval: ['relevance'],
  generation: ['reference', 'rubric'],
  regression: ['target'],
};

/** Names of registry records: no path separators, no control characters. */
export const recordName = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9 _.:-]*$/,
    'may contain only letters, digits, spaces and _ . : - (no path separators or control characters)',
  );
export const teamName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be a team name: letters, digits, _ . - (at most 64)');
