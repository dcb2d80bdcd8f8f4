/**
 * Two subject-line generators with no learning to speak of — a realistic pair of
 * baselines for a generation eval:
 *  - lead: the first sentence of the body (HTML tags, quoted lines and MIME
 *    boilerplate skipped), cut to ~60 characters at a word boundary;
 *  - tf-idf keywords: the body's highest tf-idf words, joined by spaces, with the
 *    inverse document frequencies learnt from the training bodies.
 */
import { STOPWORDS, countTokens, tokenize } from './text';

export const LEAD_MAX_CHARS = 60;
export const KEYWORD_COUNT = 5;

/** Body text a reader would see first: no tags, entities, quoted replies or MIME headers. */
export function visibleText(body: string): string {
  return body
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&[a-z]+;|&#\d+;/gi, ' ')
    .split('\n')
    .filter((line) => {
      const trimmed = line.trim();
      return !trimmed.startsWith('>') && !/^(--|content-|this is a multi-part)/i.test(trimmed);
    })
    .join('\n');
}

/** Cuts at the last word boundary at or before `max` characters. */
export function cutAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max + 1);
  const space = cut.lastIndexOf(' ');
  return (space > max / 2 ? cut.slice(0, space) : text.slice(0, max)).trim();
}

export function leadSubject(body: string): string {
  const text = visibleText(body).replace(/\s+/g, ' ').trim();
  const sentenceEnd = /[.!?](\s|$)/.exec(text);
  const sentence = sentenceEnd ? text.slice(0, sentenceEnd.index + 1) : text;
  return cutAtWord(sentence, LEAD_MAX_CHARS);
}

export interface TfIdfGenerator {
  documentCount: number;
  idf(word: string): number;
  generate(body: string): string;
}

/** Content words only: no stopwords, no numbers, no one-letter or symbol tokens. */
function contentWords(text: string): string[] {
  return tokenize(text).filter((token) => token.length > 2 && !STOPWORDS.has(token) && !/^[0-9]+$/.test(token));
}

export function trainTfIdfGenerator(bodies: readonly string[], keywordCount = KEYWORD_COUNT): TfIdfGenerator {
  const documentFrequency = new Map<string, number>();
  for (const body of bodies) {
    for (const word of new Set(contentWords(visibleText(body)))) {
      documentFrequency.set(word, (documentFrequency.get(word) ?? 0) + 1);
    }
  }
  const documentCount = bodies.length;
  // Smoothed idf, as in scikit-learn: ln((1 + n) / (1 + df)) + 1.
  const idf = (word: string): number => Math.log((1 + documentCount) / (1 + (documentFrequency.get(word) ?? 0))) + 1;
  return {
    documentCount,
    idf,
    generate(body) {
      const scored = [...countTokens(contentWords(visibleText(body)))].map(([word, count]) => ({
        word,
        score: count * idf(word),
      }));
      // Ties broken alphabetically so the output never depends on Map order.
      scored.sort((a, b) => b.score - a.score || (a.word < b.word ? -1 : 1));
      return scored
        .slice(0, keywordCount)
        .map((entry) => entry.word)
        .join(' ');
    },
  };
}
