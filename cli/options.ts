/**
 * What commands share besides parsing (commander does that): the usage error, durations,
 * output formats and a few option builders, so every command spells `--format` and
 * `--timeout` the same way.
 */
import { InvalidArgumentError, Option } from 'commander';

/** Bad usage: exit 2, with the message and a pointer to `--help`. */
export class UsageError extends Error {}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "30m", "90s", "1h", "500ms" or plain seconds → milliseconds. */
export function parseDuration(text: string, flag = 'timeout'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--${flag} must be a duration like 30m, 90s or 1h (got ${text})`);
  return Number(m[1]) * UNITS[m[2] ?? 's'];
}

export const FORMATS = ['text', 'json', 'markdown', 'junit'] as const;
export type Format = (typeof FORMATS)[number];

/** `--format <format>` limited to what the command can render; text unless told. */
export function formatOption(allowed: readonly Format[] = ['text', 'json']): Option {
  return new Option('--format <format>', 'output format').choices(allowed).default('text');
}

export function durationOption(flags: string, description: string, fallback: string): Option {
  return new Option(flags, description).default(fallback);
}

/** A positive whole number (a version, a limit). */
export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a positive whole number');
  return Number(value);
}

/** `a,b, c` → ['a', 'b', 'c']. */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
