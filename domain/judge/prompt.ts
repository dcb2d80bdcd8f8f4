/**
 * What a judge call is made of: the rendered prompt, the params of one repeat, and the
 * judge-cache key. The prompt template sees the dataset row's fields plus `output`, the
 * candidate's output; see domain/models/template.ts for the rendering rules.
 */
import { hashCanonical, sha256Hex } from '../../common/canonical';
import { renderTemplate, templateFields } from '../models/template';
import type { JudgeConfig } from './config';

const KEY_VERSION = 'j1';

export function renderJudgePrompt(template: string, row: Record<string, unknown>, output: string): string {
  return renderTemplate(template, { ...row, output });
}

/**
 * Repeat r of a judge with an integer seed sends seed + r: repeats of a seeded judge then
 * sample differently (that is what they are for) yet stay reproducible. Everything else
 * is sent exactly as pinned.
 */
export function paramsForRepeat(params: Record<string, unknown>, repeat: number): Record<string, unknown> {
  if (repeat === 0 || typeof params.seed !== 'number' || !Number.isInteger(params.seed)) return params;
  return { ...params, seed: params.seed + repeat };
}

/** Hash of what the judge sees besides the candidate output: the row fields its template uses. */
export function referenceHash(template: string, row: Record<string, unknown>): string {
  const fields = templateFields(template)
    .filter((f) => f !== 'output')
    .sort();
  return hashCanonical(Object.fromEntries(fields.map((f) => [f, row[f] ?? null])));
}

export const outputHash = (output: string): string => sha256Hex(output);

export interface JudgeCacheKeyParts {
  outputHash: string;
  referenceHash: string;
  repeat: number;
}

/** (judge version, prompt hash, params, candidate output hash, reference hash, repeat index), versioned, no secrets. */
export function judgeCacheKey(
  judge: Pick<JudgeConfig, 'modelVersionId' | 'promptHash' | 'paramsHash'>,
  parts: JudgeCacheKeyParts,
): string {
  return sha256Hex(
    [
      KEY_VERSION,
      judge.modelVersionId,
      judge.promptHash,
      judge.paramsHash,
      parts.outputHash,
      parts.referenceHash,
      parts.repeat,
    ].join(':'),
  );
}
