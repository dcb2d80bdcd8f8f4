/**
 * A gate check: its status, each rule's verdict with values and reasons, the fail-closed
 * reason when there is one, the runs it used (each comparison one click away), and its
 * overrides. Request and approve buttons are shown only to principals whose roles allow
 * them; to others the page says which role it would take. The API decides either way.
 */
import { api, ApiError } from '../api';
import { h, link, render, table, uiHref, type Child } from '../dom';
import { interval, num, pValue, signed, when } from '../format';
import { hasRole, whoAmI, type Me } from '../session';

interface Reason {
  code: string;
  verdict: string;
  message: string;
  rule?: string;
  metric?: string;
  slice?: string;
  kind?: string;
  blocking?: boolean;
  candidate?: number | null;
  baseline?: number | null;
  delta?: number | null;
  deltaCiLow?: number | null;
  deltaCiHigh?: number | null;
  pValue?: number | null;
  threshold?: number;
  margin?: number;
  overridden?: boolean;
  examplesNeeded?: number | null;
}
interface Override {
  overrideId: string;
  status: string;
  justification: string;
  rules: string[];
  requiredApprovals: number;
  requestedBy: string;
  requestedAt: string;
  expiresAt: string | null;
  approvals: { approver: string; approvedAt: string; counted: boolean; refusedReason?: string }[];
}
interface Check {
  checkId: string;
  status: string;
  gate: { gateId: string; name: string; version: number; ownerTeam: string };
  candidate: string;
  baseline: { alias: string; modelVersion: string } | null;
  reasons: Reason[];
  runs: {
    datasets: { datasetId: string; name: string; version: number; candidateRunId?: string; baselineRunId?: string }[];
  };
  overrides: Override[];
  createdAt: string;
  decidedAt: string | null;
}

const RULE_CODES = new Set(['rule', 'insufficient_evidence']);
const STATUS_MARK: Record<string, string> = {
  pass: '✓ pass',
  fail: '✗ fail',
  overridden: '⚑ overridden',
  frozen: '❄ frozen',
  error: '⚠ error',
  pending: '… pending',
  revoked: '⊘ revoked',
};

function rulesTable(reasons: Reason[]): Child {
  const rules = reasons.filter((r) => RULE_CODES.has(r.code));
  if (!rules.length) return h('p', {}, 'No rule was evaluated.');
  return table(
    'Rules: verdicts with the values they were decided on',
    ['Rule', 'Verdict', 'Baseline', 'Candidate', 'Δ', 'Interval', 'p-value', 'Why'],
    rules.map((r) => [
      `${r.rule ?? r.metric}${r.slice ? ` (slice ${r.slice})` : ''}${r.blocking === false ? ' · advisory' : ''}`,
      h(
        'span',
        { class: `verdict ${r.verdict}` },
        `${STATUS_MARK[r.verdict] ?? r.verdict}${r.overridden ? ' (overridden)' : ''}`,
      ),
      num(r.baseline),
      num(r.candidate),
      signed(r.delta),
      interval(r.deltaCiLow, r.deltaCiHigh),
      pValue(r.pValue),
      r.message + (r.examplesNeeded ? ` (about ${r.examplesNeeded} more examples would decide it)` : ''),
    ]),
    { class: 'rules' },
  );
}

function overridesSection(check: Check, me: Me, reload: () => void): Child {
  const team = check.gate.ownerTeam;
  const canRequest = hasRole(me, team, 'editor');
  const canApprove = hasRole(me, team, 'approver');
  const message = h('p', { role: 'status', id: 'override-message' });
  const act = async (what: () => Promise<unknown>) => {
    try {
      await what();
      message.textContent = 'Done.';
      reload();
    } catch (err) {
      message.textContent = `Refused: ${err instanceof ApiError ? err.message : String(err)}`;
      message.className = 'error';
    }
  };
  const items = check.overrides.map((o) =>
    h(
      'li',
      {},
      h('strong', {}, `Override ${o.status}`),
      ` — “${o.justification}” requested by ${o.requestedBy} ${when(o.requestedAt)}; `,
      `${o.approvals.filter((a) => a.counted).length} of ${o.requiredApprovals} approvals`,
      o.approvals.length
        ? ` (${o.approvals.map((a) => a.approver + (a.counted ? '' : ` refused: ${a.refusedReason}`)).join(', ')})`
        : '',
      o.expiresAt ? `; expires ${when(o.expiresAt)}` : '',
      o.status === 'requested'
        ? canApprove
          ? h(
              'button',
              {
                type: 'button',
                class: 'approve',
                onclick: () =>
                  void act(() => api(`/v1/overrides/${o.overrideId}/approvals`, { method: 'POST', body: {} })),
              },
              'Approve override',
            )
          : h('span', { class: 'note' }, ` Approving needs the approver role on team ${team}.`)
        : null,
    ),
  );
  const justification = h('textarea', {
    id: 'justification',
    name: 'justification',
    rows: 2,
    cols: 60,
    required: true,
  });
  const requestForm =
    check.status === 'fail'
      ? canRequest
        ? h(
            'form',
            {
              class: 'stack',
              onsubmit: (event: Event) => {
                event.preventDefault();
                void act(() =>
                  api(`/v1/gate-checks/${check.checkId}/override-requests`, {
                    method: 'POST',
                    body: { justification: justification.value },
                  }),
                );
              },
            },
            h('label', { for: 'justification' }, 'Justification for an override'),
            justification,
            h('button', { type: 'submit', class: 'request' }, 'Request override'),
          )
        : h('p', { class: 'note' }, `Requesting an override needs the editor role on team ${team}.`)
      : null;
  return h(
    'section',
    { id: 'overrides' },
    h('h2', {}, 'Overrides'),
    items.length ? h('ul', {}, items) : h('p', {}, 'No override requested.'),
    requestForm,
    message,
  );
}

