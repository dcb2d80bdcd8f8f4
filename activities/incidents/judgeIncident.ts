/**
 * A judge incident: a judge (by fingerprint) turned out wrong. Release runs it scored are
 * marked invalid for their judged metrics, then re-judged from their stored candidate
 * outputs with the replacement judge (no model calls; judge calls budgeted like a run's),
 * and their judged results are replaced — new rows, the old ones superseded. Decisions are
 * then re-decided as for a metric bug (redecide.ts). While it works, judge_score is frozen.
 *
 * A re-judged result's implementation version carries the judge as SemVer build metadata
 * (`1.0.0+judge.<fingerprint>`): the metric code is the same, the judge is not, and the
 * run may hold only one result per metric and version.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import { withTransaction } from '../../common/db';
import type { Logger } from '../../common/logger';
import { expiryAfter } from '../../common/retention';
import type { Storage } from '../../common/storage';
import { releaseQuietly } from '../../domain/budgets';
import type { JudgeConfig } from '../../domain/judge/config';
import type { StoredJudge } from '../../domain/judge/types';
import { resolveJudgeConfig, judgeStoredRecords, type StoredItem } from '../judge';
import { addJudgeRecord, emptyJudgeTotals, type JudgeTotals } from '../judge/shardJudging';
import {
  createAccumulator,
  finalizeAccumulator,
  mergeAccumulatorStates,
  type AccumulatorState,
} from '../../domain/metrics/accumulator';
import { gatesWithRuleOnMetric } from '../../domain/lineage/dal';
import { loadRunContext } from '../../domain/runs/context';
import { ENDPOINT_NOT_AUTHORIZED, rejudgeRefusal } from '../../domain/access/runEgress';
import { toMetricExample } from '../../domain/runs/records';
import type { ExampleRecord } from '../../domain/runs/records';
import type { JudgeChat } from '../judge/runner';
import { BUDGET_EXCEEDED, JUDGE_UNRELIABLE, RECORDS_UNAVAILABLE } from '../../common/incidentFailures';
import { ensureIncidentBudget } from '../../domain/incidents/dal/budgets';
import {
  freezeMetric,
  saveIncidentReport,
  setIncidentStep,
  unfreezeMetrics,
} from '../../domain/incidents/dal/incidents';
import { changesOf, currentResultsNotBy, invalidateCurrentResults } from '../../domain/incidents/dal/results';
import {
  addRunsWithStatus,
  countIncidentRuns,
  datasetShardKey,
  invalidateRun,
  markIncidentRun,
  markRunRejudged,
  rejudgingTotals,
  releaseRunsJudgedBy,
} from '../../domain/incidents/dal/runs';
import { loadIncident } from '../../domain/incidents/incidents';
import { openIncidentLease } from '../../domain/incidents/judgeBudget';
import { incidentKeys } from '../../domain/incidents/keys';
import { buildReport, type IncidentReport } from '../../domain/incidents/report';
import { baseImplVersion, supersedeResult } from '../../domain/incidents/results';
import { listPartKeys, recomputeSpec, type RecomputeMetric } from './recompute';

export interface JudgeIncidentDeps {
  pool: Pool;
  storage: Storage;
  logger: Logger;
  models: JudgeChat;
  budgetBlockCalls?: number;
}

const JUDGED_METRIC = 'judge_score';
const judgedVersion = (v: string, fingerprint: string) => `${baseImplVersion(v)}+judge.${fingerprint.slice(0, 16)}`;

interface JudgedShard {
  state: AccumulatorState;
  totals: JudgeTotals;
}

function replacement(incident: { replacement_judge: Record<string, unknown> | null }): {
  record: StoredJudge;
  fingerprint: string;
} {
  const r = incident.replacement_judge as { record?: StoredJudge; fingerprint?: string } | null;
  if (!r?.record || !r.fingerprint)
    throw ApplicationFailure.create({
      type: 'incident_kind',
      message: 'the judge incident has no replacement judge',
      nonRetryable: true,
    });
  return { record: r.record, fingerprint: r.fingerprint };
}

/** A shard's dataset rows by id: what the judge prompt renders ({{input}}, {{reference}}, {{rubric}}). */
async function datasetRows(
  deps: JudgeIncidentDeps,
  runId: string,
  shardIndex: number,
): Promise<Map<string, Record<string, unknown>>> {
  const objectKey = await datasetShardKey(deps.pool, runId, shardIndex);
  if (!objectKey)
    throw ApplicationFailure.create({
      type: RECORDS_UNAVAILABLE,
      nonRetryable: true,
      message: `run ${runId} has no dataset shard ${shardIndex}`,
    });
  const byId = new Map<string, Record<string, unknown>>();
  for (const line of (await deps.storage.getBuffer(objectKey)).toString('utf8').split('\n')) {
    if (!line) continue;
    const row = JSON.parse(line) as Record<string, unknown>;
    byId.set(String(row.id), row);
  }
  return byId;
}

