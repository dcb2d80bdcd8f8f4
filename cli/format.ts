/**
 * What a reviewer reads in a CI log or a pull-request comment: a compact table of rules —
 * rule, candidate, baseline, delta with its interval, verdict — then the reasons of every
 * rule that did not pass and every fail-closed reason, in words a person can act on.
 */
import type { Format } from './options';

export interface CheckBody {
  checkId: string;
  status: string;
  candidate: string;
  commitSha: string | null;
  gate: { gateId: string; name: string; version: number };
  baseline: { alias: string; modelVersion: string } | null;
  reasons: Reason[];
  overrides?: { overrideId: string; status: string }[];
  runs?: { datasets?: { candidateRunId?: string }[] };
}
interface Reason {
  code: string;
  verdict: string;
  message: string;
  rule?: string;
  candidate?: number | null;
  baseline?: number | null;
  delta?: number | null;
  deltaCiLow?: number | null;
  deltaCiHigh?: number | null;
  confidence?: number;
  threshold?: number;
  margin?: number;
  overridden?: boolean;
  /** non_inferiority: pass | fail | inconclusive (an inconclusive blocking rule has verdict fail). */
  outcome?: string;
  examplesNeeded?: number | null;
}

const num = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(4));
const signed = (v: number | null | undefined) =>
  v === null || v === undefined ? '–' : `${v >= 0 ? '+' : ''}${v.toFixed(4)}`;

function deltaCell(r: Pick<Reason, 'delta' | 'deltaCiLow' | 'deltaCiHigh' | 'confidence'>): string {
  if (r.delta === null || r.delta === undefined) return '–';
  const ci =
    r.deltaCiLow !== null && r.deltaCiLow !== undefined && r.deltaCiHigh !== null && r.deltaCiHigh !== undefined
      ? ` [${signed(r.deltaCiLow)}, ${signed(r.deltaCiHigh)}]` +
        (r.confidence && r.confidence !== 0.95 ? ` ${Math.round(r.confidence * 100)}%` : '')
      : '';
  return `${signed(r.delta)}${ci}`;
}

/** A rule's own reason (passed, failed or undecided), not one the check closed with. */
const isRule = (r: Reason) => r.code === 'rule' || r.code === 'insufficient_evidence';

/** "inconclusive" for a rule that failed for want of evidence (its message says how many more examples), not "fail". */
const label = (r: Reason) => (r.outcome === 'inconclusive' && r.verdict !== 'pass' ? 'inconclusive' : r.verdict);
const verdictOf = (r: Reason) => (r.overridden ? 'OVERRIDDEN' : label(r).toUpperCase());

function rows(check: CheckBody): string[][] {
  return check.reasons
    .filter(isRule)
    .map((r) => [r.rule ?? '', num(r.candidate), num(r.baseline), deltaCell(r), verdictOf(r)]);
}

const HEADER = ['rule', 'candidate', 'baseline', 'delta [95% CI]', 'verdict'];

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** Reasons that need a reader's attention: rules that did not pass, and everything that is not a rule. */
function notes(check: CheckBody): Reason[] {
  return check.reasons.filter((r) => !isRule(r) || r.verdict !== 'pass');
}

function title(check: CheckBody): string {
  const against = check.baseline ? ` vs ${check.baseline.modelVersion} (${check.baseline.alias})` : '';
  return `gate ${check.gate.name} v${check.gate.version}: ${check.candidate}${against} → ${check.status.toUpperCase()}`;
}

