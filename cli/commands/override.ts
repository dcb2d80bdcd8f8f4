import { flagReader, UsageError, type ParsedArgs } from '../args';
import type { Api } from '../http';
import type { Output } from '../output';

/** `evalgate override request --check <checkId> --justification "<why>" [--rules rule1,rule2]` */
export async function overrideRequest(api: Api, args: ParsedArgs, out: Output): Promise<number> {
  const flags = flagReader(args, ['check', 'justification', 'rules']);
  const rules = flags
    .string('rules')
    ?.split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  if (rules && !rules.length) throw new UsageError('--rules must name at least one rule');
  const { body } = await api.post(`/v1/gate-checks/${encodeURIComponent(flags.required('check'))}/override-requests`, {
    justification: flags.required('justification'),
    ...(rules ? { rules } : {}),
  });
  out.log(
    `override ${body.overrideId} requested for ${body.rules.join(', ')}: ` +
      `needs ${body.requiredApprovals} approvals before ${body.requestExpiresAt}`,
  );
  return 0;
}

/** `evalgate override approve --override <overrideId> [--comment "<note>"]` */
export async function overrideApprove(api: Api, args: ParsedArgs, out: Output): Promise<number> {
  const flags = flagReader(args, ['override', 'comment']);
  const comment = flags.string('comment');
  const { body } = await api.post(
    `/v1/overrides/${encodeURIComponent(flags.required('override'))}/approvals`,
    comment ? { comment } : {},
  );
  const counted = body.approvals.filter((a: { counted: boolean }) => a.counted).length;
  out.log(
    `override ${body.overrideId}: ${body.status} (${counted} of ${body.requiredApprovals} approvals); check is ${body.checkStatus}`,
  );
  return 0;
}
