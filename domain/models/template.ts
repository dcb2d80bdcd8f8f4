/**
 * Prompt templates for openai-chat model versions and judges.
 *
 * Syntax: `{{name}}` (spaces inside the braces allowed) where `name` is a top-level
 * row field: `input`, `query`, `reference`, `rubric`, `output`, `candidates`, or any
 * other. Rules, chosen so that a rendered prompt is a pure function of template + row:
 *   - strings are inserted as they are; numbers and booleans as `String(value)`;
 *   - objects and arrays as canonical JSON (sorted keys, no whitespace), so the same
 *     row always gives the same prompt and so the same prediction-cache key;
 *   - a missing, undefined or null field renders as the empty string. Rows of one
 *     dataset legitimately differ (a generation row may lack `rubric`), and a literal
 *     `{{rubric}}` leaking into a prompt is worse than nothing. The registry can
 *     check a template's fields up front with `templateFields`;
 *   - anything that is not `{{identifier}}` (`{{a.b}}`, `{{ }}`, a lone `{`) is text.
 * Templates are compiled once and cached by their text, so rendering a row is a join.
 */
import { canonicalJson } from '../../common/canonical';
import type { TaskType } from './types';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Text and field names alternating: `texts.length === fields.length + 1`. */
export interface CompiledTemplate {
  texts: readonly string[];
  fields: readonly string[];
}

/** openai-chat prompts when a model version has no template: the bare input (ranking: query and candidates). */
export const DEFAULT_PROMPT_TEMPLATES: Readonly<Record<TaskType, string>> = Object.freeze({
  classification: '{{input}}',
  generation: '{{input}}',
  regression: '{{input}}',
  ranking: '{{query}}\n\n{{candidates}}',
  retrieval: '{{query}}\n\n{{candidates}}',
});

/** Templates are few (one per model version or judge prompt); the bound only guards against misuse. */
const CACHE_LIMIT = 1024;
const cache = new Map<string, CompiledTemplate>();

export function compileTemplate(template: string): CompiledTemplate {
  const cached = cache.get(template);
  if (cached) return cached;
  const texts: string[] = [];
  const fields: string[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    texts.push(template.slice(last, match.index));
    fields.push(match[1]);
    last = match.index + match[0].length;
  }
  texts.push(template.slice(last));
  const compiled: CompiledTemplate = Object.freeze({ texts: Object.freeze(texts), fields: Object.freeze(fields) });
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(template, compiled);
  return compiled;
}

/** The distinct row fields a template uses, in order of first use. */
export function templateFields(template: string): string[] {
  return [...new Set(compileTemplate(template).fields)];
}

export function renderValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  try {
    return canonicalJson(value);
  } catch {
    // Not JSON data (a NaN, an undefined inside an array): still render something stable.
    return JSON.stringify(value) ?? '';
  }
}

export function renderTemplate(template: string, row: Record<string, unknown>): string {
  const { texts, fields } = compileTemplate(template);
  if (fields.length === 0) return texts[0];
  let out = texts[0];
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    out += (Object.hasOwn(row, field) ? renderValue(row[field]) : '') + texts[i + 1];
  }
  return out;
}
