import { parseDuration, UsageError } from '../../../cli/options';
import { exitCodeOf } from '../../../cli/commands/gate';
import { renderCheck, type CheckBody } from '../../../cli/format';
import { main } from '../../../cli/main';

const check: CheckBody = {
  checkId: 'c1',
  status: 'overridden',
  candidate: 'spam@2',
  commitSha: null,
  gate: { gateId: 'g', name: 'spam<&>', version: 3 },
  baseline: { alias: 'production', modelVersion: 'spam@1' },
  reasons: [
    {
      code: 'rule',
      rule: 'accuracy:min',
      verdict: 'pass',
      message: 'ok',
      candidate: 0.9,
      baseline: 0.8,
      delta: 0.1,
      deltaCiLow: 0.05,
      deltaCiHigh: 0.15,
    },
    {
      code: 'rule',
      rule: 'accuracy[hard-ham]:max_regression',
      verdict: 'fail',
      overridden: true,
      message: 'regressed "a lot" <here>',
      candidate: 0.5,
      baseline: 0.8,
      delta: -0.3,
      deltaCiLow: -0.4,
      deltaCiHigh: -0.2,
    },
    { code: 'override', verdict: 'overridden', message: 'approved by a, b' },
  ],
};

describe('the CLI', () => {
  it('maps decisions to exit codes: only pass and overridden are 0', () => {
    expect(['pass', 'overridden', 'fail', 'revoked', 'frozen', 'error', 'pending'].map(exitCodeOf)).toEqual([
      0, 0, 1, 1, 2, 2, 2,
    ]);
  });

  it('parses durations and refuses nonsense', () => {
    expect([
      parseDuration('30m'),
      parseDuration('90s'),
      parseDuration('1h'),
      parseDuration('500ms'),
      parseDuration('5'),
    ]).toEqual([1_800_000, 90_000, 3_600_000, 500, 5000]);
    expect(() => parseDuration('soon')).toThrow(UsageError);
  });

  it('answers a flag without its value, an unknown flag and a bad format with exit 2 and one line', async () => {
    const env = { EVALGATE_URL: 'http://127.0.0.1:9', EVALGATE_TOKEN: 't' };
    const run = async (argv: string[]) => {
      const lines: string[] = [];
      const code = await main(argv, env, { log: (l) => lines.push(l), err: (l) => lines.push(l) });
      return { code, text: lines.join('\n') };
    };
    expect(await run(['gate', 'check', '--gate'])).toEqual({
      code: 2,
      text: expect.stringMatching(/--gate needs a value/),
    });
    expect(await run(['gate', 'check', '--gate', 'g', '--candiate', 'm@1'])).toEqual({
      code: 2,
      text: expect.stringMatching(/unknown flag --candiate/),
    });
    expect(await run(['runs', 'compare', 'r1', '--baseline=alias:production', '--format=yaml'])).toEqual({
      code: 2,
      text: expect.stringMatching(/--format <format>' argument 'yaml' is invalid/),
    });
  });

  it('renders junit with escaping, overridden rules as skipped', () => {
    const xml = renderCheck(check, 'junit', 0);
    expect(xml).toContain('<testsuites name="evalgate" tests="3" failures="0" errors="0" skipped="1">');
    expect(xml).toContain('name="gate spam&lt;&amp;&gt; v3: spam@2 vs spam@1 (production) → OVERRIDDEN"');
    expect(xml).toContain('<skipped message="overridden: regressed &quot;a lot&quot; &lt;here&gt;"/>');
  });

  it('renders the text table with deltas and intervals, and lists what needs attention', () => {
    const text = renderCheck(check, 'text', 0);
    expect(text.split('\n').slice(0, 6)).toEqual([
      'gate spam<&> v3: spam@2 vs spam@1 (production) → OVERRIDDEN',
      '',
      'rule                               candidate  baseline              delta [95% CI]     verdict',
      '---------------------------------  ---------  --------  --------------------------  ----------',
      'accuracy:min                          0.9000    0.8000  +0.1000 [+0.0500, +0.1500]        PASS',
      'accuracy[hard-ham]:max_regression     0.5000    0.8000  -0.3000 [-0.4000, -0.2000]  OVERRIDDEN',
    ]);
    expect(text).toContain('overridden override: approved by a, b');
  });

  it('answers usage errors with exit 2 and the usage on stderr', async () => {
    const lines: string[] = [];
    const out = { log: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    expect(
      await main(
        ['gate', 'check', '--gate', 'g', '--candidate', 'm@1'],
        { EVALGATE_URL: 'not a url', EVALGATE_TOKEN: 't' },
        out,
      ),
    ).toBe(2);
    expect(lines[0]).toMatch(/^evalgate: invalid environment: EVALGATE_URL/);
    expect(await main(['help'], {}, out)).toBe(0);
  });

  it('says "not enough evidence" for an inconclusive non-inferiority rule in text, markdown and JUnit, never "regressed"', () => {
    const inconclusive: CheckBody = {
      ...check,
      status: 'fail',
      reasons: [
        {
          code: 'rule',
          rule: 'accuracy:non_inferiority',
          verdict: 'fail',
          outcome: 'inconclusive',
          examplesNeeded: 1234,
          message:
            'accuracy: delta +0.01, 95% CI [-0.04, 0.06] contains -0.02; not enough evidence: about 1234 more examples',
          candidate: 0.9,
          baseline: 0.89,
          delta: 0.01,
          deltaCiLow: -0.04,
          deltaCiHigh: 0.06,
        },
      ],
    };
    const text = renderCheck(inconclusive, 'text', 1);
    expect(text).toMatch(/INCONCLUSIVE/);
    expect(text).toMatch(/inconclusive accuracy:non_inferiority: .*not enough evidence: about 1234 more examples/);
    expect(renderCheck(inconclusive, 'markdown', 1)).toMatch(
      /\*\*inconclusive\*\* `accuracy:non_inferiority`: .*about 1234 more examples/,
    );
    expect(renderCheck(inconclusive, 'junit', 1)).toMatch(
      /<failure message="[^"]*not enough evidence: about 1234 more examples/,
    );
    for (const format of ['text', 'markdown', 'junit'] as const)
      expect(renderCheck(inconclusive, format, 1)).not.toMatch(/regress/);
  });
});
