import type { Command, Option } from 'commander';
import type { CliContext } from '../context';
import { UsageError } from '../options';

/** Every command path ('' for the top) with the words that may follow it: subcommands and flags. */
export function completionTable(program: Command): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const walk = (command: Command, path: string) => {
    const flags = command.options.flatMap((o: Option) => [o.long, o.short].filter((f): f is string => Boolean(f)));
    table.set(path, [...command.commands.map((c) => c.name()), ...flags, '--help']);
    for (const sub of command.commands) walk(sub, path ? `${path} ${sub.name()}` : sub.name());
  };
  walk(program, '');
  return table;
}

/** A bash completion script: the path of subcommands typed so far selects the words offered. */
export function bashCompletion(program: Command): string {
  const table = completionTable(program);
  const cases = [...table.entries()].map(([path, words]) => `    "${path}") words="${words.join(' ')}" ;;`);
  return `# evalgate bash completion: source <(evalgate completion bash)
_evalgate() {
  local cur path word i words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  path=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case "\${path:+$path }$word" in
${[...table.keys()]
  .filter(Boolean)
  .map((p) => `      "${p}") path="${p}" ;;`)
  .join('\n')}
    esac
  done
  case "$path" in
${cases.join('\n')}
    *) words="" ;;
  esac
  if [[ $cur != -* && \${COMP_WORDS[COMP_CWORD-1]} == -f ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _evalgate evalgate
`;
}

export function registerCompletion(program: Command, ctx: CliContext): void {
  program
    .command('completion <shell>')
    .description('print shell completion (bash; zsh through bashcompinit): source <(evalgate completion bash)')
    .action(
      ctx.local((_opts, [shell]) => {
        if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`completion: bash or zsh (got ${shell})`);
        const script = bashCompletion(program);
        ctx.out.log(shell === 'zsh' ? `autoload -U +X bashcompinit && bashcompinit\n${script}` : script);
        return 0;
      }),
    );
}
