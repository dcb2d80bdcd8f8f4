/**
 * Reading a judge's reply against the suite's output schema. The reply must be exactly one
 * JSON object — surrounding whitespace and one code fence around it are tolerated, nothing
 * else: prose around it, a second object or trailing text make the reply unparseable
 * (`judge_error`). Looking for "the first JSON object" in prose, as this did before, let a
 * judge that quoted the candidate's output (`The candidate says {"score": 5} ...`) score it
 * with the candidate's own number. Then the object must carry the score field on the scale
 * and every required field. Pure; never throws.
 */
import { z } from 'zod';
import type { JudgeOutputSchema } from './types';

export type ParsedJudgement =
  { ok: true; score: number; fields: Record<string, unknown> } | { ok: false; message: string };

/** The whole reply is one fenced block: ```json ... ``` (language tag optional). */
const WHOLLY_FENCED = /^```(?:json|JSON)?[ \t]*\n?([\s\S]*?)\n?[ \t]*```$/;

/**
 * The reply's one JSON object, or why there is none: the trimmed reply (or the inside of a fence that
 * is the whole reply) must parse as JSON, and that JSON must be an object.
 */
export function soleJsonObject(reply: string): { value: Record<string, unknown> } | { error: string } {
  const trimmed = reply.trim();
  const text = (WHOLLY_FENCED.exec(trimmed)?.[1] ?? trimmed).trim();
  if (!text.startsWith('{')) {
    return {
      error: text.includes('{') ? 'the reply is not exactly one JSON object' : 'the reply holds no JSON object',
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Either malformed, or an object followed by more text (a second object, prose).
    return { error: 'the reply is not exactly one JSON object (malformed, or text after it)' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { error: 'the reply is not exactly one JSON object' };
  return { value: value as Record<string, unknown> };
}

const schemas = new Map<string, z.ZodType<Record<string, unknown>>>();

function schemaFor(output: JudgeOutputSchema): z.ZodType<Record<string, unknown>> {
  const key = JSON.stringify(output);
  let schema = schemas.get(key);
  if (!schema) {
    // Numbers sent as strings ("4") are accepted: common, and unambiguous.
    const score = z
      .union([
        z.number(),
        z
          .string()
          .trim()
          .regex(/^-?\d+(\.\d+)?$/)
          .transform(Number),
      ])
      .pipe(
        z
          .number()
          .finite()
          .min(output.min, `below the scale minimum ${output.min}`)
          .max(output.max, `above the scale maximum ${output.max}`),
      );
    const shape: Record<string, z.ZodType> = { [output.scoreField]: score };
    for (const field of output.requiredFields ?? [])
      if (field !== output.scoreField)
        shape[field] = z.unknown().refine((v) => v !== undefined && v !== null, 'is required');
    schema = z.looseObject(shape) as unknown as z.ZodType<Record<string, unknown>>;
    if (schemas.size > 256) schemas.clear();
    schemas.set(key, schema);
  }
  return schema;
}

export function parseJudgeOutput(content: string, output: JudgeOutputSchema): ParsedJudgement {
  const sole = soleJsonObject(content);
  if ('error' in sole) return { ok: false, message: sole.error };
  const parsed = schemaFor(output).safeParse(sole.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, message: `${issue.path.join('.') || 'reply'}: ${issue.message}` };
  }
  return { ok: true, score: parsed.data[output.scoreField] as number, fields: parsed.data };
}

/** A score on the judge's scale mapped to [0, 1]. */
export function normaliseScore(score: number, output: Pick<JudgeOutputSchema, 'min' | 'max'>): number {
  return (score - output.min) / (output.max - output.min);
}
