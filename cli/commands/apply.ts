import type { Command } from 'commander';
import { applyFiles, type Change } from '../apply/engine';
import { ConfigError, loadEvalgateFiles } from '../apply/load';
import { evalgateJsonSchema } from '../apply/schema';
import type { CliContext } from '../context';
import { CliFailure } from '../http';

const KIND_WORDS: Record<Change['kind'], string> = {
  dataset: 'dataset',
  metricSuite: 'metric suite',
  model: 'model',
  gate: 'gate',
};

/** `dataset spam-heldout: created (version 1)` · `gate release: new version 3` · `model m: unchanged`. */
export function changeLine(change: Change, dryRun: boolean): string {
  const would = dryRun ? 'would be ' : '';
  const what =
    change.action === 'created'
      ? `${would}created${change.version !== null && change.kind !== 'model' ? ` (version ${change.version})` : ''}`
      : change.action === 'new_version'
        ? `${dryRun ? 'would get ' : ''}new version ${change.version}`
        : change.action === 'updated'
          ? `${would}updated`
          : 'unchanged';
  return `${KIND_WORDS[change.kind]} ${change.name}: ${what}${change.detail ? ` (${change.detail})` : ''}`;
}

interface ApplyOptions {
  file: string[];
  dryRun?: boolean;
  format: 'text' | 'json';
}

/** 0 applied or planned · 2 refused (file, line, field) or unreachable. */
async function apply(ctx: CliContext, opts: ApplyOptions, dryRun: boolean): Promise<number> {
  const { out } = ctx;
  try {
    const files = loadEvalgateFiles(opts.file);
    const api = ctx.api();
    const changes = await applyFiles(api, files, {
      dryRun,
      out,
      interactive: ctx.interactive,
      onChange: opts.format === 'text' ? (change) => out.log(changeLine(change, dryRun)) : undefined,
    });
    if (opts.format === 'json')
      out.log(
        JSON.stringify(
          changes.map(({ kind, name, action, version, id, detail }) => ({
            kind,
            name,
            action,
            version,
            id,
            ...(detail ? { detail } : {}),
          })),
          null,
          2,
        ),
      );
    else if (dryRun) out.log(`plan: nothing was written (${files.files.join(', ')})`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      out.err(`evalgate: ${err.toString()}`);
      return 2;
    }
    if (err instanceof CliFailure) throw new CliFailure(err.message, 2); // unreachable, 5xx, a bad row: all refusals
    throw err;
  }
}

export function registerApply(program: Command, ctx: CliContext): void {
  const fileOption = ['-f, --file <path...>', 'an evalgate YAML file, or a directory of them (repeatable)'] as const;
  program
    .command('apply')
    .description(
      'create or version what the evalgate files declare; unchanged entries are left alone (exit 0 applied, 2 refused or unreachable)',
    )
    .requiredOption(...fileOption)
    .option('--dry-run', 'print the plan and write nothing (same as evalgate plan)')
    .addOption(ctx.format())
    .action(ctx.local((opts: ApplyOptions) => apply(ctx, opts, Boolean(opts.dryRun))));
  program
    .command('plan')
    .description('what apply would do, writing nothing')
    .requiredOption(...fileOption)
    .addOption(ctx.format())
    .action(ctx.local((opts: ApplyOptions) => apply(ctx, opts, true)));
  program
    .command('schema')
    .description('print the JSON Schema of evalgate files (for editors: yaml-language-server, VS Code)')
    .action(
      ctx.local(() => {
        ctx.out.log(JSON.stringify(evalgateJsonSchema(), null, 2));
        return 0;
      }),
    );
}
