/**
 * Defence in depth for the egress rule: the activities that send a run's rows to a model or
 * judge endpoint ask this first, with today's facts, whatever checked the run when it was created.
 */
import type { Queryable } from '../../common/db';
import { modelVersionOwnerTeam, runAccessFacts } from './dal';
import { teamMayReadRows, unauthorizedEndpoint, type DatasetScope } from './policy';

/** The failure type activities raise (non-retryable) when a run's rows may not go to its endpoints. */
export { ENDPOINT_NOT_AUTHORIZED } from '../../common/incidentFailures';

/** Why the run's rows may not go to its model or judge endpoint, or null when they may. */
export async function runEgressRefusal(q: Queryable, runId: string): Promise<string | null> {
  const facts = await runAccessFacts(q, runId);
  if (!facts) return `eval run ${runId} does not exist`;
  const refused = unauthorizedEndpoint(facts, facts.dataset);
  if (refused === 'model')
    return `team ${facts.modelTeam} owns the model endpoint and may not read this run's dataset rows; nothing was sent`;
  if (refused === 'judge')
    return `team ${facts.judgeTeam} owns the judge endpoint and may not read this run's dataset rows; nothing was sent`;
  return null;
}

/** Why rows of `dataset` may not go to an endpoint `team` owns (a replacement judge, a canary's judge), or null. */
export function endpointRefusal(team: string | null, dataset: DatasetScope): string | null {
  if (team === null) return 'the endpoint has no owning team on record; nothing was sent';
  return teamMayReadRows(team, dataset)
    ? null
    : `team ${team} owns the endpoint and may not read these dataset rows; nothing was sent`;
}

/** Why a run's rows may not go to a replacement judge (an incident's re-judge), or null when they may. */
export async function rejudgeRefusal(q: Queryable, runId: string, judgeModelVersionId: string): Promise<string | null> {
  const facts = await runAccessFacts(q, runId);
  if (!facts) return `eval run ${runId} does not exist`;
  return endpointRefusal(await modelVersionOwnerTeam(q, judgeModelVersionId), facts.dataset);
}
