/**
 * Recomputing a run's metrics from its stored per-example records: no model calls, no
 * judge calls. The same shard layout as the run: one heartbeating activity per shard
 * reads that shard's stored parts and writes an accumulator state under a key derived
 * from the incident, run and shard; the run's finalize step merges them and writes the
 * new results beside the old ones, which it marks superseded — never overwritten.
 */
import { changesOf, type ResultChange } from '../../domain/incidents/results';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from '../../common/logger';
import type { Storage } from '../../common/storage';
import {
  createAccumulator,
  finalizeAccumulator,
  type AccumulatorSpec,
  type AccumulatorState,
} from '../../domain/metrics/accumulator';
import type { MetricId } from '../../domain/metrics/types';
import { loadRunContext } from '../../domain/runs/context';
import { runKeys } from '../../domain/runs/keys';
import { mergeStoredStates } from '../runs/metricsBridge';
import { toMetricExample } from '../../domain/runs/records';
import type { ExampleRecord } from '../../domain/runs/records';
import { RECORDS_UNAVAILABLE } from '../../common/incidentFailures';
import { incidentKeys, PART_KEY } from '../../domain/incidents/keys';

/** One metric of the run to recompute, with the implementation version to use. */
export interface RecomputeMetric {
  name: string;
  metric: string;
  params: Record<string, unknown>;
  slices?: string[];
  implVersion: string;
}

export interface RecomputeDeps {
  pool: Pool;
  storage: Storage;
  logger: Logger;
}

export function recomputeSpec(seed: string, metrics: RecomputeMetric[]): AccumulatorSpec {
  return {
    seed,
    metrics: metrics.map((m) => ({
      name: m.name,
      metric: m.metric as MetricId,
      params: m.params,
      slices: m.slices,
      implVersion: m.implVersion,
    })),
  };
}

/** The keys of a shard's stored parts, in part order. */
export async function listPartKeys(storage: Storage, runId: string, shardIndex: number): Promise<string[]> {
  const keys = (await storage.list(runKeys.shardPrefix(runId, shardIndex))).filter((k) => PART_KEY.test(k));
  return keys.sort((a, b) => Number(PART_KEY.exec(a)![1]) - Number(PART_KEY.exec(b)![1]));
}

/** Yields a shard's stored records part by part, fetching the next part while the current one is consumed. */
export async function* readStoredRecords(storage: Storage, keys: string[]): AsyncGenerator<ExampleRecord[]> {
  const fetch = (key: string) => {
    const pending = storage.getBuffer(key);
    pending.catch(() => undefined); // awaited below; a consumer that stops early must not leave an unhandled rejection
    return pending;
  };
  let next = keys.length ? fetch(keys[0]) : undefined;
  for (let i = 0; i < keys.length; i++) {
    const buffer = await next!;
    next = i + 1 < keys.length ? fetch(keys[i + 1]) : undefined;
    const records: ExampleRecord[] = [];
    for (const line of buffer.toString('utf8').split('\n')) if (line) records.push(JSON.parse(line) as ExampleRecord);
    yield records;
  }
}

