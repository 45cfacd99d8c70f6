// The agent's cgroup v2 directory, by which the input side of its network policy knows its
// sockets: nftables' `socket cgroupv2` looks up the socket a packet is for, and the kernel
// records at a socket's creation the cgroup v2 of the process creating it. `au net apply` makes
// the directory (root-owned, like the entrypoint's limit cgroups: the agent cannot leave it),
// the entrypoint puts every process of the run inside, and the policy id carries the
// directory's cgroup id (its inode number) so that a directory removed and made again (a new
// id the loaded rules do not know) makes `au run` refuse until `au net apply` (fail closed).
import { existsSync, statSync } from 'node:fs';
import type { AgentConfig } from '../config/schema.js';
import { type NetPolicy, policyId } from './policy.js';

const ROOT = '/sys/fs/cgroup';

export interface AgentCgroup {
  /** The directory. */
  dir: string;
  /** The same, relative to /sys/fs/cgroup, as nftables wants it. */
  nftPath: string;
  /** Its depth beneath the cgroup v2 root (`socket cgroupv2 level`). */
  level: number;
}

/** Where the agent's cgroup v2 is: /sys/fs/cgroup when that is cgroup2, /sys/fs/cgroup/unified on hybrid hosts. */
export function agentCgroup(agentName: string): AgentCgroup | undefined {
  for (const base of ['', 'unified/']) {
    if (!existsSync(`${ROOT}/${base}cgroup.controllers`)) continue;
    const nftPath = `${base}agent-as-unix-user/${agentName}`;
    return { dir: `${ROOT}/${nftPath}`, nftPath, level: 2 };
  }
  return undefined;
}

/** The cgroup id of the agent's directory (0 when missing). */
export function agentCgroupId(agentName: string): number {
  const where = agentCgroup(agentName);
  try {
    return where ? statSync(where.dir).ino : 0;
  } catch {
    return 0;
  }
}

/** The id the loaded table must carry for this agent's configured policy, now. */
export function expectedPolicyId(agent: AgentConfig & { net: NetPolicy }): string {
  return policyId(agent.net, agent.uid ?? -1, agentCgroupId(agent.userName));
}
