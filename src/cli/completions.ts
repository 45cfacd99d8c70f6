// Shell completion scripts, generated from the command definitions themselves (so they never
// drift from the CLI). Agent and profile names are completed live by `au __complete`.
import type { Command } from 'commander';

interface CommandShape {
  name: string;
  flags: string[];
  subcommands: string[];
}

/** Options whose value is an agent, a profile or a path. */
const AGENT_FLAGS = ['-a', '--agent'];
const PROFILE_FLAGS = ['--profile'];
const PATH_FLAGS = ['-C', '--config', '-d', '--directory'];

function shapes(program: Command): CommandShape[] {
  return program.commands
    .filter((c) => !c.name().startsWith('__'))
    .map((c) => ({
      name: c.name(),
      flags: c.options.flatMap((o) => [o.short, o.long].filter((f): f is string => Boolean(f))),
      subcommands: c.commands.map((s) => s.name()),
    }));
}

const words = (list: readonly string[]): string => list.join(' ');

export function bashCompletion(program: Command): string {
  const cmds = shapes(program);
  const cases = cmds.map((c) => `    ${c.name}) opts="${words([...c.subcommands, ...c.flags, '--help'])}" ;;`).join('\n');
  return `# bash completion for au (agent-as-unix-user); load with: source <(au completions bash)
_au_complete() {
  local cur prev opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
    ${AGENT_FLAGS.join('|')}) COMPREPLY=($(compgen -W "$(au __complete agents 2>/dev/null)" -- "$cur")); return ;;
    ${PROFILE_FLAGS.join('|')}) COMPREPLY=($(compgen -W "$(au __complete profiles 2>/dev/null)" -- "$cur")); return ;;
    ${PATH_FLAGS.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${words(cmds.map((c) => c.name))} $(au __complete profiles 2>/dev/null) --help --version --dry-run -C --config" -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
    *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _au_complete au auu
`;
}

export function zshCompletion(program: Command): string {
  // zsh runs the bash function through its bash-completion compatibility layer.
  return `#compdef au auu
# zsh completion for au (agent-as-unix-user); load with: source <(au completions zsh)
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program).split('\n').slice(1).join('\n')}`;
}

export function fishCompletion(program: Command): string {
  const cmds = shapes(program);
  const lines = [
    '# fish completion for au (agent-as-unix-user); load with: au completions fish | source',
    'complete -c au -f',
    `complete -c au -n __fish_use_subcommand -a "${words(cmds.map((c) => c.name))}"`,
    'complete -c au -n __fish_use_subcommand -a "(au __complete profiles 2>/dev/null)" -d profile',
  ];
  for (const c of cmds) {
    const when = `-n "__fish_seen_subcommand_from ${c.name}"`;
    if (c.subcommands.length > 0) lines.push(`complete -c au ${when} -a "${words(c.subcommands)}"`);
    for (const flag of c.flags) {
      const spec = flag.startsWith('--') ? `-l ${flag.slice(2)}` : `-s ${flag.slice(1)}`;
      const values = AGENT_FLAGS.includes(flag)
        ? ' -x -a "(au __complete agents 2>/dev/null)"'
        : PROFILE_FLAGS.includes(flag)
          ? ' -x -a "(au __complete profiles 2>/dev/null)"'
          : PATH_FLAGS.includes(flag)
            ? ' -r -F'
            : '';
      lines.push(`complete -c au ${when} ${spec}${values}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
