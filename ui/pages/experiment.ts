/**
 * An online experiment: its status and ramp step, exposures per arm, the sample-ratio check,
 * each guardrail's arms, delta and always-valid interval with its verdict, the decision and
 * the history. Verdicts carry a mark and a word beside their colour. The guardrails' intervals
 * over time come from the history's step entries (each records the step it closed) plus the
 * current step. A running experiment is looked at again every few seconds.
 */
import { api } from '../api';
import { h, link, render, table, uiHref, type Child } from '../dom';
import { interval, num, pValue, signed, when } from '../format';
import { jsonView } from '../view';

interface Guardrail {
  name: string;
  event?: string;
  direction?: 'higher_is_better' | 'lower_is_better';
  margin?: number;
  control: number | null;
  treatment: number | null;
  delta: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  verdict: string;
}
interface Snapshot {
  step: number;
  percent: number;
  exposures: { control: number; treatment: number };
  srm: { pValue: number | null; ok: boolean };
  guardrails: Guardrail[];
}
interface HistoryEntry {
  event: string;
  at?: string;
  step?: number;
  percent?: number;
  reason?: string;
  message?: string;
  previous?: Snapshot;
  [key: string]: unknown;
}
interface Experiment extends Snapshot {
  experimentId: string;
  name: string;
  ownerTeam: string;
  status: string;
  candidate: string;
  baseline: string;
  baselineAlias: string;
  gateCheckId: string;
  ramp: { percent: number; minSeconds: number; minUnits?: number }[];
  decision?: { status: string; reason: string; message?: string; at?: string };
  history: HistoryEntry[];
  createdAt: string;
}

const STATUS_MARK: Record<string, string> = {
  running: '▶ running',
  paused: '⏸ paused',
  promoted: '✓ promoted',
  rolled_back: '↩ rolled back',
  aborted: '✗ aborted',
};
const VERDICT_MARK: Record<string, string> = { pass: '✓ pass', fail: '✗ fail', pending: '… pending' };
const HISTORY_KEYS = new Set(['event', 'at', 'step', 'percent', 'previous']);

const verdict = (v: string): Child => h('span', { class: `verdict ${v}` }, VERDICT_MARK[v] ?? v);

const direction = (g: Guardrail): string =>
  g.direction === 'lower_is_better'
    ? '↓ lower is better'
    : g.direction === 'higher_is_better'
      ? '↑ higher is better'
      : '';

function guardrailsTable(guardrails: Guardrail[]): Child {
  if (!guardrails.length) return h('p', {}, 'No guardrails.');
  return table(
    'Guardrails at this step: treatment − control, with always-valid intervals',
    ['Guardrail', 'Direction', 'Margin', 'Control', 'Treatment', 'Δ', 'Interval', 'Verdict'],
    guardrails.map((g) => [
      g.event && g.event !== g.name ? `${g.name} (event ${g.event})` : g.name,
      direction(g),
      num(g.margin),
      num(g.control),
      num(g.treatment),
      signed(g.delta),
      interval(g.ciLow, g.ciHigh),
      verdict(g.verdict),
    ]),
    { class: 'guardrails' },
  );
}

/** Each guardrail's interval at the end of every closed step, then now: how it narrowed. */
function intervalsOverTime(e: Experiment): Child {
  const points: { label: string; snapshot: Snapshot }[] = e.history
    .filter((entry) => entry.previous?.guardrails)
    .map((entry) => ({
      label: `end of step ${entry.previous!.step + 1} (${when(entry.at)})`,
      snapshot: entry.previous!,
    }));
  points.push({ label: e.status === 'running' || e.status === 'paused' ? 'now' : 'at the decision', snapshot: e });
  if (points.length < 2) return null;
  return table(
    'Guardrail intervals over time',
    ['Guardrail', 'When', 'Percent', 'Exposures (control / treatment)', 'Δ', 'Interval', 'Verdict'],
    e.guardrails.flatMap((g, i) =>
      points.map((p) => {
        const at = p.snapshot.guardrails[i];
        return [
          g.name,
          p.label,
          `${p.snapshot.percent}%`,
          `${p.snapshot.exposures.control} / ${p.snapshot.exposures.treatment}`,
          signed(at?.delta),
          interval(at?.ciLow, at?.ciHigh),
          at ? verdict(at.verdict) : '—',
        ];
      }),
    ),
    { class: 'intervals' },
  );
}

function historyTable(history: HistoryEntry[]): Child {
  if (!history.length) return h('p', {}, 'No history yet.');
  return table(
    'History, oldest first',
    ['When', 'Event', 'Step', 'Percent', 'Details'],
    history.map((entry) => {
      const details = Object.fromEntries(Object.entries(entry).filter(([k]) => !HISTORY_KEYS.has(k)));
      return [
        when(entry.at),
        entry.event,
        entry.step === undefined ? '—' : String(entry.step + 1),
        entry.percent === undefined ? '—' : `${entry.percent}%`,
        Object.keys(details).length ? jsonView(details) : '',
      ];
    }),
    { class: 'history' },
  );
}

export async function experimentPage(experimentId: string): Promise<void> {
  const e = await api<Experiment>(`/v1/experiments/${encodeURIComponent(experimentId)}`);
  render(
    `Experiment: ${e.name}`,
    h(
      'p',
      { class: `status experiment-${e.status}`, id: 'experiment-status' },
      `Status: ${STATUS_MARK[e.status] ?? e.status}`,
    ),
    h(
      'p',
      {},
      `Candidate ${e.candidate} against ${e.baselineAlias} (${e.baseline}); team ${e.ownerTeam}; started ${when(e.createdAt)}. `,
      link(uiHref(`checks/${e.gateCheckId}`), 'The gate check behind it'),
    ),
    h(
      'p',
      { id: 'experiment-ramp' },
      `Ramp step ${e.step + 1} of ${e.ramp.length}: ${e.percent}% of units in treatment `,
      `(plan: ${e.ramp.map((r) => `${r.percent}%`).join(' → ')}).`,
    ),
    e.decision
      ? h(
          'section',
          { id: 'decision', role: e.decision.status === 'rolled_back' ? 'alert' : undefined },
          h('h2', {}, 'Decision'),
          h(
            'p',
            {},
            h('strong', {}, STATUS_MARK[e.decision.status] ?? e.decision.status),
            ` — reason ${e.decision.reason}`,
            e.decision.message ? `: ${e.decision.message}` : '',
            e.decision.at ? ` (${when(e.decision.at)})` : '',
          ),
        )
      : null,
    h('h2', {}, 'Exposures and sample ratio'),
    table(
      'Exposed units per arm at this step, and the sample-ratio check',
      ['Control', 'Treatment', 'SRM p-value', 'Sample ratio'],
      [
        [
          String(e.exposures.control),
          String(e.exposures.treatment),
          pValue(e.srm.pValue),
          h('span', { class: `verdict ${e.srm.ok ? 'pass' : 'fail'}` }, e.srm.ok ? '✓ ok' : '✗ mismatch'),
        ],
      ],
      { class: 'exposures' },
    ),
    h('h2', {}, 'Guardrails'),
    guardrailsTable(e.guardrails),
    intervalsOverTime(e),
    h('h2', {}, 'History'),
    historyTable(e.history),
    h('p', {}, link(uiHref(`lineage/gate_check/${e.gateCheckId}`), 'Lineage graph around its gate check')),
  );
  if (e.status === 'running') setTimeout(() => void experimentPage(experimentId).catch(() => undefined), 3000);
}
