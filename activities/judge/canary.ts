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
import { createJudgeRunner, type JudgeChat } from './runner';
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
    const rows = (await readCanaryRows(deps.storage, deps.pool, version.datasetVersionId)).filter(usableCanaryRow);

    const lease = await openRunLease(deps.pool, runId, deps.budgetBlockCalls);
    const judgeOne = createJudgeRunner({ judge, chat: deps.models, lease });
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
  const { rows } = await pool.query<{ dataset_version_id: string; version: number }>(
    `SELECT dataset_version_id, version FROM dataset_versions WHERE dataset_id = $1 AND status = 'active' ORDER BY version DESC LIMIT 1`,
    [datasetId],
  );
  return rows[0] && { datasetVersionId: rows[0].dataset_version_id, version: rows[0].version };
}

async function readCanaryRows(
  storage: Storage,
  pool: Pool,
  datasetVersionId: string,
): Promise<Record<string, unknown>[]> {
  const { rows: shards } = await pool.query<{ object_key: string }>(
    'SELECT object_key FROM dataset_shards WHERE dataset_version_id = $1 ORDER BY shard_index',
    [datasetVersionId],
  );
  const rows: Record<string, unknown>[] = [];
  for (const shard of shards) {
    for (const line of (await storage.getBuffer(shard.object_key)).toString('utf8').split('\n')) {
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
    await pool.query(
      `INSERT INTO judge_agreement_baselines (judge_fingerprint, canary_dataset_version_id, accuracy, kappa, n, run_id)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      [judge.fingerprint, version.datasetVersionId, accuracy, agreement.kappa, agreement.n, runId],
    );
  }
  const { rows } = await pool.query<{ accuracy: number; run_id: string }>(
    'SELECT accuracy, run_id FROM judge_agreement_baselines WHERE judge_fingerprint = $1 AND canary_dataset_version_id = $2',
    [judge.fingerprint, version.datasetVersionId],
  );
  const baseline = rows[0] ?? null;
  if (accuracy !== null && baseline && Math.abs(accuracy - baseline.accuracy) > canary.maxAgreementDrop + 1e-12)
    reasons.push('moved_from_first_agreement');
  const drift = reasons.length > 0;

  await pool.query(
    `INSERT INTO judge_canary_results (run_id, judge_fingerprint, canary_dataset_version_id, n, judge_errors, calls, cost_usd, input_tokens, output_tokens,
                                       accuracy, kappa, baseline_accuracy, baseline_run_id, agreement_floor, max_agreement_drop, drift, reasons)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
     ON CONFLICT (run_id) DO UPDATE SET n = EXCLUDED.n, judge_errors = EXCLUDED.judge_errors, calls = EXCLUDED.calls, cost_usd = EXCLUDED.cost_usd,
       input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens, accuracy = EXCLUDED.accuracy, kappa = EXCLUDED.kappa,
       baseline_accuracy = EXCLUDED.baseline_accuracy, baseline_run_id = EXCLUDED.baseline_run_id, drift = EXCLUDED.drift, reasons = EXCLUDED.reasons`,
    [
      runId,
      judge.fingerprint,
      version.datasetVersionId,
      tally.n,
      tally.errors,
      tally.calls,
      tally.costUsd,
      tally.inputTokens,
      tally.outputTokens,
      accuracy,
      agreement.kappa,
      baseline?.accuracy ?? null,
      baseline?.run_id ?? null,
      canary.agreementFloor,
      canary.maxAgreementDrop,
      drift,
      JSON.stringify(reasons),
    ],
  );
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
  await pool.query('UPDATE eval_runs SET judge_flags = judge_flags || $2::jsonb WHERE run_id = $1', [
    runId,
    JSON.stringify(flags),
  ]);
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
  await pool.query('UPDATE eval_runs SET judge_flags = judge_flags || $2::jsonb WHERE run_id = $1', [
    runId,
    JSON.stringify(flags),
  ]);
  return { drift: true, reasons: [reason], n: 0, agreement: null, kappa: null, baseline: null };
}
