import type { Command } from 'commander';
import type { Api } from '../http';
import { commaList, UsageError } from '../options';
import type { CliContext } from '../context';

/** `evalgate override request --check <checkId> --justification "<why>" [--rules rule1,rule2]` */
export async function overrideRequest(
  api: Api,
  opts: { check: string; justification: string; rules?: string[]; format: string },
  ctx: CliContext,
): Promise<number> {
  if (opts.rules && !opts.rules.length) throw new UsageError('--rules must name at least one rule');
  const { body } = await api.post(`/v1/gate-checks/${encodeURIComponent(opts.check)}/override-requests`, {
    justification: opts.justification,
    ...(opts.rules ? { rules: opts.rules } : {}),
  });
  ctx.out.log(
    opts.format === 'json'
      ? JSON.stringify(body, null, 2)
      : `override ${body.overrideId} requested for ${body.rules.join(', ')}: ` +
          `needs ${body.requiredApprovals} approvals before ${body.requestExpiresAt}`,
  );
  return 0;
}

/** `evalgate override approve --override <overrideId> [--comment "<note>"]` */
export async function overrideApprove(
  api: Api,
  opts: { override: string; comment?: string; format: string },
  ctx: CliContext,
): Promise<number> {
  const { body } = await api.post(
    `/v1/overrides/${encodeURIComponent(opts.override)}/approvals`,
    opts.comment ? { comment: opts.comment } : {},
  );
  const counted = body.approvals.filter((a: { counted: boolean }) => a.counted).length;
  ctx.out.log(
    opts.format === 'json'
      ? JSON.stringify(body, null, 2)
      : `override ${body.overrideId}: ${body.status} (${counted} of ${body.requiredApprovals} approvals); check is ${body.checkStatus}`,
  );
  return 0;
}

export function registerOverride(program: Command, ctx: CliContext): void {
  const override = program.command('override').description('overrides of failed gate checks: request and approve');
  override
    .command('request')
    .description('ask to release despite a failed check; approvers of the gate team decide')
    .requiredOption('--check <checkId>', 'the failed gate check')
    .requiredOption('--justification <why>', 'why, for the audit log and the approvers (at least 10 characters)')
    .option('--rules <rule,...>', 'only these failed rules (default: all that failed)', commaList)
    .addOption(ctx.format())
    .action(ctx.run((api, opts) => overrideRequest(api, opts, ctx)));
  override
    .command('approve')
    .description('approve an override request (not your own)')
    .requiredOption('--override <overrideId>', 'the override request')
    .option('--comment <note>', 'a note kept with the approval')
    .addOption(ctx.format())
    .action(ctx.run((api, opts) => overrideApprove(api, opts, ctx)));
}
