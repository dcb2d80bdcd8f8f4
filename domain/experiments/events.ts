/**
 * Events the serving system posts, NDJSON: exposures `{ type: "exposure", unit, ts?, eventId? }` and
 * metric events `{ type: "metric", unit, event, value, ts?, eventId? }`. Each line is validated on
 * its own (a bad line is rejected with its number, the good ones are kept), and a batch is folded
 * into the per-unit rows and per-arm aggregates in one transaction: a unit's value for a guardrail
 * is the sum of its event values, counted in its arm's sums once the unit is exposed.
 */
import { z } from 'zod';
import type { Pool } from 'pg';
import { withTransaction } from '../../common/db';
import { variantOf } from './assignment';
import * as dal from './dal';
import type { ArmAggregate } from './statistics';

export interface RejectedLine {
  line: number;
  code: string;
  message: string;
  field?: string;
}

export interface ExperimentEvent {
  type: 'exposure' | 'metric';
  unit: string;
  /** Index of the guardrail a metric event feeds. */
  guardrail?: number;
  value: number;
  eventId?: string;
}

const unit = z.string().min(1).max(256);
const ts = z.union([z.string().max(64), z.number()]).optional();
const eventId = z.string().min(1).max(256).optional();
const lineSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('exposure'), unit, ts, eventId }),
  z.strictObject({
    type: z.literal('metric'),
    unit,
    event: z.string().min(1).max(128),
    value: z.number().refine(Number.isFinite, 'must be a finite number'),
    ts,
    eventId,
  }),
]);

export const MAX_EVENT_LINES = 100_000;

/** Parses and validates a batch; guardrailEvents are the event names the experiment's guardrails read, in order. */
export function parseEvents(
  text: string,
  guardrailEvents: string[],
): { events: ExperimentEvent[]; rejected: RejectedLine[] } {
  const events: ExperimentEvent[] = [];
  const rejected: RejectedLine[] = [];
  const index = new Map(guardrailEvents.map((e, i) => [e, i]));
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (!raw) continue;
    const line = i + 1;
    if (events.length + rejected.length >= MAX_EVENT_LINES) {
      rejected.push({ line, code: 'too_many_lines', message: `a batch holds at most ${MAX_EVENT_LINES} lines` });
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      rejected.push({ line, code: 'invalid_json', message: 'the line is not JSON' });
      continue;
    }
    const parsed = lineSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue.path.map(String).join('.') || undefined;
      rejected.push({
        line,
        code: 'invalid_event',
        message: field ? `${field}: ${issue.message}` : issue.message,
        field,
      });
      continue;
    }
    const e = parsed.data;
    if (e.type === 'exposure') {
      events.push({ type: 'exposure', unit: e.unit, value: 0, eventId: e.eventId });
      continue;
    }
    const guardrail = index.get(e.event);
    if (guardrail === undefined) {
      rejected.push({
        line,
        code: 'unknown_event',
        message: `no guardrail of this experiment reads event ${JSON.stringify(e.event)} (it reads ${guardrailEvents.join(', ')})`,
        field: 'event',
      });
      continue;
    }
    events.push({ type: 'metric', unit: e.unit, guardrail, value: e.value, eventId: e.eventId });
  }
  return { events, rejected };
}

/** What ingestion needs of the experiment: where the ramp is now. */
export interface IngestTarget {
  experimentId: string;
  step: number;
  percent: number;
  guardrails: number;
}

/**
 * Folds a batch into the current step: new event ids only, units grouped, rows locked in unit
 * order, and each arm's aggregate moved by the batch's change (a newly exposed unit brings its
 * sums in; an exposed unit's new events move the sums and the sums of squares by their change).
 * Returns how many events counted (duplicates of earlier event ids do not).
 */
export async function applyEvents(pool: Pool, target: IngestTarget, events: ExperimentEvent[]): Promise<number> {
  if (!events.length) return 0;
  const G = target.guardrails;
  return withTransaction(pool, async (tx) => {
    const ids = [...new Set(events.flatMap((e) => (e.eventId ? [e.eventId] : [])))];
    const fresh = await dal.claimEventIds(tx, target.experimentId, ids);
    const seen = new Set<string>();
    const perUnit = new Map<string, { exposed: boolean; deltas: number[] }>();
    let counted = 0;
    for (const e of events) {
      if (e.eventId) {
        if (!fresh.has(e.eventId) || seen.has(e.eventId)) continue;
        seen.add(e.eventId);
      }
      counted += 1;
      let u = perUnit.get(e.unit);
      if (!u) perUnit.set(e.unit, (u = { exposed: false, deltas: new Array<number>(G).fill(0) }));
      if (e.type === 'exposure') u.exposed = true;
      else u.deltas[e.guardrail!] += e.value;
    }
    if (!perUnit.size) return counted;
    const units = [...perUnit.keys()].sort();
    const rows = await dal.lockUnits(
      tx,
      target.experimentId,
      target.step,
      units.map((unit) => ({
        unit,
        variant: variantOf(target.experimentId, unit, target.percent) === 'treatment' ? 1 : 0,
      })),
      G,
    );
    const arms: ArmAggregate[] = [0, 1].map(() => ({
      units: 0,
      sums: new Array<number>(G).fill(0),
      sumsqs: new Array<number>(G).fill(0),
    }));
    const changed = rows.map((row) => {
      const batch = perUnit.get(row.unit)!;
      const before = row.vals.map(Number);
      const after = before.map((v, g) => v + batch.deltas[g]);
      const arm = arms[row.variant];
      if (row.exposed) {
        for (let g = 0; g < G; g++) {
          arm.sums[g] += after[g] - before[g];
          arm.sumsqs[g] += after[g] * after[g] - before[g] * before[g];
        }
      } else if (batch.exposed) {
        arm.units += 1;
        for (let g = 0; g < G; g++) {
          arm.sums[g] += after[g];
          arm.sumsqs[g] += after[g] * after[g];
        }
      }
      return { ...row, exposed: row.exposed || batch.exposed, vals: after };
    });
    await dal.updateUnits(tx, target.experimentId, target.step, changed);
    for (const variant of [0, 1])
      if (arms[variant].units || arms[variant].sums.some((s) => s !== 0) || arms[variant].sumsqs.some((s) => s !== 0))
        await dal.addToArm(tx, target.experimentId, target.step, variant, arms[variant]);
    return counted;
  });
}
