import { flagReader, parseDuration, parseFormat, UsageError, type ParsedArgs } from '../args';
import { renderComparison, type ComparisonBody } from '../format';
import type { Api } from '../http';
import type { Output } from '../output';

/** `evalgate runs compare <runId> --baseline <runId|alias:production> [--format text|json|markdown]` */
export async function runsCompare(api: Api, args: ParsedArgs, out: Output): Promise<number> {
  const flags = flagReader(args, ['baseline', 'format']);
  const runId = args.positional[0];
  if (!runId)
    throw new UsageError('runs compare needs a run id: evalgate runs compare <runId> --baseline alias:production');
  const format = parseFormat(flags.string('format'), ['text', 'json', 'markdown']);
  const baseline = flags.required('baseline');
  const body = await api.get<ComparisonBody>(
    `/v1/eval-runs/${encodeURIComponent(runId)}/comparison?baseline=${encodeURIComponent(baseline)}`,
    300_000,
  );
  out.log(renderComparison(body, format));
  return 0;
}

const DONE = new Set(['succeeded', 'failed', 'cancelled', 'budget_exceeded', 'invalid']);

/**
 * `evalgate runs start --model <model@version> --dataset <datasetId> --suite <metricSuiteId>
 * [--dataset-version n] [--suite-version n] [--mode exploratory|release] [--idempotency-key k] [--wait] [--timeout 30m]
 * [--format text|json]`
 */
export async function runsStart(api: Api, args: ParsedArgs, out: Output): Promise<number> {
  const flags = flagReader(args, [
    'model',
    'dataset',
    'suite',
    'dataset-version',
    'suite-version',
    'mode',
    'idempotency-key',
    'wait',
    'timeout',
    'format',
  ]);
  const format = parseFormat(flags.string('format'), ['text', 'json']);
  const int = (name: string) => {
    const v = flags.string(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a version number`);
    return Number(v);
  };
  const mode = flags.string('mode') ?? 'exploratory';
  if (mode !== 'exploratory' && mode !== 'release') throw new UsageError('--mode must be exploratory or release');
  const started = await api.post<{ runId: string }>('/v1/eval-runs', {
    modelVersion: flags.required('model'),
    datasetId: flags.required('dataset'),
    metricSuiteId: flags.required('suite'),
    mode,
    ...(int('dataset-version') !== undefined ? { datasetVersion: int('dataset-version') } : {}),
    ...(int('suite-version') !== undefined ? { metricSuiteVersion: int('suite-version') } : {}),
    ...(flags.string('idempotency-key') ? { idempotencyKey: flags.string('idempotency-key') } : {}),
  });
  const { runId } = started.body;
  if (!flags.bool('wait')) {
    out.log(format === 'json' ? JSON.stringify({ runId, status: 'queued' }) : `run ${runId} started`);
    return 0;
  }
  const deadline = Date.now() + parseDuration(flags.string('timeout') ?? '30m');
  let run = await api.get(`/v1/eval-runs/${runId}`);
  while (!DONE.has(run.status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    run = await api.get(`/v1/eval-runs/${runId}`);
  }
  if (format === 'json') out.log(JSON.stringify(run, null, 2));
  else {
    out.log(`run ${runId}: ${run.status} (${run.progress.done}/${run.progress.total} examples)`);
    for (const [name, r] of Object.entries(run.results ?? {}) as [string, any][]) {
      out.log(
        `  ${name.padEnd(16)} ${r.value === null ? '–' : r.value.toFixed(4)}  ` +
          `[${r.ciLow?.toFixed(4) ?? '–'}, ${r.ciHigh?.toFixed(4) ?? '–'}]  n=${r.n}`,
      );
    }
    if (run.error) out.log(`  error: ${run.error.class}: ${run.error.message}`);
  }
  if (!DONE.has(run.status)) {
    out.err(`evalgate: run ${runId} is still ${run.status} after ${flags.string('timeout') ?? '30m'}: timeout`);
    return 2;
  }
  return run.status === 'succeeded' ? 0 : 1;
}
