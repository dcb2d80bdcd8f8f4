import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { CliContext } from '../context';
import { query } from '../http';
import { commaList, positiveInt, UsageError } from '../options';

function incidentLines(i: any): string[] {
  const p = i.progress ?? {};
  const counts =
    p.runsTotal !== undefined
      ? ` · runs ${p.runsDone}/${p.runsTotal} (recomputed ${p.runsRecomputed}, invalidated ${p.runsInvalidated})` +
        ` · decisions re-evaluated ${p.decisionsReevaluated}, revoked ${p.decisionsRevoked}`
      : '';
  return [
    `incident ${i.incidentId} (${i.kind}): ${i.status}, step ${p.step}${counts}`,
    ...(i.metric ? [`  metric ${i.metric}: bad ${i.badImplVersions.join(', ')} → fixed ${i.fixedImplVersion}`] : []),
    ...(i.judgeFingerprint ? [`  judge ${i.judgeFingerprint}`] : []),
    ...(i.note ? [`  note: ${i.note}`] : []),
  ];
}

export function registerIncidents(program: Command, ctx: CliContext): void {
  const incidents = program
    .command('incidents')
    .description('incidents: a metric bug, a contaminated dataset version, a bad judge; and what they changed');
  const started = (opts: { format: string }, body: any, what: string) => {
    ctx.out.log(
      opts.format === 'json'
        ? JSON.stringify(body, null, 2)
        : `${what}: incident ${body.incidentId} ${body.status ?? body.incidentStatus ?? ''} ` +
            `(follow it with: evalgate incidents show ${body.incidentId})`,
    );
    return 0;
  };
  incidents
    .command('metric-bug')
    .description('declare a metric implementation buggy: gates using it freeze, results are recomputed from records')
    .requiredOption('--metric <metric>', 'the metric id, e.g. recall')
    .requiredOption('--bad-impl-versions <v,...>', 'the buggy implementation versions', commaList)
    .requiredOption('--fixed-impl-version <v>', 'the implementation version that replaces them')
    .requiredOption('--note <text>', 'what is wrong, for the people whose gates freeze')
    .option('--idempotency-key <key>', 'the same key answers the same incident')
    .addOption(ctx.format())
    .action(
      ctx.run(async (api, opts) => {
        const { body } = await api.post('/v1/metric-incidents', {
          metric: opts.metric,
          badImplVersions: opts.badImplVersions,
          fixedImplVersion: opts.fixedImplVersion,
          note: opts.note,
          ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
        });
        return started(opts, body, `metric ${opts.metric}`);
      }),
    );
  for (const [name, description] of [
    ['deprecate', 'deprecate a contaminated dataset version: runs on it are invalidated, decisions re-evaluated'],
    ['reinstate', 'reinstate a deprecated dataset version'],
  ] as const)
    incidents
      .command(name)
      .description(description)
      .requiredOption('--dataset <datasetId>', 'the dataset')
      .requiredOption('--version <n>', 'the dataset version', positiveInt)
      .requiredOption('--reason <text>', 'why, for the owners of the runs and gates it affects')
      .addOption(ctx.format())
      .action(
        ctx.run(async (api, opts) => {
          const { body } = await api.post(
            `/v1/datasets/${encodeURIComponent(opts.dataset)}/versions/${opts.version}/${name}`,
            { reason: opts.reason },
          );
          return started(opts, body, `dataset ${opts.dataset} v${opts.version} ${name}d`);
        }),
      );
  incidents
    .command('judge')
    .description('declare a judge bad: its scores are recomputed with a replacement judge')
    .requiredOption('--fingerprint <hex>', 'the judge fingerprint, as runs and suite versions report it')
    .requiredOption('--replacement <file>', 'the replacement judge (YAML or JSON, the suite judge body)')
    .requiredOption('--note <text>', 'what is wrong with the judge')
    .option('--idempotency-key <key>', 'the same key answers the same incident')
    .addOption(ctx.format())
    .action(
      ctx.run(async (api, opts) => {
        let replacementJudge: unknown;
        try {
          replacementJudge = parseYaml(readFileSync(opts.replacement, 'utf8'));
        } catch (err) {
          throw new UsageError(`--replacement: cannot read ${opts.replacement}: ${(err as Error).message}`);
        }
        const { body } = await api.post('/v1/judge-incidents', {
          judgeFingerprint: opts.fingerprint,
          replacementJudge,
          note: opts.note,
          ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
        });
        return started(opts, body, `judge ${opts.fingerprint}`);
      }),
    );
  incidents
    .command('show <incidentId>')
    .description('an incident: its progress while it works, its report when done')
    .addOption(ctx.format())
    .action(
      ctx.run(async (api, opts, [id]) => {
        const incident = await api.get(`/v1/incidents/${encodeURIComponent(id)}`);
        ctx.out.log(opts.format === 'json' ? JSON.stringify(incident, null, 2) : incidentLines(incident).join('\n'));
        return 0;
      }),
    );
  incidents
    .command('list')
    .description('incidents, newest first')
    .option('--kind <kind>', 'metric_bug, dataset_contamination, judge or dataset_reinstatement')
    .option('--limit <n>', 'at most this many', positiveInt, 50)
    .option('--cursor <cursor>', 'the next page, as a previous answer gave it')
    .addOption(ctx.format())
    .action(
      ctx.run(async (api, opts) => {
        const page = await api.get(
          `/v1/incidents${query({ kind: opts.kind, limit: opts.limit, cursor: opts.cursor })}`,
        );
        if (opts.format === 'json') ctx.out.log(JSON.stringify(page, null, 2));
        else for (const i of page.items) ctx.out.log(incidentLines(i)[0]);
        return 0;
      }),
    );
}
