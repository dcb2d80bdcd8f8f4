/** Progress (cli/progress.ts) as the CLI's gate check and the demo show a run's examples: a bar on a TTY, plain lines in a log. */
import { progressBar } from '../../../cli/progress';

const capture = () => {
  const lines: string[] = [];
  const drawn: string[] = [];
  return {
    lines,
    drawn,
    out: { log: () => undefined, err: (l: string) => lines.push(l), status: (t: string) => drawn.push(t) },
  };
};

describe('progressBar', () => {
  it('redraws one line with a bar on a terminal, and ends it', () => {
    const { out, drawn, lines } = capture();
    const bar = progressBar(out, true, 'running', (d, t) => `${d}/${t} examples`);
    bar.update(448, 1792);
    bar.update(1792, 1792);
    bar.done();
    expect(drawn).toEqual([
      `running [${'#'.repeat(8)}${' '.repeat(22)}] 25% 448/1792 examples`,
      `running [${'#'.repeat(30)}] 100% 1792/1792 examples`,
      '\n',
    ]);
    expect(lines).toEqual([]);
  });

  it('prints a plain line at each tenth elsewhere, with no carriage returns, and the last one when it ends early', () => {
    const { out, drawn, lines } = capture();
    const plain = progressBar(out, false, 'running', (d, t) => `${d}/${t}`);
    for (const done of [0, 50, 120, 130, 500, 940, 960]) plain.update(done, 1000);
    plain.done();
    expect(lines).toEqual([
      'running: 0% (0/1000)',
      'running: 10% (120/1000)',
      'running: 50% (500/1000)',
      'running: 90% (940/1000)',
      'running: 96% (960/1000)',
    ]);
    expect(drawn).toEqual([]);
    expect(lines.join('\n')).not.toContain('\r');
  });
});