const parseRecords = (buffer: Buffer) =>
  buffer
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ExampleRecord);

export function createJudgeIncidentActivities(deps: JudgeIncidentDeps) {
  const { pool, storage } = deps;
  const judges = new Map<string, JudgeConfig>();
  const judgeOf = async (incidentId: string) => {
    const cached = judges.get(incidentId);
    if (cached) return cached;
    const { record, fingerprint } = replacement(await loadIncident(pool, incidentId, 'judge'));
    const judge = await resolveJudgeConfig(pool, record, fingerprint);
    judges.set(incidentId, judge);
    return judge;
  };

  return {
    /** Freezes judge_score (fail closed: any gate with a judged rule answers frozen meanwhile). */
    async beginJudgeIncident({
      incidentId,
    }: {
      incidentId: string;
    }): Promise<{ frozenGates: { gateId: string; name: string }[] }> {
      await loadIncident(pool, incidentId, 'judge');
      await freezeMetric(pool, JUDGED_METRIC, incidentId);
      const frozenGates = (await gatesWithRuleOnMetric(pool, JUDGED_METRIC)).map((g) => ({
        gateId: g.gate_id,
        name: g.name,
      }));
      await setIncidentStep(pool, incidentId, 'freezing', { frozenGates });
      return { frozenGates };
    },

    /**
     * Release runs the judge scored whose judged results are current: recorded as pending,
     * their judged results marked invalid by this incident, each given its re-judging budget.
     */
    async collectJudgedRuns({ incidentId }: { incidentId: string }): Promise<{ runs: number }> {
      const incident = await loadIncident(pool, incidentId, 'judge');
      await setIncidentStep(pool, incidentId, 'finding_runs');
      const rows = await releaseRunsJudgedBy(pool, incident.judge_fingerprint, JUDGED_METRIC, incidentId);
      await addRunsWithStatus(pool, incidentId, rows);
      await invalidateCurrentResults(
        pool,
        incidentId,
        rows.map((r) => r.run_id),
        JUDGED_METRIC,
      );
      for (const r of rows) await ensureIncidentBudget(pool, incidentId, r.run_id);
      const runs = await countIncidentRuns(pool, incidentId);
      await setIncidentStep(pool, incidentId, 'rejudging');
      return { runs };
    },

    /** The run's judged metrics (at their own code version) and its shards; none when there is nothing left to re-judge. */
    async planRejudge({
      incidentId,
      runId,
    }: {
      incidentId: string;
      runId: string;
    }): Promise<{ metrics: RecomputeMetric[]; shards: number[] }> {
      const ctx = await loadRunContext(pool, runId);
      const rows = await currentResultsNotBy(pool, runId, JUDGED_METRIC, incidentId);
      const versions = new Map(rows.map((r) => [r.metric_name, baseImplVersion(r.impl_version)]));
      const metrics = ctx.metrics
        .filter((m) => versions.has(m.name))
        .map((m) => ({
          name: m.name,
          metric: m.metric,
          params: m.params ?? {},
          ...(m.slices ? { slices: m.slices } : {}),
          implVersion: versions.get(m.name)!,
        }));
      if (!metrics.length) {
        await markIncidentRun(pool, incidentId, runId, 'unchanged', 'no current judged result to replace');
        return { metrics: [], shards: [] };
      }
      return { metrics, shards: ctx.shards.map((s) => s.index) };
    },

    /**
     * Re-judges one shard's stored outputs part by part with the replacement judge, under
     * the run's incident budget. A part already re-judged by an earlier attempt is read back,
     * not judged again, so a retry spends no budget twice.
     */
    async rejudgeShard(input: {
      incidentId: string;
      runId: string;
      shardIndex: number;
      metrics: RecomputeMetric[];
    }): Promise<{ examples: number; judgeCalls: number }> {
      const activity = Context.current();
      const { incidentId, runId, shardIndex } = input;
      const ctx = await loadRunContext(pool, runId);
      const judge = await judgeOf(incidentId);
      // The replacement judge's team must be allowed the rows it would receive; if not, the run is invalidated unsent.
      const refusal = await rejudgeRefusal(pool, runId, judge.modelVersionId);
      if (refusal)
        throw ApplicationFailure.create({ type: ENDPOINT_NOT_AUTHORIZED, message: refusal, nonRetryable: true });
      const rowsById = await datasetRows(deps, runId, shardIndex);
      const partKeys = await listPartKeys(storage, runId, shardIndex);
      if (!partKeys.length)
        throw ApplicationFailure.create({
          type: RECORDS_UNAVAILABLE,
          nonRetryable: true,
          message: `shard ${shardIndex} of run ${runId} has no stored records (retention?)`,
        });
      const accumulator = createAccumulator(recomputeSpec(ctx.seed, input.metrics));
      const totals = emptyJudgeTotals();
      const lease = await openIncidentLease(pool, incidentId, runId, deps.budgetBlockCalls ?? 16);
      let examples = 0;
      let judgeCalls = 0;
      try {
        for (let part = 0; part < partKeys.length; part++) {
          const judgedKey = incidentKeys.judgedPart(incidentId, runId, shardIndex, part);
          let records: ExampleRecord[];
          if (await storage.exists(judgedKey)) {
            records = parseRecords(await storage.getBuffer(judgedKey));
          } else {
            // The original, even if an interrupted promotion already replaced the run's part.
            const originalKey = incidentKeys.originalPart(incidentId, runId, shardIndex, part);
            const source = (await storage.exists(originalKey)) ? originalKey : partKeys[part];
            const items: StoredItem[] = parseRecords(await storage.getBuffer(source)).map((record) => ({
              record,
              row: rowsById.get(record.id) ?? { id: record.id },
            }));
            const result = await judgeStoredRecords(
              { pool, storage, models: deps.models },
              {
                judge,
                items,
                lease,
                transcriptKey: incidentKeys.transcripts(incidentId, runId, shardIndex, part),
                expiresAt: expiryAfter(ctx.retentionSeconds),
                datasetVersionId: ctx.datasetVersionId,
                signal: activity.cancellationSignal,
              },
            );
            if (lease) await lease.release();
            judgeCalls += result.totals.judgeCalls;
            if (result.budgetStopped) {
              throw ApplicationFailure.create({
                type: BUDGET_EXCEEDED,
                nonRetryable: true,
                message: `re-judging run ${runId} ran out of its budget (the suite's limits) in shard ${shardIndex}`,
              });
            }
            records = result.records;
            await storage.put(
              judgedKey,
              records.map((r) => JSON.stringify(r)).join('\n') + '\n',
              'application/x-ndjson',
            );
          }
          for (const record of records) {
            examples += 1;
            addJudgeRecord(totals, record, judge.output);
            if (!record.error) accumulator.add(toMetricExample(record));
          }
          activity.heartbeat({ part: part + 1 });
        }
      } finally {
        await releaseQuietly(lease);
      }
      const shard: JudgedShard = { state: accumulator.toJSON(), totals };
      await storage.put(
        incidentKeys.judgedState(incidentId, runId, shardIndex),
        JSON.stringify(shard),
        'application/json',
      );
      return { examples, judgeCalls };
    },

    /**
     * Checks the replacement judge's error rate, promotes the re-judged parts (keeping each
     * original beside them), and replaces the judged results: new rows at
     * `<version>+judge.<fingerprint>`, the old ones superseded.
     */
    async finalizeRejudge(input: {
      incidentId: string;
      runId: string;
      metrics: RecomputeMetric[];
      shards: number[];
    }): Promise<{ judged: number; judgeErrors: number }> {
      const { incidentId, runId } = input;
      const ctx = await loadRunContext(pool, runId);
      const judge = await judgeOf(incidentId);
      const shards = await Promise.all(
        input.shards.map((s) => storage.getJson<JudgedShard>(incidentKeys.judgedState(incidentId, runId, s))),
      );
      const totals = shards.reduce(
        (t, s) => ({
          judged: t.judged + s.totals.judged,
          errors: t.errors + s.totals.judgeErrors,
          calls: t.calls + s.totals.judgeCalls,
          cost: t.cost + s.totals.judgeCostUsd,
        }),
        { judged: 0, errors: 0, calls: 0, cost: 0 },
      );
      if (totals.judged > 0 && totals.errors / totals.judged > judge.errorRateLimit) {
        throw ApplicationFailure.create({
          type: JUDGE_UNRELIABLE,
          nonRetryable: true,
          message:
            `the replacement judge failed ${totals.errors} of ${totals.judged} examples of run ${runId} ` +
            `(limit ${judge.errorRateLimit * 100}%)`,
        });
      }
      for (const shardIndex of input.shards) {
        const partKeys = await listPartKeys(storage, runId, shardIndex);
        for (let part = 0; part < partKeys.length; part++) {
          const original = incidentKeys.originalPart(incidentId, runId, shardIndex, part);
          if (!(await storage.exists(original)))
            await storage.put(original, await storage.getBuffer(partKeys[part]), 'application/x-ndjson');
          await storage.put(
            partKeys[part],
            await storage.getBuffer(incidentKeys.judgedPart(incidentId, runId, shardIndex, part)),
            'application/x-ndjson',
          );
        }
      }
      const spec = recomputeSpec(ctx.seed, input.metrics);
      const results = finalizeAccumulator(
        spec,
        mergeAccumulatorStates(
          spec,
          shards.map((s) => s.state),
        ),
      );
      await withTransaction(pool, async (client) => {
        for (const m of input.metrics) {
          const r = results[m.name];
          await supersedeResult(client, incidentId, runId, m, {
            value: r.value,
            ciLow: r.ciLow,
            ciHigh: r.ciHigh,
            n: r.n,
            reason: r.reason ?? null,
            slices: r.slices ?? {},
            implVersion: judgedVersion(r.implVersion, judge.fingerprint),
          });
        }
        const changes = await changesOf(client, incidentId, runId);
        await markRunRejudged(client, incidentId, runId, changes, {
          calls: totals.calls,
          costUsd: totals.cost.toFixed(9),
        });
      });
      return { judged: totals.judged, judgeErrors: totals.errors };
    },

    /**
     * A run that could not be re-judged (budget, an unreliable replacement, records gone)
     * keeps results from a judge known to be wrong: it becomes invalid, so no gate can use it.
     */
    async invalidateUnrejudgedRun(input: { incidentId: string; runId: string; reason: string }): Promise<void> {
      const incident = await loadIncident(pool, input.incidentId, 'judge');
      const why = (
        `judge ${incident.judge_fingerprint} was replaced by incident ${input.incidentId} ` +
        `and this run could not be re-judged: ${input.reason}`
      ).slice(0, 2000);
      await markIncidentRun(pool, input.incidentId, input.runId, 'unrecoverable', input.reason.slice(0, 2000));
      await invalidateRun(pool, input.runId, why);
    },

    /** Unfreezes judge_score, records the report with what re-judging cost, and resolves the incident. */
    async endJudgeIncident({ incidentId }: { incidentId: string }): Promise<IncidentReport> {
      const incident = await loadIncident(pool, incidentId, 'judge');
      await setIncidentStep(pool, incidentId, 'unfreezing');
      await unfreezeMetrics(pool, incidentId);
      const totals = await rejudgingTotals(pool, incidentId);
      const report = await buildReport(pool, incident, {
        rejudging: { judgeCalls: Number(totals.calls), judgeCostUsd: Number(totals.cost) },
      });
      await saveIncidentReport(pool, incidentId, report);
      await setIncidentStep(pool, incidentId, 'done');
      return report;
    },
  };
}
