import { api } from './api';

export interface Me {
  principalId: string;
  name: string;
  teams: { team: string; roles: string[] }[];
}

let me: Promise<Me> | undefined;

/** Who the key belongs to: the console shows buttons only to those the API would let act. */
export const whoAmI = (): Promise<Me> => (me ??= api<Me>('/v1/principals/me'));

export const hasRole = (who: Me, team: string, role: string): boolean =>
  who.teams.some((t) => (t.team === team || t.team === '*') && t.roles.includes(role));
