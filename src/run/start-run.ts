// `au run`: check the entrypoint, then start the agent's command through it, on a PTY of its
// own for the fds that are the human's terminal, with plain pipes otherwise.
import type { AgentConfig, MountConfig } from '../config/schema.js';
import { entrypointProblems } from '../entrypoint/verify.js';
import { agentHomeOf } from '../agents/names.js';
import { grantShareAccess, revokeShareAccess } from '../mounts/acl.js';
import { resolveShareSource, resolveShareTarget } from '../mounts/shares.js';
import type { Human } from '../system/human.js';
import type { CommandRunner } from '../system/runner.js';
import { entrypointArguments } from './launch.js';
import { entrypointEnvironment } from './environment.js';
import { findRepoPolicy, narrowShares, readRepoPolicy } from './repo-policy.js';
import { workingDirectory } from './workdir.js';
import { runWithPipes } from './pipe-run.js';
import type { TerminalFds } from './pty-relay.js';
import { shellQuote } from '../system/shell-quote.js';
import { containmentArguments, ensureAgentProxy, withProxyVariables } from './agent-policy.js';

export class RunError extends Error {}

export interface LockdownOptions {
  /** Share the current directory read-write instead of read-only. */
  rwCwd: boolean;
  /** Keep the network (default: none). */
  network: boolean;
  /** The profile's allowed files, copied from the agent's real home into the throw-away one. */
  seeds: readonly string[];
}

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
  /** Let the agent write the human's clipboard (OSC 52); filtered out by default. */
  allowClipboard?: boolean;
  human: Human;
  runner: CommandRunner;
}

interface Placement {
  mounts: MountConfig[];
  workdir: string;
  noNetwork: boolean;
}

/** Where the agent runs and what it sees: lockdown, else the config narrowed by .au.toml. */
function placement(agent: AgentConfig, options: RunOptions): Placement {
  const cwd = process.cwd();
  const home = agentHomeOf(agent.userName);
  if (options.lockdown) {
    const source = resolveShareSource(cwd, options.human.home, options.human.uid);
    const target = resolveShareTarget(undefined, source, options.human.home, home);
    return { mounts: [{ source, target, readOnly: !options.lockdown.rwCwd }], workdir: target, noNetwork: !options.lockdown.network };
  }
  const policyPath = findRepoPolicy(cwd, options.human.home);
  const policy = policyPath ? readRepoPolicy(policyPath) : undefined;
  const mounts = policy ? narrowShares(agent.mounts, policy) : agent.mounts;
  return { mounts, workdir: workingDirectory(options.directory, cwd, mounts, home), noNetwork: Boolean(policy?.noNetwork) };
}

export async function startRun(agent: AgentConfig, options: RunOptions): Promise<number> {
  if (!agent.bootstrapped) {
    throw new RunError(`agent ${agent.userName} is not fully set up: run \`au new -a ${agent.userName}\` to finish (or \`au delete\`)`);
  }
  const problems = entrypointProblems({ path: agent.entrypoint, sha256: agent.entrypointSha256, groupGid: agent.groupGid });
  if (problems.length > 0) throw new RunError(`refusing to run: ${problems.join('; ')}`);
  const place = placement(agent, options);
  const args = entrypointArguments({
    mounts: place.mounts,
    workdir: place.workdir,
    command: options.command,
    interactive: options.usePty && options.terminalFds[0],
    ...containmentArguments(agent),
    missingHint: options.missingHint,
    throwAwayHome: Boolean(options.lockdown),
    seeds: options.lockdown?.seeds,
    noNetwork: place.noNetwork,
  });
  if (!options.dryRun) await ensureAgentProxy(agent, options.configPath);
  const env = entrypointEnvironment(withProxyVariables(agent, options.env));
  if (options.dryRun) {
    const names = Object.keys(env).map((key) => `${key}=...`);
    process.stderr.write(`$ ${shellQuote(['env', '-i', ...names, agent.entrypoint, ...args])}\n`);
    return 0;
  }
  // A lockdown share that is not already configured gets its ACLs for this run only.
  const temporaryShare = options.lockdown && place.mounts[0] && !agent.mounts.some((m) => m.source === place.mounts[0]!.source) ? place.mounts[0] : undefined;
  if (temporaryShare) grantShareAccess(options.runner, agent.userName, options.human, temporaryShare.source, !temporaryShare.readOnly);
  try {
    if (options.terminalFds.some(Boolean)) {
      const { runOnTerminal } = await import('./pty-relay.js');
      return await runOnTerminal(agent.entrypoint, args, env, { allowClipboard: Boolean(options.allowClipboard), terminalFds: options.terminalFds, usePty: options.usePty });
    }
    return await runWithPipes(agent.entrypoint, args, env, { replaceProcess: !temporaryShare });
  } finally {
    if (temporaryShare) revokeShareAccess(options.runner, agent.userName, options.human.uid, temporaryShare.source);
  }
}
