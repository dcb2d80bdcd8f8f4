import type { Command } from 'commander';
import type { CliContext } from '../context';
import { renderComparison, type ComparisonBody } from '../format';
import { query, type Api } from '../http';
import { progressBar } from '../progress';
import { parseDuration, positiveInt, UsageError, type Format } from '../options';

const DONE = new Set(['succeeded', 'failed', 'cancelled', 'budget_exceeded', 'invalid']);
const fixed = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(4));

/** The lines a person reads about a run: status, progress, metrics with intervals, cost, error. */
export function renderRun(run: any): string[] {
  const lines = [`run ${run.runId}: ${run.status} (${run.progress.done}/${run.progress.total} examples)`];
  if (run.modelVersion) lines[0] += ` · ${run.modelVersion}`;
  for (const [name, r] of Object.entries(run.results ?? {}) as [string, any][]) {
    lines.push(`  ${name.padEnd(16)} ${fixed(r.value)}  [${fixed(r.ciLow)}, ${fixed(r.ciHigh)}]  n=${r.n}`);
  }
  if (run.cost && typeof run.cost.totalUsd === 'number')
    lines.push(`  cost $${run.cost.totalUsd.toFixed(4)} · ${run.cost.calls ?? 0} calls`);
  if (run.error) lines.push(`  error: ${run.error.class}: ${run.error.message}`);
  return lines;
}

/** Polls until the run ends or the deadline passes; `onProgress` sees each poll. */
async function waitForRun(api: Api, runId: string, timeoutMs: number, onProgress?: (run: any) => void) {
  const deadline = Date.now() + timeoutMs;
  let run = await api.get(`/v1/eval-runs/${encodeURIComponent(runId)}`);
  while (!DONE.has(run.status) && Date.now() < deadline) {
    onProgress?.(run);
    await new Promise((r) => setTimeout(r, 1000));
    run = await api.get(`/v1/eval-runs/${encodeURIComponent(runId)}`);
  }
  return run;
}

/** 0 succeeded · 1 ended otherwise · 2 still running at the deadline. */
function finish(run: any, format: Format, timeout: string, ctx: CliContext): number {
  ctx.out.log(format === 'json' ? JSON.stringify(run, null, 2) : renderRun(run).join('\n'));
  if (!DONE.has(run.status)) {
    ctx.out.err(`evalgate: run ${run.runId} is still ${run.status} after ${timeout}: timeout`);
    return 2;
  }
  return run.status === 'succeeded' ? 0 : 1;
}

export async function runsCompare(
  api: Api,
  opts: { baseline: string; format: Format },
  [runId]: string[],
  ctx: CliContext,
): Promise<number> {
  const body = await api.get<ComparisonBody>(
    `/v1/eval-runs/${encodeURIComponent(runId)}/comparison?baseline=${encodeURIComponent(opts.baseline)}`,
    300_000,
  );
  ctx.out.log(renderComparison(body, opts.format));
  return 0;
}

interface StartOptions {
  model: string;
  dataset: string;
  suite: string;
  datasetVersion?: number;
  suiteVersion?: number;
  mode: 'exploratory' | 'release';
  idempotencyKey?: string;
  wait?: boolean;
  timeout: string;
  format: Format;
}

export async function runsStart(api: Api, opts: StartOptions, ctx: CliContext): Promise<number> {
  const timeoutMs = parseDuration(opts.timeout);
  const started = await api.post<{ runId: string }>('/v1/eval-runs', {
    modelVersion: opts.model,
    datasetId: opts.dataset,
    metricSuiteId: opts.suite,
    mode: opts.mode,
    ...(opts.datasetVersion !== undefined ? { datasetVersion: opts.datasetVersion } : {}),
    ...(opts.suiteVersion !== undefined ? { metricSuiteVersion: opts.suiteVersion } : {}),
    ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
  });
  const { runId } = started.body;
  if (!opts.wait) {
    ctx.out.log(opts.format === 'json' ? JSON.stringify({ runId, status: 'queued' }) : `run ${runId} started`);
    return 0;
  }
  return finish(await waitForRun(api, runId, timeoutMs), opts.format, opts.timeout, ctx);
}

