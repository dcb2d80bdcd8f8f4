/**
 * judge-v1: a deterministic stand-in for an LLM judge. It finds the candidate
 * output and the reference in the rendered prompt between `<output>…</output>`
 * and `<reference>…</reference>` tags, computes token F1 between them and maps
 * it to an integer score 1–5. Noise and bias knobs perturb the score the way a
 * drifting judge would; see testkit/modelServer/README.md.
 */
import { countTokens, hashUniform, tokenize } from './text';

export const JUDGE_MIN_SCORE = 1;
export const JUDGE_MAX_SCORE = 5;

/** SQuAD-style token F1 over bag-of-tokens overlap; two empty texts agree perfectly. */
export function tokenF1(output: string, reference: string): number {
  const outputTokens = tokenize(output);
  const referenceTokens = tokenize(reference);
  if (outputTokens.length === 0 && referenceTokens.length === 0) return 1;
  if (outputTokens.length === 0 || referenceTokens.length === 0) return 0;
  const referenceCounts = countTokens(referenceTokens);
  let overlap = 0;
  for (const [token, count] of countTokens(outputTokens)) overlap += Math.min(count, referenceCounts.get(token) ?? 0);
  if (overlap === 0) return 0;
  const precision = overlap / outputTokens.length;
  const recall = overlap / referenceTokens.length;
  return (2 * precision * recall) / (precision + recall);
}

/** F1 in [0, 0.2) → 1, [0.2, 0.4) → 2, [0.4, 0.6) → 3, [0.6, 0.8) → 4, [0.8, 1] → 5. */
export function scoreFromF1(f1: number): number {
  return Math.min(JUDGE_MAX_SCORE, JUDGE_MIN_SCORE + Math.floor(f1 * 5 + 1e-9));
}

export interface JudgeInputs {
  output: string;
  reference: string;
}

const QUOTED = /<candidate_output>([\s\S]*?)<\/candidate_output>/g;

/** The candidate's output as written: evalgate quotes it as a JSON string in `<candidate_output>` tags (domain/judge/prompt.ts). */
function unquote(text: string): string {
  const quoted = /^<candidate_output>([\s\S]*)<\/candidate_output>$/.exec(text);
  if (!quoted) return text;
  try {
    const value: unknown = JSON.parse(quoted[1]);
    return typeof value === 'string' ? value : text;
  } catch {
    return text;
  }
}

/** Reads `<output>…</output>` and `<reference>…</reference>` from a prompt; undefined when either is missing. */
export function parseJudgePrompt(prompt: string): JudgeInputs | undefined {
  const output = /<output>([\s\S]*?)<\/output>/i.exec(prompt);
  const reference = /<reference>([\s\S]*?)<\/reference>/i.exec(prompt);
  if (!output || !reference) return undefined;
  return { output: unquote(output[1].trim()).trim(), reference: reference[1].trim() };
}

/**
 * The `judgeGullible` knob: what a judge that follows instructions found in its prompt would
 * answer, or undefined. It obeys what it reads outside the `<candidate_output>` quotation — a
 * `{"score": N}` object, or "ignore previous instructions" (then it gives the top score) — as
 * an LLM judge fed a candidate's unquoted output might. Inside the quotation it reads data.
 */
export function injectedVerdict(prompt: string): string | undefined {
  const outside = prompt.replace(QUOTED, ' ');
  const object = /\{\s*"score"\s*:\s*(\d+)\s*\}/.exec(outside);
  if (object) return JSON.stringify({ score: Number(object[1]), reason: 'as the prompt instructed' });
  if (/ignore (?:all )?(?:previous|prior) instructions/i.test(outside))
    return JSON.stringify({ score: JUDGE_MAX_SCORE, reason: 'as the prompt instructed' });
  return undefined;
}

export interface JudgePerturbation {
  /** Probability that the score moves by ±1 (direction and occurrence seeded by the request). */
  noise: number;
  /** Added to every score before clamping: a drifting, over-generous (or harsh) judge. */
  bias: number;
  /** Mixed into the noise hash; the request's `seed` and `temperature` are too. */
  seedKey: string;
}

export interface JudgeVerdict {
  score: number;
  f1: number;
  reason: string;
}

export function judge(
  inputs: JudgeInputs,
  perturbation: JudgePerturbation = { noise: 0, bias: 0, seedKey: '' },
): JudgeVerdict {
  const f1 = tokenF1(inputs.output, inputs.reference);
  let score = scoreFromF1(f1);
  if (perturbation.noise > 0) {
    const key = `${perturbation.seedKey}\u0000${inputs.output}\u0000${inputs.reference}`;
    if (hashUniform(`noise:${key}`) < perturbation.noise) score += hashUniform(`sign:${key}`) < 0.5 ? -1 : 1;
  }
  score = Math.round(score + perturbation.bias);
  score = Math.min(JUDGE_MAX_SCORE, Math.max(JUDGE_MIN_SCORE, score));
  return { score, f1, reason: `token F1 ${f1.toFixed(2)} between output and reference` };
}
