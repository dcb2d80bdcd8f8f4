import { flagReader, parseDuration, parseFormat, UsageError, type ParsedArgs } from '../args';
import { renderCheck, type CheckBody } from '../format';
import { ApiRefusal, CliFailure, type Api } from '../http';
import type { Output } from '../output';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** 0 pass or overridden · 1 fail (or a pass since revoked) · 2 frozen, error, or no decision in time. */
export function exitCodeOf(status: string): number {
  if (status === 'pass' || status === 'overridden') return 0;
  if (status === 'fail' || status === 'revoked') return 1;
  return 2;
}

async function resolveGate(api: Api, ref: string): Promise<string> {
  if (UUID.test(ref)) return ref;
  const found = await api.get<{ items: { gateId: string }[] }>(`/v1/gates?name=${encodeURIComponent(ref)}`);
  if (!found.items.length) throw new CliFailure(`no gate named ${ref}`, 2);
  return found.items[0].gateId;
}

/**
 * `evalgate gate check --gate <name|id> --candidate <model@version> [--wait] [--timeout 30m]
 *  [--format text|json|markdown|junit] [--idempotency-key k] [--commit-sha sha]`
 */
export async function gateCheck(api: Api, args: ParsedArgs, out: Output): Promise<number> {
  const flags = flagReader(args, ['gate', 'candidate', 'wait', 'timeout', 'format', 'idempotency-key', 'commit-sha']);
  const format = parseFormat(flags.string('format'));
  const timeoutMs = parseDuration(flags.string('timeout') ?? '30m');
  const gateRef = flags.required('gate');
  const candidate = flags.required('candidate');
  if (!candidate.includes('@')) throw new UsageError('--candidate must look like <model>@<version>');
  const deadline = Date.now() + timeoutMs;
  try {
    const gateId = await resolveGate(api, gateRef);
    const started = await api.post<{ checkId: string }>(`/v1/gates/${gateId}/checks`, {
      candidateModelVersion: candidate,
      ...(flags.string('idempotency-key') ? { idempotencyKey: flags.string('idempotency-key') } : {}),
      ...(flags.string('commit-sha') ? { commitSha: flags.string('commit-sha') } : {}),
    });
    let check = await api.get<CheckBody>(`/v1/gate-checks/${started.body.checkId}`);
    while (flags.bool('wait') && check.status === 'pending' && Date.now() < deadline) {
      const wait = Math.max(1, Math.min(60, Math.floor((deadline - Date.now()) / 1000)));
      check = await api.get<CheckBody>(`/v1/gate-checks/${check.checkId}?wait=${wait}`, (wait + 30) * 1000);
    }
    if (check.status === 'pending') {
      out.err(
        flags.bool('wait')
          ? `evalgate: check ${check.checkId} did not decide within ${flags.string('timeout') ?? '30m'}: timeout (not a pass)`
          : `evalgate: check ${check.checkId} started; it has not decided yet (run with --wait to wait for the decision)`,
      );
      if (format === 'json') out.log(JSON.stringify({ checkId: check.checkId, status: 'pending', exitCode: 2 }));
      return 2;
    }
    const code = exitCodeOf(check.status);
    out.log(renderCheck(check, format, code));
    return code;
  } catch (err) {
    if (err instanceof ApiRefusal) throw new CliFailure(`the API refused the check: ${err.code}: ${err.message}`, 2);
    throw err;
  }
}
