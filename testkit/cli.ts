/** Runs the evalgate CLI (bin/evalgate) as a user would, with nothing from this process's environment but PATH. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const CLI_BIN = join(__dirname, '..', 'bin', 'evalgate');

export interface CliResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  baseUrl: string,
  token: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI_BIN, args, {
      env: { PATH: process.env.PATH ?? '', EVALGATE_URL: baseUrl, EVALGATE_TOKEN: token, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
  });
}
