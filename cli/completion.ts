import type { Command } from 'commander';

interface Node {
  path: string[];
  subcommands: string[];
  options: string[];
}

/** Every command path of the program with its subcommands and flags. */
function walk(command: Command, path: string[] = [], into: Node[] = []): Node[] {
  const options = command.options.flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x)));
  into.push({ path, subcommands: command.commands.flatMap((c) => [c.name(), ...c.aliases()]), options: [...options, '--help'] });
  for (const sub of command.commands) walk(sub, [...path, sub.name()], into);
  return into;
}

/**
 * A bash completion script for the whole command tree (plugins' commands included), made from
 * commander's own command and option lists, so it never goes stale.
 */
export function bashCompletion(program: Command): string {
  const nodes = walk(program);
  const global = nodes[0].options;
  const cases = nodes
    .map((n) => `    "${n.path.join(' ')}") words_here="${[...n.subcommands, ...n.options, ...(n.path.length > 0 ? global : [])].join(' ')}" ;;`)
    .join('\n');
  return `# bash completion for backplane: source <(backplane completion bash)
_backplane() {
  local cur path="" w i words_here
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    case "\${path:+$path }$w" in
${nodes
  .slice(1)
  .map((n) => `      "${n.path.join(' ')}") path="${n.path.join(' ')}" ;;`)
  .join('\n')}
    esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words_here" -- "$cur"))
}
complete -F _backplane backplane
`;
}

/** A zsh completion script: bash's, through zsh's bashcompinit. */
export function zshCompletion(program: Command): string {
  return `#compdef backplane
# zsh completion for backplane: source <(backplane completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program).replace(/^# bash completion.*\n/, '')}`;
}
