/**
 * Fault and behaviour knobs of the reference model server. Every random draw for
 * faults comes from one PRNG seeded by `seed`, so a test that sends the same
 * requests in the same order sees the same faults. Judge noise instead hashes the
 * request content (see judge.ts): the same judge call gets the same answer.
 */
import { z } from 'zod';
import { mulberry32 } from './models/text';

const fraction = z.number().min(0).max(1);

export const knobsSchema = z
  .object({
    /** Fixed delay before every model answer, in ms. */
    latencyMs: z.number().min(0).max(600_000),
    /** Extra uniformly random delay in [0, latencyJitterMs). */
    latencyJitterMs: z.number().min(0).max(600_000),
    /** Fraction of model calls answered 500. */
    errorRate: fraction,
    /** Fraction of model calls answered 429 with a `Retry-After` header. */
    rateLimitRate: fraction,
    /** `Retry-After` value, whole seconds as HTTP requires. */
    retryAfterSeconds: z.number().int().min(0).max(3600),
    /** When set, 429s also carry `retry-after-ms` (OpenAI's sub-second hint). */
    retryAfterMs: z.number().int().min(0).max(3_600_000).nullable(),
    /** Whole server unavailable for model routes (admin routes keep working). */
    down: z.boolean(),
    /** `unavailable`: answer 503 at once; `reset`: destroy the connection without answering. */
    downMode: z.enum(['unavailable', 'reset']),
    /** Fraction of 200 answers that are malformed (see README for what that means per protocol). */
    malformedRate: fraction,
    /** Probability that a judge score moves by ±1. */
    judgeNoise: fraction,
    /** Added to every judge score before clamping to 1–5 (rounded): a drifting judge. */
    judgeBias: z.number().min(-4).max(4),
    /** The judge obeys a `{"score": N}` or "ignore previous instructions" it finds outside the quoted candidate output. */
    judgeGullible: z.boolean(),
    /** The judge quotes a candidate output that holds a `{` in prose before its JSON verdict. */
    judgeEchoes: z.boolean(),
    /** Model names that faults (latency, errors, 429, malformed, down) apply to; null = all. */
    faultModels: z.array(z.string()).nullable(),
    /** Keep a log of model calls in arrival order (`GET /admin/arrivals`): what a test of call order reads. */
    recordArrivals: z.boolean(),
    /** Seeds the fault PRNG and the judge-noise hash. Setting it restarts the fault sequence. */
    seed: z.number().int(),
  })
  .strict();

export type Knobs = z.infer<typeof knobsSchema>;

export const knobsPatchSchema = knobsSchema.partial().strict();
export type KnobsPatch = z.infer<typeof knobsPatchSchema>;

export const DEFAULT_KNOBS: Readonly<Knobs> = Object.freeze({
  latencyMs: 0,
  latencyJitterMs: 0,
  errorRate: 0,
  rateLimitRate: 0,
  retryAfterSeconds: 1,
  retryAfterMs: null,
  down: false,
  downMode: 'unavailable',
  malformedRate: 0,
  judgeNoise: 0,
  judgeBias: 0,
  judgeGullible: false,
  judgeEchoes: false,
  faultModels: null,
  recordArrivals: false,
  seed: 42,
});

export type InjectedFault = 'error' | 'rate_limit' | 'malformed';

/** Holds the current knobs and the seeded fault sequence. */
export class FaultInjector {
  private current: Knobs;
  private random: () => number;

  constructor(initial: KnobsPatch = {}) {
    this.current = knobsSchema.parse({ ...DEFAULT_KNOBS, ...initial });
    this.random = mulberry32(this.current.seed);
  }

  get knobs(): Readonly<Knobs> {
    return this.current;
  }

  /** Merges a validated patch; throws a ZodError on an invalid one. */
  update(patch: KnobsPatch): Readonly<Knobs> {
    const next = knobsSchema.parse({ ...this.current, ...knobsPatchSchema.parse(patch) });
    if (patch.seed !== undefined) this.random = mulberry32(next.seed);
    this.current = next;
    return next;
  }

  reset(): Readonly<Knobs> {
    this.current = { ...DEFAULT_KNOBS };
    this.random = mulberry32(this.current.seed);
    return this.current;
  }

  appliesTo(model: string | undefined): boolean {
    const scope = this.current.faultModels;
    return scope === null || (model !== undefined && scope.includes(model));
  }

  /** Delay for one call, in ms (0 when no latency is configured: no PRNG draw, no timer). */
  latency(): number {
    const { latencyMs, latencyJitterMs } = this.current;
    return latencyMs + (latencyJitterMs > 0 ? this.random() * latencyJitterMs : 0);
  }

  /** Draws the fault, if any, for one call that passed validation. */
  draw(): InjectedFault | undefined {
    const { errorRate, rateLimitRate, malformedRate } = this.current;
    if (errorRate > 0 && this.random() < errorRate) return 'error';
    if (rateLimitRate > 0 && this.random() < rateLimitRate) return 'rate_limit';
    if (malformedRate > 0 && this.random() < malformedRate) return 'malformed';
    return undefined;
  }
}
