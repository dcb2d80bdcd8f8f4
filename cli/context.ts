/**
 * What every command gets: where to write, the environment, an API client made on first
 * use (so `schema` and `completion` work without a token), and `run`, which turns a
 * command function into a commander action that records its exit code.
 */
import type { Command } from 'commander';
import { loadCliConfig } from '../common/config';
import { createApi, type Api } from './http';
import { formatOption, UsageError, type Format } from './options';
import type { Output } from './output';

export interface CliContext {
  out: Output;
  env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal: progress bars redraw in place there, and print plain lines elsewhere. */
  interactive: boolean;
  api(): Api;
  exitCode: number;
  run<O = any>(fn: (api: Api, opts: O, args: string[]) => Promise<number>): (...params: any[]) => Promise<void>;
  local<O = any>(fn: (opts: O, args: string[]) => Promise<number> | number): (...params: any[]) => Promise<void>;
  format(allowed?: readonly Format[]): ReturnType<typeof formatOption>;
}

export function createContext(env: NodeJS.ProcessEnv, out: Output, interactive = false): CliContext {
  let api: Api | undefined;
  const split = (params: unknown[]) => {
    const command = params[params.length - 1] as Command;
    return { opts: command.opts(), args: params.slice(0, -2).flat() as string[] };
  };
  const ctx: CliContext = {
    out,
    env,
    interactive,
    exitCode: 0,
    api() {
      if (api) return api;
      const loaded = loadCliConfig(env);
      if ('error' in loaded) throw new UsageError(`invalid environment: ${loaded.error}`);
      if (!loaded.config.EVALGATE_TOKEN) throw new UsageError('EVALGATE_TOKEN is not set: export an API key');
      api = createApi(loaded.config.EVALGATE_URL, loaded.config.EVALGATE_TOKEN);
      return api;
    },
    run:
      (fn) =>
      async (...params) => {
        const { opts, args } = split(params);
        ctx.exitCode = await fn(ctx.api(), opts as never, args);
      },
    local:
      (fn) =>
      async (...params) => {
        const { opts, args } = split(params);
        ctx.exitCode = await fn(opts as never, args);
      },
    format: (allowed) => formatOption(allowed),
  };
  return ctx;
}
