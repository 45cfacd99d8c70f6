// The one answer to "is this agent usable?", for `au run`, `au info`, `au list` and `au doctor`
// alike: typed findings, each with its severity and the command that fixes it. This module only
// decides, from facts gathered elsewhere (health-facts.ts), so every decision is unit-tested
// without the system. A fix never destroys an agent that works: delete-and-recreate is offered
// only when the account itself is gone.
import type { AgentConfig } from '../config/schema.js';
import { type EntrypointFacts, entrypointFileProblems, unreadableProblem } from '../entrypoint/verify.js';
import type { LoadState } from '../net/apply.js';
import { isPythonToolAgent, migrateHint } from './migrate.js';
import { agentHomeOf } from './names.js';

/** `fail`: runs are refused or unsafe (BROKEN, FAIL). `warn`: could not be verified (WARN). */
export type Severity = 'fail' | 'warn';

/** Which part of the agent a finding is about (au doctor prints one line per area). */
export type Area = 'agent' | 'membership' | 'limits' | 'launch' | 'network';

export interface Finding {
  severity: Severity;
  area: Area;
  detail: string;
  /** The one command that fixes it. */
  fix: string;
}

export interface HomeFacts {
  /** errno code when stat failed. */
  error?: string;
  isDirectory?: boolean;
  mode?: number;
  gid?: number;
  /** getfacl's lines; undefined when the ACL could not be read. */
  acl?: string[];
}

/** Everything but the entrypoint: what info, list and doctor read besides what au run reads. */
export interface SystemFacts {
  userExists: boolean;
  /** Why the user of that name is not the account au created (identity.ts); empty when it is. */
  foreignReasons: string[];
  /** gid of su-as-NAME; undefined when the group does not exist. */
  driverGid?: number;
  /** The group database lists the human in su-as-NAME (this shell may not hold it yet). */
  humanInDriver: boolean;
  home: HomeFacts;
  missingTools: string[];
  limitProblems: string[];
  launchProblems: string[];
  /** The network policy in the kernel; 'none' when the agent's policy filters nothing. */
  netState: LoadState | 'none';
  /** Review shares whose staging directory the entrypoint would refuse (review/staging.ts). */
  reviewProblems?: { source: string; detail: string; fix: string }[];
}

export interface AgentFacts {
  human: { name: string; uid: number };
  entrypoint: EntrypointFacts;
  /** The build stamp of the entrypoint this au would build (build-stamp.ts). */
  currentBuild: string;
  /** Absent for `au run`, which checks only what it is about to execute. */
  system?: SystemFacts;
}

const sudoFor = (human: AgentFacts['human']): string => (human.uid === 0 ? '' : 'sudo ');
const octal = (mode: number): string => (mode & 0o7777).toString(8);

/** Rebuilds and reinstalls the entrypoint of a set-up agent, keeping everything else. */
export const reinstallFix = (name: string): string => `au new -a ${name}`;
/** Only for an agent whose account is gone: nothing of it works any more. */
export const recreateFix = (name: string): string => `au delete -y -a ${name} && au new -y -a ${name}`;

function homeFindings(agent: AgentConfig, system: SystemFacts, s: string): Finding[] {
  const name = agent.userName;
  const home = agentHomeOf(name);
  const found: Finding[] = [];
  const fail = (detail: string, fix: string): void => void found.push({ severity: 'fail', area: 'agent', detail, fix });
  const h = system.home;
  if (h.error !== undefined) return [{ severity: 'fail', area: 'agent', detail: `home ${home} does not exist`, fix: recreateFix(name) }];
  if (!h.isDirectory)
    return [
      {
        severity: 'fail',
        area: 'agent',
        detail: `home ${home} is not a directory`,
        fix: `ls -ld ${home}  # move it away, then: ${recreateFix(name)}`,
      },
    ];
  const mode = h.mode ?? 0;
  if (!(mode & 0o2000)) fail(`home ${home} is not setgid`, `${s}chmod g+s ${home}`);
  if (system.driverGid !== undefined && h.gid !== system.driverGid)
    fail(`home ${home} is not in group ${agent.group}`, `${s}chgrp ${agent.group} ${home}`);
  if (mode & 0o007) fail(`home ${home} is accessible by other users (mode ${octal(mode)})`, `${s}chmod o-rwx ${home}`);
  const want = `default:group:${agent.group}:rwx`;
  if (h.acl === undefined) {
    fail(`cannot read the ACL of ${home}`, system.missingTools.length > 0 ? `${s}apt-get install acl` : `getfacl ${home}`);
  } else if (!h.acl.includes(want)) {
    fail(
      `home ${home} lacks the default ACL ${want}`,
      `${s}setfacl --modify user:${name}:rwx,group:${agent.group}:rwx,default:user:${name}:rwx,default:group:${agent.group}:rwx ${home}`,
    );
  }
  return found;
}

