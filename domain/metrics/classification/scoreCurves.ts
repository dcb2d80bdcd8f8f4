/**
 * Shared state and arithmetic of the score-order metrics (roc_auc, pr_auc).
 *
 * State: per class c, a histogram of the scores of its positives ("p NUL c") and of its
 * negatives ("n NUL c"). For the point estimate the histogram keeps every distinct score
 * exactly — O(distinct scores) state, the one place the library is O(n) — so the point
 * value is exact (ties get half credit in AUC and form one threshold in AP, as in
 * scikit-learn). Bootstrap replicates see a binned histogram instead (see layer.ts).
 *
 * - Binary (`positiveLabel`): the curve of scores[positiveLabel], positives = label equal
 *   to positiveLabel. Examples without that score are skipped.
 * - Multiclass (no positiveLabel): one-vs-rest per class present in the example's scores;
 *   the value is the unweighted mean over classes that have both positives and negatives
 *   (scikit-learn raises instead when a class never occurs). Examples whose scores lack the
 *   true label are skipped.
 * A curve without both positives and negatives is undefined: null, reason "single_class".
 */
import { NO_EXAMPLES, outcome, undefinedOutcome } from '../state';
import type { FeatureSink, MetricExample, MetricOutcome, MetricStats, ScoreHistogram } from '../types';
import type { PositiveLabelParams } from './common';

const POS = 'p\u0000';
const NEG = 'n\u0000';

export function observeScoreCurves(ex: MetricExample, params: PositiveLabelParams, out: FeatureSink): boolean {
  const truth = ex.label;
  const scores = ex.prediction.scores;
  if (truth === undefined || !scores) return false;
  if (params.positiveLabel !== undefined) {
    const s = scores[params.positiveLabel];
    if (s === undefined || !Number.isFinite(s)) return false;
    out.score((truth === params.positiveLabel ? POS : NEG) + params.positiveLabel, s);
    return true;
  }
  if (!Number.isFinite(scores[truth])) return false;
  for (const c in scores) if (!Number.isFinite(scores[c])) return false;
  for (const c in scores) out.score((c === truth ? POS : NEG) + c, scores[c]);
  return true;
}

/** Area under the ROC curve: P(score_pos > score_neg) + 0.5 P(tie); null without both classes. */
export function rocAuc(pos: ScoreHistogram, neg: ScoreHistogram): number | null {
  const P = total(pos);
  const N = total(neg);
  if (P === 0 || N === 0) return null;
  let j = 0;
  let negBelow = 0;
  let credit = 0; // sums of integer * half-integer weights: exact below 2^53
  for (let i = 0; i < pos.scores.length; i++) {
    const s = pos.scores[i];
    while (j < neg.scores.length && neg.scores[j] < s) negBelow += neg.weights[j++];
    const negTied = j < neg.scores.length && neg.scores[j] === s ? neg.weights[j] : 0;
    credit += pos.weights[i] * (negBelow + negTied / 2);
  }
  return credit / (P * N);
}

/**
 * Average precision, scikit-learn's step function: sum over distinct thresholds, from the
 * highest score down, of (recall_k - recall_{k-1}) * precision_k. Null without positives;
 * without negatives it is 1.
 */
export function averagePrecision(pos: ScoreHistogram, neg: ScoreHistogram): number | null {
  const P = total(pos);
  if (P === 0) return null;
  let i = pos.scores.length - 1;
  let j = neg.scores.length - 1;
  let tp = 0;
  let fp = 0;
  let sum = 0;
  while (i >= 0) {
    const s = j >= 0 && neg.scores[j] > pos.scores[i] ? neg.scores[j] : pos.scores[i];
    let gained = 0;
    if (pos.scores[i] === s) gained = pos.weights[i--];
    if (j >= 0 && neg.scores[j] === s) fp += neg.weights[j--];
    if (gained > 0) {
      tp += gained;
      sum += gained * (tp / (tp + fp));
    }
  }
  return sum / P;
}

type Curve = (pos: ScoreHistogram, neg: ScoreHistogram) => number | null;

export function computeScoreCurve(stats: MetricStats, params: PositiveLabelParams, curve: Curve): MetricOutcome {
  const n = stats.n();
  if (n === 0) return undefinedOutcome(NO_EXAMPLES, 0);
  const classes = params.positiveLabel !== undefined ? [params.positiveLabel] : curveClasses(stats);
  let sum = 0;
  let defined = 0;
  for (const c of classes) {
    const v = curve(stats.hist(POS + c), stats.hist(NEG + c));
    if (v === null) continue;
    sum += v;
    defined++;
  }
  return defined === 0 ? undefinedOutcome('single_class', n) : outcome(sum / defined, n);
}

function curveClasses(stats: MetricStats): string[] {
  const classes = new Set<string>();
  for (const key of stats.histKeys()) classes.add(key.slice(2));
  return [...classes].sort();
}

function total(h: ScoreHistogram): number {
  let t = 0;
  for (let i = 0; i < h.weights.length; i++) t += h.weights[i];
  return t;
}
