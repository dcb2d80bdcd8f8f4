/**
 * `evalgate experiment start|status|rollback`: online experiments from the command line, with
 * the gate check's exit-code conventions — with --wait, 0 promoted · 1 rolled back or aborted ·
 * 2 still undecided at the deadline (or paused as inconclusive), bad usage or unreachable.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import type { Api } from '../http';
import { parseDuration, positiveInt, UsageError, type Format } from '../options';

const ENDED = new Set(['promoted', 'rolled_back', 'aborted']);
const num = (v: number | null | undefined, digits = 4) => (v === null || v === undefined ? '–' : v.toFixed(digits));

/** The lines a person reads about an experiment: state, split, sample ratio, guardrails, decision. */
export function renderExperiment(e: any): string[] {
  const lines = [
    `experiment ${e.experimentId} (${e.name}): ${e.status} · step ${e.step + 1}/${e.ramp.length} · ${e.percent}% treatment`,
    `  ${e.candidate} vs ${e.baseline} (alias ${e.baselineAlias}) · gate check ${e.gateCheckId}`,
    `  exposures control ${e.exposures.control} · treatment ${e.exposures.treatment} · ` +
      `sample ratio p=${num(e.srm.pValue)} ${e.srm.ok ? 'ok' : 'MISMATCH'}`,
  ];
  for (const g of e.guardrails)
    lines.push(
      `  ${g.name.padEnd(16)} ${g.verdict.padEnd(7)} Δ ${num(g.delta)} [${num(g.ciLow)}, ${num(g.ciHigh)}] ` +
        `(${g.direction}, margin ${g.margin})`,
    );
  if (e.decision)
    lines.push(`  decision: ${e.decision.status} (${e.decision.reason}) ${e.decision.message ?? ''}`.trimEnd());
  return lines;
}

function finish(e: any, format: Format, ctx: CliContext, waited: boolean): number {
  ctx.out.log(format === 'json' ? JSON.stringify(e, null, 2) : renderExperiment(e).join('\n'));
  if (!waited) return 0;
  if (e.status === 'promoted') return 0;
  if (ENDED.has(e.status)) return 1;
  ctx.out.err(`evalgate: experiment ${e.experimentId} is still ${e.status}: not decided`);
  return 2;
}

