// Which cgroup mechanism this machine offers, and where the entrypoint keeps an agent's
// cgroups (it builds the same paths itself from its compiled-in name; see su_as_agent.c).
import { existsSync, lstatSync, readFileSync, readdirSync, statfsSync } from 'node:fs';
import type { CommandRunner } from '../system/runner.js';
import { type Limits, needsCgroup } from './limits.js';

export const CGROUP_ROOT = '/sys/fs/cgroup';
export const CGROUP_TOP = 'agent-as-unix-user';
const CGROUP2_MAGIC = 0x63677270;
const CONTROLLERS = ['memory', 'cpu', 'pids'] as const;

export interface CgroupSupport {
  version: 1 | 2 | undefined;
  /** Controllers the entrypoint can use (of memory, cpu, pids). */
  controllers: string[];
  /** Directory of each usable hierarchy (v2: just the root). */
  hierarchies: Record<string, string>;
}

/** v1 hierarchies as the entrypoint opens them: a real directory (no symlink), cpu or cpu,cpuacct. */
function v1Hierarchy(controller: string): string | undefined {
  const names = controller === 'cpu' ? ['cpu', 'cpu,cpuacct'] : [controller];
  for (const name of names) {
    const dir = `${CGROUP_ROOT}/${name}`;
    try {
      if (lstatSync(dir).isDirectory() && existsSync(`${dir}/cgroup.procs`)) return dir;
    } catch {
      // not there
    }
  }
  return undefined;
}

export function detectCgroups(): CgroupSupport {
  let type: number;
  try {
    type = Number(statfsSync(CGROUP_ROOT).type);
  } catch {
    return { version: undefined, controllers: [], hierarchies: {} };
  }
  if (type === CGROUP2_MAGIC) {
    let available: string[] = [];
    try {
      available = readFileSync(`${CGROUP_ROOT}/cgroup.controllers`, 'utf8').trim().split(/\s+/);
    } catch {
      // none
    }
    const controllers = CONTROLLERS.filter((c) => available.includes(c));
    return { version: 2, controllers, hierarchies: Object.fromEntries(controllers.map((c) => [c, CGROUP_ROOT])) };
  }
  const hierarchies: Record<string, string> = {};
  for (const c of CONTROLLERS) {
    const dir = v1Hierarchy(c);
    if (dir) hierarchies[c] = dir;
  }
  return { version: Object.keys(hierarchies).length > 0 ? 1 : undefined, controllers: Object.keys(hierarchies), hierarchies };
}

/** One line for `au info`, `au limit show` and `au doctor`: what enforces the limits. */
export function limitMechanism(support: CgroupSupport, limits: Limits | undefined): string {
  const parts: string[] = [];
  if (needsCgroup(limits)) {
    parts.push(
      support.version
        ? `cgroup v${support.version} (${support.controllers.join(', ') || 'no controllers'})`
        : 'no cgroups (limits cannot be applied)',
    );
  }
  if (limits?.pids !== undefined) parts.push('RLIMIT_NPROC');
  if (limits?.nofile !== undefined) parts.push('RLIMIT_NOFILE');
  return parts.length > 0 ? parts.join(' + ') : 'none (no limits set)';
}

/** What is missing on this machine for these limits; empty when they can all be enforced. */
export function limitProblems(support: CgroupSupport, limits: Limits | undefined): string[] {
  const problems: string[] = [];
  for (const c of CONTROLLERS) {
    if (limits?.[c] === undefined) continue;
    if (!support.controllers.includes(c)) problems.push(`the ${c} limit cannot be enforced: no cgroup ${c} controller on this machine`);
  }
  return problems;
}

/** The agent's cgroup directories that exist (one per hierarchy). */
export function agentCgroupDirs(agentName: string, support: CgroupSupport = detectCgroups()): string[] {
  const dirs = new Set(Object.values(support.hierarchies).map((h) => `${h}/${CGROUP_TOP}/${agentName}`));
  return [...dirs].filter((dir) => existsSync(dir));
}

/** Removes the agent's cgroups (run cgroups first); a cgroup still in use stays (rmdir fails). */
export function removeAgentCgroups(runner: CommandRunner, agentName: string): void {
  for (const dir of agentCgroupDirs(agentName)) {
    let runs: string[] = [];
    try {
      runs = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && e.name.startsWith('run-'))
        .map((e) => `${dir}/${e.name}`);
    } catch {
      // gone meanwhile
    }
    runner.change(['rmdir', ...runs, dir], { privileged: true, allowFailure: true });
  }
  // The shared parent goes with the last agent (a cgroup with children cannot be removed anyway).
  const support = detectCgroups();
  for (const top of new Set(Object.values(support.hierarchies).map((h) => `${h}/${CGROUP_TOP}`))) {
    let children: string[];
    try {
      children = readdirSync(top, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      continue;
    }
    if (children.length === 0) runner.change(['rmdir', top], { privileged: true, allowFailure: true });
  }
}
