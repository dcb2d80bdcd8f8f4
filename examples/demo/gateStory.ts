/**
 * The release-gate story, as CI and people live it, through the `evalgate` CLI (a real
 * process per step, its exit code shown):
 *
 *  1. a gate on the release-blocking suite, against the `production` alias: accuracy may
 *     drop at most 3 points, and must be non-inferior within 4 points at 95% (the whole
 *     paired interval, not just the point); hard-ham accuracy may drop at most 5 points;
 *     spam F1 must stay at or above 0.9 (rules that need only labels: a chat model
 *     answers a label, not scores);
 *  2. a better model (logistic regression) passes: exit 0;
 *  3. a regressed one (naive Bayes on 10% of the data) fails on the hard-ham slice, with
 *     the values and the interval in the reason: exit 1; the comparison shows where;
 *  4. an override is requested with a justification; the requester's own approval is
 *     refused; two approvers approve; the decision becomes `overridden`: exit 0.
 *
 * `runGateStory(ctx)` is called by examples/demo.ts after its own sections (datasets,
 * suite, model versions and the production alias exist) and by test/e2e/gateStory.test.ts.
 * The gate it creates is the one examples/demo/evalgate.yaml declares: in the demo, which
 * applies that file first, the create answers the same version 1; the e2e test, which does
 * not apply the file, gets the same gate.
 */
import { runCli } from '../../testkit/cli';
import type { Api } from '../../testkit/apiClient';

export interface GateStoryContext {
  baseUrl: string;
  /** An admin client: the story creates the CI principal, the engineer and the two approvers it runs the CLI as. */
  admin: Api;
  team: string;
  datasetId: string;
  metricSuiteId: string;
  modelId: string;
  /** Registered versions by reference-server model: 'nb-v1' (production), 'logreg-v1', 'nb-small-v1'. */
  versions: Record<string, string>;
  /** Where the story writes; default stdout. */
  print?: (text: string) => void;
}

