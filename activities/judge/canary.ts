/**
 * The drift canary: a release-mode run judges its suite's human-labelled calibration
 * dataset live (never from the judge cache — a cached verdict cannot show that the judge
 * behind a pinned fingerprint changed) and compares the judge with the humans.
 *
 * Canary rows are generation rows with the candidate already written and a human score:
 * `{ id, input, reference?, rubric?, output, humanScore }`. Agreement is accuracy (the
 * judge's mean score rounded equals the human score rounded) with Cohen's kappa beside it.
 * The run is flagged `judge_drift` (eval_runs.judge_flags.drift) when agreement is below
 * the suite's floor, when it moved by more than maxAgreementDrop from the judge's first
 * recorded agreement on this canary version, or when the canary could not be judged
 * (error rate over the suite's limit, no usable rows, budget ran out).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import { BUDGET_EXCEEDED } from '../../common/incidentFailures';
import type { Logger } from '../../common/logger';
import type { Storage } from '../../common/storage';
import { openRunLease, releaseQuietly } from '../../domain/budgets';
import { loadRunJudge, type JudgeConfig } from '../../domain/judge/config';
import * as judgeDal from '../../domain/judge/dal';
import { createJudgeRunner, type JudgeChat } from './runner';
import { datasetVersionScope, modelVersionOwnerTeam } from '../../domain/access/dal';
import { endpointRefusal } from '../../domain/access/runEgress';
import { agreementOf } from '../../domain/judge/stats';
import { judgeKeys, writeTranscripts } from '../../domain/judge/transcripts';

export interface CanaryDeps {
  pool: Pool;
  storage: Storage;
  models: JudgeChat;
  logger: Logger;
  budgetBlockCalls?: number;
}

export interface CanaryOutcome {
  drift: boolean;
  reasons: string[];
  n: number;
  agreement: number | null;
  kappa: number | null;
  baseline: number | null;
}

/** Canary datasets are meant to be small; beyond this many rows only the first are judged. */
export const MAX_CANARY_ROWS = 5_000;
const CHUNK = 250;

interface CanaryTally {
  n: number;
  errors: number;
  calls: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  skipped: number;
  confusion: Record<string, number>;
}

export function createCanaryActivity(deps: CanaryDeps) {
  return async function judgeCanary({ runId }: { runId: string }): Promise<CanaryOutcome> {
    const judge = await loadRunJudge(deps.pool, runId);
    if (!judge?.canary) return { drift: false, reasons: [], n: 0, agreement: null, kappa: null, baseline: null };
    const version = await latestCanaryVersion(deps.pool, judge.canary.datasetId);
    if (!version) return flagWithoutResults(deps.pool, runId, judge, 'canary_unavailable');
    // The canary's rows go to the judge's endpoint: its team must be allowed to read them (BRIEF: the access model).
    const canaryScope = await datasetVersionScope(deps.pool, version.datasetVersionId);
    const judgeTeam = await modelVersionOwnerTeam(deps.pool, judge.modelVersionId);
    if (!canaryScope || endpointRefusal(judgeTeam, canaryScope))
      return flagWithoutResults(deps.pool, runId, judge, 'canary_not_authorized');
    const rows = (await readCanaryRows(deps.storage, deps.pool, version.datasetVersionId)).filter(usableCanaryRow);

    const lease = await openRunLease(deps.pool, runId, deps.budgetBlockCalls);
    // Only release runs judge a canary (planRun): its calls go first at the judge's endpoint.
    const judgeOne = createJudgeRunner({ judge, chat: deps.models, lease, mode: 'release' });
    const tally: CanaryTally = {
      n: 0,
      errors: 0,
      calls: 0,
      costUsd: 0,
      inputTokens: 0,
      outputTokens: 0,
      skipped: 0,
      confusion: {},
    };
    const activity = Context.current();
    try {
      for (let start = 0, part = 0; start < rows.length; start += CHUNK, part++) {
        const chunk = rows.slice(start, start + CHUNK);
        const results = await Promise.all(
          chunk.map((row) =>
            judgeOne({ id: String(row.id), row, output: row.output as string, signal: activity.cancellationSignal }),
          ),
        );
        await writeTranscripts(
          deps.storage,
          judgeKeys.canaryTranscripts(runId, part),
          results.flatMap((r) => r.transcripts),
        );
        results.forEach((r, i) => tallyResult(tally, r.outcome, chunk[i].humanScore as number));
        activity.heartbeat({ judged: start + chunk.length });
        if (tally.skipped) break;
      }
    } finally {
      await releaseQuietly(lease);
    }
    if (activity.cancellationSignal.aborted)
      throw ApplicationFailure.create({ type: 'cancelled', message: 'canary cancelled', nonRetryable: true });

    const outcome = await recordCanary(deps.pool, runId, judge, version, tally);
    deps.logger.info({ runId, ...outcome }, 'judge canary judged');
    if (tally.skipped) {
      throw ApplicationFailure.create({
        type: BUDGET_EXCEEDED,
        nonRetryable: true,
        message: `the run's budget ran out while judging the drift canary (${tally.n} of ${rows.length} rows)`,
      });
    }
    return outcome;
  };
}

function usableCanaryRow(row: Record<string, unknown>): boolean {
  return typeof row.output === 'string' && typeof row.humanScore === 'number' && Number.isFinite(row.humanScore);
}

