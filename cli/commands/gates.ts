import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { CliContext } from '../context';
import { query } from '../http';
import { positiveInt, UsageError } from '../options';
import { resolveGate } from './gate';

interface OperatingPoint {
  trueDelta: number;
  pPass: number;
  pFail: number;
  pInconclusive: number;
}

interface RuleCharacteristics {
  rule: string;
  n: number | null;
  discordance: number | null;
  points: OperatingPoint[] | null;
  examplesFor80PercentPower: number | null;
  reason?: string;
}

const pct = (p: number) => `${(p * 100).toFixed(1)}%`.padStart(7);

/** One block per rule: P(pass), P(fail), P(inconclusive) at each true delta, and the examples for 80% power. */
export function characteristicsText(rules: RuleCharacteristics[]): string {
  const lines: string[] = [];
  for (const r of rules) {
    const size = r.n === null ? '' : ` · n ${r.n}`;
    const disc = r.discordance === null ? '' : ` · discordance ${r.discordance.toFixed(3)}`;
    lines.push(`${r.rule}${size}${disc}`);
    if (!r.points) {
      lines.push(`  ${r.reason ?? 'no operating characteristics for this rule'}`);
      continue;
    }
    lines.push('  true delta    P(pass)  P(fail)  P(inconclusive)');
    for (const p of r.points)
      lines.push(`  ${p.trueDelta.toFixed(4).padStart(10)}  ${pct(p.pPass)}  ${pct(p.pFail)}  ${pct(p.pInconclusive)}`);
    if (r.examplesFor80PercentPower !== null)
      lines.push(`  an equal candidate passes 80% of the time with about ${r.examplesFor80PercentPower} examples`);
  }
  return lines.join('\n');
}

function gateBodyFrom(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
}

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
  const gates = program.command('gates').description('release gates: list, show, preview');
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
  gates
    .command('preview [gate]')
    .description(
      "a gate's operating characteristics: P(pass/fail/inconclusive) at true deltas and the examples an equal " +
        'candidate needs; of a registered gate (name or id) or of a gate body (-f, the body of POST /v1/gates)',
    )
    .option('-f, --file <path>', 'a gate body as JSON or YAML, previewed without storing anything')
    .option('--discordance <share>', 'share of examples the candidate and baseline disagree on (default: assumed)')
    .addOption(ctx.format())
    .action(
      ctx.run(async (api, opts, [ref]) => {
        if (Boolean(ref) === Boolean(opts.file))
          throw new UsageError('gates preview takes a gate or -f <file>, not both');
        const q = query({ discordance: opts.discordance });
        const answer = opts.file
          ? (await api.post(`/v1/gates/preview${q}`, gateBodyFrom(opts.file))).body
          : await api.get(`/v1/gates/${await resolveGate(api, ref)}/operating-characteristics${q}`);
        ctx.out.log(opts.format === 'json' ? JSON.stringify(answer, null, 2) : characteristicsText(answer.rules));
        return 0;
      }),
    );
}
