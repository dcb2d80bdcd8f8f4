/**
 * A keyword-rule baseline of the kind a team writes before it has a model:
 * count hits from a fixed list of spam phrases, and call it spam at two or more.
 * The probability is a fixed logistic in the hit count — no training at all.
 */
import { sigmoid } from './text';

export const SPAM_KEYWORDS: readonly string[] = [
  'free',
  'click',
  'money',
  'offer',
  'guarantee',
  'guaranteed',
  'remove',
  'unsubscribe',
  'income',
  'cash',
  'credit',
  'winner',
  'prize',
  'viagra',
  'mortgage',
  'loan',
  'investment',
  'limited time',
  'act now',
  'order now',
  'dear friend',
  'opportunity',
  'million',
  'risk free',
  'no cost',
  'earn',
  'save',
  'discount',
  'lowest',
  'amazing',
  '100%',
  '$$$',
];

export const SPAM_HIT_THRESHOLD = 2;

export interface KeywordMatch {
  hits: number;
  matched: string[];
}

/** Distinct keywords present (whole-word, case-insensitive). */
export function keywordHits(text: string): KeywordMatch {
  const lower = text.toLowerCase();
  const matched = SPAM_KEYWORDS.filter((keyword) => {
    let from = 0;
    for (;;) {
      const at = lower.indexOf(keyword, from);
      if (at < 0) return false;
      const before = at === 0 ? ' ' : lower[at - 1];
      const after = at + keyword.length >= lower.length ? ' ' : lower[at + keyword.length];
      if (!/[a-z0-9]/.test(before) && !/[a-z0-9]/.test(after)) return true;
      from = at + 1;
    }
  });
  return { hits: matched.length, matched };
}

/** P(spam) = sigmoid(hits − threshold + 0.5): exactly 0.5 sits between threshold−1 and threshold hits. */
export function keywordSpamProbability(text: string): number {
  return sigmoid(keywordHits(text).hits - SPAM_HIT_THRESHOLD + 0.5);
}
