// Reads what the health model (health.ts) decides on. The entrypoint is mode 4750, readable only
// in su-as-NAME: right after `au new` this shell does not hold the group yet (that takes a new
// login), so its hash is read through `sg`, the path `au run` takes there (driver-group.ts).
import { readFileSync, statSync } from 'node:fs';
import type { AgentConfig } from '../config/schema.js';
import { currentBuildStamp } from '../entrypoint/build-stamp.js';
import { type EntrypointFacts, readEntrypointFacts } from '../entrypoint/verify.js';
import { launchProblems } from '../launch/prepare.js';
import { type CgroupSupport, detectCgroups, limitProblems } from '../limits/cgroups.js';
import { listPolicy, loadState } from '../net/apply.js';
import { enforced } from '../net/policy.js';
import { holdsGroup, readUnderGroup } from '../run/driver-group.js';
import { isMember, lookupGroup, lookupUser } from '../system/accounts.js';
import { onPath } from '../system/commands-available.js';
import type { Human } from '../system/human.js';
import { stageDir, stageProblems } from '../review/staging.js';
import type { CommandRunner } from '../system/runner.js';
import { type AgentFacts, type Finding, type HomeFacts, type SystemFacts, assessAgent } from './health.js';
import { foreignUserReasons } from './identity.js';
import { agentHomeOf } from './names.js';

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function homeFacts(runner: CommandRunner, home: string): HomeFacts {
  let st;
  try {
    st = statSync(home);
  } catch (error) {
    return { error: (error as NodeJS.ErrnoException).code ?? 'error' };
  }
  if (!st.isDirectory()) return { isDirectory: false };
  const acl = runner.query(['getfacl', '--absolute-names', '--omit-header', home]);
  return { isDirectory: true, mode: st.mode & 0o7777, gid: st.gid, ...(acl.status === 0 ? { acl: acl.stdout.split('\n') } : {}) };
}

/** The entrypoint's facts; its content through `sg` when only the group database grants the group. */
export function entrypointFacts(agent: AgentConfig, groupGid: number | undefined, humanInDriver: boolean): EntrypointFacts {
  const viaGroup = humanInDriver && groupGid !== undefined && !holdsGroup(groupGid);
  return readEntrypointFacts(agent.entrypoint, viaGroup ? (path) => readUnderGroup(agent.group, path) : readFileSync);
}

export function systemFacts(
  runner: CommandRunner,
  agent: AgentConfig,
  human: Human,
  cgroups: CgroupSupport = detectCgroups(),
): SystemFacts {
  const user = lookupUser(runner, agent.userName);
  const driver = lookupGroup(runner, agent.group);
  const netState = enforced(agent.net) ? loadState(agent, listPolicy(runner, agent.userName)) : 'none';
  return {
    userExists: user !== undefined,
    foreignReasons: user ? foreignUserReasons(runner, agent, user) : [],
    ...(driver ? { driverGid: driver.gid } : {}),
    humanInDriver: driver !== undefined && (human.uid === 0 || isMember(runner, human, driver)),
    home: homeFacts(runner, agentHomeOf(agent.userName)),
    missingTools: ['setfacl', 'getfacl'].filter((tool) => !onPath(tool, SYSTEM_PATH)),
    limitProblems: limitProblems(cgroups, agent.limits),
    launchProblems: launchProblems(agent, human),
    netState,
    reviewProblems: agent.mounts.flatMap((m) =>
      m.review ? stageProblems(stageDir(agent.userName, human.uid, m.review), human).map((p) => ({ source: m.source, ...p })) : [],
    ),
  };
}

/** Everything info, list and doctor know about an agent. */
export function gatherAgentFacts(runner: CommandRunner, agent: AgentConfig, human: Human, cgroups?: CgroupSupport): AgentFacts {
  const system = systemFacts(runner, agent, human, cgroups);
  return {
    human: { name: human.name, uid: human.uid },
    entrypoint: entrypointFacts(agent, system.driverGid ?? agent.groupGid, system.humanInDriver),
    currentBuild: currentBuildStamp(),
    system,
  };
}

/** The findings of info, list and doctor: one gathering, one decision. */
export function checkAgent(runner: CommandRunner, agent: AgentConfig, human: Human, cgroups?: CgroupSupport): Finding[] {
  return assessAgent(agent, gatherAgentFacts(runner, agent, human, cgroups));
}
