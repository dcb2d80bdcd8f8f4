/**
 * Binary logistic regression on hashed bag-of-words features (the hashing trick:
 * no vocabulary to store, 2^18 weights), trained with a few epochs of plain SGD
 * and L2 decay. Features are log(1 + count), L2-normalised per document, so long
 * emails do not dominate. Shuffling uses a fixed seed: training is deterministic.
 */
import { countTokens, hash32, mulberry32, sigmoid } from './text';

export interface SparseVector {
  indices: Uint32Array;
  values: Float64Array;
}

export interface LogisticRegressionOptions {
  bits?: number;
  epochs?: number;
  learningRate?: number;
  l2?: number;
  seed?: number;
}

export interface LogisticRegressionModel {
  featurize(tokens: readonly string[]): SparseVector;
  /** The decision function w·x + b. */
  logOdds(tokens: readonly string[]): number;
  probability(tokens: readonly string[]): number;
}

export function hashedFeatures(tokens: readonly string[], bits: number): SparseVector {
  const mask = (1 << bits) - 1;
  const byIndex = new Map<number, number>();
  for (const [token, count] of countTokens(tokens)) {
    const slot = hash32(token) & mask;
    byIndex.set(slot, (byIndex.get(slot) ?? 0) + Math.log1p(count));
  }
  const indices = new Uint32Array(byIndex.size);
  const values = new Float64Array(byIndex.size);
  let norm = 0;
  let i = 0;
  for (const [slot, value] of byIndex) {
    indices[i] = slot;
    values[i] = value;
    norm += value * value;
    i++;
  }
  norm = Math.sqrt(norm) || 1;
  for (let j = 0; j < values.length; j++) values[j] /= norm;
  return { indices, values };
}

function dot(weights: Float64Array, x: SparseVector): number {
  let sum = 0;
  for (let j = 0; j < x.indices.length; j++) sum += weights[x.indices[j]] * x.values[j];
  return sum;
}

export function trainLogisticRegression(
  docs: readonly { tokens: readonly string[]; positive: boolean }[],
  options: LogisticRegressionOptions = {},
): LogisticRegressionModel {
  const bits = options.bits ?? 18;
  const epochs = options.epochs ?? 6;
  const learningRate = options.learningRate ?? 0.5;
  const l2 = options.l2 ?? 1e-6;
  const random = mulberry32(options.seed ?? 7);
  const weights = new Float64Array(1 << bits);
  let bias = 0;
  const features = docs.map((doc) => hashedFeatures(doc.tokens, bits));
  const order = docs.map((_, i) => i);
  // Lazy L2: keep weights as scale * raw so decay costs O(1) per step.
  let scale = 1;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const rate = learningRate / (1 + epoch);
    for (const i of order) {
      const x = features[i];
      const p = sigmoid(scale * dot(weights, x) + bias);
      const gradient = p - (docs[i].positive ? 1 : 0);
      scale *= 1 - rate * l2;
      const step = (rate * gradient) / scale;
      for (let j = 0; j < x.indices.length; j++) weights[x.indices[j]] -= step * x.values[j];
      bias -= rate * gradient;
    }
  }
  for (let k = 0; k < weights.length; k++) weights[k] *= scale;

  const logOdds = (tokens: readonly string[]): number => dot(weights, hashedFeatures(tokens, bits)) + bias;
  return {
    featurize: (tokens) => hashedFeatures(tokens, bits),
    logOdds,
    probability: (tokens) => sigmoid(logOdds(tokens)),
  };
}
