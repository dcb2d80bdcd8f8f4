/**
 * Reading a judge's reply against the suite's output schema. Judges wrap JSON in prose
 * or code fences often enough that we look for the first JSON object in the reply; what
 * we do not accept is a reply without one, without the score field, with a score off
 * the scale, or without a required field. Pure; never throws.
 */
import { z } from 'zod';
import type { JudgeOutputSchema } from './types';

export type ParsedJudgement =
  { ok: true; score: number; fields: Record<string, unknown> } | { ok: false; message: string };

const FENCED = /```(?:json|JSON)?\s*\n?([\s\S]*?)```/;

/** The first balanced `{...}` in the text (strings and escapes respected), or undefined. */
export function firstJsonObject(text: string): string | undefined {
  const fenced = FENCED.exec(text)?.[1];
  const source = fenced !== undefined && fenced.includes('{') ? fenced : text;
  const start = source.indexOf('{');
  if (start < 0) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < source.length; i++) {
    const ch = source[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return source.slice(start, i + 1);
  }
  return undefined;
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
  const json = firstJsonObject(content);
  if (json === undefined) return { ok: false, message: 'the reply holds no JSON object' };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { ok: false, message: 'the reply holds a malformed JSON object' };
  }
  const parsed = schemaFor(output).safeParse(value);
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
