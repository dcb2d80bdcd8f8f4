import type { Command } from 'commander';
import type { CliContext } from '../context';
import { commaList, positiveInt } from '../options';
import { uploadVersion } from '../upload';

export function registerDatasets(program: Command, ctx: CliContext): void {
  const datasets = program.command('datasets').description('datasets: create, upload a version, show');
  datasets
    .command('create')
    .description('create a dataset (the same name and team answers the existing one)')
    .requiredOption('--name <name>', 'the dataset name')
    .requiredOption('--task-type <type>', 'classification, ranking, retrieval, generation or regression')
    .requiredOption('--owner-team <team>', 'the owning team')
    .option('--description <text>', 'what it is')
    .addOption(ctx.format())
    .action(
      ctx.run(async (api, opts) => {
        const { status, body } = await api.post('/v1/datasets', {
          name: opts.name,
          taskType: opts.taskType,
          ownerTeam: opts.ownerTeam,
          ...(opts.description ? { description: opts.description } : {}),
        });
        ctx.out.log(
          opts.format === 'json'
            ? JSON.stringify({ ...body, created: status === 201 })
            : `dataset ${opts.name}: ${body.datasetId} (${status === 201 ? 'created' : 'exists'})`,
        );
        return 0;
      }),
    );
  datasets
    .command('upload <file>')
    .description(
      'stream a JSONL file as a dataset version (content-addressed: the same rows answer the existing version); ' +
        'a bad line is refused with its number',
    )
    .requiredOption('--dataset <datasetId>', 'the dataset')
    .requiredOption('--label-policy <policy>', 'human_reviewed, synthetic, implicit or mixed')
    .option('--visibility <visibility>', 'public, internal or restricted')
    .option('--teams <team,...>', 'teams that may read a restricted version', commaList)
    .option('--classification <classification>', 'public, internal, confidential or restricted')
    .addOption(ctx.format())
    .action(
      ctx.run(async (api, opts, [file]) => {
        const version = await uploadVersion(api, opts.dataset, file, opts, ctx.out, ctx.interactive);
        ctx.out.log(
          opts.format === 'json'
            ? JSON.stringify(version)
            : `dataset ${version.datasetId} v${version.version}: ${version.rowCount} rows, sha256 ${version.contentHash} ` +
                (version.created ? '(created)' : '(unchanged: these rows are that version already)'),
        );
        return 0;
      }),
    );
  datasets
    .command('show <datasetId>')
    .description('a dataset and its versions')
    .option('--version <n>', 'one version only', positiveInt)
    .addOption(ctx.format())
    .action(
      ctx.run(async (api, opts, [id]) => {
        const path = `/v1/datasets/${encodeURIComponent(id)}${opts.version ? `/versions/${opts.version}` : ''}`;
        const body = await api.get(path);
        if (opts.format === 'json') ctx.out.log(JSON.stringify(body, null, 2));
        else {
          const versions = opts.version ? [body] : body.versions;
          if (!opts.version)
            ctx.out.log(`dataset ${body.name} (${body.taskType}, team ${body.ownerTeam}): ${body.datasetId}`);
          for (const v of versions)
            ctx.out.log(
              `  v${v.version}: ${v.rowCount} rows, ${v.labelPolicy}, ${v.visibility}, ${v.status}, sha256 ${v.contentHash.slice(0, 16)}…`,
            );
        }
        return 0;
      }),
    );
}
