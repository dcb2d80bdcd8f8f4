/**
 * An experiment's plan from what its creator asked, with the defaults filled in: a ramp of
 * 1% → 10% → 50% (an hour, an hour, a day), guardrail alpha 0.05, srmAlpha 0.001, a check a
 * minute, pause when inconclusive, the confidence sequence tuned for 5,000 units. The last step
 * gives up after `maxSeconds` (default four times its minSeconds, at least ten checks longer).
 */
import type { ExperimentPlan } from './decide';
import { DEFAULT_TUNING_UNITS, type Direction } from './statistics';

export interface PlanRequest {
  ramp?: { percent: number; minSeconds: number; minUnits?: number; maxSeconds?: number }[];
  guardrails: { name: string; event: string; direction: Direction; margin: number; alpha?: number }[];
  srmAlpha?: number;
  checkEverySeconds?: number;
  onInconclusive?: 'pause' | 'promote';
  tuningUnits?: number;
}

export const DEFAULT_RAMP = [
  { percent: 1, minSeconds: 3600 },
  { percent: 10, minSeconds: 3600 },
  { percent: 50, minSeconds: 86_400 },
];

export function planFrom(request: PlanRequest): ExperimentPlan {
  const checkEverySeconds = request.checkEverySeconds ?? 60;
  const ramp: NonNullable<PlanRequest['ramp']> = request.ramp ?? DEFAULT_RAMP;
  return {
    ramp: ramp.map((s) => ({
      percent: s.percent,
      minSeconds: s.minSeconds,
      minUnits: s.minUnits ?? 100,
      maxSeconds: s.maxSeconds ?? Math.max(4 * s.minSeconds, s.minSeconds + 10 * checkEverySeconds),
    })),
    guardrails: request.guardrails.map((g) => ({ ...g, alpha: g.alpha ?? 0.05 })),
    srmAlpha: request.srmAlpha ?? 0.001,
    checkEverySeconds,
    onInconclusive: request.onInconclusive ?? 'pause',
    tuningUnits: request.tuningUnits ?? DEFAULT_TUNING_UNITS,
  };
}
