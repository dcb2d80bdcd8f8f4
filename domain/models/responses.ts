/**
 * Turning an endpoint's answer into a Prediction. Every function returns a result,
 * never throws: a wrong shape is a `bad_response` for that one example.
 *
 * Normalisations (documented because metrics see their output):
 *   - a ranking lists each document once; later repeats are dropped; numeric ids
 *     become strings;
 *   - openai-chat content is trimmed; an empty label or a non-numeric / non-finite
 *     regression value is bad; an empty generation is a valid (poor) output;
 *   - usage that is present but malformed is ignored (the prediction stands) rather
 *     than failing an otherwise good answer.
 */
import { z } from 'zod';
import type { Prediction, TaskType, Usage } from './types';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const finite = z.number().finite();
const docId = z.union([z.string(), z.number().finite()]).transform(String);
const ranking = z.array(docId).transform(dedupe);

const predictSchemas = {
  classification: z.looseObject({ label: z.string().min(1), scores: z.record(z.string(), finite).optional() }),
  ranking: z.looseObject({ ranking }),
  retrieval: z.looseObject({ ranking }),
  generation: z.looseObject({ output: z.string() }),
  regression: z.looseObject({ value: finite }),
} satisfies Record<TaskType, z.ZodType>;

const count = z.number().int().min(0);
const usageSchema = z.union([
  z.looseObject({ inputTokens: count, outputTokens: count }),
  z.looseObject({ prompt_tokens: count, completion_tokens: count.optional() }).transform((u) => ({
    inputTokens: u.prompt_tokens,
    outputTokens: u.completion_tokens ?? 0,
  })),
]);

const chatCompletionSchema = z.looseObject({
  choices: z.array(z.looseObject({ message: z.looseObject({ content: z.string() }) })).min(1),
});

function dedupe(ids: string[]): string[] {
  const seen = new Set<string>();
  return ids.filter((id) => !seen.has(id) && (seen.add(id), true));
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue.path.join('.') || 'response'}: ${issue.message}`;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0;

export function parseUsage(body: unknown): Usage | undefined {
  if (typeof body !== 'object' || body === null || !('usage' in body)) return undefined;
  const usage = (body as { usage: unknown }).usage;
  // The common shape, checked by hand: every answer passes here (the schema below gives the same result).
  if (isPlainObject(usage) && isCount(usage.inputTokens) && isCount(usage.outputTokens))
    return { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens };
  const parsed = usageSchema.safeParse(usage);
  if (!parsed.success) return undefined;
  return { inputTokens: parsed.data.inputTokens, outputTokens: parsed.data.outputTokens };
}

/** A json-predict answer for the task type. */
export function parsePredictResponse(taskType: TaskType, body: unknown): Parsed<Prediction> {
  const fast = wellFormedPrediction(taskType, body);
  if (fast) return { ok: true, value: fast };
  const parsed = predictSchemas[taskType].safeParse(body);
  if (!parsed.success) return { ok: false, message: `json-predict ${taskType} answer: ${describe(parsed.error)}` };
  const data = parsed.data as Prediction;
  switch (taskType) {
    case 'classification':
      return { ok: true, value: data.scores ? { label: data.label, scores: data.scores } : { label: data.label } };
    case 'ranking':
    case 'retrieval':
      return { ok: true, value: { ranking: data.ranking } };
    case 'generation':
      return { ok: true, value: { output: data.output } };
    case 'regression':
      return { ok: true, value: { value: data.value } };
  }
}

/**
 * The prediction when the answer is well formed for the task type, checked by hand as
 * the schemas above would (every answer passes here; zod is only the slow path, which
 * also words the error). Ranking answers always take the schema (ids are normalised).
 */
function wellFormedPrediction(taskType: TaskType, body: unknown): Prediction | undefined {
  if (!isPlainObject(body)) return undefined;
  switch (taskType) {
    case 'classification': {
      const { label, scores } = body;
      if (typeof label !== 'string' || label.length === 0) return undefined;
      if (scores === undefined) return { label };
      if (!isPlainObject(scores)) return undefined;
      for (const key in scores) if (!Number.isFinite(scores[key])) return undefined;
      return { label, scores: scores as Record<string, number> };
    }
    case 'generation':
      return typeof body.output === 'string' ? { output: body.output } : undefined;
    case 'regression':
      return Number.isFinite(body.value) ? { value: body.value as number } : undefined;
    default:
      return undefined;
  }
}

/** `choices[0].message.content` of an openai-chat completion. */
export function parseChatCompletion(body: unknown): Parsed<string> {
  const parsed = chatCompletionSchema.safeParse(body);
  if (!parsed.success) return { ok: false, message: `chat completion: ${describe(parsed.error)}` };
  return { ok: true, value: parsed.data.choices[0].message.content };
}

const CODE_FENCE = /^```[A-Za-z]*\s*\n?([\s\S]*?)\n?```$/;

/** A JSON array of ids (optionally in a code fence), else ids separated by commas or newlines. */
export function parseRankingText(text: string): Parsed<string[]> {
  const unfenced = CODE_FENCE.exec(text)?.[1].trim() ?? text;
  if (unfenced.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(unfenced);
    } catch {
      return { ok: false, message: 'ranking: starts with [ but is not a JSON array' };
    }
    const parsed = ranking.safeParse(json);
    return parsed.success
      ? { ok: true, value: parsed.data }
      : { ok: false, message: `ranking: ${describe(parsed.error)}` };
  }
  const ids = unfenced
    .split(/[,\n]/)
    .map((id) =>
      id
        .trim()
        .replace(/^["']|["']$/g, '')
        .trim(),
    )
    .filter((id) => id.length > 0);
  return { ok: true, value: dedupe(ids) };
}

/** An openai-chat reply's content as a prediction for the task type. */
export function parseChatPrediction(taskType: TaskType, content: string): Parsed<Prediction> {
  const text = content.trim();
  switch (taskType) {
    case 'classification':
      return text ? { ok: true, value: { label: text } } : { ok: false, message: 'classification: empty reply' };
    case 'generation':
      return { ok: true, value: { output: text } };
    case 'regression': {
      const value = text === '' ? Number.NaN : Number(text);
      return Number.isFinite(value)
        ? { ok: true, value: { value } }
        : { ok: false, message: 'regression: reply is not a finite number' };
    }
    case 'ranking':
    case 'retrieval': {
      const parsed = parseRankingText(text);
      return parsed.ok ? { ok: true, value: { ranking: parsed.value } } : parsed;
    }
  }
}