function tallyResult(
  tally: CanaryTally,
  outcome: Awaited<ReturnType<ReturnType<typeof createJudgeRunner>>>['outcome'],
  humanScore: number,
): void {
  tally.calls += outcome.calls;
  tally.costUsd += outcome.costUsd;
  tally.inputTokens += outcome.usage?.inputTokens ?? 0;
  tally.outputTokens += outcome.usage?.outputTokens ?? 0;
  if (outcome.skipped) {
    tally.skipped += 1;
    return;
  }
  tally.n += 1;
  if (outcome.error) {
    tally.errors += 1;
    return;
  }
  const mean = outcome.scores.reduce((a, b) => a + b, 0) / outcome.scores.length;
  const key = `${Math.round(humanScore)}|${Math.round(mean)}`;
  tally.confusion[key] = (tally.confusion[key] ?? 0) + 1;
}

interface CanaryVersion {
  datasetVersionId: string;
  version: number;
}

async function latestCanaryVersion(pool: Pool, datasetId: string): Promise<CanaryVersion | undefined> {
  const row = await judgeDal.findLatestActiveDatasetVersion(pool, datasetId);
  return row && { datasetVersionId: row.dataset_version_id, version: row.version };
}

async function readCanaryRows(
  storage: Storage,
  pool: Pool,
  datasetVersionId: string,
): Promise<Record<string, unknown>[]> {
  const shardKeys = await judgeDal.listShardObjectKeys(pool, datasetVersionId);
  const rows: Record<string, unknown>[] = [];
  for (const key of shardKeys) {
    for (const line of (await storage.getBuffer(key)).toString('utf8').split('\n')) {
      if (!line) continue;
      rows.push(JSON.parse(line));
      if (rows.length >= MAX_CANARY_ROWS) return rows;
    }
  }
  return rows;
}

/** Compares with the floor and the first recorded agreement, records the result and sets the run's judge flags. */
async function recordCanary(
  pool: Pool,
  runId: string,
  judge: JudgeConfig,
  version: CanaryVersion,
  tally: CanaryTally,
): Promise<CanaryOutcome> {
  const canary = judge.canary!;
  const agreement = agreementOf(tally.confusion);
  const reasons: string[] = [];
  if (tally.skipped) reasons.push('canary_incomplete');
  if (tally.n === 0) reasons.push('canary_empty');
  else if (tally.errors / tally.n > judge.errorRateLimit) reasons.push('canary_unreliable');
  const accuracy = agreement.accuracy;
  if (accuracy !== null && canary.agreementFloor !== null && accuracy < canary.agreementFloor)
    reasons.push('below_agreement_floor');

  if (accuracy !== null && reasons.length === 0) {
    // Only an agreement that passed becomes the judge's reference point.
    await judgeDal.insertAgreementBaseline(pool, {
      fingerprint: judge.fingerprint,
      canaryDatasetVersionId: version.datasetVersionId,
      accuracy,
      kappa: agreement.kappa,
      n: agreement.n,
      runId,
    });
  }
  const baseline = (await judgeDal.findAgreementBaseline(pool, judge.fingerprint, version.datasetVersionId)) ?? null;
  if (accuracy !== null && baseline && Math.abs(accuracy - baseline.accuracy) > canary.maxAgreementDrop + 1e-12)
    reasons.push('moved_from_first_agreement');
  const drift = reasons.length > 0;

  await judgeDal.upsertCanaryResult(pool, {
    runId,
    fingerprint: judge.fingerprint,
    canaryDatasetVersionId: version.datasetVersionId,
    n: tally.n,
    judgeErrors: tally.errors,
    calls: tally.calls,
    costUsd: tally.costUsd,
    inputTokens: tally.inputTokens,
    outputTokens: tally.outputTokens,
    accuracy,
    kappa: agreement.kappa,
    baselineAccuracy: baseline?.accuracy ?? null,
    baselineRunId: baseline?.run_id ?? null,
    agreementFloor: canary.agreementFloor,
    maxAgreementDrop: canary.maxAgreementDrop,
    drift,
    reasons,
  });
  const flags = {
    drift,
    canary: {
      datasetId: canary.datasetId,
      datasetVersion: version.version,
      n: tally.n,
      judgeErrors: tally.errors,
      agreement: accuracy,
      kappa: agreement.kappa,
      firstAgreement: baseline?.accuracy ?? null,
      agreementFloor: canary.agreementFloor,
      maxAgreementDrop: canary.maxAgreementDrop,
      reasons,
    },
  };
  await judgeDal.mergeRunJudgeFlags(pool, runId, flags);
  return {
    drift,
    reasons,
    n: tally.n,
    agreement: accuracy,
    kappa: agreement.kappa,
    baseline: baseline?.accuracy ?? null,
  };
}

async function flagWithoutResults(
  pool: Pool,
  runId: string,
  judge: JudgeConfig,
  reason: string,
): Promise<CanaryOutcome> {
  const flags = { drift: true, canary: { datasetId: judge.canary!.datasetId, reasons: [reason] } };
  await judgeDal.mergeRunJudgeFlags(pool, runId, flags);
  return { drift: true, reasons: [reason], n: 0, agreement: null, kappa: null, baseline: null };
}
