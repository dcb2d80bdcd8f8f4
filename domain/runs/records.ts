import type { MetricExample } from '../metrics/types';
import type { TaskType } from '../../common/rows';
import type { JudgeOutcome } from '../judge/types';

/**
 * One example's stored outcome: what the model saw the truth as, what it predicted, and
 * what that cost. Parts of these records are the run's per-example data: metrics are
 * recomputed from them without calling the model again.
 */
export interface ExampleRecord {
  id: string;
  tags?: string[];
  label?: string;
  target?: number;
  relevance?: Record<string, number>;
  reference?: string;
  prediction?: { label?: string; scores?: Record<string, number>; ranking?: string[]; output?: string; value?: number };
  error?: { class: string; message: string };
  cached?: boolean;
  usage?: { inputTokens: number; outputTokens: number };
  costUsd?: number;
  /** Classification: the predicted label equals the truth. Used to list regressions between runs. */
  correct?: boolean;
  /** Generation: a human's score of the candidate on the judge's scale, when the row carries one (judge–human agreement). */
  humanScore?: number;
  /** Generation: the judge's mean score normalised to [0, 1]; absent on a judge error (judge_score skips the example). */
  judgeScore?: number;
  /** Generation: the judge's verdict (raw scores per repeat, spread, calls, cost, judge_error). */
  judge?: JudgeOutcome;
}

/** Splits a dataset row into what the model may see and the truth it must not. */
export function splitRow(
  taskType: TaskType,
  row: Record<string, any>,
): { modelInput: Record<string, unknown>; truth: Partial<ExampleRecord> } {
  const { tags: _tags, ...rest } = row;
  switch (taskType) {
    case 'classification': {
      const { label, ...modelInput } = rest;
      return { modelInput, truth: { label: String(label) } };
    }
    case 'ranking':
    case 'retrieval': {
      const { relevance, ...modelInput } = rest;
      return { modelInput, truth: { relevance } };
    }
    case 'generation': {
      // A human score is a label: the model must not see it.
      const { reference, rubric: _rubric, humanScore, ...modelInput } = rest;
      return {
        modelInput,
        truth: {
          ...(reference === undefined ? {} : { reference }),
          ...(typeof humanScore === 'number' && Number.isFinite(humanScore) ? { humanScore } : {}),
        },
      };
    }
    case 'regression': {
      const { target, ...modelInput } = rest;
      return { modelInput, truth: { target } };
    }
  }
}

export function callCostUsd(
  pricing: { inputPer1kTokensUsd?: number; outputPer1kTokensUsd?: number; perCallUsd?: number },
  usage?: { inputTokens: number; outputTokens: number },
): number {
  const tokens = usage ?? { inputTokens: 0, outputTokens: 0 };
  return (
    (pricing.perCallUsd ?? 0) +
    (tokens.inputTokens / 1000) * (pricing.inputPer1kTokensUsd ?? 0) +
    (tokens.outputTokens / 1000) * (pricing.outputPer1kTokensUsd ?? 0)
  );
}

const NO_TAGS: string[] = [];

/** One object of one shape for every record (fields the record lacks stay undefined): no spreads on the hot path. */
export function toMetricExample(record: ExampleRecord): MetricExample {
  return {
    id: record.id,
    tags: record.tags ?? NO_TAGS,
    label: record.label,
    target: record.target,
    relevance: record.relevance,
    reference: record.reference,
    judgeScore: record.judgeScore,
    prediction: record.prediction ?? {},
  };
}