export function registerRuns(program: Command, ctx: CliContext): void {
  const runs = program.command('runs').description('eval runs: start, list, show, watch, cancel, compare');
  runs
    .command('start')
    .description('start an eval run of a model version on a dataset with a metric suite')
    .requiredOption('--model <model@version>', 'the model version')
    .requiredOption('--dataset <datasetId>', 'the dataset')
    .requiredOption('--suite <metricSuiteId>', 'the metric suite')
    .option('--dataset-version <n>', 'a dataset version (default: the latest)', positiveInt)
    .option('--suite-version <n>', 'a suite version (default: the latest)', positiveInt)
    .addOption(ctx.format().choices(['text', 'json']))
    .option('--mode <mode>', 'exploratory or release', 'exploratory')
    .option('--idempotency-key <key>', 'the same key answers the same run')
    .option('--wait', 'wait for the run to end (exit 0 succeeded, 1 otherwise, 2 timeout)')
    .option('--timeout <duration>', 'how long to wait', '30m')
    .action(
      ctx.run((api, opts: StartOptions) => {
        if (opts.mode !== 'exploratory' && opts.mode !== 'release')
          throw new UsageError('--mode must be exploratory or release');
        return runsStart(api, opts, ctx);
      }),
    );
  runs
    .command('list')
    .description('runs you may see, newest first')
    .option('--model <modelId>', 'only runs of this model (id)')
    .option('--model-version <model@version>', 'only runs of this model version')
    .option('--dataset <datasetId>', 'only runs on this dataset')
    .option('--suite <metricSuiteId>', 'only runs with this suite')
    .option('--status <status>', 'only runs with this status')
    .option('--mode <mode>', 'exploratory or release')
    .option('--limit <n>', 'at most this many', positiveInt, 20)
    .option('--cursor <cursor>', 'the next page, as a previous answer gave it')
    .addOption(ctx.format())
    .action(
      ctx.run(async (api, opts) => {
        const page = await api.get(
          `/v1/eval-runs${query({
            modelId: opts.model,
            modelVersion: opts.modelVersion,
            datasetId: opts.dataset,
            metricSuiteId: opts.suite,
            status: opts.status,
            mode: opts.mode,
            limit: opts.limit,
            cursor: opts.cursor,
          })}`,
        );
        if (opts.format === 'json') ctx.out.log(JSON.stringify(page, null, 2));
        else {
          for (const run of page.items)
            ctx.out.log(
              [
                run.runId,
                String(run.status).padEnd(15),
                String(run.mode ?? '').padEnd(11),
                run.modelVersion,
                run.createdAt,
              ].join('  '),
            );
          if (page.nextCursor) ctx.out.log(`more: --cursor ${page.nextCursor}`);
        }
        return 0;
      }),
    );
  runs
    .command('show <runId>')
    .description('one run: status, progress, metrics with intervals, cost')
    .addOption(ctx.format())
    .action(
      ctx.run(async (api, opts, [runId]) => {
        const run = await api.get(`/v1/eval-runs/${encodeURIComponent(runId)}`);
        ctx.out.log(opts.format === 'json' ? JSON.stringify(run, null, 2) : renderRun(run).join('\n'));
        return 0;
      }),
    );
  runs
    .command('watch <runId>')
    .description('follow a run until it ends (exit 0 succeeded, 1 otherwise, 2 timeout)')
    .option('--timeout <duration>', 'how long to watch', '30m')
    .addOption(ctx.format())
    .action(
      ctx.run(async (api, opts, [runId]) => {
        // A bar on a terminal; in a log, a line when the status changes and one per tenth of the examples.
        let status = '';
        const bar = progressBar(ctx.out, ctx.interactive, `run ${runId}`, (d, t) => `${d}/${t} examples, ${status}`);
        const run = await waitForRun(api, runId, parseDuration(opts.timeout), (r) => {
          if (r.status !== status && !ctx.interactive) ctx.out.err(`run ${r.runId}: ${r.status}`);
          status = r.status;
          if (r.progress.total > 0) bar.update(r.progress.done, r.progress.total);
        });
        bar.done();
        return finish(run, opts.format, opts.timeout, ctx);
      }),
    );
  runs
    .command('cancel <runId>')
    .description("cancel a run (an editor of the model's or the suite's team)")
    .addOption(ctx.format())
    .action(
      ctx.run(async (api, opts, [runId]) => {
        const { body } = await api.post(`/v1/eval-runs/${encodeURIComponent(runId)}/cancel`, {});
        ctx.out.log(opts.format === 'json' ? JSON.stringify(body) : `run ${body.runId}: ${body.status}`);
        return 0;
      }),
    );
  runs
    .command('compare <runId>')
    .description('a paired comparison of a run with a baseline run or alias')
    .requiredOption('--baseline <runId|alias:production>', 'the baseline run, or alias:<name>')
    .addOption(ctx.format(['text', 'json', 'markdown']))
    .action(ctx.run((api, opts, args) => runsCompare(api, opts, args, ctx)));
}
