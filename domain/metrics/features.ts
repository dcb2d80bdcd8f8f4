/**
 * The hot path of the run accumulator: an example's features, collected once per metric
 * (ExampleFeatures), and the columns they bump, added with the example's replicate weights
 * in fused loops (ColumnBatch). Nothing here allocates per example once warmed up.
 */
import { splitReal } from './fixedPoint';
import type { FeatureSink } from './types';

/** One example's contribution to one metric, collected once and applied to its groups. */
export class ExampleFeatures implements FeatureSink {
  countKeys: string[] = [];
  countAmounts: number[] = [];
  nCounts = 0;
  realKeys: string[] = [];
  realLimbs: number[] = [];
  realDigits: number[] = [];
  nReals = 0;
  scoreKeys: string[] = [];
  scores: number[] = [];
  nScores = 0;
  private readonly digits = new Float64Array(3);

  reset(): void {
    this.nCounts = 0;
    this.nReals = 0;
    this.nScores = 0;
  }

  count(key: string, amount: number): void {
    if (amount === 0) return;
    this.countKeys[this.nCounts] = key;
    this.countAmounts[this.nCounts++] = amount;
  }

  real(key: string, value: number): void {
    const base = splitReal(value, this.digits);
    if (Number.isNaN(base)) return;
    for (let i = 0; i < 3; i++) {
      if (this.digits[i] === 0) continue;
      this.realKeys[this.nReals] = key;
      this.realLimbs[this.nReals] = base + i;
      this.realDigits[this.nReals++] = this.digits[i];
    }
  }

  score(key: string, score: number): void {
    this.scoreKeys[this.nScores] = key;
    this.scores[this.nScores++] = score;
  }
}

/** Columns to bump for one example, flushed in fused loops (one pass over the weights per 4 columns). */
export class ColumnBatch {
  private cols: Float64Array[] = [];
  private amounts: number[] = [];
  private size = 0;

  push(col: Float64Array, amount: number): void {
    this.cols[this.size] = col;
    this.amounts[this.size++] = amount;
  }

  flush(w: Float64Array): void {
    const { cols, amounts } = this;
    const n = this.size;
    const width = w.length;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const c0 = cols[i],
        c1 = cols[i + 1],
        c2 = cols[i + 2],
        c3 = cols[i + 3];
      const a0 = amounts[i],
        a1 = amounts[i + 1],
        a2 = amounts[i + 2],
        a3 = amounts[i + 3];
      for (let b = 0; b < width; b++) {
        const x = w[b];
        c0[b] += x * a0;
        c1[b] += x * a1;
        c2[b] += x * a2;
        c3[b] += x * a3;
      }
    }
    for (; i + 2 <= n; i += 2) {
      const c0 = cols[i],
        c1 = cols[i + 1];
      const a0 = amounts[i],
        a1 = amounts[i + 1];
      for (let b = 0; b < width; b++) {
        const x = w[b];
        c0[b] += x * a0;
        c1[b] += x * a1;
      }
    }
    if (i < n) {
      const c0 = cols[i];
      const a0 = amounts[i];
      for (let b = 0; b < width; b++) c0[b] += w[b] * a0;
    }
    this.size = 0;
  }
}
