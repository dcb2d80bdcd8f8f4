/**
 * The deciding step of a gate check: verify that every run may decide a gate, gather the
 * evidence (current results, paired comparisons, must-pass failures), evaluate the rules
 * (evaluateRules.ts, pure) and record the decision with exactly the result rows and runs
 * it used.
 *
 * Fail closed (BRIEF invariant 6): a frozen metric answers `frozen`; a run that did not
 * succeed, was invalidated, is exploratory, partial, on a deprecated dataset version or
 * flagged for judge drift, a baseline alias that moved since the check started, a suite
 * or dataset that got a newer version meanwhile, or runs that cannot be compared each
 * answer `error` with a reason naming it.
 */
import { DomainError } from '../../domain/errors';
import type { Pool } from 'pg';
import { withTransaction } from '../../common/db';
import type { Storage } from '../../common/storage';
import {
  comparability,
  comparePairedRuns,
  loadComparableRun,
  type ComparableRun,
  type CurrentResult,
} from '../../domain/comparison';
import { datasetShardIndexes } from '../../domain/comparison/dal';
import { shardRecords } from '../../domain/comparison/pairs';
import { baselineStaleness } from '../../domain/lineage/staleness';
import { evaluateRules, type DatasetEvidence, type ResultEvidence } from '../../domain/gates/evaluateRules';
import { ruleMetricIds } from '../../domain/gates/prepare';
import { resultEvidence } from '../../domain/gates/resultEvidence';
import {
  activeFreezes,
  currentVersions,
  loadCheckContext,
  resolveAlias,
  suiteVersionMetrics,
  type CheckContext,
} from '../../domain/gates/dal';
import { recordDecision } from '../../domain/gates/decisions';
import {
  frozenReasons,
  type CheckDataset,
  type CheckRuns,
  type ClosedReason,
  type GateReason,
} from '../../domain/gates/reasons';

export interface RunFailure {
  runId: string;
  errorClass: string;
  message: string;
}
export interface Decision {
  status: string;
  reasons: GateReason[];
}

export interface DecideDeps {
  pool: Pool;
  storage: Storage;
}

const MAX_LISTED_FAILURES = 50;

/** Why a run may not decide a gate, or null when it may. */
function runProblem(
  run: ComparableRun,
  role: string,
  dataset: CheckDataset,
  failure?: RunFailure,
): ClosedReason | null {
  const at = { datasetId: dataset.datasetId, runId: run.runId };
  const who = `the ${role} run ${run.runId} (${run.modelVersion} on ${dataset.datasetName} v${dataset.datasetVersion})`;
  if (run.status === 'invalid')
    return {
      code: 'run_invalid',
      verdict: 'error',
      ...at,
      message: `${who} was invalidated: ${run.invalidReason ?? 'no reason recorded'}`,
    };
  if (run.status === 'budget_exceeded')
    return {
      code: 'run_partial',
      verdict: 'error',
      ...at,
      message: `${who} stopped at its budget and has partial results only; raise the suite's budget and check again`,
    };
  if (run.status !== 'succeeded') {
    const detail = failure
      ? `${failure.errorClass}: ${failure.message}`
      : run.errorClass
        ? `${run.errorClass}`
        : run.status;
    return { code: 'run_failed', verdict: 'error', ...at, message: `${who} did not succeed (${detail})` };
  }
  if (run.mode !== 'release')
    return {
      code: 'run_not_release',
      verdict: 'error',
      ...at,
      message: `${who} is exploratory; only release-mode runs decide gates`,
    };
  if (run.datasetStatus === 'deprecated')
    return {
      code: 'dataset_deprecated',
      verdict: 'error',
      ...at,
      message: `${who} used a dataset version that has since been deprecated`,
    };
  if (run.judgeDrift)
    return {
      code: 'judge_drift',
      verdict: 'error',
      ...at,
      message: `${who} has its judge flagged for drift; results judged by it cannot decide a gate`,
    };
  if (run.results.some((r) => r.partial))
    return { code: 'run_partial', verdict: 'error', ...at, message: `${who} has partial results` };
  return null;
}

