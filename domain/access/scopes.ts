/** Turns stored rows into the facts domain/access/policy.ts decides on. */
import type { DatasetScope } from './policy';

/** A dataset version's scope from its dataset's owner and the version's visibility and allowed teams. */
export function datasetScope(
  dataset: { owner_team: string },
  version: { visibility: DatasetScope['visibility'] | string; allowed_teams: readonly string[] | null },
): DatasetScope {
  return {
    ownerTeam: dataset.owner_team,
    visibility: version.visibility as DatasetScope['visibility'],
    allowedTeams: version.allowed_teams ?? [],
  };
}

/** The same from one joined row (`owner_team`, `visibility`, `allowed_teams`). */
export const scopeOfRow = (row: {
  owner_team: string;
  visibility: DatasetScope['visibility'] | string;
  allowed_teams: readonly string[] | null;
}): DatasetScope => datasetScope(row, row);
