/** Numbers as a person reads them in a comparison: fixed decimals, signed deltas, intervals in brackets. */
export const num = (v: number | null | undefined, digits = 4): string =>
  v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits);

export const signed = (v: number | null | undefined, digits = 4): string =>
  v === null || v === undefined ? '—' : `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v).toFixed(digits)}`;

export const interval = (low: number | null | undefined, high: number | null | undefined, digits = 4): string =>
  low === null || low === undefined || high === null || high === undefined
    ? '—'
    : `[${signed(low, digits)}, ${signed(high, digits)}]`;

export const pValue = (p: number | null | undefined): string =>
  p === null || p === undefined ? '—' : p < 0.0001 ? '< 0.0001' : p.toFixed(4);

export const usd = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : `$${v.toFixed(4)}`);

export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

export const shortId = (id: string): string => id.slice(0, 8);

export type Direction = 'higher_is_better' | 'lower_is_better';

/**
 * Better, worse or unclear: the delta's whole interval on one side of zero, read with the
 * metric's direction. Colour is never the only signal: every verdict has an arrow and a word.
 */
export function deltaVerdict(
  delta: number | null,
  low: number | null,
  high: number | null,
  direction: Direction,
): { kind: 'better' | 'worse' | 'unclear'; label: string } {
  if (delta === null || low === null || high === null) return { kind: 'unclear', label: '· no interval' };
  const sign = low > 0 ? 1 : high < 0 ? -1 : 0;
  if (sign === 0) return { kind: 'unclear', label: '= no clear change' };
  const better = direction === 'higher_is_better' ? sign > 0 : sign < 0;
  return better ? { kind: 'better', label: '▲ better' } : { kind: 'worse', label: '▼ worse' };
}
