// The launch's reads and side effects, kept apart from the decision (plan.ts): the checks of
// the entrypoint, what the planner needs to know (the repo's `.au.toml`, the lockdown
// directory resolved as a share), and the domains proxy an agent's policy needs.
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { agentHomeOf } from '../agents/names.js';
import type { AgentConfig } from '../config/schema.js';
import { type Finding, assessAgent } from '../agents/health.js';
import { currentBuildStamp } from '../entrypoint/build-stamp.js';
import { readEntrypointFacts } from '../entrypoint/verify.js';
import { agentCgroupId } from '../net/cgroup.js';
import { enforced } from '../net/policy.js';
import { resolveShareSource, resolveShareTarget } from '../mounts/shares.js';
import { RepoPolicyError, findRepoPolicy, readRepoPolicy } from '../run/repo-policy.js';
import type { Human } from '../system/human.js';
import { type LaunchFacts, LaunchError, type LaunchPlan, type LaunchRequest, planLaunch } from './plan.js';

/** The human's home as in passwd and resolved: share sources are recorded resolved. */
function humanHomes(human: Human): string[] {
  try {
    const real = realpathSync(human.home);
    return real === human.home ? [human.home] : [human.home, real];
  } catch {
    return [human.home];
  }
}

/** The health model's findings on what a run reads: the record and the entrypoint (agents/health.ts). */
export function runFindings(agent: AgentConfig): Finding[] {
  const facts = {
    human: { name: '', uid: process.getuid?.() ?? -1 },
    entrypoint: readEntrypointFacts(agent.entrypoint),
    currentBuild: currentBuildStamp(),
  };
  return assessAgent(agent, facts).filter((f) => f.severity === 'fail');
}

/**
 * The entrypoint is the one au built and recorded, built by this au, for a finished agent: else
 * nothing starts. The same decision as au info/list/doctor, on what a run reads.
 */
export function checkEntrypoint(agent: AgentConfig): void {
  if (!agent.bootstrapped) {
    throw new LaunchError(`agent ${agent.userName} is not fully set up: run \`au new -a ${agent.userName}\` to finish (or \`au delete\`)`);
  }
  const failed = runFindings(agent);
  if (failed.length === 0) return;
  const fixes = [...new Set(failed.map((f) => f.fix))].map((fix) => `\`${fix}\``).join(', ');
  throw new LaunchError(`refusing to run: ${failed.map((f) => f.detail).join('; ')} (fix: ${fixes})`);
}

export function readLaunchFacts(request: LaunchRequest, human: Human, environment: NodeJS.ProcessEnv = process.env): LaunchFacts {
  const cwd = resolve('/', request.cwd);
  const policyPath = findRepoPolicy(cwd, human.home);
  const facts: LaunchFacts = {
    humanHomes: humanHomes(human),
    humanEnv: {
      LANG: environment.LANG,
      TERM: environment.TERM,
      COLORTERM: environment.COLORTERM,
      TERM_PROGRAM: environment.TERM_PROGRAM,
      TERM_PROGRAM_VERSION: environment.TERM_PROGRAM_VERSION,
    },
    repoPolicy: policyPath ? readRepoPolicy(policyPath) : undefined,
    ...(enforced(request.agent.net) ? { agentCgroupId: agentCgroupId(request.agent.userName) } : {}),
  };
  const agentHome = agentHomeOf(request.agent.userName);
  if (request.runShares && request.runShares.length > 0) {
    facts.runShares = request.runShares.map((share) => {
      const source = resolveShareSource(resolve(cwd, share.path), human.home, human.uid);
      return { source, target: resolveShareTarget(undefined, source, human.home, agentHome), readOnly: !share.readWrite };
    });
  }
  if (request.lockdown) {
    const source = resolveShareSource(cwd, human.home, human.uid);
    return { ...facts, lockdownSource: source, lockdownTarget: resolveShareTarget(undefined, source, human.home, agentHome) };
  }
  return facts;
}

/** Everything before the side effects of a launch: the entrypoint checked, the system read, the plan made. */
export function prepareLaunch(request: LaunchRequest, human: Human): LaunchPlan {
  checkEntrypoint(request.agent);
  return planLaunch(request, readLaunchFacts(request, human));
}

/** A domains policy: make sure the agent's CONNECT proxy is listening (started as the human). */
export async function ensureAgentProxy(agent: AgentConfig, configPath: string | undefined): Promise<void> {
  if (agent.net?.policy !== 'domains' || !agent.net.proxyPort) return;
  const { ensureProxyRunning } = await import('../net/proxy-process.js');
  await ensureProxyRunning(agent.userName, agent.net.proxyPort, configPath);
}

/** The proxy this plan needs, running before the agent starts. */
export async function ensurePlanProxy(plan: LaunchPlan, agent: AgentConfig, configPath: string | undefined): Promise<void> {
  if (plan.proxyPort !== undefined) await ensureAgentProxy(agent, configPath);
}

/**
 * What the entrypoint would refuse in a plain run of this agent (its configured shares and
 * limits, from the human's home): `au info` and `au doctor` report it as broken.
 */
export function launchProblems(agent: AgentConfig, human: Human): string[] {
  try {
    planLaunch(
      { agent, command: ['true'], via: 'login-shell', interactive: false, cwd: human.home, shares: 'configured', env: [] },
      { humanHomes: humanHomes(human), humanEnv: {} },
    );
    return [];
  } catch (error) {
    if (error instanceof LaunchError || error instanceof RepoPolicyError) return [error.message];
    throw error;
  }
}
