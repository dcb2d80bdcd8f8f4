/**
 * A small argument parser: positional words, `--flag value`, `--flag=value`, and boolean
 * flags declared up front. Unknown flags are usage errors, never ignored: a typo in CI
 * must not silently change what is checked.
 */
export class UsageError extends Error {}

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

export function parseArgs(argv: string[], booleans: readonly string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    if (!name) throw new UsageError(`bad flag ${arg}`);
    if (eq > 0) flags.set(name, arg.slice(eq + 1));
    else if (booleans.includes(name)) flags.set(name, true);
    else {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      flags.set(name, value);
      i++;
    }
  }
  return { positional, flags };
}

/** Reads declared flags; anything else is a usage error. */
export function flagReader(args: ParsedArgs, allowed: readonly string[]) {
  for (const name of args.flags.keys())
    if (!allowed.includes(name))
      throw new UsageError(
        `unknown flag --${name} (this command takes ${allowed.map((a) => `--${a}`).join(', ') || 'no flags'})`,
      );
  return {
    string(name: string): string | undefined {
      const v = args.flags.get(name);
      if (v === true) throw new UsageError(`--${name} needs a value`);
      return v;
    },
    required(name: string): string {
      const v = args.flags.get(name);
      if (v === undefined || v === true) throw new UsageError(`--${name} is required`);
      return v;
    },
    bool: (name: string) => args.flags.get(name) === true || args.flags.get(name) === 'true',
  };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "30m", "90s", "1h", "500ms" or plain seconds → milliseconds. */
export function parseDuration(text: string, flag = 'timeout'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--${flag} must be a duration like 30m, 90s or 1h (got ${text})`);
  return Number(m[1]) * UNITS[m[2] ?? 's'];
}

export const FORMATS = ['text', 'json', 'markdown', 'junit'] as const;
export type Format = (typeof FORMATS)[number];

export function parseFormat(value: string | undefined, allowed: readonly Format[] = FORMATS): Format {
  const format = (value ?? 'text') as Format;
  if (!allowed.includes(format)) throw new UsageError(`--format must be one of ${allowed.join(', ')} (got ${value})`);
  return format;
}