function entrypointFindings(agent: AgentConfig, facts: AgentFacts, s: string): Finding[] {
  const name = agent.userName;
  const found: Finding[] = [];
  const fail = (detail: string, fix: string): void => void found.push({ severity: 'fail', area: 'agent', detail, fix });
  const problems = entrypointFileProblems(facts.entrypoint, {
    path: agent.entrypoint,
    sha256: agent.entrypointSha256,
    groupGid: facts.system?.driverGid ?? agent.groupGid,
  });
  for (const p of problems.location)
    fail(p.detail, p.missing ? reinstallFix(name) : `${s}chown root:root ${p.path} && ${s}chmod go-w ${p.path}`);
  for (const detail of problems.file) fail(detail, reinstallFix(name));
  // Not readable for lack of the group: the membership finding says so and fixes it.
  if (problems.unreadable !== undefined && facts.system?.humanInDriver !== false)
    fail(unreadableProblem(agent.entrypoint, problems.unreadable), reinstallFix(name));
  // An older au's entrypoint rejects options this au passes: rebuilt, not run.
  if (problems.location.length === 0 && problems.file.length === 0 && agent.entrypointBuild !== facts.currentBuild) {
    fail(`entrypoint ${agent.entrypoint} was built by an older au (its source or flags differ from this au's)`, reinstallFix(name));
  }
  return found;
}

function systemFindings(agent: AgentConfig, system: SystemFacts, human: AgentFacts['human'], s: string): Finding[] {
  const name = agent.userName;
  const found: Finding[] = [];
  const add = (area: Area, detail: string, fix: string, severity: Severity = 'fail'): void =>
    void found.push({ severity, area, detail, fix });
  if (!system.userExists) add('agent', `user ${name} does not exist`, recreateFix(name));
  for (const reason of system.foreignReasons)
    add('agent', `user ${name}: ${reason}`, `getent passwd ${name}  # not the account au created: check it by hand`);
  if (system.driverGid === undefined) add('agent', `group ${agent.group} does not exist`, recreateFix(name));
  else {
    if (agent.groupGid !== undefined && system.driverGid !== agent.groupGid) {
      add(
        'agent',
        `group ${agent.group} has gid ${system.driverGid}, au recorded ${agent.groupGid}`,
        `getent group ${agent.group}  # not the group au created: check it by hand`,
      );
    }
    if (!system.humanInDriver)
      add('membership', `you (${human.name}) are not in group ${agent.group}`, `${s}usermod -aG ${agent.group} ${human.name}`);
  }
  found.push(...homeFindings(agent, system, s));
  for (const tool of system.missingTools) add('agent', `${tool} is not installed (apt-get install acl)`, `${s}apt-get install acl`);
  return found;
}

function configFindings(agent: AgentConfig, system: SystemFacts): Finding[] {
  const name = agent.userName;
  const found: Finding[] = [];
  for (const detail of system.limitProblems) found.push({ severity: 'fail', area: 'limits', detail, fix: `au limit clear -a ${name}` });
  for (const detail of system.launchProblems)
    found.push({ severity: 'fail', area: 'launch', detail, fix: `au mount list -a ${name}  # then au mount remove -a ${name} SRC` });
  for (const p of system.reviewProblems ?? [])
    found.push({ severity: 'fail', area: 'launch', detail: `review share ${p.source}: ${p.detail} (au run refuses to start)`, fix: p.fix });
  const policy = agent.net?.policy ?? 'allow';
  if (system.netState === 'missing' || system.netState === 'outdated') {
    const what = system.netState === 'missing' ? 'not loaded' : 'not the one loaded';
    found.push({
      severity: 'fail',
      area: 'network',
      detail: `network policy ${policy} is ${what} (au run refuses to start)`,
      fix: `au net apply -a ${name}`,
    });
  } else if (system.netState === 'unknown') {
    found.push({
      severity: 'warn',
      area: 'network',
      detail: `cannot read nftables to verify policy ${policy} (needs root)`,
      fix: `sudo nft list table inet au-${name}`,
    });
  }
  return found;
}

/** Every finding about one agent; without system facts, only what decides whether au run may start it. */
export function assessAgent(agent: AgentConfig, facts: AgentFacts): Finding[] {
  const s = sudoFor(facts.human);
  const found: Finding[] = [];
  // An agent of the Python tool (entrypoint in its home): nothing else applies until it is moved.
  if (isPythonToolAgent(agent))
    return [{ severity: 'fail', area: 'agent', detail: migrateHint(agent), fix: `au migrate -a ${agent.userName}` }];
  if (!agent.bootstrapped) {
    found.push({
      severity: 'fail',
      area: 'agent',
      detail: `set-up did not finish: run \`au new -a ${agent.userName}\` to complete it`,
      fix: `au new -a ${agent.userName}`,
    });
  }
  if (facts.system) found.push(...systemFindings(agent, facts.system, facts.human, s));
  if (agent.bootstrapped) found.push(...entrypointFindings(agent, facts, s));
  if (facts.system) found.push(...configFindings(agent, facts.system));
  return found;
}

export const isBroken = (findings: readonly Finding[]): boolean => findings.some((f) => f.severity === 'fail');

/**
 * What `au new` on a set-up agent repairs by rebuilding and reinstalling its entrypoint: an
 * out-of-date, missing or altered one, for an account that is still there (else nothing to build for).
 */
export function reinstallReasons(agent: AgentConfig, findings: readonly Finding[]): string[] {
  if (!agent.bootstrapped || findings.some((f) => f.fix === recreateFix(agent.userName))) return [];
  return findings.filter((f) => f.area === 'agent' && f.fix === reinstallFix(agent.userName)).map((f) => f.detail);
}
