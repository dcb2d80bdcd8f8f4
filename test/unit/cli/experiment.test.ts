import { parseGuardrail, parseRamp, renderExperiment } from '../../../cli/commands/experiment';
import { UsageError } from '../../../cli/options';

describe('evalgate experiment', () => {
  it('reads repeated guardrails and a ramp from flags', () => {
    const guardrails = parseGuardrail(
      'latency:latency_ms:lower_is_better:20',
      parseGuardrail('errors:error:lower_is_better:0.01:0.1'),
    );
    expect(guardrails).toEqual([
      { name: 'errors', event: 'error', direction: 'lower_is_better', margin: 0.01, alpha: 0.1 },
      { name: 'latency', event: 'latency_ms', direction: 'lower_is_better', margin: 20 },
    ]);
    expect(parseRamp('1:3600,50:86400:10000')).toEqual([
      { percent: 1, minSeconds: 3600 },
      { percent: 50, minSeconds: 86400, minUnits: 10000 },
    ]);
    expect(() => parseGuardrail('errors:error:down:0.01')).toThrow(UsageError);
    expect(() => parseRamp('fifty:10')).toThrow(UsageError);
  });

  it('renders the state, the split, the sample-ratio check, each guardrail and the decision', () => {
    const lines = renderExperiment({
      experimentId: 'e1',
      name: 'spam v2',
      status: 'rolled_back',
      step: 0,
      ramp: [{}, {}],
      percent: 0,
      candidate: 'spam@2',
      baseline: 'spam@1',
      baselineAlias: 'production',
      gateCheckId: 'c1',
      exposures: { control: 900, treatment: 300 },
      srm: { pValue: 0.5, ok: true },
      guardrails: [
        {
          name: 'error_rate',
          verdict: 'fail',
          delta: 0.15,
          ciLow: 0.07,
          ciHigh: 0.23,
          direction: 'lower_is_better',
          margin: 0.03,
        },
      ],
      decision: { status: 'rolled_back', reason: 'guardrail_harm', message: 'error_rate worse' },
    });
    expect(lines).toEqual([
      'experiment e1 (spam v2): rolled_back · step 1/2 · 0% treatment',
      '  spam@2 vs spam@1 (alias production) · gate check c1',
      '  exposures control 900 · treatment 300 · sample ratio p=0.5000 ok',
      '  error_rate       fail    Δ 0.1500 [0.0700, 0.2300] (lower_is_better, margin 0.03)',
      '  decision: rolled_back (guardrail_harm) error_rate worse',
    ]);
  });
});
