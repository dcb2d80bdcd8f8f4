/**
 * The online experiment story, after the gate passed: CI starts an experiment of the passed
 * candidate through the CLI, the serving system (testkit/traffic.ts: real assignment requests
 * and NDJSON event batches, seeded, the candidate as good as production) sends traffic, and the
 * workflow ramps 10% → 50% and promotes: `production` now points at the candidate, its history
 * naming the experiment and the check. `evalgate experiment status --wait` exits 0 on promotion.
 * Before it, the same candidate under harmful traffic (complaints 5% → 20%) is rolled back (exit 1),
 * production untouched.
 *
 * Called by examples/demo.ts after the gate story and by test/e2e/experimentStory.test.ts.
 */
import { runCli } from '../../testkit/cli';
import type { Api } from '../../testkit/apiClient';
import { client } from '../../testkit/stack';
import { driveTraffic } from '../../testkit/traffic';

export interface ExperimentStoryContext {
  baseUrl: string;
  admin: Api;
  team: string;
  /** The passed gate check of the candidate. */
  checkId: string;
  candidate: string;
  print?: (text: string) => void;
}

export async function runExperimentStory(ctx: ExperimentStoryContext): Promise<{
  experimentId: string;
  exitCode: number | null;
  rolledBack: { experimentId: string; exitCode: number | null };
}> {
  const print = ctx.print ?? ((text: string) => process.stdout.write(text));
  const suffix = Date.now().toString(36);
  const keyOf = async (name: string) => {
    const res = await ctx.admin.call('POST', '/v1/principals', {
      name: `${name}-${suffix}`,
      teams: [{ team: ctx.team, roles: ['editor'] }],
    });
    if (res.status !== 201) throw new Error(`creating ${name}: ${JSON.stringify(res.body)}`);
    return res.body.apiKey as string;
  };
  const ci = await keyOf('ci-experiments');
  const serving = await keyOf('serving-system');
  const cli = async (title: string, args: string[]) => {
    print(`\n  - ${title}\n    $ evalgate ${args.join(' ')}\n`);
    const result = await runCli(ctx.baseUrl, ci, args);
    print(`${(result.stdout + result.stderr).trimEnd().replace(/^/gm, '      ')}\n      (exit ${result.exitCode})\n`);
    return result;
  };

  /** Starts an experiment of the candidate, sends seeded traffic until it decides, and shows the decision. */
  const experiment = async (run: {
    title: string;
    ramp: string;
    traffic: string;
    rate: { control: number; treatment: number };
  }) => {
    const started = await cli(run.title, [
      'experiment',
      'start',
      '--name',
      `spam-filter-online-${suffix}-${run.rate.treatment === run.rate.control ? 'aa' : 'harm'}`,
      '--team',
      ctx.team,
      '--candidate',
      ctx.candidate,
      '--gate-check',
      ctx.checkId,
      '--guardrail',
      'complaint_rate:complaint:lower_is_better:0.03',
      '--ramp',
      run.ramp,
      '--check-every',
      '1',
      '--format',
      'json',
    ]);
    const experimentId = JSON.parse(started.stdout).experimentId as string;
    print(`\n  - the serving system asks for variants and reports exposures and complaints (${run.traffic})\n`);
    const traffic = await driveTraffic(
      client(ctx.baseUrl, serving),
      { seed: 2026, rate: run.rate, event: 'complaint' },
      { experimentId, unitsPerRound: 200, roundMs: 20, timeoutMs: 180_000 },
    );
    print(`      ${traffic.units} units, ${traffic.treatmentUnits} served the candidate\n`);
    const status = await cli('the decision', ['experiment', 'status', experimentId, '--wait', '--timeout', '60s']);
    return { experimentId, exitCode: status.exitCode };
  };

  // An offline pass is necessary, not sufficient: had users complained more about the candidate, the
  // experiment would have rolled it back on its own, with production untouched.
  const rolledBack = await experiment({
    title: 'what users would have seen had the candidate annoyed them: an experiment with harmful traffic',
    ramp: '50:600:100000',
    traffic: 'complaints 5% under production, 20% under the candidate',
    rate: { control: 0.05, treatment: 0.2 },
  });
  const promoted = await experiment({
    title: 'CI starts an online experiment of the candidate that passed',
    ramp: '10:3:300,50:5:3000',
    traffic: '5% in both arms',
    rate: { control: 0.05, treatment: 0.05 },
  });
  return { ...promoted, rolledBack };
}
