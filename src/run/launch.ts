// What `au run` asks the entrypoint to do: the argument vector and environment.
import { constants } from 'node:os';
import type { MountConfig } from '../config/schema.js';
import { type Limits, limitArguments } from '../limits/limits.js';

export interface LaunchRequest {
  mounts: readonly MountConfig[];
  workdir: string;
  command: readonly string[];
  /** Interactive runs source ~/.bashrc too (bash -i), as a terminal user expects. */
  interactive: boolean;
  /** Resource limits: numbers only; the entrypoint builds every cgroup path itself. */
  limits?: Limits;
  /** The id of the network policy the entrypoint must find loaded in the kernel. */
  netPolicy?: string;
  /** When set, a command missing from the agent's PATH prints this and exits 127. */
  missingHint?: string;
  /** A tmpfs over the agent home for this run only (lockdown). */
  throwAwayHome?: boolean;
  /** Paths copied (by the agent) from its real home into the throw-away one. */
  seeds?: readonly string[];
  /** A network namespace with only its own loopback (lockdown, or a repo's .au.toml). */
  noNetwork?: boolean;
}

/** Runs "$@"; with a hint (passed as $0), first checks that the program exists for the agent. */
const RUN_ARGS = '"$@"';
const RUN_ARGS_OR_HINT = 'command -v -- "$1" >/dev/null 2>&1 || { printf \'au: %s\\n\' "$0" >&2; exit 127; }; "$@"';

/**
 * The agent's command runs in its login environment. Arguments are passed as positional
 * parameters ("$@"), never pasted into a shell string, so no quoting can go wrong.
 */
export function entrypointArguments(request: LaunchRequest): string[] {
  const args: string[] = [];
  if (request.throwAwayHome) args.push('--tmp-home', ...(request.seeds ?? []).flatMap((rel) => ['--seed', rel]));
  if (request.noNetwork) args.push('--no-network');
  for (const mount of request.mounts) {
    args.push(mount.readOnly ? '--mount-ro' : '--mount-rw', mount.source, mount.target);
  }
  args.push(...limitArguments(request.limits));
  if (request.netPolicy) args.push('--net-policy', request.netPolicy);
  args.push('--chdir', request.workdir, '--');
  const script = request.missingHint === undefined ? RUN_ARGS : RUN_ARGS_OR_HINT;
  args.push('bash', '--login', ...(request.interactive ? ['-i'] : []), '-c', script, request.missingHint ?? 'bash', ...request.command);
  return args;
}

/** 128+N for a signal, as shells report it. */
export function exitStatusOf(code: number | null, signal: NodeJS.Signals | number | null): number {
  if (code !== null) return code;
  if (signal === null) return 1;
  return 128 + (typeof signal === 'number' ? signal : constants.signals[signal]);
}
