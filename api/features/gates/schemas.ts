import { z } from 'zod';
import { recordName, teamName } from '../../../common/rows';

const RULE_KINDS = ['min', 'max', 'max_regression', 'non_inferiority', 'must_pass'] as const;

/** A gate rule (API.md). Kind-specific fields are required where the kind needs them and refused where it ignores them. */
export const ruleSchema = z
  .strictObject({
    metric: z.string().min(1).max(64),
    slice: z.string().min(1).max(128).optional(),
    kind: z.enum(RULE_KINDS),
    threshold: z.number().finite().optional(),
    relative: z.boolean().optional(),
    margin: z.number().positive().finite().optional(),
    confidence: z.number().min(0.5).max(0.999).optional(),
    datasetId: z.uuid('must be a dataset id (uuid)').optional(),
    blocking: z.boolean().default(true),
    /** Optional stable name; override requests name rules by it (default `<metric>[<slice>]:<kind>`). */
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.:[\]@-]{0,127}$/, 'must be letters, digits and _ . : [ ] @ - (at most 128)')
      .optional(),
  })
  .superRefine((rule, ctx) => {
    const need = (field: 'threshold' | 'margin' | 'datasetId', why: string) => {
      if (rule[field] === undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `a ${rule.kind} rule needs ${field}: ${why}` });
    };
    const refuse = (field: 'relative' | 'margin' | 'confidence', kinds: string) => {
      if (rule[field] !== undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `${field} applies only to ${kinds} rules` });
    };
    if (rule.kind === 'min' || rule.kind === 'max')
      need('threshold', `the ${rule.kind === 'min' ? 'lowest' : 'highest'} value that passes`);
    if (rule.kind === 'max_regression') {
      need(
        'threshold',
        'how far the candidate may fall behind the baseline (absolute, or a fraction with relative: true)',
      );
      if (rule.threshold !== undefined && rule.threshold < 0)
        ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'a max_regression threshold must be >= 0' });
    }
    if (rule.kind === 'non_inferiority')
      need('margin', 'how much worse than the baseline the candidate may be, at worst');
    if (rule.kind === 'must_pass') need('datasetId', 'the known-failures dataset every example of which must be right');
    if (rule.kind !== 'max_regression') refuse('relative', 'max_regression');
    if (rule.kind !== 'non_inferiority') {
      refuse('margin', 'non_inferiority');
      refuse('confidence', 'non_inferiority');
    }
  });

export const gateBody = z.strictObject({
  name: recordName,
  ownerTeam: teamName,
  metricSuiteId: z.uuid('must be a metric suite id (uuid)'),
  /** The suite version the gate pins; its newest version when omitted (recorded, never followed). */
  metricSuiteVersion: z.number().int().min(1).optional(),
  datasetIds: z.array(z.uuid('must be a dataset id (uuid)')).min(1, 'a gate evaluates at least one dataset').max(20),
  baselineAlias: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be an alias name like production')
    .default('production'),
  rules: z.array(ruleSchema).min(1, 'a gate needs at least one rule').max(100),
  requiredApprovals: z.number().int().min(1).max(10).optional(),
  /** May be fractional (0.5 = 30 minutes). */
  overrideTtlHours: z
    .number()
    .positive()
    .max(24 * 90)
    .optional(),
  baselineRuns: z.enum(['start_missing', 'require_existing']).default('start_missing'),
  description: z.string().max(2000).optional(),
});
export type GateBody = z.infer<typeof gateBody>;

export const checkBody = z.strictObject({
  candidateModelVersion: z.string().min(3).max(300),
  idempotencyKey: z.string().min(1).max(256).optional(),
  commitSha: z
    .string()
    .regex(/^[0-9a-fA-F]{7,64}$/, 'must be a git commit sha')
    .optional(),
});

export const overrideRequestBody = z.strictObject({
  justification: z
    .string()
    .trim()
    .min(10, 'say why, in at least 10 characters: it goes into the audit log and the decision')
    .max(4000),
  rules: z.array(z.string().min(1).max(200)).min(1).max(100).optional(),
});

export const approvalBody = z.strictObject({ comment: z.string().max(2000).optional() });

export const gateParams = z.object({ gateId: z.uuid('must be a gate id (uuid)') });
export const checkParams = z.object({ checkId: z.uuid('must be a gate check id (uuid)') });
export const overrideParams = z.object({ overrideId: z.uuid('must be an override id (uuid)') });
export const waitQuery = z.object({ wait: z.coerce.number().min(0).max(3600).optional() });
export const listQuery = z.object({
  name: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

/** `?discordance=`: the share of examples a candidate and the baseline disagree on, if known (default: assumed). */
export const characteristicsQuery = z.object({ discordance: z.coerce.number().gt(0).max(1).optional() });

export const powerWarning = z.object({
  code: z.literal('low_power'),
  rule: z.string(),
  pPassEqualCandidate: z.number(),
  examplesFor80PercentPower: z.number().nullable(),
  message: z.string(),
});

const operatingPoint = z.object({
  trueDelta: z.number(),
  pPass: z.number(),
  pFail: z.number(),
  pInconclusive: z.number(),
});

export const characteristicsResponse = z.object({
  rules: z.array(
    z.object({
      rule: z.string(),
      kind: z.string(),
      n: z.number().nullable(),
      discordance: z.number().nullable(),
      discordanceSource: z.enum(['assumed_independent_errors', 'stated']).optional(),
      points: z.array(operatingPoint).nullable(),
      examplesFor80PercentPower: z.number().nullable(),
      reason: z.string().optional(),
    }),
  ),
  warnings: z.array(powerWarning),
  baselines: z.array(
    z.object({ datasetId: z.string(), runId: z.string().nullable(), modelVersion: z.string().nullable() }),
  ),
});
