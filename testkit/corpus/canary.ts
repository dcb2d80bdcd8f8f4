/**
 * A drift-canary dataset for the subject-line task: held-out emails with a candidate
 * subject already written and a "human" score of it on the judge's 1–5 scale. The
 * candidates cover the scale — the two generators' outputs, the real subject, and a
 * half-right subject — and the human scores follow the rubric judge-v1 implements
 * (token F1 with the real subject, in fifths), with a seeded 10% of raters one point
 * off, as people are. An honest judge-v1 agrees with them on ~90% of rows; one with
 * `judgeBias` set does not.
 *
 * Rows: `{ id, input: <body>, reference: <subject>, output: <candidate>, humanScore, tags }`.
 */
import { sharedModelCatalog, type GeneratorModel } from '../modelServer/models/catalog';
import { JUDGE_MAX_SCORE, JUDGE_MIN_SCORE, scoreFromF1, tokenF1 } from '../modelServer/models/judge';
import { hashUniform } from '../modelServer/models/text';
import { generationRows, type GenerationRow, type RowOptions } from './writeDatasets';

export interface CanaryRow extends GenerationRow {
  output: string;
  humanScore: number;
}

export interface CanaryOptions extends RowOptions {
  /** Fraction of rows whose human score is one point off the rubric; default 0.1. */
  disagreement?: number;
}

function halfRight(reference: string, filler: string): string {
  const words = reference.split(/\s+/).filter(Boolean);
  return [...words.slice(0, Math.ceil(words.length / 2)), ...filler.split(/\s+/).slice(0, 2)].join(' ');
}

export function* canaryRows(options: CanaryOptions = {}): Generator<CanaryRow> {
  const catalog = sharedModelCatalog();
  const lead = catalog.models.get('lead-v1') as GeneratorModel;
  const keywords = catalog.models.get('keywords-gen-v1') as GeneratorModel;
  const disagreement = options.disagreement ?? 0.1;
  let i = 0;
  for (const row of generationRows(options)) {
    const kind = i++ % 4;
    const output =
      kind === 0
        ? lead.generate(row.input)
        : kind === 1
          ? keywords.generate(row.input)
          : kind === 2
            ? row.reference
            : halfRight(row.reference, lead.generate(row.input));
    let humanScore = scoreFromF1(tokenF1(output, row.reference));
    if (hashUniform(`human:${row.id}`) < disagreement) humanScore += hashUniform(`human-sign:${row.id}`) < 0.5 ? -1 : 1;
    humanScore = Math.min(JUDGE_MAX_SCORE, Math.max(JUDGE_MIN_SCORE, humanScore));
    yield { ...row, id: `canary/${row.id}`, output, humanScore };
  }
}

export function canaryJsonl(options: CanaryOptions = {}): string {
  let text = '';
  for (const row of canaryRows(options)) text += `${JSON.stringify(row)}\n`;
  return text;
}
