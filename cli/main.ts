/**
 * evalgate — the CLI for CI and for people. Reads EVALGATE_URL and EVALGATE_TOKEN.
 * `evalgate --help` lists the commands; `evalgate <command> --help` their options;
 * `evalgate completion bash` prints shell completion.
 *
 * Exit codes: gate check 0 pass or overridden · 1 fail · 2 frozen, error, timeout or bad
 * usage. apply/plan: 0 applied or planned · 2 refused (file, line, field) or unreachable.
 * Other commands: 0 done · 1 refused by the API · 2 bad usage. A network error, 5xx or
 * timeout is always 2, with one clear line on stderr — never a pass.
 */
import { Command, CommanderError } from 'commander';
import { registerApply } from './commands/apply';
import { registerCompletion } from './commands/completion';
import { registerDatasets } from './commands/datasets';
import { registerExperiment } from './commands/experiment';
import { registerGate } from './commands/gate';
import { registerGates } from './commands/gates';
import { registerIncidents } from './commands/incidents';
import { registerLineage } from './commands/lineage';
import { registerOverride } from './commands/override';
import { registerRuns } from './commands/runs';
import { createContext, type CliContext } from './context';
import { ApiRefusal, CliFailure } from './http';
import { UsageError } from './options';

import type { Output } from './output';

export type { Output };

const ENVIRONMENT = `
Environment:
  EVALGATE_URL    the API base URL (default http://127.0.0.1:8080)
  EVALGATE_TOKEN  an API key

Exit codes: gate check 0 pass or overridden, 1 fail, 2 frozen, error, timeout or bad usage;
apply 0 applied or planned, 2 refused (file, line, field) or unreachable; other commands
0 done, 1 refused by the API, 2 bad usage or unreachable.`;

/** The command tree; `completion` walks it, so every command added here completes. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('evalgate')
    .description('evalgate: datasets, metric suites, models, eval runs and release gates, from files and CI')
    .showSuggestionAfterError()
    .addHelpText('after', ENVIRONMENT);
  registerApply(program, ctx);
  registerDatasets(program, ctx);
  registerRuns(program, ctx);
  registerGate(program, ctx);
  registerGates(program, ctx);
  registerExperiment(program, ctx);
  registerOverride(program, ctx);
  registerIncidents(program, ctx);
  registerLineage(program, ctx);
  registerCompletion(program, ctx);
  configure(program, ctx);
  return program;
}

/** Every command writes through `out` and throws instead of exiting, so tests and callers keep control. */
function configure(command: Command, ctx: CliContext): void {
  command.exitOverride().configureOutput({
    writeOut: (text) => ctx.out.log(text.trimEnd()),
    writeErr: (text) => ctx.out.err(text.trimEnd()),
    outputError: () => undefined, // reported once, in our words, by main()
  });
  for (const sub of command.commands) configure(sub, ctx);
}

/**
 * The first flag the addressed command does not know. Commander reports a missing
 * required option before an unknown one; a typo (`--candiate`) is the better message.
 */
function unknownFlag(program: Command, argv: string[]): string | undefined {
  let command = program;
  for (const word of argv) {
    const sub = command.commands.find((c) => c.name() === word);
    if (!sub) break;
    command = sub;
  }
  const known = new Set(command.options.flatMap((o) => [o.long, o.short]).concat(['--help', '-h']));
  return argv.find((a) => a.startsWith('-') && a !== '-' && a !== '--' && !known.has(a.split('=')[0]));
}

/** Commander's parse errors in the words the CLI has always used (CI logs grep for them). */
function usageMessage(err: CommanderError, typo: string | undefined): string {
  const quoted = /'([^']+)'/.exec(err.message)?.[1];
  if (typo && err.code === 'commander.missingMandatoryOptionValue') return `unknown flag ${typo.split('=')[0]}`;
  switch (err.code) {
    case 'commander.unknownOption':
      return `unknown flag ${quoted}${
        err.message.includes('Did you mean')
          ? ` (${err.message
              .split('\n')
              .pop()!
              .replace(/^\(|\)$/g, '')
              .trim()})`
          : ''
      }`;
    case 'commander.missingMandatoryOptionValue':
      return `${/'(--[\w-]+)/.exec(err.message)?.[1] ?? quoted} is required`;
    case 'commander.optionMissingArgument':
      return `${/'(--[\w-]+)/.exec(err.message)?.[1] ?? quoted} needs a value`;
    default:
      return err.message.replace(/^error: /, '').replace(/\n+/g, ' ');
  }
}

export async function main(argv: string[], env: NodeJS.ProcessEnv, out: Output, interactive = false): Promise<number> {
  const ctx = createContext(env, out, interactive);
  const program = buildProgram(ctx);
  if (!argv.length) {
    out.err(program.helpInformation().trimEnd());
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help, help <command>
      const known = program.commands.some((c) => c.name() === argv[0]);
      out.err(
        `evalgate: ${usageMessage(err, unknownFlag(program, argv))}\n(run evalgate ${known ? `${argv[0]} ` : ''}--help for usage)`,
      );
      return 2;
    }
    if (err instanceof UsageError) {
      out.err(`evalgate: ${err.message}\n(run evalgate --help for usage)`);
      return 2;
    }
    if (err instanceof CliFailure) {
      out.err(`evalgate: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof ApiRefusal) {
      out.err(
        `evalgate: refused (${err.status} ${err.code}${err.field ? `, field ${err.field}` : ''}): ${err.message}`,
      );
      return err.status === 400 ? 2 : 1;
    }
    out.err(`evalgate: unexpected error: ${(err as Error).message}`);
    return 2;
  }
}

if (require.main === module) {
  const out: Output = {
    log: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    status: (text) => process.stderr.write(text === '\n' ? text : `\r${text}\x1b[K`),
  };
  void main(process.argv.slice(2), process.env, out, Boolean(process.stderr.isTTY)).then((code) => {
    process.exitCode = code;
  });
}
