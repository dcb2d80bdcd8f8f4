/**
 * Batched "which of these may the subject see?" for lists and graphs: gate checks and incidents
 * (one query per kind for the whole batch, then the policy per record).
 */
import type { Queryable } from '../../common/db';
import { checkAccessFacts, gateScopes, incidentScopes } from './dal';
import { authorize, type Subject } from './policy';

export async function visibleCheckIds(
  q: Queryable,
  subject: Subject,
  checkIds: readonly string[],
): Promise<Set<string>> {
  const facts = await checkAccessFacts(q, [...new Set(checkIds)]);
  const scopes = await gateScopes(q, [...new Set(facts.map((f) => f.gateId))]);
  return new Set(
    facts
      .filter(
        (f) =>
          authorize(subject, 'read', {
            kind: 'gate_check',
            gateTeam: f.gateTeam,
            candidateTeam: f.candidateTeam,
            datasets: scopes.get(f.gateId) ?? [],
          }) === 'allow',
      )
      .map((f) => f.checkId),
  );
}

export async function visibleIncidentIds(
  q: Queryable,
  subject: Subject,
  incidentIds: readonly string[],
): Promise<Set<string>> {
  const scopes = await incidentScopes(q, [...new Set(incidentIds)]);
  return new Set(
    [...scopes]
      .filter(([, datasets]) => authorize(subject, 'read', { kind: 'incident', datasets }) === 'allow')
      .map(([id]) => id),
  );
}
