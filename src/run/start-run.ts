// `au run`: the launch planned (src/launch/: entrypoint checked, shares, limits, network policy,
// .au.toml, environment), then the agent's command started through the entrypoint, on a PTY of
// its own for the fds that are the human's terminal (pty-relay.ts), with plain pipes otherwise.
import type { AgentConfig } from '../config/schema.js';
import { grantForRun } from '../mounts/run-shares.js';
import type { RunShareRequest } from '../launch/plan.js';
import type { Human } from '../system/human.js';
import type { CommandRunner } from '../system/runner.js';
import { runWithPipes } from './pipe-run.js';
import type { TerminalFds } from './pty-relay.js';
import { shellQuote } from '../system/shell-quote.js';
import type { LockdownOptions } from '../launch/plan.js';
import { ensurePlanProxy, prepareLaunch } from '../launch/prepare.js';

export type { LockdownOptions } from '../launch/plan.js';

export interface RunOptions {
  env: readonly (readonly [string, string])[];
  directory?: string;
  /** Allowed to relay the human's terminal through a PTY (`--no-pty`: through pipes). */
  usePty: boolean;
  /** Which of the human's fds 0-2 are terminals: those never reach the agent (pty-relay.ts). */
  terminalFds: TerminalFds;
  command: readonly string[];
  /** A profile's install hint, shown (exit 127) when its program is missing for the agent. */
  missingHint?: string;
  /** Print the entrypoint's command line (variable names only, never values) instead of running. */
  dryRun: boolean;
  /** The config file (the domains proxy re-reads its policy there). */
  configPath?: string;
  /** An untrusted repository: throw-away home, only the current directory shared, no network. */
  lockdown?: LockdownOptions;
  /** `--share DIR[:rw]`: folders shared for this run only. */
  runShares?: readonly RunShareRequest[];
  /** Let the agent write the human's clipboard (OSC 52); filtered out by default. */
  allowClipboard?: boolean;
  human: Human;
  runner: CommandRunner;
}

export async function startRun(agent: AgentConfig, options: RunOptions): Promise<number> {
  const plan = prepareLaunch(
    {
      agent,
      command: options.command,
      via: 'login-shell',
      interactive: options.usePty && options.terminalFds[0],
      missingHint: options.missingHint,
      cwd: process.cwd(),
      directory: options.directory,
      shares: 'configured',
      lockdown: options.lockdown,
      runShares: options.runShares,
      env: options.env,
    },
    options.human,
  );
  const args = plan.args;
  const env = plan.env;
  if (options.dryRun) {
    const names = Object.keys(env).map((key) => `${key}=...`);
    process.stderr.write(`$ ${shellQuote(['env', '-i', ...names, agent.entrypoint, ...args])}\n`);
    return 0;
  }
  await ensurePlanProxy(plan, agent, options.configPath);
  if (plan.mounts.some((m) => m.review))
    (await import('../review/note-run.js')).noteReviewShares(agent.userName, plan.mounts, options.human);
  // Shares that are not configured (lockdown's current directory, --share) get their ACLs for
  // this run only, recorded first so that a killed run is cleaned up by the next au command.
  const temporary = plan.temporaryShares.length > 0;
  const revokeTemporary = grantForRun(options.runner, agent, options.human, plan.temporaryShares);
  try {
    if (options.terminalFds.some(Boolean)) {
      const { runOnTerminal } = await import('./pty-relay.js');
      return await runOnTerminal(agent.entrypoint, args, env, {
        allowClipboard: Boolean(options.allowClipboard),
        terminalFds: options.terminalFds,
        usePty: options.usePty,
      });
    }
    return await runWithPipes(agent.entrypoint, args, env, { replaceProcess: !temporary });
  } finally {
    revokeTemporary();
  }
}
