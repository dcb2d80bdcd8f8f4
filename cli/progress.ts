/**
 * Progress as a person at a terminal and a log reader each want it: on a TTY one line
 * redrawn in place with a bar; anywhere else (CI logs, a captured demo) plain lines, one at
 * each tenth, so nothing interleaves carriage returns with other output.
 */
import type { Output } from './output';

const WIDTH = 30;

export interface Progress {
  update(done: number, total: number): void;
  /** Ends the line on a terminal; prints the last plain line if it was not printed yet. */
  done(): void;
}

export function progressBar(
  out: Output,
  interactive: boolean,
  label: string,
  /** How the amount reads: after the bar on a terminal, in parentheses on a plain line. */
  amount: (done: number, total: number, onTerminal: boolean) => string = (done, total) => `${done}/${total}`,
): Progress {
  let lastDecile = -1;
  let drawn = false;
  let last: [number, number] | undefined;
  let printedAt = '';
  const plainLine = (done: number, total: number, percent: number) =>
    `${label}: ${percent}% (${amount(done, total, false)})`;
  return {
    update(done, total) {
      last = [done, total];
      const fraction = total ? Math.min(1, done / total) : 1;
      if (interactive && out.status) {
        const filled = Math.round(fraction * WIDTH);
        out.status(
          `${label} [${'#'.repeat(filled)}${' '.repeat(WIDTH - filled)}] ${Math.round(fraction * 100)}% ${amount(done, total, true)}`,
        );
        drawn = true;
        return;
      }
      const decile = Math.floor(fraction * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        printedAt = `${done}/${total}`;
        out.err(plainLine(done, total, decile * 10));
      }
    },
    done() {
      if (drawn && out.status) out.status('\n');
      if (drawn || !last) return;
      // Where it stopped, when the last line printed was not there (a run that ended between tenths).
      const [done, total] = last;
      if (`${done}/${total}` !== printedAt)
        out.err(plainLine(done, total, total ? Math.floor((100 * Math.min(done, total)) / total) : 100));
    },
  };
}
