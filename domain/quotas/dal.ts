/** Data access of per-team daily call quotas (schema 057): reserved in blocks like run budgets. */
import type { Queryable } from '../../common/db';

/** The team a run's calls are charged to: the owner of its model. */
export async function runQuotaTeam(q: Queryable, runId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ owner_team: string }>(
    `SELECT m.owner_team FROM eval_runs r JOIN model_versions v USING (model_version_id) JOIN models m USING (model_id)
      WHERE r.run_id = $1`,
    [runId],
  );
  return rows[0]?.owner_team;
}

/** Grants up to `calls` of the team's quota for `day` (UTC, YYYY-MM-DD); 0 when it is spent. */
export async function reserveTeamCalls(
  q: Queryable,
  team: string,
  day: string,
  calls: number,
  quota: number,
): Promise<number> {
  const { rows } = await q.query<{ calls: string }>('SELECT reserve_team_calls($1, $2::date, $3, $4) AS calls', [
    team,
    day,
    calls,
    quota,
  ]);
  return Number(rows[0].calls);
}

export async function giveBackTeamCalls(q: Queryable, team: string, day: string, calls: number): Promise<void> {
  await q.query(
    `UPDATE team_call_quotas SET reserved_calls = greatest(0, reserved_calls - $3) WHERE team = $1 AND day = $2::date`,
    [team, day, calls],
  );
}

/** Calls each team has reserved today (UTC), for the teams that reserved any. */
export async function teamCallsReservedToday(q: Queryable): Promise<{ team: string; calls: number }[]> {
  const { rows } = await q.query<{ team: string; calls: string }>(
    `SELECT team, reserved_calls AS calls FROM team_call_quotas WHERE day = (now() AT TIME ZONE 'utc')::date`,
  );
  return rows.map((r) => ({ team: r.team, calls: Number(r.calls) }));
}
