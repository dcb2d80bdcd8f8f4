/** Where a command writes: lines for stdout and stderr (tests capture them). */
export interface Output {
  log(line: string): void;
  err(line: string): void;
  /** Redraws one status line in place (a terminal's stderr); absent where output is a log. */
  status?(text: string): void;
}
