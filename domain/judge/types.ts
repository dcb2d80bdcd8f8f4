import type { TokenUsage } from '../budgets/estimate';

/** The judge's verdict on one example, as stored in its ExampleRecord. */
export interface JudgeOutcome {
  /** Raw scores on the judge's scale, one per repeat; empty unless every repeat parsed. */
  scores: number[];
  /** Normalised max − min across repeats (two or more). */
  spread?: number;
  /** Judge calls made for this example (a retry is a call); cache hits are not calls. */
  calls: number;
  cachedRepeats: number;
  usage?: TokenUsage;
  costUsd: number;
  error?: { class: 'judge_error'; message: string };
  /** The budget ran out before every repeat was judged: not a judge error, not judged. */
  skipped?: 'budget_exceeded';
}

export interface JudgeTranscript {
  exampleId: string;
  repeat: number;
  attempt: number;
  cached: boolean;
  judgeModelVersion: string;
  judgeFingerprint: string;
  promptHash: string;
  params: Record<string, unknown>;
  prompt: string;
  rawOutput: string | null;
  parsedScore: number | null;
  normalisedScore: number | null;
  error: string | null;
  latencyMs: number;
  usage: TokenUsage | null;
  costUsd: number;
}

export interface JudgeOutputSchema {
  format: 'json';
  scoreField: string;
  min: number;
  max: number;
  /** Fields the judge's JSON must carry besides the score (e.g. `reason`). */
  requiredFields?: string[];
}

/** The suite version's stored judge record (api/features/suites resolveJudge). */
export interface StoredJudge {
  modelVersion: string;
  modelVersionId: string;
  promptTemplate: string;
  promptHash: string;
  output: JudgeOutputSchema;
  params: Record<string, unknown>;
  repeats: number;
  pinned: boolean;
  errorRateLimit: number;
  canaryDatasetId?: string;
  agreementFloor?: number;
  maxAgreementDrop?: number;
}
