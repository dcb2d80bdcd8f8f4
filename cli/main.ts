/**
 * evalgate — the CLI for CI and for people. Reads EVALGATE_URL and EVALGATE_TOKEN.
 *
 *   evalgate gate check --gate <name|id> --candidate <model@version> [--wait] [--timeout 30m] [--format text|json|markdown|junit]
 *   evalgate runs compare <runId> --baseline <runId|alias:production> [--format text|json|markdown]
 *   evalgate runs start --model <model@version> --dataset <id> --suite <id> [--mode release] [--wait]
 *   evalgate override request --check <checkId> --justification "<why>" [--rules a,b]
 *   evalgate override approve --override <overrideId> [--comment "<note>"]
 *
 * Exit codes: gate check 0 pass or overridden · 1 fail · 2 frozen, error, timeout or bad
 * usage. Other commands: 0 done · 1 refused by the API · 2 bad usage. A network error,
 * 5xx or timeout is always 2, with one clear line on stderr — never a pass.
 */
import { loadCliConfig } from '../common/config';
import { parseArgs, UsageError } from './args';
import { gateCheck } from './commands/gate';
import { overrideApprove, overrideRequest } from './commands/override';
import { runsCompare, runsStart } from './commands/runs';
import { ApiRefusal, CliFailure, createApi, type Api } from './http';

import type { Output } from './output';

export type { Output };

const USAGE = `usage:
  evalgate gate check --gate <name|id> --candidate <model@version> [--wait] [--timeout 30m]
      [--format text|json|markdown|junit] [--idempotency-key k] [--commit-sha sha]
  evalgate runs compare <runId> --baseline <runId|alias:production> [--format text|json|markdown]
  evalgate runs start --model <model@version> --dataset <datasetId> --suite <metricSuiteId>
      [--mode exploratory|release] [--dataset-version n] [--suite-version n] [--wait] [--timeout 30m]
  evalgate override request --check <checkId> --justification "<why>" [--rules rule1,rule2]
  evalgate override approve --override <overrideId> [--comment "<note>"]
environment: EVALGATE_URL (default http://127.0.0.1:8080), EVALGATE_TOKEN (an API key)
exit codes (gate check): 0 pass or overridden, 1 fail, 2 frozen, error, timeout or bad usage`;

type Command = (api: Api, args: ReturnType<typeof parseArgs>, out: Output) => Promise<number>;
const COMMANDS: Record<string, { run: Command; booleans: string[] }> = {
  'gate check': { run: gateCheck, booleans: ['wait'] },
  'runs compare': { run: runsCompare, booleans: [] },
  'runs start': { run: runsStart, booleans: ['wait'] },
  'override request': { run: overrideRequest, booleans: [] },
  'override approve': { run: overrideApprove, booleans: [] },
};

export async function main(argv: string[], env: NodeJS.ProcessEnv, out: Output): Promise<number> {
  const [group, action, ...rest] = argv;
  if (!group || group === 'help' || group === '--help' || group === '-h') {
    out.log(USAGE);
    return group ? 0 : 2;
  }
  const command = COMMANDS[`${group} ${action}`];
  try {
    if (!command) throw new UsageError(`unknown command: ${[group, action].filter(Boolean).join(' ')}`);
    const args = parseArgs(rest, command.booleans);
    const loaded = loadCliConfig(env);
    if ('error' in loaded) throw new UsageError(`invalid environment: ${loaded.error}`);
    if (!loaded.config.EVALGATE_TOKEN) throw new UsageError('EVALGATE_TOKEN is not set: export an API key');
    return await command.run(createApi(loaded.config.EVALGATE_URL, loaded.config.EVALGATE_TOKEN), args, out);
  } catch (err) {
    if (err instanceof UsageError) {
      out.err(`evalgate: ${err.message}\n${USAGE}`);
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
  };
  void main(process.argv.slice(2), process.env, out).then((code) => {
    process.exitCode = code;
  });
}
