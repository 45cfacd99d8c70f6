// `au delete`: undo everything `au new` and `au mount add` did, skipping what is already gone,
// but only for the user au created (see identity.ts).
import type { AgentConfig } from '../config/schema.js';
import { removeEntrypoint } from '../entrypoint/install.js';
import { revokeShareAccess } from '../mounts/acl.js';
import { removeAgentCgroups } from '../limits/cgroups.js';
import { removePolicy } from '../net/apply.js';
import { enforced } from '../net/policy.js';
import { lookupGroup, lookupUser } from '../system/accounts.js';
import type { CommandRunner } from '../system/runner.js';
import { foreignUserReasons } from './identity.js';
import { AgentSetupError } from './create.js';
import { removeAgentTraces } from './traces.js';

/** Throws AgentSetupError when the recorded user exists but is not ours: nothing is touched. */
export function checkDeletable(runner: CommandRunner, agent: AgentConfig): void {
  const user = lookupUser(runner, agent.userName);
  if (!user) return;
  const reasons = foreignUserReasons(runner, agent, user);
  if (reasons.length > 0) {
    throw new AgentSetupError(`refusing to delete user ${agent.userName}: it is not the agent au created (${reasons.join('; ')})`);
  }
}

export function deleteAgent(runner: CommandRunner, agent: AgentConfig, options: { deleteHome: boolean; humanUid: number }): void {
  checkDeletable(runner, agent);
  for (const mount of agent.mounts) revokeShareAccess(runner, agent.userName, options.humanUid, mount.source);
  removeEntrypoint(runner, agent.userName);
  const user = lookupUser(runner, agent.userName);
  if (user) {
    // userdel refuses while the user has processes; the agent's are ours to end.
    runner.change(['pkill', '--signal', 'KILL', '--uid', String(user.uid)], { privileged: true, allowFailure: true });
    runner.change(['userdel', ...(options.deleteHome ? ['--remove'] : []), agent.userName], { privileged: true });
  }
  removeAgentCgroups(runner, agent.userName);
  if (enforced(agent.net)) removePolicy(runner, agent.userName);
  removeAgentTraces(runner, agent.userName);
  const ownGroup = lookupGroup(runner, agent.userName);
  if (ownGroup && (agent.gid === undefined || ownGroup.gid === agent.gid)) {
    runner.change(['groupdel', agent.userName], { privileged: true });
  }
  const driver = lookupGroup(runner, agent.group);
  if (driver && (agent.groupGid === undefined || driver.gid === agent.groupGid)) runner.change(['groupdel', agent.group], { privileged: true });
}
