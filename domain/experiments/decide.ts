/**
 * What one check of a running experiment decides, from the current ramp step's aggregates:
 * roll back on a sample-ratio mismatch or on harm shown beyond a guardrail's margin; advance
 * the ramp once the step has run its minimum time and units; at the last step promote once
 * every guardrail is shown non-inferior, or give up as inconclusive when the step's time is up.
 *
 * Each step's sequential test spends alpha / (number of steps) of a guardrail's alpha, so the
 * chance of a false rollback over the whole ramp stays within alpha (Bonferroni over steps).
 */
import {
  estimateGuardrails,
  sampleRatioCheck,
  type ArmAggregate,
  type GuardrailEstimate,
  type GuardrailSpec,
} from './statistics';

export interface RampStep {
  percent: number;
  minSeconds: number;
  minUnits: number;
  /** The last step gives up (onInconclusive) after this long. */
  maxSeconds: number;
}

export interface ExperimentPlan {
  ramp: RampStep[];
  guardrails: GuardrailSpec[];
  srmAlpha: number;
  checkEverySeconds: number;
  onInconclusive: 'pause' | 'promote';
  tuningUnits: number;
}

export type CheckAction = 'continue' | 'advance' | 'promote' | 'rollback' | 'inconclusive';

export interface CheckSnapshot {
  step: number;
  percent: number;
  exposures: { control: number; treatment: number };
  srm: { pValue: number; ok: boolean };
  guardrails: GuardrailEstimate[];
}

export interface CheckOutcome {
  action: CheckAction;
  reason?: string;
  message?: string;
  snapshot: CheckSnapshot;
}

/** The statistics of a step as the status shows them, without deciding anything. */
export function snapshotOf(plan: ExperimentPlan, step: number, control: ArmAggregate, treatment: ArmAggregate) {
  const percent = plan.ramp[step].percent;
  return {
    step,
    percent,
    exposures: { control: control.units, treatment: treatment.units },
    srm: sampleRatioCheck(control.units, treatment.units, percent / 100, plan.srmAlpha),
    guardrails: estimateGuardrails(plan.guardrails, control, treatment, {
      alphaShare: 1 / plan.ramp.length,
      tuningUnits: plan.tuningUnits,
    }),
  } satisfies CheckSnapshot;
}

export function decideCheck(
  plan: ExperimentPlan,
  step: number,
  elapsedSeconds: number,
  control: ArmAggregate,
  treatment: ArmAggregate,
): CheckOutcome {
  const snapshot = snapshotOf(plan, step, control, treatment);
  if (!snapshot.srm.ok)
    return {
      action: 'rollback',
      reason: 'sample_ratio_mismatch',
      message:
        `exposed units ${treatment.units} treatment / ${control.units} control do not match the ${snapshot.percent}% split ` +
        `(chi-square p = ${snapshot.srm.pValue.toExponential(2)} < ${plan.srmAlpha})`,
      snapshot,
    };
  const harmed = snapshot.guardrails.filter((g) => g.verdict === 'fail');
  if (harmed.length)
    return {
      action: 'rollback',
      reason: 'guardrail_harm',
      message: harmed
        .map(
          (g) =>
            `${g.name}: treatment − control = ${g.delta!.toPrecision(3)} [${g.ciLow!.toPrecision(3)}, ${g.ciHigh!.toPrecision(3)}]`,
        )
        .join('; '),
      snapshot,
    };
  const rampStep = plan.ramp[step];
  const units = control.units + treatment.units;
  if (elapsedSeconds < rampStep.minSeconds || units < rampStep.minUnits) return { action: 'continue', snapshot };
  if (step < plan.ramp.length - 1) return { action: 'advance', snapshot };
  if (snapshot.guardrails.every((g) => g.verdict === 'pass'))
    return { action: 'promote', reason: 'guardrails_passed', message: 'every guardrail is non-inferior', snapshot };
  if (elapsedSeconds >= rampStep.maxSeconds)
    return {
      action: 'inconclusive',
      reason: 'inconclusive',
      message:
        `after ${rampStep.maxSeconds} s at ${rampStep.percent}%, still undecided: ` +
        snapshot.guardrails
          .filter((g) => g.verdict !== 'pass')
          .map((g) => g.name)
          .join(', '),
      snapshot,
    };
  return { action: 'continue', snapshot };
}