export interface StoryStep {
  title: string;
  args: string[];
  as: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

const quote = (a: string) => (/^[\w@:./=,[\]-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
const indent = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');

export async function runGateStory(
  ctx: GateStoryContext,
): Promise<{ checkIds: { pass: string; fail: string }; overrideId: string; steps: StoryStep[] }> {
  const print = ctx.print ?? ((text: string) => process.stdout.write(text));
  const suffix = Date.now().toString(36);
  const keyOf = async (name: string, roles: string[]) => {
    const res = await ctx.admin.call('POST', '/v1/principals', {
      name: `${name}-${suffix}`,
      teams: [{ team: ctx.team, roles }],
    });
    if (res.status !== 201) throw new Error(`creating ${name}: ${JSON.stringify(res.body)}`);
    return { name: `${name}-${suffix}`, key: res.body.apiKey as string };
  };
  const people = {
    ci: await keyOf('ci-pipeline', ['editor']),
    engineer: await keyOf('ml-engineer', ['editor', 'approver']),
    approverA: await keyOf('release-manager-a', ['approver']),
    approverB: await keyOf('release-manager-b', ['approver']),
  };
  const steps: StoryStep[] = [];
  const step = async (title: string, who: keyof typeof people, args: string[]) => {
    const { name, key } = people[who];
    print(`\n  - ${title}\n    $ evalgate ${args.map(quote).join(' ')}    # as ${name}\n`);
    const result = await runCli(ctx.baseUrl, key, args);
    if (result.stdout.trim()) print(`${indent(result.stdout)}\n`);
    if (result.stderr.trim()) print(`${indent(result.stderr)}\n`);
    print(`    → exit ${result.exitCode}\n`);
    steps.push({ title, args, as: name, ...result });
    return result;
  };

  const gateName = `${ctx.team}-spam-filter-release`; // gate names are global; one per team
  const gate = await ctx.admin.call('POST', '/v1/gates', {
    name: gateName,
    ownerTeam: ctx.team,
    metricSuiteId: ctx.metricSuiteId,
    datasetIds: [ctx.datasetId],
    baselineAlias: 'production',
    description: 'What the spam filter must keep doing before a version replaces production',
    rules: [
      { metric: 'accuracy', kind: 'max_regression', threshold: 0.03 },
      { metric: 'accuracy', kind: 'non_inferiority', margin: 0.04, confidence: 0.95 },
      { metric: 'accuracy', slice: 'hard-ham', kind: 'max_regression', threshold: 0.05 },
      { metric: 'f1_spam', kind: 'min', threshold: 0.9 },
    ],
  });
  if (gate.status !== 201 && gate.status !== 200) throw new Error(`creating the gate: ${JSON.stringify(gate.body)}`);
  print(
    `  - gate ${gateName} v${gate.body.version}: 4 rules against alias production; overrides need 2 approvers of team ${ctx.team}\n`,
  );

  const check = (candidate: string, key: string) => [
    'gate',
    'check',
    '--gate',
    gateName,
    '--candidate',
    candidate,
    '--wait',
    '--timeout',
    '10m',
    '--idempotency-key',
    key,
  ];
  const passKey = `demo-${suffix}-better`;
  const failKey = `demo-${suffix}-regressed`;
  await step(
    'a better model: logistic regression (its missing release run is started by the check)',
    'ci',
    check(ctx.versions['logreg-v1'], passKey),
  );
  const failed = await step(
    'a regressed model: naive Bayes trained on 10% of the data',
    'ci',
    check(ctx.versions['nb-small-v1'], failKey),
  );
  const failJson = await runCli(ctx.baseUrl, people.ci.key, [
    ...check(ctx.versions['nb-small-v1'], failKey),
    '--format',
    'json',
  ]);
  const failedCheck = JSON.parse(failJson.stdout) as {
    checkId: string;
    reasons: { rule?: string; verdict: string; runId?: string }[];
  };
  const passCheck = JSON.parse(
    (await runCli(ctx.baseUrl, people.ci.key, [...check(ctx.versions['logreg-v1'], passKey), '--format', 'json']))
      .stdout,
  ) as { checkId: string };
  const regressedRun = (await ctx.admin.get(`/v1/gate-checks/${failedCheck.checkId}`)).runs.datasets[0]
    .candidateRunId as string;
  await step('where it regressed: the paired comparison with production, per slice', 'ci', [
    'runs',
    'compare',
    regressedRun,
    '--baseline',
    'alias:production',
  ]);
  if (failed.exitCode !== 1)
    throw new Error(`the regressed model was expected to fail (exit 1), got exit ${failed.exitCode}`);

  const requested = await step('the team asks to ship anyway, with a justification', 'engineer', [
    'override',
    'request',
    '--check',
    failedCheck.checkId,
    '--justification',
    'Hard-ham regression accepted for the 2-week spam-wave mitigation; retraining on full data tracked in SPAM-142',
  ]);
  const overrideId = /^override (\S+) requested/.exec(requested.stdout)?.[1];
  if (!overrideId) throw new Error(`no override id in: ${requested.stdout}${requested.stderr}`);
  await step('the requester tries to approve their own override', 'engineer', [
    'override',
    'approve',
    '--override',
    overrideId,
  ]);
  await step('the first release manager approves', 'approverA', [
    'override',
    'approve',
    '--override',
    overrideId,
    '--comment',
    'hard-ham examples reviewed: newsletters, low risk',
  ]);
  await step('the second release manager approves', 'approverB', ['override', 'approve', '--override', overrideId]);
  await step(
    'CI asks again with the same key: the decision is now overridden',
    'ci',
    check(ctx.versions['nb-small-v1'], failKey),
  );
  return { checkIds: { pass: passCheck.checkId, fail: failedCheck.checkId }, overrideId, steps };
}
