import type { Command } from 'commander';
import { renderCheck, type CheckBody } from '../format';
import { ApiRefusal, CliFailure, type Api } from '../http';
import { formatOption, parseDuration, UsageError, type Format } from '../options';
import type { CliContext } from '../context';
import { progressBar, type Progress } from '../progress';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** 0 pass or overridden · 1 fail (or a pass since revoked) · 2 frozen, error, or no decision in time. */
export function exitCodeOf(status: string): number {
  if (status === 'pass' || status === 'overridden') return 0;
  if (status === 'fail' || status === 'revoked') return 1;
  return 2;
}

/** A gate id, or the id of the gate with that name. */
export async function resolveGate(api: Api, ref: string): Promise<string> {
  if (UUID.test(ref)) return ref;
  const found = await api.get<{ items: { gateId: string }[] }>(`/v1/gates?name=${encodeURIComponent(ref)}`);
  if (!found.items.length) throw new CliFailure(`no gate named ${ref}`, 2);
  return found.items[0].gateId;
}

export interface GateCheckOptions {
  gate: string;
  candidate: string;
  wait?: boolean;
  timeout: string;
  format: Format;
  idempotencyKey?: string;
  commitSha?: string;
}

const PROGRESS_EVERY_SECONDS = 2;

/** The candidate runs' examples done so far, summed over the check's datasets (none until the check starts them). */
async function showRunProgress(api: Api, check: CheckBody, progress: Progress): Promise<void> {
  const runIds = (check.runs?.datasets ?? []).map((d) => d.candidateRunId).filter((id): id is string => Boolean(id));
  if (!runIds.length) return;
  const runs = await Promise.all(
    runIds.map((id) =>
      api.get<{ progress: { done: number; total: number } }>(`/v1/eval-runs/${id}`).catch(() => undefined),
    ),
  );
  const done = runs.reduce((sum, r) => sum + (r?.progress.done ?? 0), 0);
  const total = runs.reduce((sum, r) => sum + (r?.progress.total ?? 0), 0);
  if (total > 0) progress.update(done, total);
}

/** `evalgate gate check`: starts (or finds, by idempotency key) a check, waits for its decision, exits by it. */
export async function gateCheck(api: Api, opts: GateCheckOptions, ctx: CliContext): Promise<number> {
  const { out } = ctx;
  const timeoutMs = parseDuration(opts.timeout);
  if (!opts.candidate.includes('@')) throw new UsageError('--candidate must look like <model>@<version>');
  const deadline = Date.now() + timeoutMs;
  try {
    const gateId = await resolveGate(api, opts.gate);
    const started = await api.post<{ checkId: string }>(`/v1/gates/${gateId}/checks`, {
      candidateModelVersion: opts.candidate,
      ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
      ...(opts.commitSha ? { commitSha: opts.commitSha } : {}),
    });
    let check = await api.get<CheckBody>(`/v1/gate-checks/${started.body.checkId}`);
    const progress = progressBar(out, ctx.interactive, 'candidate runs', (done, total) => `${done}/${total} examples`);
    while (opts.wait && check.status === 'pending' && Date.now() < deadline) {
      // Short long-polls while the candidate's runs work, so their progress shows as it goes.
      const wait = Math.max(1, Math.min(PROGRESS_EVERY_SECONDS, Math.floor((deadline - Date.now()) / 1000)));
      check = await api.get<CheckBody>(`/v1/gate-checks/${check.checkId}?wait=${wait}`, (wait + 30) * 1000);
      if (check.status === 'pending') await showRunProgress(api, check, progress);
    }
    progress.done();
    if (check.status === 'pending') {
      out.err(
        opts.wait
          ? `evalgate: check ${check.checkId} did not decide within ${opts.timeout}: timeout (not a pass)`
          : `evalgate: check ${check.checkId} started; it has not decided yet (run with --wait to wait for the decision)`,
      );
      if (opts.format === 'json') out.log(JSON.stringify({ checkId: check.checkId, status: 'pending', exitCode: 2 }));
      return 2;
    }
    const code = exitCodeOf(check.status);
    out.log(renderCheck(check, opts.format, code));
    return code;
  } catch (err) {
    if (err instanceof ApiRefusal) throw new CliFailure(`the API refused the check: ${err.code}: ${err.message}`, 2);
    throw err;
  }
}

export function registerGate(program: Command, ctx: CliContext): void {
  const gate = program.command('gate').description('check a candidate model version against a release gate');
  gate
    .command('check')
    .description(
      'start a gate check and exit by its decision: 0 pass or overridden, 1 fail, 2 frozen, error or timeout',
    )
    .requiredOption('--gate <name|id>', 'the gate, by name or id')
    .requiredOption('--candidate <model@version>', 'the candidate model version')
    .option('--wait', 'wait for the decision')
    .option('--timeout <duration>', 'how long to wait (30m, 90s, 1h)', '30m')
    .addOption(formatOption(['text', 'json', 'markdown', 'junit']))
    .option('--idempotency-key <key>', 'the same key answers the same check (CI retries)')
    .option('--commit-sha <sha>', 'the commit the candidate was built from, recorded with the check')
    .action(ctx.run((api, opts: GateCheckOptions) => gateCheck(api, opts, ctx)));
}
