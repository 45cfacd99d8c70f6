// The one way across the boundary, as a decision: what a caller wants (`au run`, a session of
// the server, `au profile import`, a lockdown run) in; the entrypoint's argument vector and
// environment out. Every launch gets the agent's limits, the network policy id the entrypoint
// checks in the kernel (fail closed), the repo's `.au.toml` narrowing, the proxy variables of
// a domains policy and the environment rules, here and only here, so callers cannot disagree.
// Pure: what it needs from the system is read beforehand (prepare.ts) and handed in as facts.
import { AuError } from '../errors.js';
import { agentHomeOf } from '../agents/names.js';
import type { AgentConfig, MountConfig } from '../config/schema.js';
import { enforced, policyId } from '../net/policy.js';
import { ENV_PREFIX, entrypointEnvironment } from '../run/environment.js';
import { type RepoPolicy, narrowShares } from '../run/repo-policy.js';
import { workingDirectory } from '../run/workdir.js';
import { type Via, entrypointArguments } from './arguments.js';
import { entrypointRefusals } from './entrypoint-limits.js';
import { findNestedReview } from '../mounts/shares.js';

export class LaunchError extends AuError {}

export type { Via } from './arguments.js';

export interface LockdownOptions {
  /** Share the current directory read-write instead of read-only. */
  rwCwd: boolean;
  /** Keep the network (default: none). */
  network: boolean;
  /** The profile's allowed files, copied from the agent's real home into the throw-away one. */
  seeds: readonly string[];
}

/** What a caller wants; how that crosses the boundary is decided here. */
/** A folder the human names for one run: the path as typed (relative to cwd) and whether the agent may write. */
export interface RunShareRequest {
  path: string;
  readWrite: boolean;
}

export interface LaunchRequest {
  agent: AgentConfig;
  command: readonly string[];
  via: Via;
  interactive: boolean;
  /** A profile's install hint, shown (exit 127) when its program is missing for the agent. */
  missingHint?: string;
  /** The human's directory the launch comes from: where `.au.toml` is looked for, mapped to the agent's view. */
  cwd: string;
  /** -d DIR (relative to cwd). */
  directory?: string;
  /** 'configured': the agent's shares (as narrowed); 'none': a helper run that needs none (it starts in the agent home). */
  shares: 'configured' | 'none';
  /** `au run --share DIR[:rw]`: folders shared for this run only (resolved and checked by prepare.ts, as `mount add` checks them). */
  runShares?: readonly RunShareRequest[];
  /** An untrusted repository: throw-away home, only the current directory shared, no network. */
  lockdown?: LockdownOptions;
  /** Variables for the agent (-e, a profile's keys). */
  env: readonly (readonly [string, string])[];
  /** The terminal type, when au makes the terminal (server sessions); else the human's TERM. */
  term?: string;
}

/** What the planner needs from the system, read by prepare.ts. */
export interface LaunchFacts {
  /** The human's home as in passwd, and resolved (share sources are recorded resolved). */
  humanHomes: readonly string[];
  /** LANG and TERM of the human (nothing else of its environment is used). */
  humanEnv: Readonly<Record<string, string | undefined>>;
  /** The `.au.toml` that applies to `cwd`, parsed (already refused if it would widen anything). */
  repoPolicy?: RepoPolicy;
  /** Lockdown: the current directory, checked as a share source (a directory of the human's, no symlink). */
  lockdownSource?: string;
  /** Lockdown: where that directory appears for the agent. */
  lockdownTarget?: string;
  /** The run's own shares, resolved and checked like `mount add`'s. */
  runShares?: readonly MountConfig[];
  /** The id of the agent's cgroup v2, which its policy's inbound rules name (0: none; src/net/cgroup.ts). */
  agentCgroupId?: number;
}

export interface LaunchPlan {
  entrypoint: string;
  args: string[];
  env: Record<string, string>;
  /** The shares the agent sees in this run. */
  mounts: MountConfig[];
  workdir: string;
  noNetwork: boolean;
  /** A domains policy: the agent's proxy must listen on this port (it is its only way out). */
  proxyPort?: number;
  /** Shares that are not configured (lockdown's current directory, --share): their ACLs are granted for this run only. */
  temporaryShares: MountConfig[];
  /** The `.au.toml` that narrowed this launch. */
  repoPolicyPath?: string;
}

const PROXY_KEYS = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'] as const;

interface Placement {
  mounts: MountConfig[];
  noNetwork: boolean;
  temporaryShares: MountConfig[];
}

