/** Plain-text output for the demo: sections, steps and a metrics table with intervals. */
const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '   n/a' : v.toFixed(4));
const interval = (r: { value: number | null; ciLow: number | null; ciHigh: number | null }) =>
  `${fmt(r.value)} [${fmt(r.ciLow)}, ${fmt(r.ciHigh)}]`;

export function section(title: string): void {
  process.stdout.write(`\n== ${title}\n`);
}

export function step(text: string): void {
  process.stdout.write(`  - ${text}\n`);
}

/** Two runs side by side: every metric overall and per slice, value with its 95% interval. */
export function printMetrics(a: any, b: any, nameA: string, nameB: string): void {
  const width = 34;
  process.stdout.write(`\n  ${'metric / slice'.padEnd(24)}${nameA.padEnd(width)}${nameB.padEnd(width)}\n`);
  for (const metric of Object.keys(a.results)) {
    const ra = a.results[metric];
    const rb = b.results[metric];
    process.stdout.write(`  ${metric.padEnd(24)}${interval(ra).padEnd(width)}${interval(rb).padEnd(width)}\n`);
    for (const slice of Object.keys(ra.slices ?? {}).sort()) {
      const sa = ra.slices[slice];
      const sb = rb.slices?.[slice] ?? { value: null, ciLow: null, ciHigh: null };
      process.stdout.write(`    ${slice.padEnd(22)}${interval(sa).padEnd(width)}${interval(sb).padEnd(width)}\n`);
    }
  }
  process.stdout.write('\n');
}
