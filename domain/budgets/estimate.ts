/**
 * Call cost: token usage × the pricing on the model (or judge) version, and the estimate
 * a budget reserves before the call, when the usage is not known yet.
 */
export interface Pricing {
  inputPer1kTokensUsd?: number;
  outputPer1kTokensUsd?: number;
  perCallUsd?: number;
}
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export function costOf(pricing: Pricing, usage?: TokenUsage): number {
  const tokens = usage ?? { inputTokens: 0, outputTokens: 0 };
  return (
    (pricing.perCallUsd ?? 0) +
    (tokens.inputTokens / 1000) * (pricing.inputPer1kTokensUsd ?? 0) +
    (tokens.outputTokens / 1000) * (pricing.outputPer1kTokensUsd ?? 0)
  );
}

/**
 * Estimates a call's cost before it is made, erring high: prompt tokens as characters / 3
 * (English runs about 4 characters a token), output tokens as `max_tokens` when the
 * params cap it, else 1.5 × the largest output seen so far (at least 64). An estimate
 * that turns out low is settled after the call; see lease.ts for what that means for
 * the budget's bound.
 */
export class CostEstimator {
  private maxOutputTokens = 0;

  constructor(
    private readonly pricing: Pricing,
    private readonly params: Record<string, unknown> = {},
  ) {}

  /** True when the pricing makes every call free: nothing to estimate. */
  get free(): boolean {
    return !this.pricing.perCallUsd && !this.pricing.inputPer1kTokensUsd && !this.pricing.outputPer1kTokensUsd;
  }

  estimate(promptChars: number): number {
    if (this.free) return 0;
    const maxTokens = typeof this.params.max_tokens === 'number' ? this.params.max_tokens : undefined;
    const outputTokens = maxTokens ?? Math.max(64, Math.ceil(this.maxOutputTokens * 1.5));
    return costOf(this.pricing, { inputTokens: Math.ceil(promptChars / 3), outputTokens });
  }

  observe(usage: TokenUsage | undefined): void {
    if (usage && usage.outputTokens > this.maxOutputTokens) this.maxOutputTokens = usage.outputTokens;
  }
}
