/** Incidents: the list, and one incident with its progress and, when done, its impact report. */
import { api, qs } from '../api';
import { h, link, render, table, uiHref } from '../dom';
import { shortId, when } from '../format';
import { jsonView } from '../view';

interface Incident {
  incidentId: string;
  kind: string;
  status: string;
  note: string;
  metric?: string;
  datasetVersionId?: string;
  judgeFingerprint?: string;
  progress: Record<string, unknown>;
  report: unknown;
  createdBy: string;
  createdAt: string;
  resolvedAt: string | null;
}

export async function incidentsPage(query: URLSearchParams): Promise<void> {
  const cursor = query.get('cursor') ?? '';
  const page = await api<{ items: Incident[]; nextCursor: string | null }>(`/v1/incidents${qs({ cursor, limit: 50 })}`);
  render(
    'Incidents',
    page.items.length
      ? table(
          'Incidents, newest first',
          ['Incident', 'Kind', 'Status', 'About', 'Note', 'Opened'],
          page.items.map((i) => [
            link(uiHref(`incidents/${i.incidentId}`), shortId(i.incidentId)),
            i.kind,
            i.status,
            i.metric ?? i.datasetVersionId ?? i.judgeFingerprint ?? '—',
            i.note,
            when(i.createdAt),
          ]),
          { class: 'incidents' },
        )
      : h('p', {}, 'No incidents.'),
    page.nextCursor ? h('p', {}, link(uiHref('incidents', { cursor: page.nextCursor }), 'Next page →')) : null,
  );
}

export async function incidentPage(incidentId: string): Promise<void> {
  const incident = await api<Incident>(`/v1/incidents/${encodeURIComponent(incidentId)}`);
  const { progress, report, ...declaration } = incident;
  render(
    `Incident ${incident.kind}: ${incident.status}`,
    h('p', {}, incident.note),
    h('h2', {}, 'Declaration'),
    jsonView(declaration),
    h('h2', {}, 'Progress'),
    jsonView(progress),
    h('h2', {}, 'Impact report'),
    report ? h('div', { class: 'report' }, jsonView(report)) : h('p', {}, 'Not ready: the incident is still working.'),
  );
  if (!incident.resolvedAt && incident.status !== 'failed')
    setTimeout(() => void incidentPage(incidentId).catch(() => undefined), 3000);
}
