import { Router } from 'express';
import { z } from 'zod';
import { principalOf } from '../../http/auth';
import { pageQuery } from '../../http/pagination';
import { send, validated } from '../../http/validate';
import type { JudgeSections } from '../judge/view';
import type { ResultRecord, RunListRow, RunRecord } from '../../../domain/runs/dal';
import type { RunService } from './service';
import type { RunRetention } from '../../../domain/retention/runRetention';

const createBody = z.strictObject({
  modelVersion: z.string().min(3).max(300),
  datasetId: z.uuid('must be a dataset id (uuid)'),
  datasetVersion: z.number().int().positive().optional(),
  metricSuiteId: z.uuid('must be a metric suite id (uuid)'),
  metricSuiteVersion: z.number().int().positive().optional(),
  mode: z.enum(['exploratory', 'release']).default('exploratory'),
  idempotencyKey: z.string().min(1).max(256).optional(),
});
const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'budget_exceeded', 'invalid'] as const;
const listQuery = z.object({
  modelId: z.uuid('must be a model id (uuid)').optional(),
  modelVersion: z.string().min(3).max(300).optional(),
  datasetId: z.uuid('must be a dataset id (uuid)').optional(),
  metricSuiteId: z.uuid('must be a metric suite id (uuid)').optional(),
  status: z.enum(RUN_STATUSES, `must be one of ${RUN_STATUSES.join(', ')}`).optional(),
  mode: z.enum(['exploratory', 'release']).optional(),
  ...pageQuery,
});
const runParams = z.object({ runId: z.uuid('must be a run id (uuid)') });

const num = (v: string | number | null) => (v === null ? null : Number(v));

export function runView(
  run: RunRecord,
  results: ResultRecord[],
  live?: { done: string; calls: string; hits: string; errors: string; cost: number },
  judging: JudgeSections = {},
  retention?: RunRetention,
) {
  const active = run.status === 'queued' || run.status === 'running';
  const modelUsd = active && live ? Number(live.cost) : Number(run.cost_model_usd);
  const judgeUsd = active && judging.live ? judging.live.costUsd : Number(run.cost_judge_usd);
  const judgeCalls = active && judging.live ? judging.live.calls : Number(run.calls_judge);
  return {
    runId: run.run_id,
    status: run.status,
    mode: run.mode,
    progress: {
      done: active && live ? Number(live.done) : Number(run.progress_done),
      total: Number(run.progress_total),
    },
    results: Object.fromEntries(
      results.map((r) => [
        r.metric_name,
        {
          metric: r.metric_id,
          value: r.value,
          ciLow: r.ci_low,
          ciHigh: r.ci_high,
          n: Number(r.n),
          implVersion: r.impl_version,
          ...(r.reason ? { reason: r.reason } : {}),
          ...(r.partial ? { partial: true } : {}),
          slices: r.slices,
        },
      ]),
    ),
    cost: {
      totalUsd: modelUsd + judgeUsd,
      modelUsd,
      judgeUsd,
      calls: (active && live ? Number(live.calls) : Number(run.calls_model)) + judgeCalls,
      modelCalls: active && live ? Number(live.calls) : Number(run.calls_model),
      judgeCalls,
      cacheHits: active && live ? Number(live.hits) : Number(run.cache_hits),
    },
    errors: active && live ? Number(live.errors) : Number(run.errors),
    lineage: run.lineage,
    timing: {
      createdAt: run.created_at.toISOString(),
      startedAt: run.started_at?.toISOString() ?? null,
      finishedAt: run.finished_at?.toISOString() ?? null,
      queueMs: num(run.queue_ms),
      runMs: num(run.run_ms),
      metricsMs: num(run.metrics_ms),
    },
    ...(run.error_class ? { error: { class: run.error_class, message: run.error_message ?? '' } } : {}),
    ...(run.invalid_reason ? { invalidReason: run.invalid_reason } : {}),
    ...(judging.judge ? { judge: judging.judge } : {}),
    ...(judging.budget ? { budget: judging.budget } : {}),
    ...(retention ? { retention } : {}),
  };
}

/** A run in a list: what it evaluated, where it stands, what it cost; `GET /v1/eval-runs/{runId}` has the rest. */
export function runListView(run: RunListRow) {
  return {
    runId: run.run_id,
    status: run.status,
    mode: run.mode,
    modelVersion: `${run.model_name}@${run.model_version}`,
    datasetId: run.dataset_id,
    datasetVersion: run.dataset_version,
    metricSuiteId: run.metric_suite_id,
    metricSuiteVersion: run.metric_suite_version,
    progress: { done: Number(run.progress_done), total: Number(run.progress_total) },
    costUsd: Number(run.cost_model_usd) + Number(run.cost_judge_usd),
    createdAt: run.created_at.toISOString(),
    finishedAt: run.finished_at?.toISOString() ?? null,
    ...(run.error_class ? { error: { class: run.error_class, message: run.error_message ?? '' } } : {}),
  };
}

export function runsRouter(runs: RunService): Router {
  const router = Router();

  router.get(
    '/v1/eval-runs',
    validated({ query: listQuery }, async ({ query }, req, res) => {
      const page = await runs.list(query, principalOf(req));
      res.json({ items: page.items.map(runListView), nextCursor: page.nextCursor });
    }),
  );

  router.post(
    '/v1/eval-runs',
    validated({ body: createBody }, async ({ body }, req, res) => {
      const run = await runs.create(body, principalOf(req), req.requestId);
      send(res, 202, z.object({ runId: z.string(), status: z.string() }), { runId: run.run_id, status: run.status });
    }),
  );

  router.get(
    '/v1/eval-runs/:runId',
    validated({ params: runParams }, async ({ params }, req, res) => {
      const { run, results, live, judging, retention } = await runs.get(params.runId, principalOf(req));
      res.json(runView(run, results, live, judging, retention));
    }),
  );

  router.post(
    '/v1/eval-runs/:runId/cancel',
    validated({ params: runParams }, async ({ params }, req, res) => {
      const run = await runs.cancel(params.runId, principalOf(req), req.requestId);
      res.status(202).json({ runId: run.run_id, status: 'cancelling' });
    }),
  );

  return router;
}