export function renderCheck(check: CheckBody, format: Format, exitCode: number): string {
  switch (format) {
    case 'json':
      return JSON.stringify({ ...check, exitCode }, null, 2);
    case 'junit':
      return junit(check);
    case 'markdown': {
      const md = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
      const body = rows(check);
      return [
        `### ${title(check).replace('→', '—')}`,
        '',
        ...(body.length ? [md(HEADER), md(HEADER.map((_, i) => (i === 0 ? '---' : '---:'))), ...body.map(md), ''] : []),
        ...notes(check).map((r) => `- **${label(r)}** ${r.rule ? `\`${r.rule}\`` : `\`${r.code}\``}: ${r.message}`),
        '',
        `<sub>check ${check.checkId}${check.commitSha ? ` · commit ${check.commitSha}` : ''}</sub>`,
      ].join('\n');
    }
    default: {
      const body = rows(check);
      return [
        title(check),
        ...(body.length ? ['', table(HEADER, body)] : []),
        ...(notes(check).length
          ? ['', ...notes(check).map((r) => `${label(r).padEnd(10)} ${r.rule ?? r.code}: ${r.message}`)]
          : []),
        '',
        `check ${check.checkId}`,
      ].join('\n');
    }
  }
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** JUnit XML: one test case per rule and per fail-closed reason, so CI systems show them natively. */
function junit(check: CheckBody): string {
  const cls = `evalgate.gate.${check.gate.name}`;
  const cases = check.reasons.map((r) => {
    const name = xml(r.rule ?? r.code);
    const msg = xml(r.message);
    const inner = r.overridden
      ? `<skipped message="overridden: ${msg}"/>`
      : r.verdict === 'fail'
        ? `<failure message="${msg}">${msg}</failure>`
        : r.verdict === 'error' || r.verdict === 'frozen'
          ? `<error type="${xml(r.code)}" message="${msg}">${msg}</error>`
          : r.verdict === 'warn' || r.code === 'override'
            ? `<system-out>${msg}</system-out>`
            : '';
    return `    <testcase classname="${xml(cls)}" name="${name}" time="0">${inner}</testcase>`;
  });
  const count = (pred: (r: Reason) => boolean) => check.reasons.filter(pred).length;
  const failures = count((r) => r.verdict === 'fail' && !r.overridden);
  const errors = count((r) => r.verdict === 'error' || r.verdict === 'frozen');
  const skipped = count((r) => Boolean(r.overridden));
  const attrs = `tests="${check.reasons.length}" failures="${failures}" errors="${errors}" skipped="${skipped}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="evalgate" ${attrs}>`,
    `  <testsuite name="${xml(title(check))}" ${attrs} timestamp="${new Date().toISOString()}">`,
    `    <properties><property name="checkId" value="${check.checkId}"/><property name="status" ` +
      `value="${xml(check.status)}"/></properties>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
  ].join('\n');
}

export interface ComparisonBody {
  candidate: { runId: string; modelVersion: string };
  baseline: { runId: string; modelVersion: string; via: string };
  warnings: string[];
  examples: { paired: number };
  metrics: Record<string, MetricRow & { slices: Record<string, MetricRow> }>;
}
interface MetricRow {
  candidate: number | null;
  baseline: number | null;
  delta: number | null;
  deltaCiLow: number | null;
  deltaCiHigh: number | null;
  pValue: number | null;
  pValueMethod: string | null;
}

export function renderComparison(body: ComparisonBody, format: Format): string {
  if (format === 'json') return JSON.stringify(body, null, 2);
  const header = ['metric', 'slice', 'candidate', 'baseline', 'delta [95% CI]', 'p'];
  const row = (metric: string, slice: string, m: MetricRow) => [
    metric,
    slice,
    num(m.candidate),
    num(m.baseline),
    deltaCell(m),
    m.pValue === null
      ? '–'
      : `${m.pValue < 0.001 ? '<0.001' : m.pValue.toFixed(3)}${m.pValueMethod === 'mcnemar_exact' ? ' (McNemar)' : ''}`,
  ];
  const body_ = Object.entries(body.metrics).flatMap(([name, m]) => [
    row(name, 'all', m),
    ...Object.entries(m.slices).map(([tag, s]) => row(name, tag, s)),
  ]);
  const heading =
    `${body.candidate.modelVersion} (run ${body.candidate.runId}) vs ${body.baseline.modelVersion} (run ` +
    `${body.baseline.runId}, ${body.baseline.via}) on ${body.examples.paired} shared examples`;
  if (format === 'markdown') {
    const md = (cells: string[]) => `| ${cells.join(' | ')} |`;
    return [
      `### ${heading}`,
      '',
      md(header),
      md(header.map((_, i) => (i < 2 ? '---' : '---:'))),
      ...body_.map(md),
      ...body.warnings.map((w) => `- warning: ${w}`),
    ].join('\n');
  }
  return [heading, '', table(header, body_), ...body.warnings.map((w) => `warning: ${w}`)].join('\n');
}
