/**
 * The CLI as CI runs it: a real process (bin/evalgate) against the API in this process,
 * asserting exit codes and what a reviewer reads. A network error, a 5xx or a timeout is
 * exit 2 with one clear line — never a pass.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCli } from '../../../testkit/cli';
import { startEvalWorld, type EvalWorld } from '../../../testkit/evalWorld';
import { client, unique } from '../../../testkit/stack';
import { spamGate, spamModel } from '../../../testkit/gates';

let world: EvalWorld;
let model: Awaited<ReturnType<typeof spamModel>>;
let gateName: string;
let dataset: { datasetId: string };
let suite: { metricSuiteId: string };
const keys: Record<'editor' | 'approverA' | 'approverB', string> = { editor: '', approverA: '', approverB: '' };

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function evalgate(
  args: string[],
  env: Record<string, string> = {},
  as: keyof typeof keys = 'editor',
): Promise<Result> {
  const { exitCode, stdout, stderr } = await runCli(world.stack.baseUrl, keys[as], args, env);
  return { code: exitCode, stdout, stderr };
}

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_OVERRIDE_WINDOW_SECONDS: '120' });
  const admin = client(world.stack.baseUrl, world.stack.adminToken);
  for (const [who, roles] of [
    ['editor', ['editor']],
    ['approverA', ['approver']],
    ['approverB', ['approver']],
  ] as const) {
    const res = await admin.post('/v1/principals', {
      name: unique(`cli-${who}`),
      teams: [{ team: world.team, roles }],
    });
    keys[who] = res.body.apiKey;
  }
  ({ dataset, suite, model, gateName } = await spamGate(world, {
    name: unique('cli-gate'),
    rows: { 'easy-ham': 30, 'hard-ham': 40, spam: 30 },
    rules: [
      { metric: 'accuracy', kind: 'max_regression', threshold: 0.3 },
      { metric: 'accuracy', slice: 'hard-ham', kind: 'max_regression', threshold: 0.05 },
    ],
  }));
}, 180_000);
afterAll(() => world.close());
afterEach(() => world.server.resetKnobs());

const check = (candidate: string, ...extra: string[]) =>
  evalgate(['gate', 'check', '--gate', gateName, '--candidate', candidate, '--wait', '--timeout', '2m', ...extra]);

describe('evalgate gate check', () => {
  it('exits 0 on a pass and prints the table a reviewer reads', async () => {
    const res = await check(model.v('logreg-v1'));
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      new RegExp(`gate ${gateName} v1: ${model.v('logreg-v1')} vs ${model.v('nb-v1')} \\(production\\) → PASS`),
    );
    expect(res.stdout).toMatch(/rule\s+candidate\s+baseline\s+delta \[95% CI\]\s+verdict/);
    expect(res.stdout).toMatch(
      /accuracy\[hard-ham\]:max_regression\s+0\.\d{4}\s+0\.\d{4}\s+\+0\.\d{4} \[[-+]0\.\d{4}, [-+]0\.\d{4}\]\s+PASS/,
    );
  });

  it("exits 1 on a fail with the failing rule's reason printed", async () => {
    const res = await check(model.v('nb-small-v1'));
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/→ FAIL/);
    expect(res.stdout).toMatch(/accuracy\[hard-ham\]:max_regression .* FAIL/);
    expect(res.stdout).toMatch(
      /fail\s+accuracy\[hard-ham\]:max_regression: accuracy on slice hard-ham .* regressed too far/,
    );
  });

  it('exits 2 on an error (no baseline) with the reason', async () => {
    const orphan = await spamModel(world, null);
    const res = await check(orphan.v('logreg-v1'));
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/→ ERROR/);
    expect(res.stdout).toMatch(/error\s+no_baseline: model .* has no 'production' alias/);
  });

  it('speaks json, markdown and junit', async () => {
    const json = await check(model.v('nb-small-v1'), '--format', 'json');
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'fail', exitCode: 1, gate: { name: gateName } });
    const md = await check(model.v('nb-small-v1'), '--format', 'markdown');
    expect(md.stdout).toMatch(/^### gate .* — FAIL/m);
    expect(md.stdout).toContain('| rule | candidate | baseline | delta [95% CI] | verdict |');
    expect(md.stdout).toContain('| --- | ---: | ---: | ---: | ---: |');
    const junit = await check(model.v('nb-small-v1'), '--format', 'junit');
    expect(junit.code).toBe(1);
    expect(junit.stdout).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="evalgate" tests="2" failures="1" errors="0" skipped="0">/,
    );
    const testcase = /<testcase classname="evalgate.gate.[^"]+" name="accuracy\[hard-ham\]:max_regression" time="0">/;
    expect(junit.stdout).toMatch(new RegExp(testcase.source + /<failure message="accuracy on slice hard-ham/.source));
  });

  it('exits 2 with one line when it cannot reach the API, when the API answers 5xx, and when the check outlives --timeout', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const down = await evalgate(['gate', 'check', '--gate', gateName, '--candidate', model.v('logreg-v1'), '--wait'], {
      EVALGATE_URL: `http://127.0.0.1:${closedPort}`,
    });
    expect(down.code).toBe(2);
    expect(down.stderr.trim().split('\n')).toEqual([
      `evalgate: cannot reach the API at http://127.0.0.1:${closedPort}: ECONNREFUSED`,
    ]);

    const broken: Server = createServer((_req, res) => {
      res.statusCode = 503;
      res.end('upstream unavailable');
    });
    await new Promise<void>((r) => broken.listen(0, '127.0.0.1', () => r()));
    const fiveHundred = await evalgate(
      ['gate', 'check', '--gate', gateName, '--candidate', model.v('logreg-v1'), '--wait'],
      { EVALGATE_URL: `http://127.0.0.1:${(broken.address() as AddressInfo).port}` },
    );
    broken.close();
    expect(fiveHundred.code).toBe(2);
    expect(fiveHundred.stderr.trim()).toBe('evalgate: the API answered 503 (upstream unavailable)');

    const slow = await spamModel(world);
    world.server.setKnobs({ latencyMs: 8000, faultModels: ['logreg-v1'] });
    const timedOut = await evalgate([
      'gate',
      'check',
      '--gate',
      gateName,
      '--candidate',
      slow.v('logreg-v1'),
      '--wait',
      '--timeout',
      '2s',
    ]);
    expect(timedOut.code).toBe(2);
    // One line says why; before it, in a log (not a terminal), only plain progress lines of the candidate's runs.
    const lines = timedOut.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^evalgate: check .* did not decide within 2s: timeout \(not a pass\)$/);
    for (const line of lines.slice(0, -1)) expect(line).toMatch(/^candidate runs: \d+% \(\d+\/\d+ examples\)$/);
    expect(timedOut.stderr).not.toContain('\r');
    expect(timedOut.stdout).toBe('');
  });

  it('exits 2 on bad usage', async () => {
    expect((await evalgate(['gate', 'check', '--gate', gateName])).code).toBe(2);
    const typo = await evalgate(['gate', 'check', '--gate', gateName, '--candiate', 'x@1']);
    expect([typo.code, typo.stderr]).toEqual([2, expect.stringMatching(/unknown flag --candiate/)]);
    expect(
      (await evalgate(['gate', 'check', '--gate', gateName, '--candidate', model.v('logreg-v1'), '--format', 'yaml']))
        .code,
    ).toBe(2);
    expect(
      (
        await evalgate(['gate', 'check', '--gate', gateName, '--candidate', model.v('logreg-v1')], {
          EVALGATE_TOKEN: '',
        })
      ).code,
    ).toBe(2);
    expect((await evalgate(['gate', 'frobnicate'])).code).toBe(2);
  });
});

describe('evalgate runs and overrides', () => {
  it('starts a run and waits for it, then compares it with alias:production', async () => {
    const started = await evalgate([
      'runs',
      'start',
      '--model',
      model.v('keywords-v1'),
      '--dataset',
      dataset.datasetId,
      '--suite',
      suite.metricSuiteId,
      '--mode',
      'release',
      '--wait',
    ]);
    expect(started.code).toBe(0);
    const runId = /^run (\S+): succeeded/m.exec(started.stdout)![1];
    expect(started.stdout).toMatch(/accuracy\s+0\.\d{4}\s+\[0\.\d{4}, 0\.\d{4}\]\s+n=100/);
    const compared = await evalgate(['runs', 'compare', runId, '--baseline', 'alias:production']);
    expect(compared.code).toBe(0);
    expect(compared.stdout).toMatch(
      new RegExp(
        `${model.v('keywords-v1')} \\(run ${runId}\\) vs ${model.v('nb-v1')} .* alias:production\\) on 100 shared examples`,
      ),
    );
    expect(compared.stdout).toMatch(
      /accuracy\s+hard-ham\s+0\.\d{4}\s+0\.\d{4}\s+-0\.\d{4} \[.*\]\s+(<0\.001|0\.\d{3}) \(McNemar\)/,
    );
    const refused = await evalgate(['runs', 'compare', runId, '--baseline', 'alias:canary']);
    expect([refused.code, refused.stderr]).toEqual([
      1,
      expect.stringMatching(/refused \(409 no_baseline, field baseline\)/),
    ]);
  });

  it('requests an override, refuses a self-approval, and takes two approvals to override', async () => {
    const failed = JSON.parse((await check(model.v('nb-small-v1'), '--format', 'json')).stdout);
    const requested = await evalgate([
      'override',
      'request',
      '--check',
      failed.checkId,
      '--justification',
      'accepted for the launch; follow-up in ML-77',
    ]);
    expect(requested.code).toBe(0);
    const overrideId = /^override (\S+) requested for accuracy\[hard-ham\]:max_regression: needs 2 approvals/.exec(
      requested.stdout,
    )![1];
    const self = await evalgate(['override', 'approve', '--override', overrideId], {}, 'editor');
    expect([self.code, self.stderr]).toEqual([
      1,
      expect.stringMatching(/refused \(403 self_approval\): the requester cannot approve/),
    ]);
    expect(
      (await evalgate(['override', 'approve', '--override', overrideId, '--comment', 'ok'], {}, 'approverA')).stdout,
    ).toMatch(/requested \(1 of 2 approvals\); check is fail/);
    const second = await evalgate(['override', 'approve', '--override', overrideId], {}, 'approverB');
    expect([second.code, second.stdout]).toEqual([
      0,
      expect.stringMatching(/granted \(2 of 2 approvals\); check is overridden/),
    ]);
  });
});
