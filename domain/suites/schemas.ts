import { z } from 'zod';

export const metricDef = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'must be letters, digits, _ . : - (at most 64)'),
  metric: z.string().min(1),
  params: z.record(z.string(), z.unknown()).optional(),
  slices: z.array(z.string().min(1).max(128)).max(200).optional(),
  implVersion: z.string().min(1).max(64).optional(),
});

export const judgeDef = z.strictObject({
  modelVersion: z.string().min(3),
  promptTemplate: z.string().min(1).max(100_000),
  output: z
    .strictObject({
      format: z.literal('json'),
      scoreField: z.string().min(1).max(64),
      min: z.number(),
      max: z.number(),
      /** Fields the judge's JSON must carry besides the score, e.g. ["reason"]; a reply without them is unparseable. */
      requiredFields: z.array(z.string().min(1).max(64)).max(20).optional(),
    })
    .refine((o) => o.max > o.min, { message: 'max must be greater than min', path: ['max'] }),
  params: z.record(z.string(), z.unknown()).optional(),
  repeats: z.number().int().min(1).max(10).default(1),
  pinned: z.boolean(),
  errorRateLimit: z.number().min(0).max(1).default(0.02),
  canaryDatasetId: z.uuid().optional(),
  agreementFloor: z.number().min(0).max(1).optional(),
  maxAgreementDrop: z.number().min(0).max(1).optional(),
});

/** A suite's hard cost limits: a run stops as budget_exceeded when either is reached. */
export const budgetDef = z.strictObject({
  maxCostUsd: z.number().positive().max(1e7).optional(),
  maxCalls: z.number().int().positive().optional(),
});

export const suiteMetrics = z.array(metricDef).min(1, 'a suite needs at least one metric').max(100);

export const suiteVersionBody = z.strictObject({
  metrics: suiteMetrics,
  judge: judgeDef.optional(),
  budget: budgetDef.optional(),
  requireHumanLabels: z.boolean().default(false),
  idempotencyKey: z.string().max(256).optional(),
});

export type MetricDef = z.infer<typeof metricDef> & { implVersion: string; params: Record<string, unknown> };
export type JudgeDef = z.infer<typeof judgeDef>;
export type SuiteVersionBody = z.infer<typeof suiteVersionBody>;