interface GateExperiment {
  experimentId: string;
  name: string;
  status: string;
  gateCheckId: string;
  candidate: string;
}

/** The online experiments this check started, from the gate's list; none when the gate cannot be read. */
async function experimentsOf(check: Check): Promise<GateExperiment[]> {
  const gate = await api<{ experiments?: GateExperiment[] }>(
    `/v1/gates/${encodeURIComponent(check.gate.gateId)}`,
  ).catch(() => ({ experiments: [] }));
  return (gate.experiments ?? []).filter((e) => e.gateCheckId === check.checkId);
}

export async function checkPage(checkId: string, previousStatus?: string, attempt = 0): Promise<void> {
  const [check, me] = await Promise.all([api<Check>(`/v1/gate-checks/${encodeURIComponent(checkId)}`), whoAmI()]);
  const experiments = await experimentsOf(check);
  // After an approval the workflow records the new status shortly after; look again for a few seconds.
  if (previousStatus && check.status === previousStatus && attempt < 40) {
    setTimeout(() => void checkPage(checkId, previousStatus, attempt + 1), 500);
  } else if (!previousStatus && check.status === 'pending')
    setTimeout(() => void checkPage(checkId).catch(() => undefined), 2000);
  const closed = check.reasons.filter((r) => !RULE_CODES.has(r.code) && r.code !== 'override' && r.code !== 'note');
  const notes = check.reasons.filter((r) => r.code === 'override' || r.code === 'note');
  render(
    `Gate check: ${check.gate.name}`,
    h(
      'p',
      { class: `status check-${check.status}`, id: 'check-status' },
      `Status: ${STATUS_MARK[check.status] ?? check.status}`,
    ),
    h(
      'p',
      {},
      `Candidate ${check.candidate}`,
      check.baseline ? ` against ${check.baseline.alias} (${check.baseline.modelVersion})` : '',
      `; gate v${check.gate.version} owned by team ${check.gate.ownerTeam}; `,
      `started ${when(check.createdAt)}, decided ${when(check.decidedAt)}.`,
    ),
    closed.length
      ? h(
          'section',
          { class: 'closed', role: 'alert' },
          h('h2', {}, 'Why it failed closed'),
          h(
            'ul',
            {},
            closed.map((r) => h('li', {}, `${r.code}: ${r.message}`)),
          ),
        )
      : null,
    rulesTable(check.reasons),
    notes.length
      ? h(
          'ul',
          { class: 'notes' },
          notes.map((r) => h('li', {}, r.message)),
        )
      : null,
    h('h2', {}, 'Runs'),
    check.runs.datasets.length
      ? table(
          'Runs per dataset',
          ['Dataset', 'Candidate run', 'Baseline run', ''],
          check.runs.datasets.map((d) => [
            `${d.name} v${d.version}`,
            d.candidateRunId ? link(uiHref(`runs/${d.candidateRunId}`), d.candidateRunId.slice(0, 8)) : '—',
            d.baselineRunId ? link(uiHref(`runs/${d.baselineRunId}`), d.baselineRunId.slice(0, 8)) : '—',
            d.candidateRunId && d.baselineRunId
              ? link(uiHref('compare', { candidate: d.candidateRunId, baseline: d.baselineRunId }), 'Compare')
              : '',
          ]),
        )
      : h('p', {}, 'No runs yet.'),
    overridesSection(check, me, () => void checkPage(checkId, check.status)),
    experiments.length
      ? h(
          'section',
          { id: 'experiments' },
          h('h2', {}, 'Online experiments started from this check'),
          h(
            'ul',
            {},
            experiments.map((e) =>
              h('li', {}, link(uiHref(`experiments/${e.experimentId}`), `Experiment ${e.name}`), ` — ${e.status}`),
            ),
          ),
        )
      : null,
    h('p', {}, link(uiHref(`lineage/gate_check/${checkId}`), 'Lineage graph around this check')),
  );
}