export function createRecomputeActivities(deps: RecomputeDeps) {
  return {
    /**
     * Recomputes the given metrics over one shard's stored records and stores the state.
     * Checks first that the parts hold exactly the rows the shard recorded as done, so a
     * partly expired or never-finished shard fails loudly instead of giving a wrong number.
     */
    async recomputeShard(input: {
      incidentId: string;
      runId: string;
      shardIndex: number;
      metrics: RecomputeMetric[];
    }): Promise<{ examples: number }> {
      const activity = Context.current();
      const ctx = await loadRunContext(deps.pool, input.runId);
      const { rows } = await deps.pool.query<{ rows_done: number; status: string }>(
        'SELECT rows_done, status FROM eval_run_shards WHERE run_id = $1 AND shard_index = $2',
        [input.runId, input.shardIndex],
      );
      const shard = rows[0];
      // 'partial': a budget stopped the shard; its stored records are what its results were computed from.
      if (!shard || (shard.status !== 'done' && shard.status !== 'partial')) {
        throw ApplicationFailure.create({
          type: RECORDS_UNAVAILABLE,
          nonRetryable: true,
          message: `shard ${input.shardIndex} of run ${input.runId} never finished; its records are incomplete`,
        });
      }
      const keys = await listPartKeys(deps.storage, input.runId, input.shardIndex);
      const accumulator = createAccumulator(recomputeSpec(ctx.seed, input.metrics));
      let examples = 0;
      let parts = 0;
      try {
        for await (const records of readStoredRecords(deps.storage, keys)) {
          for (const record of records) {
            examples += 1;
            // Exactly what the run did: failed examples are counted as rows but not scored.
            if (!record.error) accumulator.add(toMetricExample(record));
          }
          parts += 1;
          activity.heartbeat({ parts });
        }
      } catch (err) {
        if ((err as { code?: string }).code === 'NoSuchKey' || (err as { code?: string }).code === 'NotFound') {
          throw ApplicationFailure.create({
            type: RECORDS_UNAVAILABLE,
            nonRetryable: true,
            message: `stored records of shard ${input.shardIndex} of run ${input.runId} are gone (retention?)`,
          });
        }
        throw err;
      }
      if (examples !== shard.rows_done) {
        throw ApplicationFailure.create({
          type: RECORDS_UNAVAILABLE,
          nonRetryable: true,
          message: `shard ${input.shardIndex} of run ${input.runId} has ${examples} stored records but recorded ${shard.rows_done} rows; its stored outputs are incomplete (retention?)`,
        });
      }
      await deps.storage.put(
        incidentKeys.shardState(input.incidentId, input.runId, input.shardIndex),
        JSON.stringify(accumulator.toJSON()),
        'application/json',
      );
      return { examples };
    },

    /**
     * Merges the shard states and writes one new result per metric, superseding the
     * current one. Idempotent: a metric whose current result already comes from this
     * incident is left alone, and the changes are read back from the rows themselves.
     */
    async finalizeRunRecompute(input: {
      incidentId: string;
      runId: string;
      metrics: RecomputeMetric[];
      shards: number[];
    }): Promise<{ changes: ResultChange[] }> {
      const ctx = await loadRunContext(deps.pool, input.runId);
      const spec = recomputeSpec(ctx.seed, input.metrics);
      const keys = input.shards.map((s) => incidentKeys.shardState(input.incidentId, input.runId, s));
      const results = finalizeAccumulator(
        spec,
        await mergeStoredStates(spec, keys, (key) => deps.storage.getJson<AccumulatorState>(key)),
      );
      const client = await deps.pool.connect();
      try {
        await client.query('BEGIN');
        for (const m of input.metrics) {
          const r = results[m.name];
          await supersedeResult(client, input.incidentId, input.runId, m, {
            value: r.value,
            ciLow: r.ciLow,
            ciHigh: r.ciHigh,
            n: r.n,
            reason: r.reason ?? null,
            slices: r.slices ?? {},
            implVersion: r.implVersion,
          });
        }
        const changes = await changesOf(client, input.incidentId, input.runId);
        await client.query(
          `UPDATE incident_runs SET state = 'recomputed', changes = $3, detail = NULL, updated_at = now()
            WHERE incident_id = $1 AND run_id = $2`,
          [input.incidentId, input.runId, JSON.stringify(changes)],
        );
        await client.query('COMMIT');
        return { changes };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
}

interface NewResult {
  value: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  n: number;
  reason: string | null;
  slices: unknown;
  implVersion: string;
}

/**
 * Replaces the current result of one metric of a run by a new row from this incident.
 * The old row is marked superseded first (only one current row per run and metric may
 * exist), then the new row is inserted and the old one pointed at it.
 */
export async function supersedeResult(
  client: PoolClient,
  incidentId: string,
  runId: string,
  m: { name: string; metric: string },
  r: NewResult,
): Promise<void> {
  const { rows } = await client.query<{ result_id: string; incident_id: string | null; partial: boolean }>(
    'SELECT result_id, incident_id, partial FROM metric_results WHERE run_id = $1 AND metric_name = $2 AND superseded_at IS NULL FOR UPDATE',
    [runId, m.name],
  );
  const current = rows[0];
  if (current?.incident_id === incidentId) return; // this incident already wrote it
  if (current)
    await client.query('UPDATE metric_results SET superseded_at = now() WHERE result_id = $1', [current.result_id]);
  const inserted = await client.query<{ result_id: string }>(
    `INSERT INTO metric_results (run_id, metric_name, metric_id, impl_version, value, ci_low, ci_high, n, reason, slices, incident_id, partial)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (run_id, metric_name, impl_version) DO NOTHING RETURNING result_id`,
    [
      runId,
      m.name,
      m.metric,
      r.implVersion,
      r.value,
      r.ciLow,
      r.ciHigh,
      r.n,
      r.reason,
      JSON.stringify(r.slices),
      incidentId,
      current?.partial ?? false,
    ],
  );
  if (!inserted.rows[0]) {
    throw ApplicationFailure.create({
      type: 'result_conflict',
      nonRetryable: true,
      message: `run ${runId} already has a ${m.name} result at implementation version ${r.implVersion} that is not current; resolve it by hand`,
    });
  }
  if (current)
    await client.query('UPDATE metric_results SET superseded_by = $2 WHERE result_id = $1', [
      current.result_id,
      inserted.rows[0].result_id,
    ]);
}
