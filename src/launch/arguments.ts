// The entrypoint's argument vector for a decided launch: options (shares, lockdown, limits, the
// network policy id, the working directory), then `--` and the command. Only the planner
// (plan.ts) calls this: it decides, this spells the decision the way su_as_agent.c parses it.
import type { MountConfig } from '../config/schema.js';
import { type Limits, limitArguments } from '../limits/limits.js';

/** How the agent's command is started. */
export type Via =
  /** The agent's login shell runs it (its ~/.profile; ~/.bashrc too when interactive), as a person's command. */
  | 'login-shell'
  /** Exec'd as it is (found on the entrypoint's fixed PATH): nothing of the agent's runs first. */
  | 'program';

export interface EntrypointCall {
  mounts: readonly MountConfig[];
  workdir: string;
  command: readonly string[];
  via: Via;
  /** Interactive login shells source ~/.bashrc too (bash -i), as a terminal user expects. */
  interactive: boolean;
  /** Resource limits: numbers only; the entrypoint builds every cgroup path itself. */
  limits?: Limits;
  /** The id of the network policy the entrypoint must find loaded in the kernel. */
  netPolicy?: string;
  /** When set (login shell only), a command missing from the agent's PATH prints this and exits 127. */
  missingHint?: string;
  /** A tmpfs over the agent home for this run only (lockdown). */
  throwAwayHome?: boolean;
  /** Paths copied (by the agent) from its real home into the throw-away one. */
  seeds?: readonly string[];
  /** A network namespace with only its own loopback (lockdown, or a repo's .au.toml). */
  noNetwork?: boolean;
}

/**
 * Runs "$@"; with a hint (passed as $0), first checks that the program exists for the agent.
 * A program is exec'd explicitly: bash's own implicit exec of a `-c` command leaves it with the
 * SIGTSTP/SIGTTIN/SIGTTOU an interactive shell ignores, and vim then refuses Ctrl-Z (a program
 * started with SIGTSTP ignored takes it that there is no job control). A function from the
 * agent's ~/.bashrc (nvm, ...) still runs in the shell.
 */
const RUN_ARGS = 'declare -F -- "$1" >/dev/null && { "$@"; exit; }; exec "$@"';
const RUN_ARGS_OR_HINT = `command -v -- "$1" >/dev/null 2>&1 || { printf 'au: %s\\n' "$0" >&2; exit 127; }; ${RUN_ARGS}`;

/**
 * Arguments are passed as positional parameters ("$@"), never pasted into a shell string, so no
 * quoting can go wrong.
 */
export function entrypointArguments(call: EntrypointCall): string[] {
  const args: string[] = [];
  if (call.throwAwayHome) args.push('--tmp-home', ...(call.seeds ?? []).flatMap((rel) => ['--seed', rel]));
  if (call.noNetwork) args.push('--no-network');
  for (const mount of call.mounts) {
    // A review share: the entrypoint stages the agent's writes (an overlay over SRC) in the
    // directory it computes from KEY; read-only (a repo's .au.toml, lockdown) mounts it read-only.
    if (mount.review) args.push(mount.readOnly ? '--mount-review-ro' : '--mount-review', mount.source, mount.target, mount.review);
    else args.push(mount.readOnly ? '--mount-ro' : '--mount-rw', mount.source, mount.target);
  }
  args.push(...limitArguments(call.limits));
  if (call.netPolicy) args.push('--net-policy', call.netPolicy);
  args.push('--chdir', call.workdir, '--');
  if (call.via === 'program') return [...args, ...call.command];
  const script = call.missingHint === undefined ? RUN_ARGS : RUN_ARGS_OR_HINT;
  args.push('bash', '--login', ...(call.interactive ? ['-i'] : []), '-c', script, call.missingHint ?? 'bash', ...call.command);
  return args;
}
