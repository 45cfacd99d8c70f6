// Is this UNIX user really the agent `au` created? `delete` and a resumed `new` only touch
// users that pass, so a stale or forged config entry can never lead to deleting a real account.
import { type PasswdEntry, lookupGroup } from '../system/accounts.js';
import type { CommandRunner } from '../system/runner.js';
import { AGENT_MARKER, agentHomeOf } from './names.js';

/** What au recorded about the account: an agent's record or a kept account's. */
export interface RecordedAccount {
  userName: string;
  uid?: number;
  gid?: number;
}

/** Reasons why `user` is not the agent recorded in `agent`; empty when it is. */
export function foreignUserReasons(runner: CommandRunner, agent: RecordedAccount, user: PasswdEntry): string[] {
  const reasons: string[] = [];
  if (agent.uid !== undefined && user.uid !== agent.uid) reasons.push(`its uid is ${user.uid}, au recorded ${agent.uid}`);
  if (agent.gid !== undefined && user.gid !== agent.gid) reasons.push(`its primary gid is ${user.gid}, au recorded ${agent.gid}`);
  if (user.gecos !== AGENT_MARKER) reasons.push(`it lacks au's marker (GECOS is ${JSON.stringify(user.gecos)})`);
  if (user.home !== agentHomeOf(agent.userName)) reasons.push(`its home is ${user.home}`);
  const primary = lookupGroup(runner, String(user.gid));
  if (!primary || primary.name !== agent.userName) reasons.push('its primary group is not its own');
  if (user.uid === 0 || user.uid < 1000) reasons.push(`uid ${user.uid} is a system account`);
  return reasons;
}
