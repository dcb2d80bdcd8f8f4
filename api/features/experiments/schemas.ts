import { z } from 'zod';

const teamName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be a team name');

export const rampStep = z.strictObject({
  percent: z.number().gt(0).max(100),
  minSeconds: z.number().int().min(0),
  minUnits: z.number().int().min(0).optional(),
  /** Extension: how long the last step may stay undecided before onInconclusive (default 4 × minSeconds). */
  maxSeconds: z.number().int().min(1).optional(),
});

export const guardrail = z.strictObject({
  name: z.string().min(1).max(128),
  event: z.string().min(1).max(128),
  direction: z.enum(['higher_is_better', 'lower_is_better']),
  margin: z.number().min(0),
  alpha: z.number().gt(0).lt(0.5).optional(),
});

export const experimentBody = z.strictObject({
  name: z.string().min(1).max(200),
  ownerTeam: teamName,
  candidate: z.string().regex(/^[^@\s]+@[^@\s]+$/, 'must look like <model name>@<version>'),
  baseline: z
    .string()
    .regex(/^alias:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must look like alias:<alias>, e.g. alias:production')
    .optional(),
  gateCheckId: z.uuid('must be a gate check id (uuid)'),
  ramp: z
    .array(rampStep)
    .min(1)
    .max(20)
    .refine((r) => r.every((s, i) => i === 0 || s.percent > r[i - 1].percent), 'percents must grow step by step')
    .optional(),
  guardrails: z
    .array(guardrail)
    .min(1)
    .max(20)
    .refine((g) => new Set(g.map((x) => x.name)).size === g.length, 'guardrail names must be unique'),
  srmAlpha: z.number().gt(0).lt(0.5).optional(),
  checkEverySeconds: z.number().int().min(1).max(86_400).optional(),
  onInconclusive: z.enum(['pause', 'promote']).optional(),
  /** Extension: the units at which the confidence sequence is tightest (default 5,000). */
  tuningUnits: z.number().int().min(10).optional(),
  idempotencyKey: z.string().min(1).max(200).optional(),
});
export type ExperimentBody = z.infer<typeof experimentBody>;

export const experimentParams = z.strictObject({ experimentId: z.uuid('must be an experiment id (uuid)') });
export const assignmentQuery = z.object({ unit: z.string().min(1).max(256) });
export const rollbackBody = z.strictObject({ reason: z.string().min(1).max(2000) });
export const pauseBody = z.strictObject({ reason: z.string().max(2000).optional() });
export const promotionRequestBody = z.strictObject({
  reason: z.string().trim().min(1, 'a reason is required').max(2000),
});
