// `au run`: check the entrypoint, then start the agent's command through it, on a PTY of its
// own when we have a terminal, with plain pipes otherwise.
import type { AgentConfig } from '../config/schema.js';
import { entrypointProblems } from '../entrypoint/verify.js';
import { agentHomeOf } from '../agents/names.js';
import { entrypointArguments } from './launch.js';
import { entrypointEnvironment } from './environment.js';
import { workingDirectory } from './workdir.js';
import { runWithPipes } from './pipe-run.js';
import { shellQuote } from '../system/shell-quote.js';

export class RunError extends Error {}

export interface RunOptions {
  env: readonly (readonly [string, string])[];
  directory?: string;
  usePty: boolean;
  command: readonly string[];
  /** A profile's install hint, shown (exit 127) when its program is missing for the agent. */
  missingHint?: string;
  /** Print the entrypoint's command line (variable names only, never values) instead of running. */
  dryRun: boolean;
}

export async function startRun(agent: AgentConfig, options: RunOptions): Promise<number> {
  if (!agent.bootstrapped) {
    throw new RunError(`agent ${agent.userName} is not fully set up: run \`au new -a ${agent.userName}\` to finish (or \`au delete\`)`);
  }
  const problems = entrypointProblems({ path: agent.entrypoint, sha256: agent.entrypointSha256, groupGid: agent.groupGid });
  if (problems.length > 0) throw new RunError(`refusing to run: ${problems.join('; ')}`);
  const args = entrypointArguments({
    mounts: agent.mounts,
    workdir: workingDirectory(options.directory, process.cwd(), agent.mounts, agentHomeOf(agent.userName)),
    command: options.command,
    interactive: options.usePty,
    missingHint: options.missingHint,
  });
  const env = entrypointEnvironment(options.env);
  if (options.dryRun) {
    const names = Object.keys(env).map((key) => `${key}=...`);
    process.stderr.write(`$ ${shellQuote(['env', '-i', ...names, agent.entrypoint, ...args])}\n`);
    return 0;
  }
  if (options.usePty) {
    const { runOnPty } = await import('./pty-relay.js');
    return runOnPty(agent.entrypoint, args, env);
  }
  return runWithPipes(agent.entrypoint, args, env);
}