/** What the agent sees: the lockdown share, no share (helper runs), or the configured ones; narrowed by `.au.toml` in every case. */
function placement(request: LaunchRequest, facts: LaunchFacts): Placement {
  const { agent, lockdown } = request;
  const policy = facts.repoPolicy;
  const repoNoNetwork = Boolean(policy?.noNetwork);
  if (lockdown) {
    if (facts.lockdownSource === undefined || facts.lockdownTarget === undefined)
      throw new LaunchError('lockdown: the current directory was not resolved as a share');
    // `shares = [...]` selects among the configured shares, none of which a lockdown run uses
    // (its only share is the current directory): what applies to it is `read_only` and `network`.
    // The current directory as a review share when it is one (its writes staged, never an ACL);
    // a folder inside one would get ACLs on part of it, and the agent's writes there unreviewed.
    const nested = findNestedReview(agent, facts.lockdownSource, false);
    if (nested)
      throw new LaunchError(
        `--lockdown in ${facts.lockdownSource}: it is inside the review share ${nested.source}; run it from ${nested.source}`,
      );
    const review = agent.mounts.find((m) => m.source === facts.lockdownSource && m.review)?.review;
    const share = {
      source: facts.lockdownSource,
      target: facts.lockdownTarget,
      readOnly: !lockdown.rwCwd || Boolean(policy?.readOnly),
      ...(review ? { review } : {}),
    };
    const temporaryShares = agent.mounts.some((m) => m.source === share.source) ? [] : [share];
    if ((facts.runShares ?? []).length > 0)
      throw new LaunchError('--share and --lockdown do not go together: a lockdown run shares the current directory only');
    return { mounts: [share], noNetwork: !lockdown.network || repoNoNetwork, temporaryShares };
  }
  // Checked against the configured shares even by a launch that uses none (a helper run): a
  // file that would add a share is refused, never silently ignored by one caller.
  const shares = agent.mounts.filter((m) => m.pending !== 'remove'); // a share being removed is not mounted again
  const configured = policy ? narrowShares(shares, policy) : shares;
  const mounts = request.shares === 'none' ? [] : [...configured];
  // A run share the config already has is mounted as configured; one that would clash with a
  // configured target, or with another run share, is refused (as `mount add` refuses it).
  const temporaryShares: MountConfig[] = [];
  for (const share of facts.runShares ?? []) {
    if (agent.mounts.some((m) => m.source === share.source && m.target === share.target)) continue;
    const nested = findNestedReview(agent, share.source, false);
    if (nested)
      throw new LaunchError(`--share ${share.source}: it is inside or around the review share ${nested.source}, whose changes are staged`);
    if ([...agent.mounts, ...temporaryShares].some((m) => m.source === share.source || m.target === share.target)) {
      throw new LaunchError(
        `--share ${share.source}: it clashes with a share of ${agent.userName} (same folder or same place in the agent home)`,
      );
    }
    const narrowed = { ...share, readOnly: share.readOnly || Boolean(policy?.readOnly) };
    temporaryShares.push(narrowed);
    mounts.push(narrowed);
  }
  return { mounts, noNetwork: repoNoNetwork, temporaryShares };
}

/** The proxy variables of a domains policy, unless the caller set them; none without a network. */
function withProxy(pairs: LaunchRequest['env'], proxyPort: number | undefined): (readonly [string, string])[] {
  const all = [...pairs];
  if (proxyPort === undefined) return all;
  const url = `http://127.0.0.1:${proxyPort}`;
  for (const key of PROXY_KEYS) if (!all.some(([k]) => k === key)) all.push([key, url]);
  return all;
}

/**
 * Git refuses a repository owned by another user ("dubious ownership"), and every share is the
 * human's: the agent's git is told to trust them (as command-line config, the only scope besides
 * its own global config that git honours for this), unless the caller configures git itself.
 */
function withGitTrust(pairs: (readonly [string, string])[], hasShares: boolean): (readonly [string, string])[] {
  if (!hasShares || pairs.some(([k]) => k.startsWith('GIT_CONFIG_'))) return pairs;
  return [...pairs, ['GIT_CONFIG_COUNT', '1'], ['GIT_CONFIG_KEY_0', 'safe.directory'], ['GIT_CONFIG_VALUE_0', '*']];
}

export function planLaunch(request: LaunchRequest, facts: LaunchFacts): LaunchPlan {
  const { agent } = request;
  if (request.via === 'program' && request.missingHint !== undefined) throw new LaunchError('an install hint needs the login shell');
  if (request.command.length === 0) throw new LaunchError('no command to run');
  const home = agentHomeOf(agent.userName);
  const place = placement(request, facts);
  const workdir = request.lockdown ? place.mounts[0]!.target : workingDirectory(request.directory, request.cwd, place.mounts, home);
  const proxyPort = agent.net?.policy === 'domains' && agent.net.proxyPort && !place.noNetwork ? agent.net.proxyPort : undefined;
  const env = entrypointEnvironment(withGitTrust(withProxy(request.env, proxyPort), place.mounts.length > 0), {
    ...facts.humanEnv,
    TERM: request.term ?? facts.humanEnv.TERM,
  });
  const seeds = request.lockdown?.seeds ?? [];
  const refusals = entrypointRefusals({
    mounts: place.mounts,
    seeds,
    envVariables: Object.keys(env).filter((key) => key.startsWith(ENV_PREFIX)).length,
    workdir,
    humanHomes: facts.humanHomes,
    agentHome: home,
  });
  if (refusals.length > 0) throw new LaunchError(`the entrypoint would refuse this run: ${refusals.join('; ')}`);
  const args = entrypointArguments({
    mounts: place.mounts,
    workdir,
    command: request.command,
    via: request.via,
    interactive: request.interactive,
    limits: agent.limits,
    // Checked whatever the run's network: a policy the config has but the kernel lost means
    // something is wrong with this machine, and no run starts until `au net apply` says so.
    netPolicy: enforced(agent.net) ? policyId(agent.net, agent.uid ?? -1, facts.agentCgroupId ?? 0) : undefined,
    missingHint: request.missingHint,
    throwAwayHome: Boolean(request.lockdown),
    seeds,
    noNetwork: place.noNetwork,
  });
  return {
    entrypoint: agent.entrypoint,
    args,
    env,
    mounts: place.mounts,
    workdir,
    noNetwork: place.noNetwork,
    proxyPort,
    temporaryShares: place.temporaryShares,
    repoPolicyPath: facts.repoPolicy?.path,
  };
}
