/**
 * The judge and budget sections of GET /v1/eval-runs/{runId}: the judge's totals (live
 * while the run goes, final after), its noise and judge–human agreement, the drift
 * canary's numbers and flag, and the budget with what has been reserved from it.
 */
import type { Queryable } from '../../../common/db';
import * as dal from '../../../domain/judge/dal';

const num = (v: string | number | null | undefined) => (v === null || v === undefined ? null : Number(v));

export interface JudgeSections {
  judge?: Record<string, unknown>;
  budget?: Record<string, unknown>;
  /** Judge spend while the run is active, for the cost section. */
  live?: { calls: number; cacheHits: number; costUsd: number };
}

export async function runJudgeSections(
  q: Queryable,
  run: { run_id: string; status: string; judge_fingerprint: string | null; judge_flags: Record<string, unknown> },
): Promise<JudgeSections> {
  const active = run.status === 'queued' || run.status === 'running';
  const [stats, canary, live, budget] = await Promise.all([
    dal.findRunJudgeStats(q, run.run_id),
    dal.findCanaryResult(q, run.run_id),
    run.judge_fingerprint && active ? dal.liveJudgeTotals(q, run.run_id) : undefined,
    dal.findBudget(q, run.run_id),
  ]);
  const sections: JudgeSections = {};
  const flags = run.judge_flags ?? {};
  if (run.judge_fingerprint || Object.keys(flags).length) {
    sections.judge = {
      fingerprint: run.judge_fingerprint,
      drift: flags.drift === true,
      ...(stats
        ? {
            judged: Number(stats.judged),
            errors: Number(stats.judge_errors),
            errorRate: stats.error_rate,
            errorRateLimit: stats.error_rate_limit,
            calls: Number(stats.calls),
            cacheHits: Number(stats.cache_hits),
            costUsd: stats.cost_usd,
            repeats: stats.repeats,
            noise: stats.noise,
            meanSpread: stats.mean_spread,
            partial: stats.partial,
            humanAgreement: { n: Number(stats.human_n), accuracy: stats.human_accuracy, kappa: stats.human_kappa },
          }
        : live
          ? {
              judged: Number(live.judged),
              errors: Number(live.errors),
              calls: Number(live.calls),
              cacheHits: Number(live.hits),
              costUsd: Number(live.cost),
            }
          : {}),
      ...(canary
        ? {
            canary: {
              n: canary.n,
              judgeErrors: canary.judge_errors,
              calls: canary.calls,
              costUsd: canary.cost_usd,
              agreement: canary.accuracy,
              kappa: canary.kappa,
              firstAgreement: canary.baseline_accuracy,
              agreementFloor: canary.agreement_floor,
              maxAgreementDrop: canary.max_agreement_drop,
              drift: canary.drift,
              reasons: canary.reasons,
              datasetVersionId: canary.canary_dataset_version_id,
            },
          }
        : flags.canary
          ? { canary: flags.canary }
          : {}),
      flags,
    };
  }
  if (budget) {
    sections.budget = {
      maxCalls: num(budget.max_calls),
      maxCostUsd: num(budget.max_cost_usd),
      reservedCalls: Number(budget.reserved_calls),
      reservedCostUsd: Number(budget.reserved_cost_usd),
      exhaustedAt: budget.exhausted_at?.toISOString() ?? null,
    };
  }
  if (live) sections.live = { calls: Number(live.calls), cacheHits: Number(live.hits), costUsd: Number(live.cost) };
  return sections;
}
