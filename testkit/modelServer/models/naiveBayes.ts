/**
 * Multinomial naive Bayes over word counts with Laplace (add-alpha) smoothing:
 *   log P(c)   = log(docs_c / docs)
 *   log P(w|c) = log((count_c(w) + alpha) / (tokens_c + alpha * |V|))
 * Words never seen in training are ignored at prediction time. For speed the
 * model keeps, per word, the log-likelihood ratio spam vs ham.
 */
import { sigmoid } from './text';

export interface LabelledTokens<L extends string = string> {
  tokens: readonly string[];
  label: L;
}

export interface NaiveBayesModel<L extends string = string> {
  labels: readonly [L, L];
  vocabularySize: number;
  logPrior(label: L): number;
  /** log P(word | label); undefined for words outside the vocabulary. */
  logLikelihood(word: string, label: L): number | undefined;
  /** log P(label) + sum over known tokens of log P(token | label) — the unnormalised log joint. */
  logJoint(tokens: readonly string[], label: L): number;
  /** log P(labels[1] | tokens) − log P(labels[0] | tokens). */
  logOdds(tokens: readonly string[]): number;
}

export interface NaiveBayesOptions {
  alpha?: number;
}

/** Trains a two-class model; `labels[1]` is the "positive" class of `logOdds`. */
export function trainNaiveBayes<L extends string>(
  docs: readonly LabelledTokens<L>[],
  labels: readonly [L, L],
  options: NaiveBayesOptions = {},
): NaiveBayesModel<L> {
  const alpha = options.alpha ?? 1;
  const index = new Map<string, number>();
  const counts: [number[], number[]] = [[], []];
  const docCounts = [0, 0];
  const tokenTotals = [0, 0];
  for (const doc of docs) {
    const c = labels.indexOf(doc.label);
    if (c < 0) throw new Error(`unknown label ${doc.label}`);
    docCounts[c]++;
    tokenTotals[c] += doc.tokens.length;
    for (const token of doc.tokens) {
      let w = index.get(token);
      if (w === undefined) {
        w = index.size;
        index.set(token, w);
        counts[0].push(0);
        counts[1].push(0);
      }
      counts[c][w]++;
    }
  }
  if (docCounts[0] === 0 || docCounts[1] === 0) throw new Error('naive Bayes needs training documents of both labels');
  const vocabularySize = index.size;
  const totalDocs = docCounts[0] + docCounts[1];
  const logPriors = docCounts.map((n) => Math.log(n / totalDocs));
  const logDenominators = tokenTotals.map((n) => Math.log(n + alpha * vocabularySize));
  const logLik: [Float64Array, Float64Array] = [new Float64Array(vocabularySize), new Float64Array(vocabularySize)];
  const ratio = new Float64Array(vocabularySize);
  for (let w = 0; w < vocabularySize; w++) {
    logLik[0][w] = Math.log(counts[0][w] + alpha) - logDenominators[0];
    logLik[1][w] = Math.log(counts[1][w] + alpha) - logDenominators[1];
    ratio[w] = logLik[1][w] - logLik[0][w];
  }
  const priorRatio = logPriors[1] - logPriors[0];
  const classIndex = (label: L): number => {
    const c = labels.indexOf(label);
    if (c < 0) throw new Error(`unknown label ${label}`);
    return c;
  };

  return {
    labels,
    vocabularySize,
    logPrior: (label) => logPriors[classIndex(label)],
    logLikelihood(word, label) {
      const w = index.get(word);
      return w === undefined ? undefined : logLik[classIndex(label)][w];
    },
    logJoint(tokens, label) {
      const c = classIndex(label);
      let sum = logPriors[c];
      for (const token of tokens) {
        const w = index.get(token);
        if (w !== undefined) sum += logLik[c][w];
      }
      return sum;
    },
    logOdds(tokens) {
      let sum = priorRatio;
      for (const token of tokens) {
        const w = index.get(token);
        if (w !== undefined) sum += ratio[w];
      }
      return sum;
    },
  };
}

/**
 * Naive Bayes log-odds are wildly over-confident (every token is counted as
 * independent evidence). Dividing by a temperature fitted on out-of-fold
 * predictions makes the probabilities usable for log-loss, Brier and ECE.
 */
export function fitTemperature(logOdds: readonly number[], positives: readonly boolean[]): number {
  const loss = (temperature: number): number => {
    let total = 0;
    for (let i = 0; i < logOdds.length; i++) {
      const p = Math.min(1 - 1e-12, Math.max(1e-12, sigmoid(logOdds[i] / temperature)));
      total -= positives[i] ? Math.log(p) : Math.log(1 - p);
    }
    return total;
  };
  // Golden-section search on log(temperature) in [log 1, log 1000].
  let lo = 0;
  let hi = Math.log(1000);
  const phi = (Math.sqrt(5) - 1) / 2;
  for (let step = 0; step < 60; step++) {
    const a = hi - phi * (hi - lo);
    const b = lo + phi * (hi - lo);
    if (loss(Math.exp(a)) <= loss(Math.exp(b))) hi = b;
    else lo = a;
  }
  return Math.exp((lo + hi) / 2);
}