async function waitFor(api: Api, experimentId: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let e = await api.get(`/v1/experiments/${encodeURIComponent(experimentId)}`);
  while (!ENDED.has(e.status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    e = await api.get(`/v1/experiments/${encodeURIComponent(experimentId)}`);
  }
  return e;
}

/** `name:event:lower_is_better:0.01` → a guardrail. */
export function parseGuardrail(text: string, previous: unknown[] = []): unknown[] {
  const [name, event, direction, margin, alpha] = text.split(':');
  if (!name || !event || !['higher_is_better', 'lower_is_better'].includes(direction) || !(Number(margin) >= 0))
    throw new UsageError(
      `--guardrail must be name:event:higher_is_better|lower_is_better:margin[:alpha] (got ${text})`,
    );
  return [...previous, { name, event, direction, margin: Number(margin), ...(alpha ? { alpha: Number(alpha) } : {}) }];
}

/** `1:3600,10:3600,50:86400` (percent:minSeconds[:minUnits]) → ramp steps. */
export function parseRamp(text: string): unknown[] {
  return text.split(',').map((step) => {
    const [percent, minSeconds, minUnits] = step.split(':').map(Number);
    if (!(percent > 0) || !(minSeconds >= 0))
      throw new UsageError(`--ramp steps are percent:minSeconds[:minUnits] (got ${step})`);
    return { percent, minSeconds, ...(minUnits ? { minUnits } : {}) };
  });
}

interface StartOptions {
  file?: string;
  name?: string;
  team?: string;
  candidate?: string;
  gateCheck?: string;
  baseline?: string;
  guardrail?: unknown[];
  ramp?: string;
  checkEvery?: number;
  idempotencyKey?: string;
  wait?: boolean;
  timeout: string;
  format: Format;
}

export async function experimentStart(api: Api, opts: StartOptions, ctx: CliContext): Promise<number> {
  const fromFile = opts.file ? (JSON.parse(readFileSync(opts.file, 'utf8')) as Record<string, unknown>) : {};
  const body: Record<string, unknown> = {
    ...fromFile,
    ...(opts.name ? { name: opts.name } : {}),
    ...(opts.team ? { ownerTeam: opts.team } : {}),
    ...(opts.candidate ? { candidate: opts.candidate } : {}),
    ...(opts.gateCheck ? { gateCheckId: opts.gateCheck } : {}),
    ...(opts.baseline ? { baseline: opts.baseline } : {}),
    ...(opts.guardrail ? { guardrails: opts.guardrail } : {}),
    ...(opts.ramp ? { ramp: parseRamp(opts.ramp) } : {}),
    ...(opts.checkEvery ? { checkEverySeconds: opts.checkEvery } : {}),
    ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
  };
  for (const field of ['name', 'ownerTeam', 'candidate', 'gateCheckId', 'guardrails'])
    if (body[field] === undefined) throw new UsageError(`${field} is required (a flag, or in --file)`);
  const timeoutMs = parseDuration(opts.timeout);
  const started = await api.post<{ experimentId: string; workflowId: string; status: string }>('/v1/experiments', body);
  if (!opts.wait) {
    const { experimentId, status } = started.body;
    ctx.out.log(opts.format === 'json' ? JSON.stringify(started.body) : `experiment ${experimentId} ${status}`);
    return 0;
  }
  return finish(await waitFor(api, started.body.experimentId, timeoutMs), opts.format, ctx, true);
}

export function registerExperiment(program: Command, ctx: CliContext): void {
  const experiment = program
    .command('experiment')
    .description('online experiments after a gate passes: start, status, rollback');
  experiment
    .command('start')
    .description('start an online experiment of a candidate whose gate check passed')
    .option('--file <body.json>', 'the POST /v1/experiments body; flags override its fields')
    .option('--name <name>', 'the experiment name')
    .option('--team <team>', 'the owning team')
    .option('--candidate <model@version>', 'the candidate model version')
    .option('--gate-check <checkId>', 'the passed (or overridden) gate check of the candidate')
    .option('--baseline <alias:name>', 'the baseline alias (default alias:production)')
    .option('--guardrail <name:event:direction:margin>', 'a guardrail (repeatable)', parseGuardrail)
    .option('--ramp <steps>', 'percent:minSeconds[:minUnits],… (default 1:3600,10:3600,50:86400)')
    .option('--check-every <seconds>', 'seconds between checks (default 60)', positiveInt)
    .option('--idempotency-key <key>', 'the same key answers the same experiment')
    .option('--wait', 'wait for the decision (exit 0 promoted, 1 rolled back, 2 undecided)')
    .option('--timeout <duration>', 'how long to wait', '24h')
    .addOption(ctx.format().choices(['text', 'json']))
    .action(ctx.run((api, opts: StartOptions) => experimentStart(api, opts, ctx)));
  experiment
    .command('status')
    .description("an experiment's state, split, sample-ratio check and guardrails")
    .argument('<experimentId>')
    .option('--wait', 'wait for the decision (exit 0 promoted, 1 rolled back, 2 undecided)')
    .option('--timeout <duration>', 'how long to wait', '24h')
    .addOption(ctx.format().choices(['text', 'json']))
    .action(
      ctx.run(async (api, opts: { wait?: boolean; timeout: string; format: Format }, [experimentId]) => {
        const e = opts.wait
          ? await waitFor(api, experimentId, parseDuration(opts.timeout))
          : await api.get(`/v1/experiments/${encodeURIComponent(experimentId)}`);
        return finish(e, opts.format, ctx, Boolean(opts.wait));
      }),
    );
  experiment
    .command('rollback')
    .description('roll an experiment back: treatment to 0%, the alias untouched')
    .argument('<experimentId>')
    .requiredOption('--reason <text>', 'why (recorded in the decision and the audit log)')
    .action(
      ctx.run(async (api, opts: { reason: string }, [experimentId]) => {
        await api.post(`/v1/experiments/${encodeURIComponent(experimentId)}/rollback`, { reason: opts.reason });
        ctx.out.log(`experiment ${experimentId}: rollback requested`);
        return 0;
      }),
    );
}
