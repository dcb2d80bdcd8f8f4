/**
 * Recomputing a run's metrics from its stored per-example records: no model calls, no
 * judge calls. The same shard layout as the run: one heartbeating activity per shard
 * reads that shard's stored parts and writes an accumulator state under a key derived
 * from the incident, run and shard; the run's finalize step merges them and writes the
 * new results beside the old ones, which it marks superseded — never overwritten.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import { withTransaction } from '../../common/db';
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
import { changesOf, type ResultChange } from '../../domain/incidents/dal/results';
import { markRunRecomputed, shardProgress } from '../../domain/incidents/dal/runs';
import { incidentKeys, PART_KEY } from '../../domain/incidents/keys';
import { supersedeResult } from '../../domain/incidents/results';

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
      const shard = await shardProgress(deps.pool, input.runId, input.shardIndex);
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
          message:
            `shard ${input.shardIndex} of run ${input.runId} has ${examples} stored records but recorded ${shard.rows_done} rows; ` +
            'its stored outputs are incomplete (retention?)',
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
      return withTransaction(deps.pool, async (client) => {
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
        await markRunRecomputed(client, input.incidentId, input.runId, changes);
        return { changes };
      });
    },
  };
}
