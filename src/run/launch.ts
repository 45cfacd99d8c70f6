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
}

/**
 * The agent's command runs in its login environment. Arguments are passed as positional
 * parameters ("$@"), never pasted into a shell string, so no quoting can go wrong.
 */
export function entrypointArguments(request: LaunchRequest): string[] {
  const args: string[] = [];
  for (const mount of request.mounts) {
    args.push(mount.readOnly ? '--mount-ro' : '--mount-rw', mount.source, mount.target);
  }
  args.push(...limitArguments(request.limits));
  if (request.netPolicy) args.push('--net-policy', request.netPolicy);
  args.push('--chdir', request.workdir, '--');
  args.push('bash', '--login', ...(request.interactive ? ['-i'] : []), '-c', '"$@"', 'bash', ...request.command);
  return args;
}

/** 128+N for a signal, as shells report it. */
export function exitStatusOf(code: number | null, signal: NodeJS.Signals | number | null): number {
  if (code !== null) return code;
  if (signal === null) return 1;
  return 128 + (typeof signal === 'number' ? signal : constants.signals[signal]);
}
