/** Where a command writes: lines for stdout and stderr (tests capture them). */
export interface Output {
  log(line: string): void;
  err(line: string): void;
}
