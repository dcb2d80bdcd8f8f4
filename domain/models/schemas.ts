import { z } from 'zod';

/** The body of `POST /v1/models/{modelId}/versions` (API.md, Registry); evalgate files declare versions with it. */
const httpUrl = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
    } catch {
      return false;
    }
  }, 'must be an http(s) URL without credentials');
const usd = z.number().min(0).max(1000);
export const modelVersionBody = z.strictObject({
  version: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be letters, digits, . _ - (no @ or /)')
    .optional(),
  endpoint: z.strictObject({
    protocol: z.enum(['openai-chat', 'json-predict']),
    url: httpUrl,
    model: z.string().min(1).max(256).optional(),
    maxConcurrency: z.number().int().min(1).max(4096).optional(),
    maxRps: z.number().positive().max(100_000).optional(),
  }),
  promptTemplate: z.string().min(1).max(100_000).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  pricing: z
    .strictObject({
      inputPer1kTokensUsd: usd.optional(),
      outputPer1kTokensUsd: usd.optional(),
      perCallUsd: usd.optional(),
    })
    .optional(),
  idempotencyKey: z.string().max(256).optional(),
});
export type ModelVersionBody = z.infer<typeof modelVersionBody>;
