import type { Command } from 'commander';
import type { CliContext } from '../context';
import { query } from '../http';
import { positiveInt } from '../options';
import { resolveGate } from './gate';

interface RuleView {
  id: string;
  kind: string;
  threshold?: number;
  margin?: number;
  relative?: boolean;
  blocking?: boolean;
}

const ruleLine = (r: RuleView) =>
  [
    `  ${r.id}`,
    r.threshold !== undefined ? ` threshold ${r.threshold}${r.relative ? ' (relative)' : ''}` : '',
    r.margin !== undefined ? ` margin ${r.margin}` : '',
    r.blocking === false ? ' (warning only)' : '',
  ].join('');

export function registerGates(program: Command, ctx: CliContext): void {
  const gates = program.command('gates').description('release gates: list, show');
  gates
    .command('list')
    .description('gates, oldest first')
    .option('--name <name>', 'only the gate with this name')
    .option('--limit <n>', 'at most this many', positiveInt, 50)
    .option('--cursor <cursor>', 'the next page, as a previous answer gave it')
    .addOption(ctx.format())
    .action(
      ctx.run(async (api, opts) => {
        const page = await api.get(`/v1/gates${query({ name: opts.name, limit: opts.limit, cursor: opts.cursor })}`);
        if (opts.format === 'json') ctx.out.log(JSON.stringify(page, null, 2));
        else {
          for (const g of page.items) ctx.out.log(`${g.gateId}  ${g.name}  (team ${g.ownerTeam})`);
          if (page.nextCursor) ctx.out.log(`more: --cursor ${page.nextCursor}`);
        }
        return 0;
      }),
    );
  gates
    .command('show <gate>')
    .description('a gate (by name or id): its latest version, rules and versions')
    .addOption(ctx.format())
    .action(
      ctx.run(async (api, opts, [ref]) => {
        const gate = await api.get(`/v1/gates/${await resolveGate(api, ref)}`);
        if (opts.format === 'json') {
          ctx.out.log(JSON.stringify(gate, null, 2));
          return 0;
        }
        const latest = gate.latest;
        ctx.out.log(
          [
            `gate ${gate.name} v${latest.version} (team ${gate.ownerTeam}, ` +
              `${gate.versions.length} version${gate.versions.length === 1 ? '' : 's'})`,
            `  suite ${latest.metricSuiteId} · datasets ${latest.datasetIds.join(', ')} · baseline alias ${latest.baselineAlias}`,
            `  overrides need ${latest.requiredApprovals} approvals, last ${latest.overrideTtlHours} h`,
            'rules:',
            ...latest.rules.map(ruleLine),
          ].join('\n'),
        );
        return 0;
      }),
    );
}