export function createDecideActivities(deps: DecideDeps) {
  const { pool } = deps;

  async function record(
    ctx: CheckContext,
    decision: {
      status: 'pass' | 'fail' | 'error' | 'frozen';
      reasons: GateReason[];
      resultIds: string[];
      runIds: string[];
    },
  ): Promise<Decision> {
    await withTransaction(pool, (tx) =>
      recordDecision(tx, {
        checkId: ctx.check.check_id,
        ...decision,
        cause: 'check',
        from: ['pending'],
        audit: { action: 'gate_check.decide', detail: { gate: ctx.gate.name, candidate: ctx.candidate.modelVersion } },
      }),
    );
    const check = (await loadCheckContext(pool, ctx.check.check_id))!.check;
    return { status: check.status, reasons: check.reasons };
  }

  /** Checks that the world the check pinned at its start still holds. */
  async function staleness(ctx: CheckContext, runs: CheckRuns): Promise<ClosedReason[]> {
    const out: ClosedReason[] = [];
    if (runs.baseline) {
      const now = await resolveAlias(pool, ctx.candidate.modelId, runs.baseline.alias);
      if (now?.model_version_id !== runs.baseline.modelVersionId) {
        out.push({
          code: 'stale_baseline',
          verdict: 'error',
          message:
            `the '${runs.baseline.alias}' alias moved from ${runs.baseline.modelVersion} to ${now?.model_version ?? 'nothing'} ` +
            'while this check ran; check again against the new baseline',
        });
      }
    }
    const current = await currentVersions(
      pool,
      ctx.version.metric_suite_id,
      runs.datasets.map((d) => d.datasetId),
    );
    // A gate version that pins its suite version is not stale when the suite's owner publishes another.
    if (ctx.version.metric_suite_version === null && current.suite_version !== runs.suiteVersion) {
      out.push({
        code: 'stale_versions',
        verdict: 'error',
        message: `the suite got version ${current.suite_version} while this check evaluated v${runs.suiteVersion}; check again`,
      });
    }
    for (const d of current.datasets ?? []) {
      const pinned = runs.datasets.find((x) => x.datasetId === d.dataset_id)!;
      if (d.version !== pinned.datasetVersion) {
        out.push({
          code: 'stale_versions',
          verdict: 'error',
          datasetId: d.dataset_id,
          message:
            `dataset ${pinned.datasetName} is now at ${d.version === null ? 'no active version' : `v${d.version}`} ` +
            `while this check evaluated v${pinned.datasetVersion}; check again`,
        });
      }
    }
    return out;
  }

  /** Ids of the known-failure examples the candidate got wrong (classification), for the must_pass reason. */
  async function wrongExamples(run: ComparableRun): Promise<string[]> {
    const wrong: string[] = [];
    for (const shard of await datasetShardIndexes(pool, run.datasetVersionId)) {
      for await (const r of shardRecords(deps.storage, run.runId, shard)) {
        if (r.error || r.correct === false) wrong.push(r.id);
        if (wrong.length >= MAX_LISTED_FAILURES) return wrong;
      }
    }
    return wrong;
  }

  return {
    async decideGateCheck({
      checkId,
      runFailures = [],
    }: {
      checkId: string;
      runFailures?: RunFailure[];
    }): Promise<Decision> {
      const ctx = await loadCheckContext(pool, checkId);
      if (!ctx) throw new Error(`gate check ${checkId} does not exist`);
      if (ctx.check.status !== 'pending') return { status: ctx.check.status, reasons: ctx.check.reasons };
      const runs = ctx.check.runs as CheckRuns;
      const { rules } = ctx.version;
      const suiteMetrics = await suiteVersionMetrics(pool, runs.suiteVersionId);
      const metricIds = ruleMetricIds(rules, suiteMetrics);
      const freezes = await activeFreezes(pool, [...metricIds.keys()]);
      const runIds = [
        ...new Set(
          runs.datasets.flatMap((d) => [d.candidateRunId, d.baselineRunId].filter((id): id is string => Boolean(id))),
        ),
      ];
      if (freezes.length)
        return record(ctx, { status: 'frozen', reasons: frozenReasons(freezes, metricIds), resultIds: [], runIds });

      const closed = await staleness(ctx, runs);
      const failures = new Map(runFailures.map((f) => [f.runId, f]));
      const loaded = new Map<string, ComparableRun>();
      for (const d of runs.datasets) {
        for (const [role, runId] of [
          ['candidate', d.candidateRunId],
          ['baseline', d.baselineRunId],
        ] as const) {
          if (!runId || loaded.has(runId)) continue;
          const run = (await loadComparableRun(pool, runId))!;
          loaded.set(runId, run);
          const problem = runProblem(run, role, d, failures.get(runId));
          if (problem) closed.push(problem);
        }
      }
      // A baseline that is stale for a reason not named above (domain/lineage/staleness.ts: e.g. results of a
      // metric implementation an incident retracted, or a superseded dataset version) blocks as stale_baseline.
      const candidateIds = new Set(runs.datasets.map((d) => d.candidateRunId));
      const baselineIds = [
        ...new Set(
          runs.datasets.map((d) => d.baselineRunId).filter((id): id is string => Boolean(id) && !candidateIds.has(id!)),
        ),
      ];
      for (const stale of await baselineStaleness(pool, baselineIds)) {
        if (closed.some((c) => c.runId === stale.runId)) continue;
        closed.push({
          code: 'stale_baseline',
          verdict: 'error',
          runId: stale.runId,
          message:
            `the baseline ${runs.baseline?.modelVersion ?? ''} is stale: ${stale.reasons.join('; ')}; ` +
            'run the baseline again on the current versions, ' +
            `or point '${runs.baseline?.alias ?? 'the alias'}' at a release with a valid run`,
        });
      }
      const confidences = rules
        .filter((r) => r.kind === 'non_inferiority' && r.confidence !== undefined)
        .map((r) => r.confidence!);
      const evidence: Record<string, DatasetEvidence> = {};
      if (!closed.length) {
        const mustPass = new Set(
          rules.filter((r) => r.kind === 'must_pass').map((r) => r.datasetId ?? ctx.version.dataset_ids[0]),
        );
        for (const d of runs.datasets) {
          const candidate = loaded.get(d.candidateRunId)!;
          const baseline = d.baselineRunId ? loaded.get(d.baselineRunId) : undefined;
          const entry: DatasetEvidence = {
            datasetName: `${d.datasetName} v${d.datasetVersion}`,
            rowCount: d.rowCount,
            candidate: { runId: candidate.runId, results: resultEvidence(candidate.results) },
          };
          if (baseline) {
            entry.baseline = { runId: baseline.runId, results: resultEvidence(baseline.results) };
            const check = comparability(candidate, baseline);
            if (!check.comparable) {
              closed.push({
                code: 'not_comparable',
                verdict: 'error',
                datasetId: d.datasetId,
                message: `the candidate and baseline runs on ${d.datasetName} cannot be compared: ${check.differences.join('; ')}`,
              });
            } else if (baseline.runId !== candidate.runId) {
              try {
                entry.comparison = (await comparePairedRuns(deps, candidate, baseline, confidences)).metrics;
              } catch (err) {
                if (!(err instanceof DomainError && err.code === 'expired')) throw err;
                closed.push({
                  code: 'records_expired',
                  verdict: 'error',
                  datasetId: d.datasetId,
                  runId: baseline.runId,
                  message: `${err.message}; run the baseline again (a new release-mode run of ${baseline.modelVersion})`,
                });
              }
            }
          }
          if (mustPass.has(d.datasetId)) entry.wrongExamples = await wrongExamples(candidate);
          evidence[d.datasetId] = entry;
        }
      }
      if (closed.length) return record(ctx, { status: 'error', reasons: closed, resultIds: [], runIds });

      const evaluation = evaluateRules({
        rules,
        primaryDatasetId: ctx.version.dataset_ids[0],
        metricIds: Object.fromEntries(suiteMetrics.map((m) => [m.name, m.metric])),
        datasets: evidence,
      });
      const resultIds = evaluation.reasons.flatMap((r) => r.resultIds);
      return record(ctx, { status: evaluation.status, reasons: evaluation.reasons, resultIds, runIds });
    },

    /** A check that could not finish (timeout, cancellation, an internal error) decides `error`, fail closed. */
    async recordGateError({
      checkId,
      code,
      message,
    }: {
      checkId: string;
      code: 'timeout' | 'cancelled' | 'internal';
      message: string;
    }): Promise<Decision> {
      const ctx = await loadCheckContext(pool, checkId);
      if (!ctx) throw new Error(`gate check ${checkId} does not exist`);
      if (ctx.check.status !== 'pending') return { status: ctx.check.status, reasons: ctx.check.reasons };
      const runs = ctx.check.runs as Partial<CheckRuns>;
      const runIds = (runs.datasets ?? []).flatMap((d) =>
        [d.candidateRunId, d.baselineRunId].filter((id): id is string => Boolean(id)),
      );
      return record(ctx, { status: 'error', reasons: [{ code, verdict: 'error', message }], resultIds: [], runIds });
    },
  };
}
