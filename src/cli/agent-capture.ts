// Runs a small job as the agent and reads what it printed (au keys, the installed versions in
// au profiles, au doctor's look at the agent's keys): through `au run` in a child process, so
// it takes exactly the path of every run (entrypoint checks, the group re-run right after
// `au new`, limits, policy), with every fd of the agent a pipe. What comes back is the agent's
// bytes: callers parse it strictly and print only what they parsed.
import { spawnSync } from 'node:child_process';
import type { Context } from './context.js';

export interface Captured {
  status: number;
  stdout: string;
  stderr: string;
}

const auRunArgv = (ctx: Context, agentName: string, command: readonly string[]): string[] | undefined => {
  const au = process.argv[1];
  return au ? [au, '-C', ctx.configPath, 'run', '-a', agentName, '--no-pty', '--', ...command] : undefined;
};

export function runAsAgentCaptured(ctx: Context, agentName: string, command: readonly string[], timeoutMs = 60_000): Captured {
  const argv = auRunArgv(ctx, agentName, command);
  if (!argv) return { status: 1, stdout: '', stderr: 'cannot find the au program to run the agent with' };
  const r = spawnSync(process.execPath, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 1024 * 1024,
  });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * The same path, for a job whose output the human reads as it comes (npm installing): the
 * agent's stdout and stderr reach the human's through au run's own terminal filter. Returns
 * the job's exit status.
 */
export function runAsAgentShown(ctx: Context, agentName: string, command: readonly string[], timeoutMs = 30 * 60_000): number {
  const argv = auRunArgv(ctx, agentName, command);
  if (!argv) return 1;
  const r = spawnSync(process.execPath, argv, { stdio: ['ignore', 'inherit', 'inherit'], timeout: timeoutMs });
  return r.status ?? 1;
}

/** The last lines of the agent's stderr, as printable ASCII, for an error message. */
export const visibleTail = (stderr: string): string =>
  stderr
    .replace(/[^\x20-\x7e\n]/g, '?')
    .trim()
    .split('\n')
    .slice(-3)
    .join(' / ');
