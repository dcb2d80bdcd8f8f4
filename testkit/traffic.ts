/**
 * A traffic simulator for online experiments (tests, bench/online.ts, the demo): units ask
 * which variant they get, are exposed, and report guardrail events whose rate depends on the
 * variant (the true effect). Seeded: the same seed gives the same units and the same events.
 *
 * - `simulateExperiment` runs the ramp in memory through the platform's own decision code
 *   (domain/experiments/decide.ts) — fast enough for a hundred seeded A/A runs.
 * - `driveTraffic` does the same against the API over HTTP: GET .../assignment per unit, then
 *   NDJSON batches of exposures and metric events to POST .../events, until the experiment decides.
 */
import { variantOf, type Variant } from '../domain/experiments/assignment';
import { decideCheck, type CheckOutcome, type ExperimentPlan } from '../domain/experiments/decide';
import type { ArmAggregate } from '../domain/experiments/statistics';
import { mulberry32 } from './modelServer/models/text';
import type { ApiClient } from './stack';

export interface TrafficModel {
  seed: number;
  /** Probability that a unit emits the guardrail event (value 1), per variant. */
  rate: Record<Variant, number>;
  /** Fraction of treatment exposures that never reach evalgate (a broken logger: sample-ratio mismatch). */
  lostTreatmentExposures?: number;
  /** The guardrail event's name in the posted metric events (default `error`). */
  event?: string;
}

export interface SimulatedUnit {
  unit: string;
  /** Guardrail event values of this unit (one per event sent). */
  values: number[];
  exposureLost: boolean;
}

/** The next unit of a seeded stream; its outcome is drawn once it knows its variant. */
export function unitStream(model: TrafficModel) {
  const random = mulberry32(model.seed);
  let i = 0;
  return (variant: Variant): SimulatedUnit => {
    const unit = `u${model.seed}-${i++}`;
    const values = random() < model.rate[variant] ? [1] : [];
    const exposureLost = variant === 'treatment' && random() < (model.lostTreatmentExposures ?? 0);
    return { unit, values, exposureLost };
  };
}

class Arm implements ArmAggregate {
  units = 0;
  sums: number[];
  sumsqs: number[];
  constructor(guardrails: number) {
    this.sums = new Array<number>(guardrails).fill(0);
    this.sumsqs = new Array<number>(guardrails).fill(0);
  }
  add(values: number[]) {
    this.units += 1;
    const v = values.reduce((a, b) => a + b, 0);
    for (let g = 0; g < this.sums.length; g++) {
      this.sums[g] += v;
      this.sumsqs[g] += v * v;
    }
  }
}

export interface SimulationResult {
  action: CheckOutcome['action'];
  reason?: string;
  step: number;
  /** Exposed units over the whole ramp when it decided. */
  units: number;
  checks: number;
}

/**
 * The ramp in memory: `unitsPerSecond` new units a second, assigned by the platform's hash, and a
 * check every `checkEverySeconds` through decideCheck, until it decides (or `maxSeconds` pass).
 * Every guardrail of the plan sees the same simulated event.
 */
export function simulateExperiment(
  plan: ExperimentPlan,
  model: TrafficModel,
  options: { experimentId: string; unitsPerSecond: number; maxSeconds?: number },
): SimulationResult {
  const next = unitStream(model);
  let step = 0;
  let stepStarted = 0;
  let arms = { control: new Arm(plan.guardrails.length), treatment: new Arm(plan.guardrails.length) };
  let units = 0;
  let checks = 0;
  const perCheck = Math.max(1, Math.round(options.unitsPerSecond * plan.checkEverySeconds));
  for (let t = plan.checkEverySeconds; t <= (options.maxSeconds ?? 1e6); t += plan.checkEverySeconds) {
    for (let k = 0; k < perCheck; k++) {
      const variant = variantOf(options.experimentId, `${model.seed}:${units + k}`, plan.ramp[step].percent);
      const u = next(variant);
      if (!u.exposureLost) arms[variant].add(u.values);
    }
    units += perCheck;
    checks += 1;
    const outcome = decideCheck(plan, step, t - stepStarted, arms.control, arms.treatment);
    if (outcome.action === 'advance') {
      step += 1;
      stepStarted = t;
      arms = { control: new Arm(plan.guardrails.length), treatment: new Arm(plan.guardrails.length) };
    } else if (outcome.action !== 'continue') {
      return { action: outcome.action, reason: outcome.reason, step, units, checks };
    }
  }
  return { action: 'continue', step, units, checks };
}

export interface DriveOptions {
  experimentId: string;
  /** Units per round; each round is one batch of events. */
  unitsPerRound: number;
  /** Pause between rounds. */
  roundMs: number;
  /** Stop when the experiment's status is no longer running or paused, or after this long. */
  timeoutMs: number;
  /** Concurrent assignment requests. */
  concurrency?: number;
}

export interface DriveResult {
  status: any;
  units: number;
  /** Units in treatment per the assignment answers. */
  treatmentUnits: number;
  rejected: number;
}

/** Real traffic against the API until the experiment decides. */
export async function driveTraffic(api: ApiClient, model: TrafficModel, options: DriveOptions): Promise<DriveResult> {
  const next = unitStream(model);
  const base = `/v1/experiments/${options.experimentId}`;
  const deadline = Date.now() + options.timeoutMs;
  let units = 0;
  let treatmentUnits = 0;
  let rejected = 0;
  let unitIndex = 0;
  for (;;) {
    const status = (await api.get(base)).body;
    if (!['running', 'paused'].includes(status.status) || Date.now() > deadline)
      return { status, units, treatmentUnits, rejected };
    const ids = Array.from({ length: options.unitsPerRound }, () => `${model.seed}:${unitIndex++}`);
    const variants = await mapConcurrently(ids, options.concurrency ?? 16, async (id) => {
      const res = await api.get(`${base}/assignment?unit=${encodeURIComponent(id)}`);
      if (res.status !== 200) throw new Error(`assignment: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.variant as Variant;
    });
    const lines: object[] = [];
    variants.forEach((variant, i) => {
      const u = next(variant);
      if (variant === 'treatment') treatmentUnits += 1;
      if (!u.exposureLost) lines.push({ type: 'exposure', unit: ids[i], eventId: `${ids[i]}:exposure` });
      u.values.forEach((value, j) =>
        lines.push({
          type: 'metric',
          unit: ids[i],
          event: model.event ?? 'error',
          value,
          eventId: `${ids[i]}:event:${j}`,
        }),
      );
    });
    units += ids.length;
    if (lines.length) {
      const posted = await api.ndjson(`${base}/events`, lines);
      if (posted.status !== 202) throw new Error(`events: ${posted.status} ${JSON.stringify(posted.body)}`);
      rejected += posted.body.rejected.length;
    }
    await new Promise((r) => setTimeout(r, options.roundMs));
  }
}

async function mapConcurrently<T, R>(items: T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}
